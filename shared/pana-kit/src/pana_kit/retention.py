"""Retention of the kit's bookkeeping rows: published outbox rows, inbox rows, Idempotency-Key answers.

Each kind is kept for its own period, then deleted in batches (short transactions, safe on several instances at
once), by every service's periodic job `retention` (every `outbox_purge_interval_s`) and by the operator's
`pana retention prune [--dry-run]`:

| rows | kept | setting (default) | never pruned |
| --- | --- | --- | --- |
| outbox, published | `outbox_retention_days` after its creation, once published | 30 days | an unsent row (past the relay's position, or listed for replay), whatever its age; the newest row |
| inbox | `inbox_retention_days` after handling | 30 days | — keep it ≥ the producers' outbox retention, so an event replayed from an outbox is still recognised |
| idempotency keys | `idempotency_ttl_hours` after the request | 24 hours | a key inside the period the API promises (the header's description): an operator's shorter period is refused |

Dead letters and the audit log are not pruned here (the audit log is append-only; it has its own archive).
The deletes go by the outbox's primary key (seq), ix_inbox_handled_at (handled_at) and
ix_idempotency_created (created_at).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, tuple_

from .db import Database
from .delivery import as_utc, published_clause, purge_published
from .tables import IdempotencyRecord, InboxMessage, OutboxMessage

log = logging.getLogger("pana.retention")


@dataclass(frozen=True)
class Policy:
    outbox_days: int = 30
    inbox_days: int = 30
    idempotency_hours: int = 24

    @classmethod
    def of(cls, settings) -> "Policy":
        return cls(settings.outbox_retention_days, settings.inbox_retention_days, settings.idempotency_ttl_hours)

    def check(self, promised_idempotency_hours: int) -> None:
        """Refuse a policy that would prune inside a promise (ValueError naming the period)."""
        if self.outbox_days < 1 or self.inbox_days < 1:
            raise ValueError("retention periods are at least 1 day")
        if self.idempotency_hours < promised_idempotency_hours:
            raise ValueError(f"idempotency keys are promised for {promised_idempotency_hours} h (IDEMPOTENCY_TTL_HOURS);"
                             f" {self.idempotency_hours} h would prune inside that period")


@dataclass
class Pruned:
    outbox: int = 0
    inbox: int = 0
    idempotency: int = 0

    @property
    def total(self) -> int:
        return self.outbox + self.inbox + self.idempotency


async def prune_inbox(db: Database, *, retention: timedelta, now: datetime | None = None, batch: int = 1000) -> int:
    """Delete inbox rows handled before `now - retention`, `batch` at a time; how many."""
    cutoff = as_utc(now or datetime.now(timezone.utc)) - retention
    total = 0
    while True:
        async with db.transaction() as session:
            keys = (await session.execute(
                select(InboxMessage.consumer_group, InboxMessage.event_id).where(InboxMessage.handled_at < cutoff)
                .order_by(InboxMessage.handled_at).limit(batch))).all()
            if not keys:
                return total
            await session.execute(delete(InboxMessage).where(
                tuple_(InboxMessage.consumer_group, InboxMessage.event_id).in_([tuple(k) for k in keys])))
        total += len(keys)


async def prune_idempotency(db: Database, *, retention: timedelta, now: datetime | None = None,
                            batch: int = 1000) -> int:
    """Delete Idempotency-Key answers written before `now - retention`, `batch` at a time; how many."""
    cutoff = as_utc(now or datetime.now(timezone.utc)) - retention
    total = 0
    while True:
        async with db.transaction() as session:
            keys = (await session.execute(
                select(IdempotencyRecord.subject, IdempotencyRecord.scope, IdempotencyRecord.key)
                .where(IdempotencyRecord.created_at < cutoff).order_by(IdempotencyRecord.created_at).limit(batch))).all()
            if not keys:
                return total
            await session.execute(delete(IdempotencyRecord).where(
                tuple_(IdempotencyRecord.subject, IdempotencyRecord.scope, IdempotencyRecord.key).in_(
                    [tuple(k) for k in keys]), IdempotencyRecord.created_at < cutoff))
        total += len(keys)


async def due(db: Database, policy: Policy, *, now: datetime | None = None) -> Pruned:
    """How many rows of each kind `prune` would delete now (the dry run)."""
    now = as_utc(now or datetime.now(timezone.utc))
    async with db.session() as session:
        async def n(stmt) -> int:
            return (await session.execute(stmt)).scalar_one()

        return Pruned(
            outbox=await n(select(func.count()).select_from(OutboxMessage).where(
                published_clause(), OutboxMessage.created_at < now - timedelta(days=policy.outbox_days))),
            inbox=await n(select(func.count()).select_from(InboxMessage).where(
                InboxMessage.handled_at < now - timedelta(days=policy.inbox_days))),
            idempotency=await n(select(func.count()).select_from(IdempotencyRecord).where(
                IdempotencyRecord.created_at < now - timedelta(hours=policy.idempotency_hours))))


async def prune(db: Database, policy: Policy, *, now: datetime | None = None) -> Pruned:
    """Delete what is past its period (unsent outbox rows never); how many of each kind."""
    return Pruned(
        outbox=await purge_published(db, retention=timedelta(days=policy.outbox_days), now=now),
        inbox=await prune_inbox(db, retention=timedelta(days=policy.inbox_days), now=now),
        idempotency=await prune_idempotency(db, retention=timedelta(hours=policy.idempotency_hours), now=now))


def retention_job(name: str = "retention"):
    """The periodic prune every service runs (`create_app` adds it next to the relay)."""
    from .jobs import periodic
    from .metrics import OUTBOX_PURGED

    async def run_pass(app) -> int:
        settings = app.state.settings
        pruned = await prune(app.state.db, Policy.of(settings))
        if pruned.outbox:
            OUTBOX_PURGED.labels(settings.service_name).inc(pruned.outbox)
        return pruned.total

    async def job(app) -> None:
        await periodic(name, run_pass, interval_s=app.state.settings.outbox_purge_interval_s, log=log,
                       done="retention: pruned %d outbox, inbox and idempotency rows past their periods")(app)

    job.__name__ = job.__qualname__ = name
    return job
