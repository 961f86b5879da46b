"""Status verification for service providers (equal-access pledge), and the documents' signed QR codes."""

from __future__ import annotations

import io
import math
import re
import time
from collections import defaultdict, deque
from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from pana_kit.auth import Principal, require
from pana_kit.domain import InvalidInput
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import purpose_header
from pana_kit.jsontext import compact
from pana_kit.middleware import HotRoute
from pana_kit.ratelimit import client_key, rate_limit

from .. import service
from ..domain import RegistrationRules, check_document_number, qr_payload, verification_delay, verify_entry
from ..signing import key_id, public_pem
from ..store.repository import IssuedDocuments, VerificationIndex
from .reading import audited_reading

router = APIRouter(tags=["verification"])  # the service providers' routes (the `verify` route group)
qr_router = APIRouter(tags=["verification"])  # a document's QR code, for officers
SERVICE = "registration"


class VerificationOut(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "result": "valid", "status_category": "refugee", "expires_on": "2027-11-19",
        "entitlements": ["medical_care", "employment", "education", "social_assistance"]}]}}

    result: Literal["valid", "expired", "revoked", "unknown"]
    status_category: str | None
    expires_on: date | None
    entitlements: list[str]
    revocation_reason: Literal["lost", "stolen", "damaged"] | None = Field(
        None, description="Only when a revoked document was replaced because it was lost, stolen or damaged "
                          "(absent otherwise; never the claim's outcome)")


class FailureCounter:
    """Misses (unknown or malformed numbers) per client inside the rules' window; in memory, per instance."""

    def __init__(self, rules: RegistrationRules):
        self.rules = rules
        self.misses: dict[str, deque[float]] = defaultdict(deque)

    def recent(self, client: str) -> int:
        window = self.misses[client]
        horizon = time.monotonic() - self.rules.verification_failure_window_seconds
        while window and window[0] < horizon:
            window.popleft()
        return len(window)

    def miss(self, client: str) -> None:
        self.misses[client].append(time.monotonic())

    def check(self, client: str) -> None:
        delay = verification_delay(self.recent(client), self.rules)
        if delay > 0:
            raise Problem(429, "too many checks of unknown document numbers; wait before trying again",
                          headers={"Retry-After": str(math.ceil(delay))})


VERIFY_SCOPE = "registration:verify"
_VERIFY_LIMIT = rate_limit("document-verify", per_minute=60, scope=VERIFY_SCOPE,
                           setting="verify_rate_per_minute")


@router.get(
    "/api/v1/verify/{document_number}",
    operation_id="verifyDocument",
    response_model=VerificationOut,
    response_model_exclude_unset=True,
    summary="Verify a protection document (service providers)",
    description="Answers whether a document is valid, expired, revoked or unknown, the status category, its expiry "
                "and the services it entitles to — nothing about the claim. The holder's birth date must match, "
                "otherwise the answer is `unknown`. A malformed number is 422. Every check is audited. A client "
                "gets 429 with `Retry-After` past its rate (60 checks a minute unless configured) and, sooner, "
                "when it keeps asking about unknown numbers.",
    responses=problem_responses(401, 403, 422, 429),
)
async def verify(
    request: Request,
    document_number: str = Path(max_length=20, description="e.g. RF2500012349", examples=["RF2500012349"]),
    birth_date: date = Query(description="The holder's birth date (YYYY-MM-DD)"),
    principal: Principal = Depends(_VERIFY_LIMIT),
) -> Response:
    # The read path: one primary-key lookup in the verification projection, then the audit entry is queued
    # for the audit writer's next batch (pana_kit.audit.AuditWriter): no transaction, no wait on the audit lock.
    # Its well-formed requests are answered by `verify_hot` before they reach this route (the same `_answer`).
    state = request.app.state
    client = client_key(principal)
    state.verification_failures.check(client)
    body = await _answer(state, principal, client, document_number.strip().upper(), birth_date)
    return Response(body, media_type="application/json")


_day: tuple = (None, None)  # (the second, its local date): one tuple, so threads never see half of it


def _today() -> date:
    """`date.today()`, its date reused within the same second of the clock (the local time's conversion was a
    twentieth of a verification's own time in process, issue 16)."""
    global _day
    second, day = _day
    now = int(time.time())
    if second != now:
        day = date.fromtimestamp(now)
        _day = (now, day)
    return day


async def _answer(state, principal: Principal, client: str, number: str, birth_date: date, *,
                  checked: bool = False) -> bytes:
    """The verification's answer (JSON), its audit entry queued and a miss counted; `InvalidInput` (audited as
    malformed) for a number that is not one (`checked`: `number` has passed `check_document_number`)."""
    counter: FailureCounter = state.verification_failures
    writer = state.audit_writer
    try:
        entry = await VerificationIndex.lookup(state.db, number) if len(number) <= 20 else None
        result = verify_entry(number, entry, birth_date=birth_date, today=_today(), rules=state.rules,
                              checked=checked)
    except InvalidInput:
        counter.miss(client)
        writer.submit(principal, "verify", "document/malformed", purpose="verification", outcome="malformed")
        raise
    outcome = result.outcome.value
    if outcome == "unknown":
        counter.miss(client)
    writer.submit(principal, "verify", f"document/{number}", purpose="verification", outcome=outcome)
    # The body is built here, not by FastAPI from `VerificationOut` (no model instance, no validation of our own
    # answer, no second serialisation: the hot path, issue 16); the model stays the documented schema, and a
    # test checks the answer against it.
    body = {"result": outcome, "status_category": result.status_category,
            "expires_on": result.expires_on.isoformat() if result.expires_on else None,
            "entitlements": list(result.entitlements)}
    if result.revocation_reason:
        body["revocation_reason"] = result.revocation_reason.value
    return compact(body).encode()


_VERIFY_PREFIX = "/api/v1/verify/"
_BIRTH_DATE_QUERY = re.compile(rb"birth_date=(\d{4})-(\d{2})-(\d{2})")


async def verify_hot(scope) -> bytes | None:
    """`GET /api/v1/verify/{number}?birth_date=YYYY-MM-DD` with a known token holding the scope, within its rate
    and its failure allowance, and a well-formed number: answered here (the body of the 200 the kit's middleware
    sends), as `verify` answers it, without FastAPI's routing and dependency solving
    (pana_kit.middleware.HotRoute). Anything else returns None before any effect and `verify` answers it,
    refusals included."""
    number = scope["path"][len(_VERIFY_PREFIX):]
    found = _BIRTH_DATE_QUERY.fullmatch(scope.get("query_string", b""))
    if found is None or not number or len(number) > 20 or "/" in number:
        return None
    try:
        birth_date = date(int(found[1]), int(found[2]), int(found[3]))
        number = number.strip().upper()
        check_document_number(number)
    except (ValueError, InvalidInput):
        return None
    token = None
    for name, value in scope["headers"]:
        if name == b"authorization":  # the first, as `bearer_token` reads it
            scheme, _, rest = value.decode("latin-1").partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" else None
            break
    if not token:
        return None
    app = scope["app"]
    state = app.state
    try:
        principal = await state.verifier.authenticate(token)
    except Exception:  # noqa: BLE001 - refused (or failing): the route answers, as it always did
        return None
    if not principal.has(VERIFY_SCOPE):
        return None
    client = client_key(principal)
    counter: FailureCounter = state.verification_failures
    # The failure allowance before the rate's token (the route takes the token first, then checks it: a request
    # refused here takes nothing, and the route then takes the token and refuses, as before).
    if verification_delay(counter.recent(client), state.rules) > 0 or not _VERIFY_LIMIT.admit(app, principal):
        return None
    scope.setdefault("state", {})["principal"] = principal
    return await _answer(state, principal, client, number, birth_date, checked=True)


HOT_VERIFY = HotRoute("GET", "/api/v1/verify/{document_number}", _VERIFY_PREFIX, verify_hot)


def _signing_key(request: Request):
    key = request.app.state.signing_key
    if key is None:
        raise Problem(503, "no signing key is configured for document QR codes")
    return key


@router.get(
    "/api/v1/documents/public-key",
    operation_id="getPublicKey",
    response_class=PlainTextResponse,
    summary="The public key that verifies document QR codes",
    description="PEM (SubjectPublicKeyInfo) of the Ed25519 key. A QR payload `PANA1.<claims>.<signature>` is "
                "verified offline by checking the signature over `PANA1.<claims>`.",
    responses={200: {"content": {"text/plain": {"example": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"}}},
               **problem_responses(401, 403, 503)},
)
async def public_key(request: Request, principal: Principal = Depends(require("registration:verify"))):
    return PlainTextResponse(public_pem(_signing_key(request)), media_type="application/x-pem-file")


@qr_router.get(
    "/api/v1/documents/{document_id}/qr",
    operation_id="getDocumentQr",
    response_class=Response,
    summary="A document's QR code (PNG)",
    description="PNG carrying the document's number, kind, status category and dates, signed with Ed25519. "
                "Needs `X-Purpose`; audited.",
    responses={200: {"content": {"image/png": {}}}, **problem_responses(401, 403, 404, 422, 503)},
)
async def document_qr(
    document_id: str,
    request: Request,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
):
    import qrcode

    key = _signing_key(request)
    async with audited_reading(request) as session:
        document = await service.audited_read(session, await IssuedDocuments(session).find(document_id[:64]),
                                              principal=principal, action="read-qr",
                                              resource=f"document/{document_id[:64]}", purpose=purpose,
                                              what=f"document {document_id[:64]}")
    image = qrcode.make(qr_payload(document, key, key_id=key_id(key)))
    buffer = io.BytesIO()
    image.save(buffer)
    return Response(buffer.getvalue(), media_type="image/png")
