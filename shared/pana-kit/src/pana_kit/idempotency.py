"""Idempotency-Key for creating writes: the same key and body give the same answer.

The stored answer is written in the same transaction as the write it describes,
so a retry after a lost response can never create a second record.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from .errors import Problem
from .tables import IdempotencyRecord

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:\-]{8,200}$"


def idempotency_key_header(
    idempotency_key: str = Header(
        ..., alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
        description="A unique key per intended write (8-200 characters: letters, digits, . _ : -); a retry reuses it.",
        examples=["3f6b2a9e-0c41-4b7e-9d0e-2f1c5a7b8d90"],
    ),
) -> str:
    return idempotency_key


def request_hash(body: BaseModel | dict[str, Any]) -> str:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Idempotency:
    """`idem = Idempotency(session, scope, key, body)`; `await idem.replay()` then `idem.remember(...)`."""

    def __init__(self, session, scope: str, key: str, body: BaseModel | dict[str, Any]):
        self.session = session
        self.scope = scope
        self.key = key
        self.hash = request_hash(body)

    async def replay(self) -> JSONResponse | None:
        record = await self.session.get(IdempotencyRecord, (self.scope, self.key))
        if record is None:
            return None
        if record.request_hash != self.hash:
            raise Problem(422, "this Idempotency-Key was already used with a different request body",
                          type_suffix="idempotency-key-reused")
        headers = dict(record.headers or {})
        headers["Idempotent-Replayed"] = "true"
        return JSONResponse(json.loads(record.response_body), status_code=record.status_code, headers=headers)

    def remember(self, status_code: int, body: BaseModel | dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
        data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        self.session.add(IdempotencyRecord(
            scope=self.scope, key=self.key, request_hash=self.hash, status_code=status_code,
            response_body=json.dumps(data), headers=headers or {}, created_at=datetime.now(timezone.utc),
        ))
        return JSONResponse(data, status_code=status_code, headers=headers)
