"""Idempotency-Key for creating writes: the same key and body give the same answer.

The stored answer is written in the same transaction as the write it describes,
so a retry after a lost response can never create a second record.

Keys belong to the caller: a record is found by (principal subject, scope, key), so two
users who happen to send the same key get independent answers and never each other's
stored response. The key is claimed at the start of the request (`INSERT … ON CONFLICT DO
NOTHING`, one statement, before the write runs); a second request with the same key while
the first is still running meets that row: on PostgreSQL it waits for the first to end and
gets its answer (or claims the key when the first rolled back); where the row it met is gone
by the time it looks, it is answered 409 (`idempotency-key-in-use`), never a 500.
Records are purged `idempotency_ttl_hours` after they were written (job `retention`,
every `outbox_purge_interval_s`; pana_kit.retention); after that the key may be used again.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Header
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import make_transient_to_detached

from .db import UNIT_OF_WORK_KEY, insert_on_conflict
from .errors import Problem
from .jsontext import encoder
from .tables import IdempotencyRecord

IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:\-]{8,200}$"
IN_PROGRESS = 0  # status_code of a claimed key whose answer is not written yet


async def idempotency_key_header(  # async: a plain def would be run on a worker thread, for nothing
    idempotency_key: str = Header(
        ..., alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
        description="A unique key per intended write (8-200 characters: letters, digits, . _ : -); a retry reuses it. "
                    "Keys are the caller's own (another user's same key is a different key) and expire after "
                    "the service's idempotency period (default 24 h).",
        examples=["3f6b2a9e-0c41-4b7e-9d0e-2f1c5a7b8d90"],
    ),
) -> str:
    return idempotency_key


def request_hash(body: BaseModel | dict[str, Any]) -> str:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _in_use() -> Problem:
    return Problem(409, "a request with this Idempotency-Key is already being processed; retry it later to get its answer",
                   type_suffix="idempotency-key-in-use", headers={"Retry-After": "1"})


class Idempotency:
    """`idem = Idempotency(session, scope, key, body, principal=p)`; `await idem.replay()` then `idem.remember(...)`.

    `principal` is the caller (a `Principal`, or its subject): the key is looked up and stored under it.
    """

    def __init__(self, session, scope: str, key: str, body: BaseModel | dict[str, Any], *, principal):
        subject = principal if isinstance(principal, str) else getattr(principal, "subject", None)
        if not subject:
            raise ValueError("an Idempotency-Key is scoped per principal: pass the caller")
        self.session = session
        self.subject = str(subject)[:200]
        self.scope = scope
        self.key = key
        self.hash = request_hash(body)
        self._claim: IdempotencyRecord | None = None
        self._unit_of_work = None  # the UnitOfWork whose commit statement writes the answer (PostgreSQL)

    async def replay(self) -> JSONResponse | None:
        """The stored answer for this caller's key, or None after claiming the key for this request.

        One statement when the key is new: the claim is an `INSERT … ON CONFLICT DO NOTHING RETURNING`; only a key
        that is already there is read (and answered from). On PostgreSQL a claim that meets another request's
        uncommitted claim waits for it: committed, its answer is replayed; rolled back, this request claims.
        In a `UnitOfWork` on PostgreSQL the claim goes on the transaction's connection directly and the answer
        (`remember`) is written by the unit of work's commit statement."""
        now = datetime.now(timezone.utc)
        unit_of_work = self.session.info.get(UNIT_OF_WORK_KEY)
        if unit_of_work is not None:
            if await unit_of_work.raw.fetch(_CLAIM_PG, self.subject, self.scope, self.key, self.hash, now):
                self._unit_of_work = unit_of_work
                return None
            return await self._stored()
        values = dict(subject=self.subject, scope=self.scope, key=self.key, request_hash=self.hash,
                      status_code=IN_PROGRESS, response_body="null", headers={}, created_at=now)
        claimed = (await self.session.execute(_CLAIM, values)).first()
        if claimed is None:
            return await self._stored()
        # The claimed row, known to the session without reading it back: `remember` changes it (one UPDATE).
        claim = IdempotencyRecord(**values)
        make_transient_to_detached(claim)
        self.session.add(claim)
        self._claim = claim
        return None

    async def _stored(self) -> JSONResponse:
        record = await self.session.get(IdempotencyRecord, (self.subject, self.scope, self.key))
        if record is None:
            # The row it met is gone already (purged, or a claim rolled back after our insert looked).
            raise _in_use()
        return self._replay(record)

    def _replay(self, record: IdempotencyRecord) -> JSONResponse:
        if record.request_hash != self.hash:
            raise Problem(422, "this Idempotency-Key was already used with a different request body",
                          type_suffix="idempotency-key-reused")
        if record.status_code == IN_PROGRESS:
            raise _in_use()
        headers = dict(record.headers or {})
        headers["Idempotent-Replayed"] = "true"
        return JSONResponse(json.loads(record.response_body), status_code=record.status_code, headers=headers)

    def remember(self, status_code: int, body: BaseModel | dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        """Store the answer with the write (same transaction) and return it: a JSON response, serialised once
        (the bytes stored are the bytes sent; a replay sends the same)."""
        data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        text = _as_json_response(data)
        headers = headers or {}
        if self._unit_of_work is not None:
            self._unit_of_work.defer_answer(self.subject, self.scope, self.key, status_code, text, json.dumps(headers))
        else:
            record = self._claim
            if record is None:  # remember without replay: claim now (the commit refuses a concurrent duplicate)
                record = IdempotencyRecord(subject=self.subject, scope=self.scope, key=self.key,
                                           request_hash=self.hash, status_code=IN_PROGRESS, response_body="null",
                                           headers={}, created_at=datetime.now(timezone.utc))
                self.session.add(record)
            record.status_code = status_code
            record.response_body = text
            record.headers = headers
        return Response(text.encode(), status_code=status_code, headers=headers, media_type="application/json")


#: the text `JSONResponse` renders (no ASCII escaping, NaN refused, compact), its encoder built once
_as_json_response = encoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

_CLAIM = insert_on_conflict(
    IdempotencyRecord.__table__,
    ("subject", "scope", "key", "request_hash", "status_code", "response_body", "headers", "created_at"),
    "DO NOTHING", returning="key")
_CLAIM_PG = ("INSERT INTO idempotency_keys (subject, scope, key, request_hash, status_code, response_body, headers, "
             f"created_at) VALUES ($1, $2, $3, $4, {IN_PROGRESS}, 'null', '{{}}', $5) ON CONFLICT DO NOTHING RETURNING key")


async def purge_expired(db, *, ttl: timedelta, now: datetime | None = None) -> int:
    """Delete idempotency records written more than `ttl` ago; answers how many (pana_kit.retention)."""
    from .retention import prune_idempotency

    return await prune_idempotency(db, retention=ttl, now=now)
