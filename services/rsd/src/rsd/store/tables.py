"""rsd's tables: applications (indexed columns + the aggregate's document) and the applicant projection."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, LargeBinary, String
from sqlmodel import Field

from pana_kit.crypto import SealedDocument
from pana_kit.tables import table_base

Base = table_base("rsd")  # rsd's own metadata (another service may have a table of the same name)
ApplicationDocument = SealedDocument(service="rsd", aggregate="application", id_key="id", fields=("members", "contacts"))
# What rsd keeps of a registered person: every field but the id is personal, so every field is sealed.
APPLICANT_FIELDS = ("given_name", "family_name", "sex", "birth_date", "citizenship", "specific_needs")
ApplicantDocument = SealedDocument(service="rsd", aggregate="applicant", id_key="person_id", fields=APPLICANT_FIELDS)


class ApplicationRow(Base, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_person", "person_id"),
        Index("ix_applications_status_due", "status", "decision_due"),
        Index("ix_applications_office_officer", "office", "officer_id"),
        Index("ix_applications_office_next_due", "office", "next_due"),
        Index("ix_applications_officer_next_due", "officer_id", "next_due"),
        Index("ix_applications_watch_due", "watch_due"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    person_id: str = Field(sa_column=Column(String(64), nullable=False))
    source_referral_id: Optional[str] = Field(default=None, sa_column=Column(String(64), unique=True))
    office: str = Field(sa_column=Column(String(100), nullable=False))
    officer_id: Optional[str] = Field(default=None, sa_column=Column(String(200)))
    status: str = Field(sa_column=Column(String(40), nullable=False))
    priority: bool = Field(default=False)
    lodged_on: date = Field(sa_column=Column(Date, nullable=False))
    registered_on: Optional[date] = Field(default=None, sa_column=Column(Date))
    decision_due: Optional[date] = Field(default=None, sa_column=Column(Date))
    next_due: Optional[date] = Field(default=None, sa_column=Column(Date),
                                     description="Earliest open deadline (for deadline lists and queues)")
    next_deadline: Optional[str] = Field(default=None, sa_column=Column(String(30)))
    watch_due: Optional[date] = Field(default=None, sa_column=Column(Date),
                                      description="Earliest open deadline not yet reported missed")
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    # The members (their specific needs, names of members added later) and the contact notes are sealed, each
    # bound to (rsd, application, id, field) (pana_kit.crypto.SealedDocument).
    document: dict[str, Any] = Field(sa_column=Column(ApplicationDocument, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # What the statistics' summary last counted of this application ([day, figure, amount], domain tally_changes);
    # a save moves the summary by the difference. NULL: not counted yet (counted at start-up, store/statistics.py).
    tally: Optional[list[Any]] = Field(default=None, sa_column=Column(JSON))


class StatisticsCountRow(Base, table=True):
    """The statistics' summary per office: from `day` on, `count` more (or fewer) of a figure (e.g.
    `decisions.recognised.persons`, `pending.cases`, `days.<n>`). A figure on a date is the sum up to it."""

    __tablename__ = "statistics_counts"

    office: str = Field(sa_column=Column(String(100), primary_key=True))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    figure: str = Field(sa_column=Column(String(60), primary_key=True))
    shard: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))


class ApplicationMemberRow(Base, table=True):
    """Who is on an application (every member, not only the principal): the person's applications by person."""

    __tablename__ = "application_members"
    __table_args__ = (Index("ix_application_members_person", "person_id"),)

    application_id: str = Field(sa_column=Column(String(64), primary_key=True))
    person_id: str = Field(sa_column=Column(String(64), primary_key=True))


class ApplicantRow(Base, table=True):
    """What rsd keeps of a registered person (from registration events), nothing more."""

    __tablename__ = "applicants"

    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    # {"person_id", "given_name", "family_name", "sex", "birth_date" (ISO), "citizenship", "specific_needs"}: the
    # personal fields sealed, each bound to (rsd, applicant, person id, field) (pana_kit.crypto.SealedDocument).
    document: dict[str, Any] = Field(sa_column=Column(ApplicantDocument, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ClaimTextRow(Base, table=True):
    """The claim's free text (narrative, interview record, assessment notes), encrypted with AES-GCM."""

    __tablename__ = "claim_texts"
    __table_args__ = (Index("ix_claim_texts_application", "application_id", "kind", "ref"),)

    id: Optional[int] = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    application_id: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(40), nullable=False))  # narrative | interview_record | assessment | ending_response
    ref: str = Field(sa_column=Column(String(64), nullable=False))  # member, interview or proceeding it belongs to
    key_id: str = Field(sa_column=Column(String(64), nullable=False))
    nonce: bytes = Field(sa_column=Column(LargeBinary(12), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    written_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
