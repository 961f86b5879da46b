"""Domain events of the statelessness service: ids and facts only, never a claim's content."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from enum import Enum
from typing import Any, ClassVar


@dataclass(frozen=True)
class DomainEvent:
    """Base of every event; `name` is the versioned type published on `statelessness.events`."""

    name: ClassVar[str] = "statelessness.event.v1"

    def payload(self) -> dict[str, Any]:
        """JSON-able facts (dates as ISO strings, enums as their values)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Enum):
                return value.value
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, (list, tuple, frozenset, set)):
                return [plain(v) for v in value]
            return value

        return {key: plain(value) for key, value in asdict(self).items()}


@dataclass(frozen=True)
class CaseOpened(DomainEvent):
    name: ClassVar[str] = "statelessness.case.opened.v1"
    case_id: str
    person_id: str
    reason: str
    ex_officio: bool
    opened_on: date
    decision_due: date


@dataclass(frozen=True)
class EvidenceAdded(DomainEvent):
    name: ClassVar[str] = "statelessness.evidence.added.v1"
    case_id: str
    evidence_id: str
    kind: str
    brought_by: str
    received_on: date


@dataclass(frozen=True)
class InquirySent(DomainEvent):
    name: ClassVar[str] = "statelessness.inquiry.sent.v1"
    case_id: str
    person_id: str
    inquiry_id: str
    state: str
    link: str
    sent_on: date
    reply_due: date


@dataclass(frozen=True)
class InquiryAnswered(DomainEvent):
    name: ClassVar[str] = "statelessness.inquiry.answered.v1"
    case_id: str
    person_id: str
    inquiry_id: str
    state: str
    answer: str
    answered_on: date
    late: bool


@dataclass(frozen=True)
class InquiryUnanswered(DomainEvent):
    """No reply by the deadline: a finding the person can be documented as stateless on."""

    name: ClassVar[str] = "statelessness.inquiry.unanswered.v1"
    case_id: str
    person_id: str
    inquiry_id: str
    state: str
    reply_due: date
    found_on: date


@dataclass(frozen=True)
class InterviewHeld(DomainEvent):
    name: ClassVar[str] = "statelessness.interview.held.v1"
    case_id: str
    person_id: str
    held_on: date
    officer_id: str


@dataclass(frozen=True)
class DecisionDeadlineExtended(DomainEvent):
    name: ClassVar[str] = "statelessness.decision.extended.v1"
    case_id: str
    person_id: str
    previous_due: date
    decision_due: date
    extended_on: date


@dataclass(frozen=True)
class StatelessnessDetermined(DomainEvent):
    name: ClassVar[str] = "statelessness.determination.issued.v1"
    case_id: str
    person_id: str
    outcome: str
    nationality: str | None
    decided_on: date
    officer_id: str


@dataclass(frozen=True)
class PersonRecognisedStateless(DomainEvent):
    """Registration issues the stateless person certificate from this event.

    `meets_certificate_age` says whether the person is already old enough for the
    certificate (None when the birth date is unknown); `certificate_age_from` is the day
    they reach the certificate age. Permanent residence is registration's fact to check.
    """

    name: ClassVar[str] = "statelessness.person.recognised.v1"
    case_id: str
    person_id: str
    recognised_on: date
    meets_certificate_age: bool | None
    certificate_age_from: date | None
    certificate_validity_years: int


@dataclass(frozen=True)
class AppealLodged(DomainEvent):
    name: ClassVar[str] = "statelessness.appeal.lodged.v1"
    case_id: str
    person_id: str
    appeal_id: str
    lodged_on: date


@dataclass(frozen=True)
class AppealDecided(DomainEvent):
    name: ClassVar[str] = "statelessness.appeal.decided.v1"
    case_id: str
    person_id: str
    appeal_id: str
    outcome: str
    decided_on: date
    officer_id: str


@dataclass(frozen=True)
class ChildFlaggedAtRisk(DomainEvent):
    name: ClassVar[str] = "statelessness.child.flagged.v1"
    flag_id: str
    child_id: str
    rule: str
    flagged_on: date
    presumed_kazakh_citizen: bool


@dataclass(frozen=True)
class ChildAtRiskResolved(DomainEvent):
    name: ClassVar[str] = "statelessness.child.resolved.v1"
    flag_id: str
    child_id: str
    basis: str
    nationality: str
    resolved_on: date


@dataclass(frozen=True)
class NaturalizationTrackOpened(DomainEvent):
    name: ClassVar[str] = "statelessness.naturalization.opened.v1"
    track_id: str
    person_id: str
    case_id: str
    lawful_residence_from: date
    eligible_from: date


@dataclass(frozen=True)
class NaturalizationDecided(DomainEvent):
    name: ClassVar[str] = "statelessness.naturalization.decided.v1"
    track_id: str
    person_id: str
    outcome: str
    decided_on: date
