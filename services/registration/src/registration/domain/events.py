"""Domain events of the registration service: frozen dataclasses, one per fact.

`event_type` is the versioned name the outbox publishes on `registration.events`.
Dates and datetimes are passed in by the caller; no event reads the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar


# --- persons ---------------------------------------------------------------------

@dataclass(frozen=True)
class PersonRegistered:
    event_type: ClassVar[str] = "registration.person.registered.v1"
    person_id: str
    registered_at: datetime
    registered_by: str
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    specific_needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class PersonUpdated:
    event_type: ClassVar[str] = "registration.person.updated.v1"
    person_id: str
    changed_fields: tuple[str, ...]
    changed_by: str
    reason: str
    changed_at: datetime
    version: int


@dataclass(frozen=True)
class SpecificNeedsChanged:
    event_type: ClassVar[str] = "registration.person.specific_needs_changed.v1"
    person_id: str
    specific_needs: tuple[str, ...]
    changed_at: datetime


@dataclass(frozen=True)
class IdentityDocumentRecorded:
    event_type: ClassVar[str] = "registration.identity_document.recorded.v1"
    person_id: str
    kind: str
    number: str
    issuing_state: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class BiometricsEnrolled:
    event_type: ClassVar[str] = "registration.person.biometrics_enrolled.v1"
    person_id: str
    enrolment_reference: str
    enrolled_at: datetime


@dataclass(frozen=True)
class DuplicateOverridden:
    """A person registered although likely duplicates were found (audited)."""
    event_type: ClassVar[str] = "registration.person.duplicate_overridden.v1"
    person_id: str
    candidate_person_ids: tuple[str, ...]
    override_reason: str
    overridden_by: str
    at: datetime


@dataclass(frozen=True)
class PersonsMerged:
    """`merged_person_id` is folded into `surviving_person_id`; other services re-key to it."""
    event_type: ClassVar[str] = "registration.person.merged.v1"
    surviving_person_id: str
    merged_person_id: str
    merged_by: str
    reason: str
    merged_at: datetime


# --- households --------------------------------------------------------------------

@dataclass(frozen=True)
class HouseholdFormed:
    event_type: ClassVar[str] = "registration.household.formed.v1"
    household_id: str
    focal_person_id: str
    formed_on: date
    split_from: str | None = None


@dataclass(frozen=True)
class HouseholdMemberAdded:
    event_type: ClassVar[str] = "registration.household.member_added.v1"
    household_id: str
    person_id: str
    relationship: str
    added_on: date


@dataclass(frozen=True)
class HouseholdRelationshipRecorded:
    event_type: ClassVar[str] = "registration.household.relationship_recorded.v1"
    household_id: str
    person_id: str
    kind: str
    related_person_id: str


@dataclass(frozen=True)
class BirthRecorded:
    event_type: ClassVar[str] = "registration.household.birth_recorded.v1"
    household_id: str
    person_id: str
    parent_person_ids: tuple[str, ...]
    born_on: date


@dataclass(frozen=True)
class DeathRecorded:
    event_type: ClassVar[str] = "registration.household.death_recorded.v1"
    household_id: str
    person_id: str
    died_on: date


@dataclass(frozen=True)
class MarriageRecorded:
    event_type: ClassVar[str] = "registration.household.marriage_recorded.v1"
    household_id: str
    person_id: str
    spouse_person_id: str
    married_on: date


@dataclass(frozen=True)
class MemberArrived:
    event_type: ClassVar[str] = "registration.household.member_arrived.v1"
    household_id: str
    person_id: str
    relationship: str
    arrived_on: date


@dataclass(frozen=True)
class MemberDeparted:
    event_type: ClassVar[str] = "registration.household.member_departed.v1"
    household_id: str
    person_id: str
    departed_on: date
    reason: str


@dataclass(frozen=True)
class HouseholdSplit:
    event_type: ClassVar[str] = "registration.household.split.v1"
    household_id: str
    new_household_id: str
    new_focal_person_id: str
    person_ids: tuple[str, ...]
    split_on: date


@dataclass(frozen=True)
class FocalPersonChanged:
    event_type: ClassVar[str] = "registration.household.focal_person_changed.v1"
    household_id: str
    previous_focal_person_id: str
    focal_person_id: str
    changed_on: date


# --- border referrals --------------------------------------------------------------

@dataclass(frozen=True)
class BorderReferralReceived:
    event_type: ClassVar[str] = "registration.border_referral.received.v1"
    referral_id: str
    crossing_point: str
    referred_at: datetime
    irregular_entry: bool
    registration_due: date


@dataclass(frozen=True)
class ReferralRegistered:
    """The referred person was registered; `late` is recorded and never blocks."""
    event_type: ClassVar[str] = "registration.border_referral.registered.v1"
    referral_id: str
    person_id: str
    registered_at: datetime
    late: bool
    hours_to_registration: float


# --- documents issued and legal status ------------------------------------------------

@dataclass(frozen=True)
class DocumentIssued:
    event_type: ClassVar[str] = "registration.document.issued.v1"
    document_number: str
    kind: str
    holder_person_id: str
    dependant_person_ids: tuple[str, ...]
    issued_on: date
    expires_on: date
    replaces: str | None = None


@dataclass(frozen=True)
class DocumentRevoked:
    event_type: ClassVar[str] = "registration.document.revoked.v1"
    document_number: str
    kind: str
    holder_person_id: str
    revoked_on: date
    reason: str


@dataclass(frozen=True)
class LegalStatusChanged:
    event_type: ClassVar[str] = "registration.legal_status.changed.v1"
    person_id: str
    previous_status: str | None
    status: str
    since: date
    cause: str


__all__ = [
    "PersonRegistered", "PersonUpdated", "SpecificNeedsChanged", "IdentityDocumentRecorded",
    "BiometricsEnrolled", "DuplicateOverridden", "PersonsMerged", "HouseholdFormed", "HouseholdMemberAdded",
    "HouseholdRelationshipRecorded", "BirthRecorded", "DeathRecorded", "MarriageRecorded", "MemberArrived",
    "MemberDeparted", "HouseholdSplit", "FocalPersonChanged", "BorderReferralReceived", "ReferralRegistered",
    "DocumentIssued", "DocumentRevoked", "LegalStatusChanged",
]
