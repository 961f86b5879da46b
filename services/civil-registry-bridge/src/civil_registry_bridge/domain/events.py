"""Events a `BirthRequest` records; the unit of work writes them to the outbox.

Each carries the request id, the registration person id of the child when the
request came with one (the event's subject), and when it happened. None carries
the parents' legal status or nationality: consumers need the outcome, not the
family's circumstances.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar


@dataclass(frozen=True)
class BirthRequestEvent:
    type: ClassVar[str] = ""
    request_id: str
    person_id: str | None
    occurred_at: datetime

    def payload(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["occurred_at"] = self.occurred_at.isoformat()
        return doc


@dataclass(frozen=True)
class BirthVerified(BirthRequestEvent):
    type: ClassVar[str] = "civil-registry.birth.verified.v1"
    certificate_number: str
    child_iin: str


@dataclass(frozen=True)
class BirthNotFound(BirthRequestEvent):
    type: ClassVar[str] = "civil-registry.birth.not-found.v1"
    will_submit: bool


@dataclass(frozen=True)
class BirthRegistrationSubmitted(BirthRequestEvent):
    type: ClassVar[str] = "civil-registry.birth-registration.submitted.v1"
    submission_id: str
    registration_deadline: str  # ISO date: 3 working days after birth
    late: bool


@dataclass(frozen=True)
class BirthRegistered(BirthRequestEvent):
    type: ClassVar[str] = "civil-registry.birth.registered.v1"
    submission_id: str
    certificate_number: str
    child_iin: str


@dataclass(frozen=True)
class BirthRegistrationRejected(BirthRequestEvent):
    type: ClassVar[str] = "civil-registry.birth-registration.rejected.v1"
    submission_id: str | None
    reason: str


@dataclass(frozen=True)
class BirthRequestQuarantined(BirthRequestEvent):
    type: ClassVar[str] = "civil-registry.birth-request.quarantined.v1"
    step: str  # the state it was in: verifying, submitting, submitted, ...
    reason: str


@dataclass(frozen=True)
class BirthRequestParked(BirthRequestEvent):
    """Retries exhausted while the registry stayed unavailable; the reconciler resumes it."""

    type: ClassVar[str] = "civil-registry.birth-request.parked.v1"
    step: str
    attempts: int
    last_error: str
