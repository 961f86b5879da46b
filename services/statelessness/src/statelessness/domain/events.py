"""Domain events of the statelessness service: ids and facts only, never a claim's content.

The class is the event's type; `publishing.py` makes the contract events others may see from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pana_kit.domain import DomainEvent


@dataclass(frozen=True)
class CaseOpened(DomainEvent):
    case_id: str
    person_id: str
    reason: str
    ex_officio: bool
    opened_on: date
    decision_due: date


@dataclass(frozen=True)
class CaseClosedOnDeath(DomainEvent):
    case_id: str
    person_id: str
    died_on: date


@dataclass(frozen=True)
class EvidenceAdded(DomainEvent):
    case_id: str
    evidence_id: str
    kind: str
    brought_by: str
    received_on: date


@dataclass(frozen=True)
class InquirySent(DomainEvent):
    case_id: str
    person_id: str
    inquiry_id: str
    state: str
    link: str
    sent_on: date
    reply_due: date


@dataclass(frozen=True)
class InquiryAnswered(DomainEvent):
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

    case_id: str
    person_id: str
    inquiry_id: str
    state: str
    reply_due: date
    found_on: date


@dataclass(frozen=True)
class InterviewHeld(DomainEvent):
    case_id: str
    person_id: str
    held_on: date
    officer_id: str


@dataclass(frozen=True)
class DecisionDeadlineExtended(DomainEvent):
    case_id: str
    person_id: str
    previous_due: date
    decision_due: date
    extended_on: date


@dataclass(frozen=True)
class StatelessnessDetermined(DomainEvent):
    case_id: str
    person_id: str
    outcome: str
    nationality: str | None
    decided_on: date
    officer_id: str
    appeal_until: date | None = None  # not stateless: the last day to appeal (the window from notification)


@dataclass(frozen=True)
class PersonRecognisedStateless(DomainEvent):
    """Registration issues the stateless person certificate from this event.

    `meets_certificate_age` says whether the person is already old enough for the
    certificate (None when the birth date is unknown); `certificate_age_from` is the day
    they reach the certificate age. Permanent residence is registration's fact to check.
    """

    case_id: str
    person_id: str
    recognised_on: date
    meets_certificate_age: bool | None
    certificate_age_from: date | None
    certificate_validity_years: int


@dataclass(frozen=True)
class AppealLodged(DomainEvent):
    case_id: str
    person_id: str
    appeal_id: str
    lodged_on: date


@dataclass(frozen=True)
class AppealDecided(DomainEvent):
    case_id: str
    person_id: str
    appeal_id: str
    outcome: str  # pana_events.vocabulary.AppealOutcome: allowed | rejected
    decided_on: date
    officer_id: str


@dataclass(frozen=True)
class ChildFlaggedAtRisk(DomainEvent):
    flag_id: str
    child_id: str
    rule: str
    flagged_on: date
    presumed_kazakh_citizen: bool


@dataclass(frozen=True)
class ChildAtRiskResolved(DomainEvent):
    flag_id: str
    child_id: str
    basis: str
    nationality: str
    resolved_on: date


@dataclass(frozen=True)
class NaturalizationTrackOpened(DomainEvent):
    track_id: str
    person_id: str
    case_id: str
    lawful_residence_from: date
    eligible_from: date


@dataclass(frozen=True)
class NaturalizationDecided(DomainEvent):
    track_id: str
    person_id: str
    outcome: str
    decided_on: date
