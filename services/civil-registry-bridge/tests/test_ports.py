"""The port used as the service layer will use it, against an in-memory fake registry."""

import random
from datetime import date, timedelta

from pana_events.identifiers import make_iin

from civil_registry_bridge.domain import events
from civil_registry_bridge.domain.circuit import CircuitBreaker
from civil_registry_bridge.domain.ports import (
    BirthQuery,
    BirthRecordFound,
    BirthRecordNotFound,
    BirthRegistrationSubmission,
    CivilRegistry,
    RegistryAnswerInvalid,
    RegistryError,
    RegistryPerson,
    RegistryRejected,
    RegistryUnavailable,
    SubmissionAccepted,
    SubmissionStatus,
)
from civil_registry_bridge.domain.request import BirthRequest


class FakeRegistry:
    """Knows no births at first; registers a submission on the second status poll."""

    def __init__(self, breaker: CircuitBreaker):
        self.breaker = breaker
        self.clock = 0.0
        self.down = False
        self.submissions: dict[str, BirthRegistrationSubmission] = {}
        self.polls: dict[str, int] = {}

    def _call(self):
        if not self.breaker.allow(self.clock):
            raise RegistryUnavailable("circuit open", retry_after=self.breaker.retry_at() - self.clock)
        if self.down:
            self.breaker.record_failure(self.clock)
            raise RegistryUnavailable("connection refused")
        self.breaker.record_success()

    async def verify_birth(self, query: BirthQuery) -> BirthRecordFound | BirthRecordNotFound:
        self._call()
        return BirthRecordNotFound()

    async def submit_birth_registration(self, submission: BirthRegistrationSubmission) -> SubmissionAccepted:
        self._call()
        self.submissions.setdefault(submission.idempotency_key, submission)
        return SubmissionAccepted(f"sub-{submission.idempotency_key}")

    async def submission_status(self, submission_id: str) -> SubmissionStatus:
        self._call()
        self.polls[submission_id] = self.polls.get(submission_id, 0) + 1
        if self.polls[submission_id] < 2:
            return SubmissionStatus(submission_id, "pending")
        child = next(iter(self.submissions.values())).child
        return SubmissionStatus(submission_id, "registered", certificate_number="I-AL 1",
                                child_iin=make_iin(child.birth_date, child.sex, 1))

    async def person_by_iin(self, iin: str) -> RegistryPerson | None:
        self._call()
        return None


async def step(request: BirthRequest, registry: CivilRegistry, now, rules) -> None:
    """One worker step, as the service layer will do it."""
    try:
        if request.state == "received":
            request.begin_verification(now)
        elif request.state == "verifying":
            request.record_verification(await registry.verify_birth(request.verification_query()), now, rules)
        elif request.state == "submitting":
            request.record_submission_accepted(
                await registry.submit_birth_registration(request.submission()), now, rules)
        elif request.state == "submitted":
            request.record_submission_status(await registry.submission_status(request.submission_id), now, rules)
    except RegistryError as error:
        request.record_failure(error, now, rules, random.Random(0).random)


def test_fake_satisfies_the_protocol():
    assert isinstance(FakeRegistry(CircuitBreaker()), CivilRegistry)


async def test_outage_opens_the_circuit_then_the_request_completes(make_request, rules, now):
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=30)
    registry = FakeRegistry(breaker)
    request = make_request(kind="submission")
    await step(request, registry, now, rules)
    registry.down = True
    for _ in range(3):
        await step(request, registry, now, rules)
    assert breaker.state == "open"
    assert request.state == "verifying" and request.attempts == 3 and request.last_error == "circuit open"
    registry.down = False
    registry.clock = 30.0  # the reset timeout passes: half-open, one trial succeeds
    later = now + timedelta(minutes=1)
    for _ in range(4):
        await step(request, registry, later, rules)
    assert breaker.state == "closed"
    assert request.state == "registered" and request.child_iin is not None
    assert len(registry.submissions) == 1
    assert [type(e) for e in request.collect_events()] == [
        events.BirthNotFound, events.BirthRegistrationSubmitted, events.BirthRegistered,
    ]


def test_error_types():
    assert issubclass(RegistryUnavailable, RegistryError)
    assert RegistryRejected("no", status=422).status == 422
    assert RegistryAnswerInvalid("garbled").reason == "garbled"
    assert RegistryUnavailable("x", retry_after=3.0).retry_after == 3.0
    assert RegistryPerson("1", None, None, None, date(2000, 1, 1), None).deceased is False
