"""The civil registry's callback when a birth registration it accepted is decided.

The registry is not an OAuth client. It signs every delivery with a secret shared with the
bridge (`BRIDGE_CALLBACK_SECRET`):

    X-Registry-Timestamp: <Unix seconds>
    X-Registry-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">

The bridge checks the signature (constant-time) over the raw bytes **before** it parses
anything, refuses a timestamp outside the replay window (`BRIDGE_CALLBACK_REPLAY_WINDOW_S`,
either side of now), and refuses a signature it has already accepted: accepted signatures
are remembered in the database (the kit's inbox table, consumer group
`registry-callbacks`), so a replay is refused by every instance, not only the one that saw
the first delivery. Every failure is 401 problem+json with `WWW-Authenticate: Signature`.
A registry that retries a delivery signs it again (a new timestamp, so a new signature);
the same outcome twice is then answered 200 and changes nothing.

The callback URL carries only the `request_id` (routing, not authentication). The body is
the registry's Submission object; only the adapter reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from fastapi import APIRouter, Request
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from pana_kit.errors import Problem, problem_responses
from pana_kit.service import unit_of_work
from pana_kit.tables import InboxMessage
from pana_kit.domain import utcnow

from .. import service
from ..adapters.registry_http import parse_submission
from ..domain.ports import RegistryAnswerInvalid
from .schemas import CallbackAck

router = APIRouter(prefix="/api/v1/registry-callbacks", tags=["registry-callbacks"])

TIMESTAMP_HEADER = "X-Registry-Timestamp"
SIGNATURE_HEADER = "X-Registry-Signature"
SEEN_GROUP = "registry-callbacks"  # the inbox's consumer group holding accepted signatures
_REQUEST_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def callback_signature(secret: str, timestamp: str | int, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of `"<timestamp>.<raw body>"` with the shared secret."""
    message = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def callback_headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers a registry sends with `body` (tests and tools sign the way the registry does)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: callback_signature(secret, ts, body)}


def _refuse(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": "Signature"})


def verify_callback(secret: str, headers, body: bytes, *, window_s: float, now: float | None = None) -> str:
    """The accepted signature, or 401. Reads only the two headers and the raw bytes."""
    timestamp = headers.get(TIMESTAMP_HEADER)
    signature = headers.get(SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise _refuse(f"the callback is not signed ({TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required)")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise _refuse(f"{TIMESTAMP_HEADER} is not Unix seconds")
    expected = callback_signature(secret, timestamp, body)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise _refuse("the callback signature does not match")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > window_s:
        raise _refuse("the callback timestamp is outside the replay window")
    return expected


async def _remember(request: Request, signature: str) -> None:
    """Record the accepted signature; one already recorded is a replay (401)."""
    try:
        async with unit_of_work(request) as uow:
            uow.session.add(InboxMessage(consumer_group=SEEN_GROUP, event_id=signature[len("sha256="):],
                                         event_type="registry.callback", handled_at=utcnow(), topic=None))
    except IntegrityError as exc:
        raise _refuse("the callback was already delivered with this signature (replay)") from exc


async def _forget(request: Request, signature: str) -> None:
    """A delivery that failed after it was accepted may be retried with the same signature."""
    async with unit_of_work(request) as uow:
        await uow.session.execute(delete(InboxMessage).where(
            InboxMessage.consumer_group == SEEN_GROUP, InboxMessage.event_id == signature[len("sha256="):]))


@router.post(
    "/birth-registrations",
    operation_id="receiveBirthRegistration",
    response_model=CallbackAck,
    summary="The registry reports a decided birth registration",
    description=(
        "Called by the civil registry (not by people) at the URL the bridge gave with the submission. "
        f"Authenticated by `{SIGNATURE_HEADER}: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<raw body>` with the "
        f"shared callback secret, where `{TIMESTAMP_HEADER}` is Unix seconds within the replay window; a signature "
        "already accepted is refused (replay). Any authentication failure is 401, checked before the body is read "
        "as JSON. The same outcome twice (signed twice) is answered 200 and changes nothing; it may arrive before "
        "the registry's answer to the submission itself. A body that is not a Submission is 422; an outcome that "
        "contradicts the request quarantines it; a request not awaiting an outcome is 409."),
    responses=problem_responses(401, 404, 409, 413, 422),
    openapi_extra={
        "parameters": [
            {"name": "request_id", "in": "query", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9\-]+$"}},
            {"name": TIMESTAMP_HEADER, "in": "header", "required": True,
             "schema": {"type": "string", "pattern": "^[0-9]{1,12}$"}, "example": "1767225600"},
            {"name": SIGNATURE_HEADER, "in": "header", "required": True,
             "schema": {"type": "string", "pattern": "^sha256=[0-9a-f]{64}$"}},
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    },
)
async def birth_registration_decided(request: Request) -> CallbackAck:
    settings = request.app.state.settings
    raw = await request.body()
    signature = verify_callback(settings.callback_secret, request.headers, raw,
                                window_s=settings.callback_replay_window_s)
    await _remember(request, signature)
    try:
        request_id = request.query_params.get("request_id", "")
        if not (1 <= len(request_id) <= 64 and set(request_id) <= _REQUEST_ID_CHARS):
            raise Problem(422, "request_id must be 1-64 letters, digits or '-'", field="request_id")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Problem(422, "the callback body is not JSON") from exc
        try:
            status = parse_submission(body)
        except RegistryAnswerInvalid as exc:
            raise Problem(422, f"the callback body is not a registry submission: {exc.reason}") from exc
        decided = await service.record_callback(lambda: unit_of_work(request), request_id, status,
                                                rules=request.app.state.rules)
    except BaseException:
        try:
            await _forget(request, signature)
        except Exception:  # the original failure is the one to report
            pass
        raise
    return CallbackAck(request_id=decided.request_id, status=decided.state)
