"""Events a `BirthRequest` records; `publishing.py` turns them into the published contract.

Each carries the request id, the registration person id of the child when the
request came with one (the event's subject), and when it happened. None carries
the parents' legal status or nationality: consumers need the outcome, not the
family's circumstances.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pana_kit.domain import DomainEvent


@dataclass(frozen=True)
class BirthRequestEvent(DomainEvent):
    request_id: str
    person_id: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class BirthVerified(BirthRequestEvent):
    certificate_number: str
    child_iin: str


@dataclass(frozen=True)
class BirthNotFound(BirthRequestEvent):
    will_submit: bool


@dataclass(frozen=True)
class BirthRegistrationSubmitted(BirthRequestEvent):
    submission_id: str
    registration_deadline: str  # ISO date: 3 working days after birth
    late: bool


@dataclass(frozen=True)
class BirthRegistered(BirthRequestEvent):
    submission_id: str
    certificate_number: str
    child_iin: str


@dataclass(frozen=True)
class BirthRegistrationRejected(BirthRequestEvent):
    submission_id: str | None
    reason: str


@dataclass(frozen=True)
class BirthRequestQuarantined(BirthRequestEvent):
    step: str  # the state it was in: verifying, submitting, submitted, ...
    reason: str


@dataclass(frozen=True)
class BirthRequestParked(BirthRequestEvent):
    """Retries exhausted while the registry stayed unavailable; the reconciler resumes it."""

    step: str
    attempts: int
    last_error: str
