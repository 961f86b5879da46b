"""The civil registry as the domain sees it: a port, its value types and its errors.

The HTTP adapter implements `CivilRegistry`; it is the only code that knows the
registry's wire format, and it turns every failure into one of three errors:

- `RegistryUnavailable`: outage, timeout, 5xx, circuit open. Retry later.
- `RegistryRejected`: a 4xx with a reason. Do not retry.
- `RegistryAnswerInvalid`: the answer is malformed or contradicts the request. Quarantine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

from .details import ChildDetails, ParentDetails


# --- questions -------------------------------------------------------------------------

@dataclass(frozen=True)
class BirthQuery:
    """Find a birth record: by the child's IIN or certificate number when known, else by
    the child's and mother's details. `request_id` lets the registry log the correlation."""

    request_id: str
    child: ChildDetails
    mother: ParentDetails | None = None
    certificate_number: str | None = None


@dataclass(frozen=True)
class BirthRegistrationSubmission:
    """Register a birth. The registry deduplicates on `idempotency_key`, so a submission
    repeated after a timeout is one registration."""

    request_id: str
    idempotency_key: str
    child: ChildDetails
    mother: ParentDetails | None
    father: ParentDetails | None
    medical_birth_certificate_number: str


# --- answers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BirthRecordFound:
    certificate_number: str
    child_iin: str
    child_birth_date: date
    child_sex: str | None = None
    child_surname: str | None = None
    child_given_name: str | None = None
    registered_on: date | None = None


@dataclass(frozen=True)
class BirthRecordNotFound:
    """The registry holds no matching birth record. (Named apart from the
    `events.BirthNotFound` event the request records on receiving it.)"""

    searched_at: datetime | None = None


@dataclass(frozen=True)
class SubmissionAccepted:
    submission_id: str
    accepted_at: datetime | None = None


SubmissionState = Literal["pending", "registered", "rejected"]


@dataclass(frozen=True)
class SubmissionStatus:
    submission_id: str
    state: SubmissionState
    certificate_number: str | None = None  # when registered
    child_iin: str | None = None  # when registered
    reason: str | None = None  # when rejected


@dataclass(frozen=True)
class RegistryPerson:
    iin: str
    surname: str | None
    given_name: str | None
    patronymic: str | None
    birth_date: date | None
    sex: str | None
    deceased: bool = False


# --- the port --------------------------------------------------------------------------

@runtime_checkable
class CivilRegistry(Protocol):
    async def verify_birth(self, query: BirthQuery) -> BirthRecordFound | BirthRecordNotFound: ...

    async def submit_birth_registration(self, submission: BirthRegistrationSubmission) -> SubmissionAccepted: ...

    async def submission_status(self, submission_id: str) -> SubmissionStatus: ...

    async def person_by_iin(self, iin: str) -> RegistryPerson | None: ...


# --- errors ----------------------------------------------------------------------------

class RegistryError(Exception):
    """Base of the errors a `CivilRegistry` adapter raises."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class RegistryUnavailable(RegistryError):
    """Outage, timeout, 5xx or circuit open: the call may be repeated later."""

    def __init__(self, reason: str, *, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after  # seconds, when the registry or the circuit says


class RegistryRejected(RegistryError):
    """The registry refused the call (4xx) with a reason; repeating it changes nothing."""

    def __init__(self, reason: str, *, status: int | None = None, code: str | None = None):
        super().__init__(reason)
        self.status = status
        self.code = code


class RegistryAnswerInvalid(RegistryError):
    """The answer is malformed or contradicts the request; the request is quarantined."""
