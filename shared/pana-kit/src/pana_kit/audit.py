"""Append-only audit log chained by hashes: who did what to which record, why, and when.

Each entry's hash covers its content and the previous entry's hash, so changing
or deleting a row breaks the chain at that point (`verify_chain`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text

from .auth import Principal
from .metrics import AUDIT_ENTRIES
from .tables import AuditEntry
from .tracing import current_trace_id

GENESIS = "0" * 64
_AUDIT_LOCK_ID = 7_261_003


def entry_hash(prev_hash: str, *, at: datetime, subject: str, client_id: str | None, role: str | None, action: str,
               resource: str, purpose: str | None, outcome: str, trace_id: str | None) -> str:
    content = json.dumps([prev_hash, at.astimezone(timezone.utc).isoformat(), subject, client_id, role, action, resource,
                          purpose, outcome, trace_id], separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


async def record(session, principal: Principal | None, action: str, resource: str, *, purpose: str | None = None,
                 outcome: str = "ok", service: str = "") -> AuditEntry:
    """Append an entry in the caller's transaction (so it commits with the effect)."""
    if session.bind.dialect.name == "postgresql":
        # Serialise appends so the chain has one line, even with several instances.
        await session.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK_ID})"))
    last = (await session.execute(select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))).scalar_one_or_none()
    prev = last or GENESIS
    at = datetime.now(timezone.utc)
    fields = dict(
        at=at,
        subject=principal.subject if principal else "system",
        client_id=principal.client_id if principal else None,
        role=principal.role if principal else None,
        action=action,
        resource=resource,
        purpose=purpose,
        outcome=outcome,
        trace_id=current_trace_id(),
    )
    entry = AuditEntry(**fields, prev_hash=prev, hash=entry_hash(prev, **fields))
    session.add(entry)
    await session.flush()
    AUDIT_ENTRIES.labels(service, action).inc()
    return entry


_CHAIN_COLUMNS = ("seq", "at", "subject", "client_id", "role", "action", "resource", "purpose", "outcome", "trace_id",
                  "prev_hash", "hash")


@dataclass(frozen=True)
class ChainReport:
    entries: int
    intact: bool
    first_broken_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None  # the last entry, when intact: anchor it outside the database
    head_hash: str | None = None


async def verify_chain(session, *, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in seq order, a batch at a time (the log can be long)."""
    prev = GENESIS
    count = 0
    last_seq: int | None = None
    while True:
        # Plain rows, not ORM objects: nothing piles up in the caller's session.
        stmt = select(*(getattr(AuditEntry, c) for c in _CHAIN_COLUMNS)).order_by(AuditEntry.seq).limit(batch_size)
        if last_seq is not None:
            stmt = stmt.where(AuditEntry.seq > last_seq)
        batch = list((await session.execute(stmt)).all())
        if not batch:
            break
        for entry in batch:
            count += 1
            if entry.prev_hash != prev:
                return ChainReport(count, False, entry.seq, "previous hash does not match: a row was removed or reordered")
            expected = entry_hash(prev, at=entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc),
                                  subject=entry.subject, client_id=entry.client_id, role=entry.role, action=entry.action,
                                  resource=entry.resource, purpose=entry.purpose, outcome=entry.outcome,
                                  trace_id=entry.trace_id)
            if entry.hash != expected:
                return ChainReport(count, False, entry.seq, "content does not match its hash: the row was changed")
            prev = entry.hash
            last_seq = entry.seq
        if len(batch) < batch_size:
            break
    return ChainReport(count, True, head_seq=last_seq, head_hash=prev if last_seq is not None else None)
