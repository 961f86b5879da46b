"""rsd's tables: applications (indexed columns + the aggregate's document) and the applicant projection."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Date, DateTime, Index, Integer, String
from sqlmodel import Field, SQLModel


class ApplicationRow(SQLModel, table=True):
    __tablename__ = "applications"
    __table_args__ = (
        Index("ix_applications_person", "person_id"),
        Index("ix_applications_status_due", "status", "decision_due"),
        Index("ix_applications_office_officer", "office", "officer_id"),
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
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ApplicantRow(SQLModel, table=True):
    """What rsd keeps of a registered person (from registration events), nothing more."""

    __tablename__ = "applicants"

    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    given_name: str = Field(sa_column=Column(String(200), nullable=False))
    family_name: str = Field(sa_column=Column(String(200), nullable=False))
    sex: str = Field(sa_column=Column(String(20), nullable=False))
    birth_date: Optional[date] = Field(default=None, sa_column=Column(Date))
    citizenship: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    specific_needs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
