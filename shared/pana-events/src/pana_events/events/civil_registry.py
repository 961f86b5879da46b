"""Events civil-registry-bridge publishes on `civil-registry.events`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from .base import Event
from .common import Id


class BirthVerified(Event):
    event_type: ClassVar[str] = "civil_registry.birth.verified.v1"
    request_id: Id
    child_person_id: Id | None = None
    certificate_number: str
    iin: str | None = None
    birth_date: date | None = None


class BirthNotFound(Event):
    event_type: ClassVar[str] = "civil_registry.birth.not_found.v1"
    request_id: Id
    child_person_id: Id | None = None
    will_submit: bool | None = None  # the bridge goes on to submit the birth (born in Kazakhstan, medical certificate)


class BirthRegistrationSubmitted(Event):
    event_type: ClassVar[str] = "civil_registry.birth_registration.submitted.v1"
    request_id: Id
    child_person_id: Id | None = None
    submission_id: str
    registration_deadline: date | None = None  # 3 working days after birth (MoJ Order No. 112)
    late: bool | None = None  # submitted after that deadline; never a reason to refuse


class BirthRegistered(Event):
    event_type: ClassVar[str] = "civil_registry.birth.registered.v1"
    request_id: Id
    child_person_id: Id | None = None
    certificate_number: str
    iin: str | None = None
    submission_id: str | None = None


class BirthRegistrationRejected(Event):
    event_type: ClassVar[str] = "civil_registry.birth_registration.rejected.v1"
    request_id: Id
    child_person_id: Id | None = None
    reason: str
    submission_id: str | None = None


class BirthRequestQuarantined(Event):
    """The registry's answer was malformed or contradicted the request; a person must look."""

    event_type: ClassVar[str] = "civil_registry.birth_request.quarantined.v1"
    request_id: Id
    child_person_id: Id | None = None
    reason: str
    step: str | None = None  # where the request was: verifying, submitting, submitted, ...


class BirthRequestParked(Event):
    """Retries ran out while the registry stayed unavailable; the reconciler resumes the request."""

    event_type: ClassVar[str] = "civil_registry.birth_request.parked.v1"
    request_id: Id
    child_person_id: Id | None = None
    step: str
    attempts: int
    last_error: str | None = None
