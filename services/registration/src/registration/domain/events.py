"""Domain events of the registration service: frozen dataclasses, one per fact, named in the past tense.

The class is the event's type; `publishing.py` translates the ones other services need into the
published contract. Dates and datetimes are passed in by the caller; no event reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from pana_kit.domain import DomainEvent


# --- persons ---------------------------------------------------------------------

@dataclass(frozen=True)
class PersonRegistered(DomainEvent):
    person_id: str
    registered_at: datetime
    registered_by: str
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    specific_needs: tuple[str, ...] = ()
    # Where and under which number: kept on the register's row, not in the person's document.
    registration_number: str | None = None
    office: str | None = None
    household_id: str | None = None


@dataclass(frozen=True)
class PersonUpdated(DomainEvent):
    person_id: str
    changed_fields: tuple[str, ...]
    changed_by: str
    reason: str
    changed_at: datetime
    version: int


@dataclass(frozen=True)
class SpecificNeedsChanged(DomainEvent):
    person_id: str
    specific_needs: tuple[str, ...]
    changed_at: datetime


@dataclass(frozen=True)
class IdentityDocumentRecorded(DomainEvent):
    person_id: str
    kind: str
    number: str
    issuing_state: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class BiometricsEnrolled(DomainEvent):
    person_id: str
    enrolment_reference: str
    enrolled_at: datetime


@dataclass(frozen=True)
class DuplicateOverridden(DomainEvent):
    """A person registered although likely duplicates were found (audited)."""
    person_id: str
    candidate_person_ids: tuple[str, ...]
    override_reason: str
    overridden_by: str
    at: datetime


@dataclass(frozen=True)
class PersonsMerged(DomainEvent):
    """`merged_person_id` is folded into `surviving_person_id`; other services re-key to it."""
    surviving_person_id: str
    merged_person_id: str
    merged_by: str
    reason: str
    merged_at: datetime


@dataclass(frozen=True)
class BirthReported(DomainEvent):
    """A child's birth (or a foundling) registered here, for the civil registry to register in its turn.

    What the civil registry needs that the child's record does not hold: where, the medical certificate,
    the parents and their status at the birth."""
    person_id: str
    born_in_kazakhstan: bool
    place_of_birth: str | None = None
    foundling: bool = False
    medical_birth_certificate_number: str | None = None
    household_id: str | None = None
    mother_person_id: str | None = None
    father_person_id: str | None = None
    mother_given_name: str | None = None
    mother_family_name: str | None = None
    mother_birth_date: date | None = None
    mother_status: str | None = None
    father_status: str | None = None
    parents_reside_permanently: bool = False


# --- households --------------------------------------------------------------------

@dataclass(frozen=True)
class HouseholdFormed(DomainEvent):
    household_id: str
    focal_person_id: str
    formed_on: date
    split_from: str | None = None


@dataclass(frozen=True)
class HouseholdMemberAdded(DomainEvent):
    household_id: str
    person_id: str
    relationship: str
    added_on: date


@dataclass(frozen=True)
class HouseholdRelationshipRecorded(DomainEvent):
    household_id: str
    person_id: str
    kind: str
    related_person_id: str


@dataclass(frozen=True)
class BirthRecorded(DomainEvent):
    household_id: str
    person_id: str
    parent_person_ids: tuple[str, ...]
    born_on: date


@dataclass(frozen=True)
class DeathRecorded(DomainEvent):
    household_id: str
    person_id: str
    died_on: date


@dataclass(frozen=True)
class MarriageRecorded(DomainEvent):
    household_id: str
    person_id: str
    spouse_person_id: str
    married_on: date


@dataclass(frozen=True)
class MemberArrived(DomainEvent):
    household_id: str
    person_id: str
    relationship: str
    arrived_on: date


@dataclass(frozen=True)
class MemberDeparted(DomainEvent):
    household_id: str
    person_id: str
    departed_on: date
    reason: str


@dataclass(frozen=True)
class HouseholdSplit(DomainEvent):
    household_id: str
    new_household_id: str
    new_focal_person_id: str
    person_ids: tuple[str, ...]
    split_on: date


@dataclass(frozen=True)
class FocalPersonChanged(DomainEvent):
    household_id: str
    previous_focal_person_id: str
    focal_person_id: str
    changed_on: date


# --- border referrals --------------------------------------------------------------

@dataclass(frozen=True)
class BorderReferralReceived(DomainEvent):
    referral_id: str
    crossing_point: str
    referred_at: datetime
    irregular_entry: bool
    registration_due: date


@dataclass(frozen=True)
class ReferralRegistered(DomainEvent):
    """The referred person was registered; `late` is recorded and never blocks."""
    referral_id: str
    person_id: str
    registered_at: datetime
    late: bool
    hours_to_registration: float
    office: str | None = None  # the registering office (published; not part of the referral's record)
    arrived_on: date | None = None  # the day the lodging window runs from (published to rsd)
    member_ids: tuple[str, ...] = ()  # a group referral's accompanying members (the referral lists them)


# --- documents issued and legal status ------------------------------------------------

@dataclass(frozen=True)
class DocumentIssued(DomainEvent):
    document_number: str
    kind: str
    holder_person_id: str
    dependant_person_ids: tuple[str, ...]
    issued_on: date
    expires_on: date
    replaces: str | None = None


@dataclass(frozen=True)
class DocumentRevoked(DomainEvent):
    document_number: str
    kind: str
    holder_person_id: str
    revoked_on: date
    reason: str


@dataclass(frozen=True)
class LegalStatusChanged(DomainEvent):
    person_id: str
    previous_status: str | None
    status: str
    since: date
    cause: str


@dataclass(frozen=True)
class PersonDied(DomainEvent):
    """The register learnt of a person's death for the first time (recorded here, or closed on death by rsd)."""

    person_id: str
    died_on: date
    cause: str  # the fact's source key


__all__ = [
    "PersonDied",
    "BirthReported", "PersonRegistered", "PersonUpdated", "SpecificNeedsChanged", "IdentityDocumentRecorded",
    "BiometricsEnrolled", "DuplicateOverridden", "PersonsMerged", "HouseholdFormed", "HouseholdMemberAdded",
    "HouseholdRelationshipRecorded", "BirthRecorded", "DeathRecorded", "MarriageRecorded", "MemberArrived",
    "MemberDeparted", "HouseholdSplit", "FocalPersonChanged", "BorderReferralReceived", "ReferralRegistered",
    "DocumentIssued", "DocumentRevoked", "LegalStatusChanged",
]
