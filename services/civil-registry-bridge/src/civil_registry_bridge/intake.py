"""Storing a new birth request: the same key from the same client is one request."""

from __future__ import annotations

from pana_kit.domain import RuleViolation

from .domain.request import RULE_IDEMPOTENCY, BirthRequest
from .store.repository import BirthRequests


async def store_request(session, request: BirthRequest, *, client: str) -> tuple[BirthRequest, bool]:
    """Store `request` unless `client` already sent its idempotency key; then the stored one
    is returned (created=False), or RuleViolation when the key was used for another request."""
    repo = BirthRequests(session)
    existing = await repo.by_key(client, request.idempotency_key)
    if existing is not None:
        if existing.fingerprint != request.fingerprint():
            raise RuleViolation(RULE_IDEMPOTENCY, "this idempotency key was already used for a different request",
                                request_id=existing.id)
        return BirthRequest.from_document(existing.document), False
    repo.add(request, client=client)
    return request, True
