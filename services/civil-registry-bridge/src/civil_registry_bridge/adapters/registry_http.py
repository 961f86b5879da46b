"""The civil registry over HTTP (httpx): the only code that knows the registry's wire format.

Wire format: `deploy/civil-registry-simulator/README.md` (JSON, camelCase, Bearer API key).

- Timeouts on every call; a concurrency limit (semaphore) on calls in flight.
- Retries with jittered, doubling backoff for calls that are safe to repeat: reads, the
  search, and the submission, which the registry deduplicates on its `Idempotency-Key`.
- A circuit breaker (`domain.circuit.CircuitBreaker`): after N consecutive failures calls
  are refused at once (`RegistryUnavailable` with `retry_after`) until a trial call passes.
- Every failure becomes a domain error: `RegistryUnavailable` (outage, timeout, 5xx, 429,
  circuit open), `RegistryRejected` (4xx with a reason), `RegistryAnswerInvalid` (the
  answer is not what the wire format promises: quarantine).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from ..domain.circuit import CircuitBreaker
from ..domain.details import ChildDetails, ParentDetails
from ..domain.ports import (
    BirthQuery,
    BirthRecordFound,
    BirthRecordNotFound,
    BirthRegistrationSubmission,
    RegistryAnswerInvalid,
    RegistryPerson,
    RegistryRejected,
    RegistryUnavailable,
    SubmissionAccepted,
    SubmissionStatus,
)

log = logging.getLogger("civil_registry_bridge.registry")

_NATIONALITY = re.compile(r"^(?:[A-Z]{2}|stateless|undetermined)$")
_RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class RegistryHttp:
    """Implements `domain.ports.CivilRegistry`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 3.0,
        retries: int = 2,
        retry_base_s: float = 0.2,
        concurrency: int = 16,
        breaker: CircuitBreaker | None = None,
        callback_url: Callable[[str], str | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        random_source: Callable[[], float] = random.random,
    ):
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            transport=transport,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        self.retries = retries
        self.retry_base_s = retry_base_s
        self.limit = asyncio.Semaphore(concurrency)
        self.concurrency = concurrency
        self.breaker = breaker or CircuitBreaker()
        self.callback_url = callback_url or (lambda request_id: None)
        self.clock = clock
        self.random = random_source
        self.in_flight = 0
        self.max_in_flight = 0  # the most calls seen in flight at once (tests, metrics)

    async def close(self) -> None:
        await self.client.aclose()

    # --- the port ----------------------------------------------------------------------

    async def verify_birth(self, query: BirthQuery) -> BirthRecordFound | BirthRecordNotFound:
        if query.certificate_number:
            return await self._record_by_certificate(query.certificate_number)
        if query.child.iin:
            person, certificate = await self._person(query.child.iin)
            if person is None or not certificate:
                return BirthRecordNotFound(searched_at=datetime.now().astimezone())
            return await self._record_by_certificate(certificate)
        child, mother = query.child, query.mother
        mother_criteria: dict[str, Any] = {}
        if mother is not None:
            mother_criteria = {"surname": mother.surname, "givenName": mother.given_name,
                               "birthDate": mother.birth_date.isoformat() if mother.birth_date else None}
        if not child.surname or not child.given_name or not mother_criteria:
            # The registry is searched by the child's names and the mother's: with less, nothing can be found.
            return BirthRecordNotFound(searched_at=datetime.now().astimezone())
        body = {"child": {"surname": child.surname, "givenName": child.given_name,
                          "birthDate": child.birth_date.isoformat()},
                "mother": {k: v for k, v in mother_criteria.items() if v is not None}}
        response = await self._call("POST", "/registry/v1/birth-records/search", json=body)
        if response.status_code != 200:
            raise self._refusal(response)
        matches = _field(_json(response), "matches", list)
        if not matches:
            return BirthRecordNotFound(searched_at=datetime.now().astimezone())
        if len(matches) > 1:
            certificates = ", ".join(str(m.get("certificateNumber")) for m in matches if isinstance(m, dict))
            raise RegistryAnswerInvalid(f"{len(matches)} birth records match the child and mother ({certificates})")
        return _birth_record(matches[0])

    async def submit_birth_registration(self, submission: BirthRegistrationSubmission) -> SubmissionAccepted:
        body = {
            "medicalBirthCertificateNumber": submission.medical_birth_certificate_number,
            "child": _child_out(submission.child),
            "mother": _parent_out(submission.mother) if submission.mother else None,
            "father": _parent_out(submission.father) if submission.father else None,
            "callbackUrl": self.callback_url(submission.request_id),
        }
        # The key is the request's own id: stable across retries and restarts, unique across clients.
        headers = {"Idempotency-Key": f"pana-{submission.request_id}"}
        response = await self._call("POST", "/registry/v1/birth-registrations", json=body, headers=headers)
        if response.status_code == 409:
            raise RegistryAnswerInvalid(f"the registry says our submission key was used for another body: {_message(response)}")
        if response.status_code not in (200, 201, 202):
            raise self._refusal(response)
        data = _json(response)
        return SubmissionAccepted(submission_id=_field(data, "submissionId", str),
                                  accepted_at=_timestamp(data.get("acceptedAt")))

    async def submission_status(self, submission_id: str) -> SubmissionStatus:
        response = await self._call("GET", f"/registry/v1/birth-registrations/{quote(submission_id, safe='')}")
        if response.status_code == 404:
            raise RegistryAnswerInvalid(f"the registry does not know submission {submission_id!r} it accepted")
        if response.status_code != 200:
            raise self._refusal(response)
        return parse_submission(_json(response))

    async def person_by_iin(self, iin: str) -> RegistryPerson | None:
        return (await self._person(iin))[0]

    async def _person(self, iin: str) -> tuple[RegistryPerson | None, str | None]:
        response = await self._call("GET", f"/registry/v1/persons/{quote(iin, safe='')}")
        if response.status_code == 404:
            return None, None
        if response.status_code != 200:
            raise self._refusal(response)
        data = _json(response)
        certificate = _optional_str(data, "birthCertificateNumber") if isinstance(data, dict) else None
        return RegistryPerson(
            iin=_field(data, "iin", str), surname=data.get("surname"), given_name=data.get("givenName"),
            patronymic=data.get("patronymic"), birth_date=_date(data.get("birthDate"), "birthDate", optional=True),
            sex=data.get("sex"),
        ), certificate

    # --- plumbing ------------------------------------------------------------------------

    async def _record_by_certificate(self, certificate_number: str) -> BirthRecordFound | BirthRecordNotFound:
        response = await self._call("GET", f"/registry/v1/birth-records/{quote(certificate_number, safe='')}")
        if response.status_code == 404:
            return BirthRecordNotFound(searched_at=datetime.now().astimezone())
        if response.status_code != 200:
            raise self._refusal(response)
        return _birth_record(_json(response))

    async def _call(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One safe call, tried up to 1 + retries times; answers any non-retryable response."""
        last: RegistryUnavailable | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                ceiling = self.retry_base_s * 2 ** (attempt - 1)
                await asyncio.sleep(ceiling / 2 + ceiling / 2 * self.random())
            if not self.breaker.allow(self.clock()):
                retry_at = self.breaker.retry_at()
                raise RegistryUnavailable("the circuit to the registry is open",
                                          retry_after=max(0.0, retry_at - self.clock()) if retry_at else None)
            try:
                async with self.limit:
                    self.in_flight += 1
                    self.max_in_flight = max(self.max_in_flight, self.in_flight)
                    try:
                        response = await self.client.request(method, path, **kwargs)
                    finally:
                        self.in_flight -= 1
            except httpx.TimeoutException as exc:
                last = RegistryUnavailable(f"the registry did not answer in time ({type(exc).__name__})")
            except httpx.HTTPError as exc:
                last = RegistryUnavailable(f"the registry cannot be reached ({type(exc).__name__})")
            else:
                if response.status_code in _RETRYABLE_STATUS:
                    last = RegistryUnavailable(f"the registry answered {response.status_code}: {_message(response)}",
                                               retry_after=_retry_after(response))
                else:
                    self.breaker.record_success()
                    return response
            self.breaker.record_failure(self.clock())
        assert last is not None
        raise last

    @staticmethod
    def _refusal(response: httpx.Response) -> Exception:
        if 400 <= response.status_code < 500:
            code = None
            try:
                code = response.json()["error"]["code"]
            except Exception:
                pass
            return RegistryRejected(f"the registry refused ({response.status_code}): {_message(response)}",
                                    status=response.status_code, code=code if isinstance(code, str) else None)
        return RegistryAnswerInvalid(f"unexpected answer {response.status_code} from the registry")


# --- wire format -> domain ---------------------------------------------------------------

def parse_submission(data: Any) -> SubmissionStatus:
    """A Submission object (a poll answer or a callback body) as the domain's status."""
    if not isinstance(data, dict):
        raise RegistryAnswerInvalid("a submission is a JSON object")
    submission_id = _field(data, "submissionId", str)
    status = _field(data, "status", str)
    if status == "accepted":
        return SubmissionStatus(submission_id, "pending")
    if status == "registered":
        return SubmissionStatus(submission_id, "registered",
                                certificate_number=_optional_str(data, "certificateNumber"),
                                child_iin=_optional_str(data, "childIin"))
    if status == "rejected":
        rejection = data.get("rejection")
        reason = "the registry gave no reason"
        if isinstance(rejection, dict):
            reason = f"{rejection.get('code', 'rejected')}: {rejection.get('message', '')}".strip(": ")
        return SubmissionStatus(submission_id, "rejected", reason=reason[:1000])
    raise RegistryAnswerInvalid(f"unknown submission status {status!r}")


def _birth_record(data: Any) -> BirthRecordFound:
    if not isinstance(data, dict):
        raise RegistryAnswerInvalid("a birth record is a JSON object")
    child = _field(data, "child", dict)
    registered = _timestamp(data.get("registeredAt"))
    return BirthRecordFound(
        certificate_number=_field(data, "certificateNumber", str),
        child_iin=_field(child, "iin", str),
        child_birth_date=_date(child.get("birthDate"), "child.birthDate"),  # type: ignore[arg-type]
        child_sex=_optional_str(child, "sex"),
        child_surname=_optional_str(child, "surname"),
        child_given_name=_optional_str(child, "givenName"),
        registered_on=registered.date() if registered else None,
    )


def _child_out(child: ChildDetails) -> dict[str, Any]:
    place = child.place_of_birth
    return {"surname": child.surname, "givenName": child.given_name, "patronymic": child.patronymic,
            "birthDate": child.birth_date.isoformat(), "sex": child.sex,
            "placeOfBirth": {"country": place.country or "KZ", "region": place.region, "locality": place.locality}}


def _parent_out(parent: ParentDetails) -> dict[str, Any]:
    nationality = (parent.nationality or "").strip()
    if len(nationality) == 2 and nationality.isalpha():
        nationality = nationality.upper()
    elif nationality.lower() == "stateless":
        nationality = "stateless"
    if not _NATIONALITY.match(nationality):
        nationality = "undetermined"  # as stated is kept by us; the registry takes a code or undetermined
    out: dict[str, Any] = {"iin": parent.iin, "surname": parent.surname, "givenName": parent.given_name,
                           "patronymic": parent.patronymic,
                           "birthDate": parent.birth_date.isoformat() if parent.birth_date else None,
                           "nationality": nationality}
    if parent.residence:
        out["residence"] = {"country": "KZ", "locality": parent.residence[:100]}
    return out


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise RegistryAnswerInvalid(f"the registry's answer ({response.status_code}) is not JSON") from exc


def _field(data: Any, name: str, kind: type) -> Any:
    if not isinstance(data, dict) or name not in data:
        raise RegistryAnswerInvalid(f"the registry's answer has no {name}")
    value = data[name]
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        raise RegistryAnswerInvalid(f"the registry's {name} is not a {kind.__name__}")
    return value


def _optional_str(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RegistryAnswerInvalid(f"the registry's {name} is not text")
    return value


def _date(value: Any, name: str, *, optional: bool = False) -> date | None:
    if value is None and optional:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise RegistryAnswerInvalid(f"the registry's {name} is not a date ({value!r})") from exc


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise RegistryAnswerInvalid(f"the registry's timestamp {value!r} is not ISO 8601") from exc


def _message(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{error.get('code', '')} {error.get('message', '')}".strip()[:500] or response.reason_phrase
    except Exception:
        return response.reason_phrase or str(response.status_code)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
