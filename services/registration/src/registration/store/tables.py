"""registration's tables: persons and border referrals (indexed columns + the aggregate's document)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

import sqlalchemy
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Index, Integer, String, Text
from sqlmodel import Field

from pana_kit.crypto import SealedDocument
from pana_kit.tables import table_base

# registration's own metadata: statelessness has a `persons` table too.
Base = table_base("registration")

# Personal fields encrypted inside the documents, each bound to (registration, aggregate, id, field)
# (pana_kit.crypto.SealedDocument). A person's history keeps old values of these fields: sealed too.
PERSON_SEALED_FIELDS = ("ethnicity", "address", "contacts", "specific_needs")
PersonDocument = SealedDocument(service="registration", aggregate="person", id_key="person_id",
                                fields=PERSON_SEALED_FIELDS, nested=(("history", "previous"),))
ReferralDocument = SealedDocument(service="registration", aggregate="referral", id_key="referral_id",
                                  fields=("statement", "provisional_details", "members"))


class PersonRow(Base, table=True):
    __tablename__ = "persons"
    __table_args__ = (
        Index("ix_persons_family_key", "family_name_key"),
        Index("ix_persons_household", "household_id"),
        Index("ix_persons_legal_status", "legal_status"),
        Index("ix_persons_iin", "iin"),
        Index("ix_persons_office", "office"),
    )

    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    registration_number: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    family_name_key: str = Field(sa_column=Column(String(200), nullable=False))
    given_name_key: str = Field(sa_column=Column(String(200), nullable=False))
    birth_date: Optional[date] = Field(default=None, sa_column=Column(Date))
    sex: str = Field(sa_column=Column(String(20), nullable=False))
    legal_status: Optional[str] = Field(default=None, sa_column=Column(String(60)))
    household_id: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    # The person's office: the registering office (the registering officer's token `office`); reads are
    # scoped by it (domain/access.py). NULL on records registered without one: national readers only.
    office: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    # Search columns, kept in step with the document by the repository.
    iin: Optional[str] = Field(default=None, sa_column=Column(String(12)))
    # "|tag|tag|": a keyed blind index (HMAC) of each need, for exact-match filters; never the need itself.
    specific_needs: Optional[str] = Field(default=None, sa_column=Column(String(1000)))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(PersonDocument, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # What the population statistics last counted of this person (domain PopulationMember, no sealed field):
    # a change moves the summary counts by the difference (store/statistics.py). NULL: never counted.
    population: Optional[dict[str, Any]] = Field(default=None, sa_column=Column(JSON))


class PopulationCountRow(Base, table=True):
    """The population statistics' summary: from `day` on, `count` more (or fewer) persons in the cell. The count
    of a cell on a date is the sum up to it; `shard` spreads one day's cell over rows (concurrent writers)."""

    __tablename__ = "population_counts"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    legal_status: str = Field(sa_column=Column(String(60), primary_key=True))
    sex: str = Field(sa_column=Column(String(20), primary_key=True))
    age_bracket: str = Field(sa_column=Column(String(10), primary_key=True))
    country_of_origin: str = Field(sa_column=Column(String(40), primary_key=True))
    shard: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))


class ReferralRow(Base, table=True):
    __tablename__ = "border_referrals"
    __table_args__ = (Index("ix_referrals_open_due", "person_id", "registration_due"),)

    referral_id: str = Field(sa_column=Column(String(64), primary_key=True))
    person_id: Optional[str] = Field(default=None, sa_column=Column(String(64)))
    crossing_point: str = Field(sa_column=Column(String(200), nullable=False))
    referred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    registration_due: date = Field(sa_column=Column(Date, nullable=False))
    registered_at: Optional[datetime] = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    late: Optional[bool] = Field(default=None, sa_column=Column(Boolean))
    document: dict[str, Any] = Field(sa_column=Column(ReferralDocument, nullable=False))


class HouseholdRow(Base, table=True):
    __tablename__ = "households"
    __table_args__ = (Index("ix_households_focal", "focal_person_id"),)

    household_id: str = Field(sa_column=Column(String(64), primary_key=True))
    focal_person_id: str = Field(sa_column=Column(String(64), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class BlockingKeyRow(Base, table=True):
    """Duplicate-matching index: a person is compared only with those sharing a key.

    `birth_year` beside the key lets a check read, per key, the holders nearest in age first (an index range
    scan with LIMIT, matching_engine.py) instead of aggregating over every holder of a common name."""

    __tablename__ = "person_blocking_keys"
    __table_args__ = (Index("ix_blocking_key_year", "key", "birth_year", "person_id"),)

    key: str = Field(sa_column=Column(String(220), primary_key=True))
    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    birth_year: Optional[int] = Field(default=None, sa_column=Column(Integer))


class MatchRecordRow(Base, table=True):
    """The compact comparable view of a person (`MatchRecord`, its fields as JSON), kept beside the blocking keys
    so that a duplicate check reads a few hundred small rows, never the persons' (sealed) documents. Only
    names, birth date, sex, citizenships and identity document numbers: nothing sealed is copied here."""

    __tablename__ = "person_match_records"

    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    record: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # What a duplicate check reads of the record (migration 0018): its normalised form as one line of text
    # (`matching_engine.compact_record`), written with the record; NULL when not written (a record written by
    # older code, or a value the line cannot carry), and the check reads the record instead.
    compact: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class StatusFactRow(Base, table=True):
    """Facts from rsd and statelessness behind a person's legal status (replayed by the projection)."""

    __tablename__ = "status_facts"
    __table_args__ = (Index("ix_status_facts_person", "person_id"),)

    source_event_id: str = Field(sa_column=Column(String(100), primary_key=True))
    person_id: str = Field(sa_column=Column(String(64), primary_key=True))
    kind: str = Field(sa_column=Column(String(60), nullable=False))
    occurred_on: date = Field(sa_column=Column(Date, nullable=False))
    sequence: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class IssuedDocumentRow(Base, table=True):
    __tablename__ = "issued_documents"
    __table_args__ = (Index("ix_issued_documents_holder", "holder_person_id"),)

    document_id: str = Field(sa_column=Column(String(64), primary_key=True))
    document_number: str = Field(sa_column=Column(String(40), unique=True, nullable=False))
    kind: str = Field(sa_column=Column(String(60), nullable=False))
    holder_person_id: str = Field(sa_column=Column(String(64), nullable=False))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    source_event_id: Optional[str] = Field(default=None, sa_column=Column(String(100)))
    document: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class VerificationRow(Base, table=True):
    """The verification projection: one row per issued document number, what `GET /api/v1/verify/{number}` reads
    with one primary-key lookup. Written in the transaction that issues, revokes or replaces the document
    (`IssuedDocuments.add`/`save`); expiry is a date compared with today, so nothing updates it when it passes.
    Entitlements follow from `kind` and the rules at read time (a rule change applies to every document)."""

    __tablename__ = "verification_index"

    document_number: str = Field(sa_column=Column(String(40), primary_key=True))
    kind: str = Field(sa_column=Column(String(60), nullable=False))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    expires_on: date = Field(sa_column=Column(Date, nullable=False))
    holder_birth_date: Optional[date] = Field(default=None, sa_column=Column(Date))  # the caller must match it
    # Only lost, stolen or damaged (what verification tells); never the claim's outcome.
    revocation_reason: Optional[str] = Field(default=None, sa_column=Column(String(20)))


class DuplicateReviewRow(Base, table=True):
    """A pair of records that may be one person, waiting for an officer's review."""

    __tablename__ = "duplicate_reviews"
    __table_args__ = (Index("ix_duplicate_reviews_state", "state", "created_at"),)

    review_id: str = Field(sa_column=Column(String(64), primary_key=True))
    person_id: str = Field(sa_column=Column(String(64), nullable=False))
    candidate_person_id: str = Field(sa_column=Column(String(64), nullable=False))
    score: float = Field(sa_column=Column(sqlalchemy.Float, nullable=False))
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    state: str = Field(sa_column=Column(String(20), nullable=False))
    override_reason: Optional[str] = Field(default=None, sa_column=Column(String(1000)))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def sealed_places():
    """Where registration keeps sealed values (`pana keys reencrypt`; entry point `pana.sealed`)."""
    from pana_kit.rekey import sealed_document_places

    return sealed_document_places(Base.metadata)
