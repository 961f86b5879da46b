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


@dataclass(frozen=True)
class ChainReport:
    entries: int
    intact: bool
    first_broken_seq: int | None = None
    reason: str | None = None


async def verify_chain(session) -> ChainReport:
    prev = GENESIS
    count = 0
    rows = await session.execute(select(AuditEntry).order_by(AuditEntry.seq))
    for entry in rows.scalars():
        count += 1
        if entry.prev_hash != prev:
            return ChainReport(count, False, entry.seq, "previous hash does not match: a row was removed or reordered")
        expected = entry_hash(prev, at=entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc),
                              subject=entry.subject, client_id=entry.client_id, role=entry.role, action=entry.action,
                              resource=entry.resource, purpose=entry.purpose, outcome=entry.outcome, trace_id=entry.trace_id)
        if entry.hash != expected:
            return ChainReport(count, False, entry.seq, "content does not match its hash: the row was changed")
        prev = entry.hash
    return ChainReport(count, True)
