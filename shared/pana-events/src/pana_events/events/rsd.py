"""Events rsd publishes on `rsd.events`. The claim itself never appears here."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from ..vocabulary import AppealOutcome
from .base import Event
from .common import Id, Ids


class ApplicationLodged(Event):
    event_type: ClassVar[str] = "rsd.application.lodged.v1"
    application_id: Id
    person_id: Id
    member_ids: Ids
    lodged_on: date
    registered_on: date
    decision_due: date
    processing_mode: Literal["regular", "accelerated", "simplified"] = "regular"
    late_lodging: bool = False
    office: str | None = None


class CertificateRequested(Event):
    """Registration should issue an asylum-seeker certificate for these dates."""

    event_type: ClassVar[str] = "rsd.certificate.requested.v1"
    application_id: Id
    person_id: Id
    member_ids: Ids
    valid_from: date
    valid_until: date
    reason: Literal["registration", "extension"]


class InterviewScheduled(Event):
    event_type: ClassVar[str] = "rsd.interview.scheduled.v1"
    application_id: Id
    person_id: Id
    interview_id: Id
    scheduled_for: date


class DecisionIssued(Event):
    event_type: ClassVar[str] = "rsd.decision.issued.v1"
    application_id: Id
    person_id: Id
    member_ids: Ids = Field(description="Persons the decision covers (principal and derivatives)")
    outcome: Literal["recognised", "rejected"]
    decided_on: date
    notified_on: date | None = None
    appeal_until: date | None = None


class DecisionPeriodExtended(Event):
    event_type: ClassVar[str] = "rsd.decision_period.extended.v1"
    application_id: Id
    person_id: Id
    decision_due: date


class AppealLodged(Event):
    event_type: ClassVar[str] = "rsd.appeal.lodged.v1"
    application_id: Id
    person_id: Id
    lodged_on: date


class AppealDecided(Event):
    """Deprecated: read rsd.appeal.decided.v2 (published beside it for one deprecation window, see
    docs/events.md). `outcome` here is seen from the appellant, the opposite sense of the word `upheld` in
    statelessness, and on a rejection or remittal `member_ids` is empty."""

    event_type: ClassVar[str] = "rsd.appeal.decided.v1"
    application_id: Id
    person_id: Id
    member_ids: Ids = Field(description="Persons the appeal's result concerns: on `allowed`, those recognised "
                                        "(against a decision) or whose status is restored (against an ending)")
    outcome: Literal["upheld", "dismissed"] = Field(description=(
        "Seen from the APPELLANT: `upheld` means the APPEAL was upheld — the appellant won and the decision "
        "appealed against is overturned (`result` `allowed`); `dismissed` means the appellant did not win "
        "(`result` `rejected`, or `remitted`: back to first instance, still pending). NB: in statelessness an "
        "appeal `upheld` means the opposite (the determination stands); read `result`, the same words in "
        "both services"))
    decided_on: date
    result: Literal["allowed", "rejected", "remitted"] | None = Field(
        None, description="The appeal's result, unambiguous and the same words as statelessness' `appeal_result`: "
                          "`allowed` (the appellant won), `rejected` (the decision appealed against stands), "
                          "`remitted` (back to first instance, still pending; `outcome` then reads `dismissed`)")
    against: Literal["decision", "ending"] | None = Field(
        None, description="What was appealed: the first-instance decision or a decision ending status")


class AppealDecidedV2(Event):
    """An appeal was decided, in the one vocabulary (`pana_events.vocabulary.AppealOutcome`), naming every
    member it concerns. Replaces rsd.appeal.decided.v1, whose `outcome` meant the opposite of statelessness'
    `upheld` and whose `member_ids` named only the members recognised."""

    event_type: ClassVar[str] = "rsd.appeal.decided.v2"
    application_id: Id
    person_id: Id = Field(description="The application's person (the principal at lodging; also the message key). "
                                      "Not necessarily one the appeal concerns: read `member_ids`")
    appeal_id: Id
    against: Literal["decision", "ending"] = Field(
        description="What was appealed: the first-instance decision or a decision ending status")
    result: AppealOutcome = Field(description=(
        "Seen from the appellant, the same words as statelessness: `allowed` (the decision appealed against is "
        "overturned), `rejected` (it stands), `remitted` (back to first instance for a new decision: still an "
        "asylum-seeker; only against a decision)"))
    member_ids: list[Id] = Field(min_length=1, description=(
        "Every person the appeal concerns: against a decision, every living member of the file; against an "
        "ending, the members whose status had ended"))
    allowed_member_ids: Ids = Field(description=(
        "With `result` `allowed`, those of `member_ids` it was allowed for: recognised (against a decision) or "
        "whose status is restored (against an ending). A member of `member_ids` not named here was not "
        "recognised on appeal (a rejection for them). Empty for `rejected` and `remitted`"))
    decided_on: date


class ApplicationClosed(Event):
    event_type: ClassVar[str] = "rsd.application.closed.v1"
    application_id: Id
    person_id: Id = Field(description="The application's person (the principal at lodging; also the message key). "
                                      "Not necessarily one whose file closed: read `member_ids`")
    member_ids: Ids = Field(description="Exactly the persons whose file closes. For `death` while other members "
                                        "remain, the deceased alone: the others' procedure goes on (after the "
                                        "principal's death with another member as principal)")
    reason: str
    closed_on: date


class ApplicationReopened(Event):
    event_type: ClassVar[str] = "rsd.application.reopened.v1"
    application_id: Id
    person_id: Id
    ground: str
    reopened_on: date


class StatusEnded(Event):
    """Refugee status ended by cessation, cancellation or revocation."""

    event_type: ClassVar[str] = "rsd.status.ended.v1"
    application_id: Id
    person_id: Id = Field(description="The application's person (the principal at lodging; also the message key). "
                                      "Not necessarily one whose status ended: read `member_ids`")
    member_ids: Ids = Field(description="Exactly the persons whose refugee status ended; every other member keeps "
                                        "theirs")
    ending: Literal["cessation", "cancellation", "revocation"]
    ground: str
    ended_on: date


class DeadlineMissed(Event):
    event_type: ClassVar[str] = "rsd.deadline.missed.v1"
    application_id: Id
    person_id: Id
    deadline: str
    due: date
