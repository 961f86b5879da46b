"""`BirthRequest`: one request to the civil registry, from receipt to its outcome.

    received --begin_verification--> verifying --record_verification--> verified
                                                                      | not_found
    not_found (or a submission request) --begin_submission--> submitting
    submitting --record_submission_accepted--> submitted(submission_id)
    submitted --record_submission_status--> registered(certificate_number, iin)
                                          | rejected(reason)
    any active state --quarantine--> quarantined(reason)   (malformed / contradicting answer)
    verifying | submitting | submitted --attempts exhausted--> parked --resume--> (back)

`verifying`, `submitting` and `submitted` mean "a registry call is owed": while the
registry is unavailable the request stays there with `attempts`, `last_error` and a
jittered `next_attempt_at`; `is_stuck` tells the reconciler which requests made no
progress for too long (a crashed worker, a lost callback, a parked request).

Every child is registered irrespective of the parents' legal status (2019
amendments): no step here reads `legal_status` or `nationality`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pana_kit import documents
from pana_kit.domain import Aggregate, InvalidInput, RuleViolation

from . import events
from .details import ChildDetails, ParentDetails, Problem, refuse, validate_birth_details
from .iin import check_iin_answer
from .ports import (
    BirthQuery,
    BirthRecordFound,
    BirthRecordNotFound,
    BirthRegistrationSubmission,
    RegistryAnswerInvalid,
    RegistryError,
    RegistryRejected,
    RegistryUnavailable,
    SubmissionAccepted,
    SubmissionStatus,
)
from .rules import BridgeRules

RequestKind = Literal["verification", "submission"]
KINDS: tuple[str, ...] = ("verification", "submission")
RequestState = Literal[
    "received", "verifying", "verified", "not_found", "submitting", "submitted",
    "registered", "rejected", "quarantined", "parked",
]
# States that owe a registry call; retries and parking apply to them.
CALLING_STATES = frozenset({"verifying", "submitting", "submitted"})
# States the reconciler watches; the others are settled.
ACTIVE_STATES = frozenset({"received", "parked"}) | CALLING_STATES
SETTLED_STATES = frozenset({"verified", "not_found", "registered", "rejected", "quarantined"})

RULE_MEDICAL_CERTIFICATE = "medical_birth_certificate_required"
RULE_BIRTH_IN_KAZAKHSTAN = "birth_in_kazakhstan_registered_here"
RULE_TRANSITION = "birth_request_state_order"
RULE_IDEMPOTENCY = "idempotency_key_same_request"
RULE_KIND = "request_kind_known"
RULE_ANSWER_CONSISTENT = "registry_answer_consistent"

DOCUMENT_VERSION = 1


@dataclass
class BirthRequest(Aggregate):
    request_id: str
    kind: RequestKind
    idempotency_key: str
    child: ChildDetails
    mother: ParentDetails | None
    father: ParentDetails | None
    medical_birth_certificate_number: str | None
    birth_certificate_number: str | None  # the registry's, when the caller already has it
    person_id: str | None  # registration's id of the child, the events' subject
    received_at: datetime
    registration_deadline: date
    state: RequestState = "received"
    updated_at: datetime | None = None
    attempts: int = 0  # consecutive failed attempts at the current step
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    submission_id: str | None = None
    certificate_number: str | None = None
    child_iin: str | None = None
    reason: str | None = None  # why rejected or quarantined
    parked_from: RequestState | None = None

    # --- receipt -------------------------------------------------------------------------

    @classmethod
    def receive(
        cls,
        *,
        request_id: str,
        kind: str,
        idempotency_key: str,
        child: ChildDetails,
        mother: ParentDetails | None,
        father: ParentDetails | None = None,
        medical_birth_certificate_number: str | None = None,
        birth_certificate_number: str | None = None,
        person_id: str | None = None,
        now: datetime,
        rules: BridgeRules,
    ) -> BirthRequest:
        """A validated request, due for its first registry call now. Refuses (InvalidInput)
        impossible details and a submission without a medical birth certificate; refuses
        (RuleViolation) a submission of a birth outside Kazakhstan."""
        problems: list[Problem] = []
        if kind not in KINDS:
            problems.append(Problem("kind", RULE_KIND, f"is one of {', '.join(KINDS)}"))
        if not idempotency_key or not idempotency_key.strip() or len(idempotency_key) > 200:
            problems.append(Problem("idempotency_key", "field_required", "1 to 200 characters"))
        medical = (medical_birth_certificate_number or "").strip() or None
        if kind == "submission" and medical is None:
            problems.append(Problem("medical_birth_certificate_number", RULE_MEDICAL_CERTIFICATE,
                                    "a birth registration is submitted on the basis of the medical birth certificate"))
        refuse(problems)
        validate_birth_details(child, mother, father, today=now.date(), rules=rules)
        if kind == "submission" and not child.place_of_birth.in_kazakhstan:
            raise RuleViolation(RULE_BIRTH_IN_KAZAKHSTAN,
                                "the civil registry of Kazakhstan registers births that took place in Kazakhstan")
        return cls(
            request_id=request_id, kind=kind, idempotency_key=idempotency_key.strip(),  # type: ignore[arg-type]
            child=child, mother=mother, father=father, medical_birth_certificate_number=medical,
            birth_certificate_number=(birth_certificate_number or "").strip() or None,
            person_id=person_id, received_at=now,
            registration_deadline=rules.registration_deadline(child.birth_date),
            updated_at=now, next_attempt_at=now,
        )

    def fingerprint(self) -> str:
        """A hash of what was asked, so a repeated idempotency key can be told apart from a reused one."""
        asked = {"kind": self.kind, "child": documents.to_document(self.child),
                 "mother": documents.to_document(self.mother) if self.mother else None,
                 "father": documents.to_document(self.father) if self.father else None,
                 "medical_birth_certificate_number": self.medical_birth_certificate_number,
                 "birth_certificate_number": self.birth_certificate_number, "person_id": self.person_id}
        return hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()

    def ensure_same_request(self, other: BirthRequest) -> None:
        """The same idempotency key twice is one request; with different content it is refused."""
        if other.idempotency_key != self.idempotency_key or other.fingerprint() != self.fingerprint():
            raise RuleViolation(RULE_IDEMPOTENCY,
                                "this idempotency key was already used for a different request",
                                request_id=self.request_id)

    # --- what to ask the registry ----------------------------------------------------------

    def verification_query(self) -> BirthQuery:
        return BirthQuery(request_id=self.request_id, child=self.child, mother=self.mother,
                          certificate_number=self.birth_certificate_number)

    def submission(self) -> BirthRegistrationSubmission:
        self._require_submittable()
        assert self.medical_birth_certificate_number is not None
        return BirthRegistrationSubmission(
            request_id=self.request_id, idempotency_key=self.idempotency_key, child=self.child,
            mother=self.mother, father=self.father,
            medical_birth_certificate_number=self.medical_birth_certificate_number,
        )

    def is_due(self, now: datetime) -> bool:
        """Does this request owe a registry call that may be made now?"""
        return self.state in CALLING_STATES | {"received"} and (
            self.next_attempt_at is None or self.next_attempt_at <= now)

    def is_stuck(self, now: datetime, stuck_after: timedelta) -> bool:
        """Active, yet no progress (nor a scheduled retry) within `stuck_after`."""
        if self.state not in ACTIVE_STATES:
            return False
        last = max(t for t in (self.updated_at, self.next_attempt_at, self.received_at) if t is not None)
        return now - last >= stuck_after

    def is_late(self, on: date) -> bool:
        """Registered (or submitted) after the 3-working-day deadline; never a reason to refuse."""
        return on > self.registration_deadline

    # --- verification ------------------------------------------------------------------------

    def begin_verification(self, now: datetime) -> None:
        self._require_state("begin verification", "received")
        self._move("verifying", now)

    def record_verification(self, answer: BirthRecordFound | BirthRecordNotFound, now: datetime,
                            rules: BridgeRules) -> None:
        """The registry's answer: verified, not found (then submitted when the rules say so),
        or quarantined when the record contradicts the request."""
        if self.state == "verified" and isinstance(answer, BirthRecordFound) \
                and answer.certificate_number == self.certificate_number:
            return  # the same answer delivered twice
        self._require_state("record a verification", "verifying")
        if isinstance(answer, BirthRecordNotFound):
            will_submit = self.should_submit_when_not_found(rules)
            self._move("not_found", now)
            self.record(events.BirthNotFound(self.request_id, self.person_id, now, will_submit=will_submit))
            if will_submit:
                self.begin_submission(now)
            return
        if not isinstance(answer, BirthRecordFound):
            self.quarantine(f"the registry answered a verification with {type(answer).__name__}", now)
            return
        contradictions = self._contradictions(answer)
        if contradictions:
            self.quarantine("the registry's birth record contradicts the request: " + "; ".join(contradictions), now)
            return
        self.certificate_number = answer.certificate_number
        self.child_iin = answer.child_iin
        self._move("verified", now)
        self.record(events.BirthVerified(self.request_id, self.person_id, now,
                                         certificate_number=answer.certificate_number, child_iin=answer.child_iin))

    def should_submit_when_not_found(self, rules: BridgeRules) -> bool:
        """Submit a birth the registry does not know? Never depends on the parents' status."""
        if not self.child.place_of_birth.in_kazakhstan or self.medical_birth_certificate_number is None:
            return False
        return self.kind == "submission" or rules.auto_submit_when_not_found

    def _contradictions(self, record: BirthRecordFound) -> list[str]:
        found: list[str] = []
        if not isinstance(record.certificate_number, str) or not record.certificate_number.strip():
            found.append("the record has no certificate number")
        iin = check_iin_answer(record.child_iin)
        if not iin["valid"]:
            found.append(f"the record's child IIN is not an IIN ({iin['reason']})")
        # The date and sex read from the IIN are hints only (Resolution No. 853): not compared.
        if record.child_birth_date != self.child.birth_date:
            found.append(f"child birth date {record.child_birth_date} differs from {self.child.birth_date}")
        if record.child_sex is not None and record.child_sex != self.child.sex:
            found.append(f"child sex {record.child_sex} differs from {self.child.sex}")
        if self.child.iin is not None and record.child_iin != self.child.iin:
            found.append("the record's child IIN differs from the IIN in the request")
        if self.birth_certificate_number is not None and record.certificate_number != self.birth_certificate_number:
            found.append("the record's certificate number differs from the one in the request")
        return found

    # --- submission ----------------------------------------------------------------------------

    def begin_submission(self, now: datetime) -> None:
        """Start registering the birth: from not_found, or directly for a submission request."""
        allowed = ("not_found", "received") if self.kind == "submission" else ("not_found",)
        self._require_state("submit the birth registration", *allowed)
        self._require_submittable()
        self._move("submitting", now)

    def _require_submittable(self) -> None:
        if self.medical_birth_certificate_number is None:
            raise RuleViolation(RULE_MEDICAL_CERTIFICATE,
                                "a birth registration is submitted on the basis of the medical birth "
                                "certificate, and this request has none", request_id=self.request_id)
        if not self.child.place_of_birth.in_kazakhstan:
            raise RuleViolation(RULE_BIRTH_IN_KAZAKHSTAN,
                                "the civil registry of Kazakhstan registers births that took place in Kazakhstan",
                                request_id=self.request_id)
        # Deliberately nothing about mother/father legal_status or nationality (2019 amendments).

    def record_submission_accepted(self, accepted: SubmissionAccepted, now: datetime, rules: BridgeRules) -> None:
        """The registry took the submission; poll (or await the callback) for the outcome."""
        if self.submission_id is not None and self.state in ("submitted", "registered", "rejected"):
            if accepted.submission_id == self.submission_id:
                return  # the response arrived after the callback, or twice
            detail = (f"the registry accepted this request as {accepted.submission_id!r} "
                      f"but already answered for {self.submission_id!r}")
            if self.state == "submitted":
                self.quarantine(detail, now)
                return
            raise RuleViolation(RULE_ANSWER_CONSISTENT, detail, request_id=self.request_id)
        self._require_state("record the submission's acceptance", "submitting")
        if not isinstance(accepted.submission_id, str) or not accepted.submission_id.strip():
            self.quarantine("the registry accepted the submission without a submission id", now)
            return
        self._submitted(accepted.submission_id, now, rules)

    def _submitted(self, submission_id: str, now: datetime, rules: BridgeRules) -> None:
        self.submission_id = submission_id
        self._move("submitted", now)
        self.next_attempt_at = now + rules.status_poll_interval
        self.record(events.BirthRegistrationSubmitted(
            self.request_id, self.person_id, now, submission_id=submission_id,
            registration_deadline=self.registration_deadline.isoformat(), late=self.is_late(now.date())))

    def record_submission_status(self, status: SubmissionStatus, now: datetime, rules: BridgeRules) -> None:
        """A polled status or a callback: still pending, registered, or rejected."""
        if self.state in ("registered", "rejected") and status.submission_id == self.submission_id \
                and status.state == self.state:
            return  # the outcome delivered twice (poll and callback)
        if self.state == "submitting" and self.submission_id is None:
            # The callback overtook the registry's response to our submit call.
            if not isinstance(status.submission_id, str) or not status.submission_id.strip():
                self.quarantine("the registry's status names no submission id", now)
                return
            self._submitted(status.submission_id, now, rules)
        self._require_state("record the submission's status", "submitted")
        if status.submission_id != self.submission_id:
            self.quarantine(f"the status is for submission {status.submission_id!r}, "
                            f"not {self.submission_id!r}", now)
            return
        if status.state == "pending":
            self.attempts = 0
            self.last_error = None
            self.updated_at = now
            self.next_attempt_at = now + rules.status_poll_interval
        elif status.state == "registered":
            problems = []
            if not status.certificate_number or not str(status.certificate_number).strip():
                problems.append("no certificate number")
            iin = check_iin_answer(status.child_iin)
            if not iin["valid"]:
                problems.append(f"the child's IIN is not an IIN ({iin['reason']})")
            if problems:
                self.quarantine("the registry reported the birth registered with " + "; ".join(problems), now)
                return
            self.certificate_number = status.certificate_number
            self.child_iin = status.child_iin
            self._move("registered", now)
            self.record(events.BirthRegistered(self.request_id, self.person_id, now,
                                               submission_id=self.submission_id,
                                               certificate_number=status.certificate_number,
                                               child_iin=status.child_iin))  # type: ignore[arg-type]
        elif status.state == "rejected":
            self._reject(status.reason or "the registry gave no reason", now)
        else:
            self.quarantine(f"unknown submission state {status.state!r}", now)

    def _reject(self, reason: str, now: datetime) -> None:
        self.reason = reason
        self._move("rejected", now)
        self.record(events.BirthRegistrationRejected(self.request_id, self.person_id, now,
                                                     submission_id=self.submission_id, reason=reason))

    # --- failures ----------------------------------------------------------------------------

    def record_failure(self, error: RegistryError, now: datetime, rules: BridgeRules,
                       random: Callable[[], float]) -> None:
        """Apply an adapter error: retry later, reject, or quarantine."""
        if isinstance(error, RegistryUnavailable):
            self.record_unavailable(error.reason, now, rules, random)
        elif isinstance(error, RegistryRejected):
            self.record_rejected(error.reason, now)
        elif isinstance(error, RegistryAnswerInvalid):
            self.quarantine(f"the registry's answer is invalid: {error.reason}", now)
        else:
            self.quarantine(f"unexpected registry error: {error.reason}", now)

    def record_unavailable(self, reason: str, now: datetime, rules: BridgeRules,
                           random: Callable[[], float]) -> None:
        """The call could not be made or answered; try again after a jittered backoff."""
        self._require_state("retry a registry call", *sorted(CALLING_STATES))
        self.attempts += 1
        self.last_error = reason
        self.updated_at = now
        if self.attempts >= rules.max_attempts:
            detail = f"{self.attempts} attempts failed, the last: {reason}"
            if rules.on_attempts_exhausted == "quarantine":
                self.quarantine(detail, now)
                return
            step = self.state
            self.parked_from = self.state
            self.state = "parked"
            self.next_attempt_at = None
            self.record(events.BirthRequestParked(self.request_id, self.person_id, now, step=step,
                                                  attempts=self.attempts, last_error=reason))
            return
        self.next_attempt_at = now + rules.retry_delay(self.attempts, random)

    def record_rejected(self, reason: str, now: datetime) -> None:
        """A 4xx from the registry. A refused submission is a rejection; a refused
        verification means our question was wrong, so a person must look at it."""
        if self.state in ("submitting", "submitted"):
            self._reject(reason, now)
        elif self.state == "verifying":
            self.quarantine(f"the registry refused the verification: {reason}", now)
        else:
            self._require_state("record a rejection", "submitting", "submitted", "verifying")

    def quarantine(self, reason: str, now: datetime) -> None:
        """Set aside for a person: the registry's answer is malformed or contradicts the request."""
        if self.state not in ACTIVE_STATES:
            raise RuleViolation(RULE_TRANSITION, f"cannot quarantine a request that is {self.state}",
                                request_id=self.request_id, state=self.state)
        step = self.state
        self.reason = reason
        self._move("quarantined", now)
        self.next_attempt_at = None
        self.record(events.BirthRequestQuarantined(self.request_id, self.person_id, now, step=step, reason=reason))

    def resume(self, now: datetime) -> None:
        """A parked request goes back to the step it was at, due now, with a fresh attempt count."""
        self._require_state("resume", "parked")
        assert self.parked_from is not None
        self.state, self.parked_from = self.parked_from, None
        self.attempts = 0
        self.updated_at = now
        self.next_attempt_at = now

    # --- plumbing --------------------------------------------------------------------------

    def _require_state(self, action: str, *allowed: str) -> None:
        if self.state not in allowed:
            raise RuleViolation(RULE_TRANSITION,
                                f"cannot {action} while the request is {self.state} "
                                f"(only when {' or '.join(allowed)})",
                                request_id=self.request_id, state=self.state)

    def _move(self, state: RequestState, now: datetime) -> None:
        self.state = state
        self.updated_at = now
        self.attempts = 0
        self.last_error = None
        self.next_attempt_at = now if state in CALLING_STATES else None

    # --- documents -------------------------------------------------------------------------

    def to_document(self) -> dict[str, Any]:
        """The stored form: the fields as they are named here, under a format version."""
        return {"version": DOCUMENT_VERSION, **documents.to_document(self)}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> BirthRequest:
        if doc.get("version") != DOCUMENT_VERSION:
            raise InvalidInput(f"unknown birth request document version {doc.get('version')!r}",
                               rule="document_version")
        return documents.from_document(cls, doc)
