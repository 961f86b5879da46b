"""registration's tables: persons and border referrals (indexed columns + the aggregate's document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, Integer, String
from sqlmodel import Field, SQLModel


class PersonRow(SQLModel, table=True):
    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_family_key", "family_name_key"),
        Index("ix_persons_household", "household_id"),
        Index("ix_persons_legal_status", "legal_status"),
    )

    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    registration_number: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    family_name_key: str = Field(sa_column=Column(String(200), nullable=False))
    given_name_key: str = Field(sa_column=Column(String(200), nullable=False))
    birth_date: Optional[date] = Field(default=None, sa_column=Column(Date))
    sex: str = Field(sa_column=Column(String(20), nullable=False))
    legal_status: Optional[str] = Field(default=None, sa_column=Column(String(60)))
    household_id: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    office: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ReferralRow(SQLModel, table=True):
    __tablename__ = "border_referrals"
    __table_args__ = (Index("ix_referrals_open_due", "person_id", "registration_due"),)

    referral_id: str = Field(sa_column=Column(String(64), primary_key=True))
    person_id: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    crossing_point: str = Field(sa_column=Column(String(200), nullable=False))
    referred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    registration_due: date = Field(sa_column=Column(Date, nullable=False))
    registered_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    late: Optional[bool] = Field(default=None, sa_column=Column(Boolean))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
