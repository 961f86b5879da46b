"""Domain events the Application records. Ids and facts only, never the claim narrative.

The class is the event's type; `event_to_document` stores it under its class name, as before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pana_kit.documents import to_jsonable
from pana_kit.domain import DomainEvent


@dataclass(frozen=True)
class ApplicationLodged(DomainEvent):
    application_id: str
    person_id: str
    member_ids: tuple[str, ...]
    office: str
    lodged_on: date
    manner_of_arrival: str
    late_lodging: bool
    previous_application_id: str | None


@dataclass(frozen=True)
class ApplicationRegistered(DomainEvent):
    application_id: str
    person_id: str
    registered_on: date
    decision_due: date


@dataclass(frozen=True)
class CertificateRequested(DomainEvent):
    application_id: str
    member_id: str
    person_id: str
    child_person_ids: tuple[str, ...]
    issued_on: date
    valid_until: date
    reason: str  # "registration" | "extension" | "reopening"


@dataclass(frozen=True)
class FingerprintingRecorded(DomainEvent):
    application_id: str
    person_id: str
    fingerprinted_on: date
    late: bool


@dataclass(frozen=True)
class ProcessingModeSet(DomainEvent):
    application_id: str
    mode: str
    reason: str
    priority: bool


@dataclass(frozen=True)
class OfficerReassigned(DomainEvent):
    application_id: str
    from_officer_id: str | None
    to_officer_id: str
    on: date


@dataclass(frozen=True)
class InterviewScheduled(DomainEvent):
    application_id: str
    interview_id: str
    member_id: str
    scheduled_on: date
    interviewer_id: str
    interpreter_language: str
    interpreter_dialect: str | None


@dataclass(frozen=True)
class InterviewRescheduled(DomainEvent):
    application_id: str
    interview_id: str
    from_date: date
    to_date: date


@dataclass(frozen=True)
class InterviewHeld(DomainEvent):
    application_id: str
    interview_id: str
    member_id: str
    held_on: date


@dataclass(frozen=True)
class InterviewMissed(DomainEvent):
    application_id: str
    interview_id: str
    member_id: str
    missed_on: date


@dataclass(frozen=True)
class AssessmentRecorded(DomainEvent):
    application_id: str
    member_id: str
    assessed_by: str
    assessed_on: date
    meets_criteria: bool


@dataclass(frozen=True)
class RecommendationMade(DomainEvent):
    application_id: str
    officer_id: str
    outcome: str
    made_on: date


@dataclass(frozen=True)
class DecisionIssued(DomainEvent):
    application_id: str
    person_id: str
    outcome: str  # "recognised" | "rejected"
    member_ids_covered: tuple[str, ...]  # recognised in own right or derivatively
    derivative_member_ids: tuple[str, ...]
    rejection_reasons: tuple[str, ...]
    decided_by: str
    decided_on: date


@dataclass(frozen=True)
class DecisionNotified(DomainEvent):
    application_id: str
    person_id: str
    notified_on: date
    language: str
    appeal_deadline: date | None


@dataclass(frozen=True)
class DecisionPeriodExtended(DomainEvent):
    application_id: str
    months: int
    total_months: int
    decision_due: date
    extended_on: date


@dataclass(frozen=True)
class AppealLodged(DomainEvent):
    application_id: str
    appeal_id: str
    person_id: str
    lodged_on: date
    against: str  # "decision" | "ending"
    late_within_grace: bool
    suspends_removal: bool


@dataclass(frozen=True)
class AppealDecided(DomainEvent):
    application_id: str
    appeal_id: str
    person_id: str
    outcome: str  # pana_events.vocabulary.AppealOutcome: allowed | rejected | remitted
    decided_by: str
    decided_on: date
    member_ids_covered: tuple[str, ...]  # allowed: recognised, or status restored
    member_ids_concerned: tuple[str, ...] = ()  # every member the appeal is about


@dataclass(frozen=True)
class ApplicationClosed(DomainEvent):
    application_id: str
    person_id: str
    reason: str
    closed_on: date
    member_ids: tuple[str, ...] = ()  # whose file closes: everyone living, or the deceased alone
    file_closed: bool = True  # False: a member died and the others' procedure goes on
    new_principal_member_id: str | None = None


@dataclass(frozen=True)
class ApplicationReopened(DomainEvent):
    application_id: str
    person_id: str
    ground: str
    reopened_on: date
    decision_due: date


@dataclass(frozen=True)
class StatusEndingNoticeGiven(DomainEvent):
    application_id: str
    person_id: str
    kind: str  # cessation | cancellation | revocation
    grounds: tuple[str, ...]
    notified_on: date
    response_due: date


@dataclass(frozen=True)
class StatusEndingResponseRecorded(DomainEvent):
    application_id: str
    responded_on: date


@dataclass(frozen=True)
class StatusEndingDecided(DomainEvent):
    application_id: str
    person_id: str
    kind: str
    status_ended: bool
    decided_by: str
    decided_on: date


@dataclass(frozen=True)
class StatusEnded(DomainEvent):
    application_id: str
    person_id: str
    member_ids: tuple[str, ...]
    kind: str
    grounds: tuple[str, ...]
    ended_on: date


@dataclass(frozen=True)
class StatusRestored(DomainEvent):
    application_id: str
    person_id: str
    member_ids: tuple[str, ...]
    restored_on: date


@dataclass(frozen=True)
class ContactRecorded(DomainEvent):
    """Not published: contact matters inside the procedure (abandonment) only."""

    application_id: str
    kind: str
    on: date


@dataclass(frozen=True)
class MemberAdded(DomainEvent):
    """A child joined the pending application. Published through the certificate request that covers the child
    (rsd.certificate.requested.v1, the child in member_ids) once the application is registered."""

    application_id: str
    member_id: str
    person_id: str
    relationship: str
    added_on: date


@dataclass(frozen=True)
class DeadlineMissed(DomainEvent):
    application_id: str
    deadline: str
    due_on: date
    noticed_on: date


def event_to_document(event: Any) -> dict[str, Any]:
    """{"type": "DecisionIssued", "data": {...}} with JSON-able values."""
    return {"type": type(event).__name__, "data": to_jsonable(event)}
