"""statelessness's tables: cases, child flags and naturalization tracks (indexed columns + the
aggregate's document), an inquiry index for work lists and statistics, and the projections of
other services' facts it needs (persons from registration; asylum claims from rsd)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, String, text
from sqlmodel import Field

from pana_kit.tables import table_base

ONE_CASE_INDEX = "uq_cases_person_in_procedure"
IN_PROCEDURE_STATES = ("open", "under_appeal")  # CaseStatus.OPEN, CaseStatus.UNDER_APPEAL
IN_PROCEDURE = text("status IN ('open', 'under_appeal')")

# This service's own metadata: registration has a `persons` table too, and both load in one process.
Base = table_base("statelessness")


class CaseRow(Base, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_person", "person_id"),
        Index("ix_cases_status_due", "status", "decision_due"),
        Index("ix_cases_created", "created_at", "id"),
        # One case in the procedure per person, held by the database: an application and an ex-officio opening
        # arriving at the same moment both pass the use case's check, and only one insert may succeed.
        Index(ONE_CASE_INDEX, "person_id", unique=True, sqlite_where=IN_PROCEDURE, postgresql_where=IN_PROCEDURE),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    person_id: str = Field(sa_column=Column(String(100), nullable=False))
    reason: str = Field(sa_column=Column(String(60), nullable=False))
    status: str = Field(sa_column=Column(String(30), nullable=False))
    opened_on: date = Field(sa_column=Column(Date, nullable=False))
    decision_due: date = Field(sa_column=Column(Date, nullable=False))
    decided_on: Optional[date] = Field(default=None, sa_column=Column(Date))
    outcome: Optional[str] = Field(default=None, sa_column=Column(String(30)))
    recognised_on: Optional[date] = Field(default=None, sa_column=Column(Date))
    source_event_id: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # What the statistics' summary last counted of this row (dated changes, store/statistics.py); NULL: never.
    tally: Optional[list[Any]] = Field(default=None, sa_column=Column(JSON))


class InquiryRow(Base, table=True):
    """One row per nationality inquiry, kept in step with the case document on every save."""

    __tablename__ = "inquiries"
    __table_args__ = (
        Index("ix_inquiries_status_due", "status", "reply_due"),
        Index("ix_inquiries_case", "case_id"),
        Index("ix_inquiries_state", "state"),
    )

    case_id: str = Field(sa_column=Column(String(64), primary_key=True))
    inquiry_id: str = Field(sa_column=Column(String(100), primary_key=True))
    person_id: str = Field(sa_column=Column(String(100), nullable=False))
    state: str = Field(sa_column=Column(String(3), nullable=False))
    link: str = Field(sa_column=Column(String(20), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    answer: Optional[str] = Field(default=None, sa_column=Column(String(30)))
    sent_on: date = Field(sa_column=Column(Date, nullable=False))
    reply_due: date = Field(sa_column=Column(Date, nullable=False))
    answered_on: Optional[date] = Field(default=None, sa_column=Column(Date))


class ChildFlagRow(Base, table=True):
    __tablename__ = "child_flags"
    __table_args__ = (
        Index("ix_child_flags_child", "child_person_id"),
        Index("ix_child_flags_status", "status", "created_at"),
        Index("ix_child_flags_created", "created_at", "id"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    child_person_id: str = Field(sa_column=Column(String(100), nullable=False))
    rule: str = Field(sa_column=Column(String(60), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))  # open | resolved
    birth_date: date = Field(sa_column=Column(Date, nullable=False))
    flagged_on: date = Field(sa_column=Column(Date, nullable=False))
    resolved_on: Optional[date] = Field(default=None, sa_column=Column(Date))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # What the statistics' summary last counted of this row (dated changes, store/statistics.py); NULL: never.
    tally: Optional[list[Any]] = Field(default=None, sa_column=Column(JSON))


class NaturalizationTrackRow(Base, table=True):
    __tablename__ = "naturalization_tracks"
    __table_args__ = (
        Index("ix_naturalization_eligible", "outcome", "eligible_from"),
        Index("ix_naturalization_person", "person_id"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    case_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    person_id: str = Field(sa_column=Column(String(100), nullable=False))
    eligible_from: date = Field(sa_column=Column(Date, nullable=False))
    outcome: Optional[str] = Field(default=None, sa_column=Column(String(20)))
    decided_on: Optional[date] = Field(default=None, sa_column=Column(Date))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # What the statistics' summary last counted of this row (dated changes, store/statistics.py); NULL: never.
    tally: Optional[list[Any]] = Field(default=None, sa_column=Column(JSON))


class PersonRow(Base, table=True):
    """What statelessness keeps of a registered person (registration events), nothing more."""

    __tablename__ = "persons"

    person_id: str = Field(sa_column=Column(String(100), primary_key=True))
    sex: Optional[str] = Field(default=None, sa_column=Column(String(20)))
    birth_date: Optional[date] = Field(default=None, sa_column=Column(Date))
    citizenship: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    citizenship_status: str = Field(default="known", sa_column=Column(String(20), nullable=False))
    country_of_origin: Optional[str] = Field(default=None, sa_column=Column(String(3)))
    legal_status: Optional[str] = Field(default=None, sa_column=Column(String(60)))
    merged_into: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AsylumClaimRow(Base, table=True):
    """A person's asylum claim as rsd reported it: the State it is against is the person's
    country of origin (or citizenship) in the person projection — the confidentiality rule."""

    __tablename__ = "asylum_claims"

    person_id: str = Field(sa_column=Column(String(100), primary_key=True))
    application_id: str = Field(sa_column=Column(String(100), primary_key=True))
    status: str = Field(sa_column=Column(String(30), nullable=False))  # asylum_seeker | refugee | rejected | closed
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class StatelessMemberRow(Base, table=True):
    """What the statistics' summary last counted of a person as stateless (their recognitions, naturalization,
    sex and age), kept when a case, a naturalization track or the person changes."""

    __tablename__ = "stateless_members"

    person_id: str = Field(sa_column=Column(String(100), primary_key=True))
    tally: list[Any] = Field(sa_column=Column(JSON, nullable=False))


class StatisticsCountRow(Base, table=True):
    """The statistics' summary: from `day` on, `count` more (or fewer) of a figure (`cases.opened`,
    `inquiries.UZB.answered`, `stateless.female.18-59`, ...). A figure on a date is the sum up to it."""

    __tablename__ = "statistics_counts"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    figure: str = Field(sa_column=Column(String(120), primary_key=True))
    shard: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))
