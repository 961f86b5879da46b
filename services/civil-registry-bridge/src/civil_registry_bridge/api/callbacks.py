"""The civil registry's callback when a birth registration it accepted is decided.

The registry is not an OAuth client: the callback URL the bridge gives it with each
submission carries the request id and an HMAC signature of it made with a shared
secret (`BRIDGE_CALLBACK_SECRET`). A wrong or missing signature is 401. The body is
the registry's Submission object; only the adapter reads it.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import APIRouter, Query, Request

from pana_kit.errors import Problem, problem_responses
from pana_kit.service import unit_of_work

from .. import service
from ..adapters.registry_http import parse_submission
from ..domain.ports import RegistryAnswerInvalid
from .schemas import CallbackAck

router = APIRouter(prefix="/api/v1/registry-callbacks", tags=["registry-callbacks"])


def callback_signature(secret: str, request_id: str) -> str:
    """The signature a callback URL carries: HMAC-SHA256 of the request id with the shared secret."""
    return hmac.new(secret.encode(), request_id.encode(), hashlib.sha256).hexdigest()


@router.post(
    "/birth-registrations",
    response_model=CallbackAck,
    summary="The registry reports a decided birth registration",
    description=(
        "Called by the civil registry (not by people) at the URL the bridge gave with the submission. "
        "Authenticated by the `signature` of the `request_id` (HMAC-SHA256 with the shared callback secret). "
        "The same outcome twice is answered 200 and changes nothing; it may arrive before the registry's answer "
        "to the submission itself. A body that is not a Submission is 422; an outcome that contradicts the "
        "request quarantines it; a request not awaiting an outcome is 409."),
    responses=problem_responses(401, 404, 409, 413, 422),
)
async def birth_registration_decided(
    request: Request,
    request_id: str = Query(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9\-]+$"),
    signature: str = Query(..., min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$"),
) -> CallbackAck:
    secret = request.app.state.settings.callback_secret
    if not hmac.compare_digest(signature, callback_signature(secret, request_id)):
        raise Problem(401, "the callback signature does not match", headers={"WWW-Authenticate": "Signature"})
    raw = await request.body()
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
    return CallbackAck(request_id=decided.request_id, status=decided.state)
