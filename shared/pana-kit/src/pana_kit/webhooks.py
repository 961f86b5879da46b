"""Webhook delivery: committed outbox rows pushed to subscribers as signed CloudEvents over HTTP.

Two steps, both on the service's own database (rules in `pana_kit.webhook_rules`, API in `webhook_api`):

1. **Fan-out.** The worker reads the outbox after the cursor `webhook_cursor.last_seq`, in `seq` order. Only
   committed rows are visible, so nothing is pushed before its transaction commits. Each row becomes one
   `webhook_deliveries` row (status `pending`) per subscription that wants its type, existed when the event
   was written and holds the scopes that may read it; the cursor moves in the same transaction. A missing
   `seq` (a transaction still open on PostgreSQL) stops the read there until it appears or is older than
   `webhook_gap_grace_s` (then it was rolled back). On PostgreSQL the cursor row is locked, so one instance
   fans out at a time.
2. **Delivery.** Per subscription, the pending delivery with the lowest `seq` (its head) is sent once due, so
   a subscription's events arrive in order. Each pass takes, for every subscription whose head is due, its run:
   the pending deliveries from the head on that are due and not leased (up to `RUN`). It claims all runs with
   a lease (`lease_until`) in one conditional UPDATE, posts each run in order outside any transaction (runs of
   different subscriptions at once), and records every outcome of the pass in one statement. A run stops at a
   failed attempt, so nothing overtakes it; what it did not send is released. A delivery is retried
   after the schedule's delays (`webhook_retry_schedule_s`, with jitter) on a connection error, a timeout,
   408, 429 or 5xx; after the last delay, or at once on another 4xx, it is `parked` and the subscription's
   next event goes. A process killed mid-post leaves the lease to expire; the delivery is sent again with the
   same `webhook-id` (at least once: receivers deduplicate on it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import and_, bindparam, delete, func, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from . import webhook_rules as rules
from .db import Database
from .domain import new_id
from .metrics import webhook_delivered
from .settings import ServiceSettings
from .tables import OutboxMessage, WebhookCursor, WebhookDelivery, WebhookSubscription

log = logging.getLogger("pana.webhooks")

PENDING, DELIVERED, PARKED = "pending", "delivered", "parked"
STATUSES = (PENDING, DELIVERED, PARKED)
_CURSOR = "fanout"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def secret_context(service: str, subscription_id: str) -> str:
    return f"webhook/{service}/{subscription_id}"


def structured_event(row: OutboxMessage) -> bytes:
    """The CloudEvent in structured JSON mode: its attributes and `data`, exactly what the event carries."""
    return json.dumps({**row.attributes, "data": json.loads(row.payload)}, separators=(",", ":")).encode()


async def check_url(url: str, *, dev_mode: bool) -> None:
    """`rules.check_callback_url`, off the event loop only when it must look a host name up."""
    if rules.needs_lookup(url):
        await asyncio.to_thread(rules.check_callback_url, url, dev_mode=dev_mode)
    else:
        rules.check_callback_url(url, dev_mode=dev_mode)


class WebhookWorker:
    def __init__(self, db: Database, settings: ServiceSettings, service: str, keyring: Any, *,
                 wake: asyncio.Event | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 dev_mode: bool | None = None):
        self.db = db
        self.settings = settings
        self.service = service
        self.keyring = keyring
        self.wake = wake or asyncio.Event()
        self.dev_mode = settings.dev_mode if dev_mode is None else dev_mode
        self._client = httpx.AsyncClient(timeout=settings.webhook_timeout_s, follow_redirects=False,
                                         transport=transport, trust_env=False)
        self._stopping = asyncio.Event()
        self._instance = uuid.uuid4().hex

    # -- the loop ---------------------------------------------------------------------------------------------

    async def run(self) -> None:
        last_purge = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() - last_purge >= self.settings.outbox_purge_interval_s:
                    last_purge = time.monotonic()
                    await self.purge_delivered()
                fanned = await self.fan_out()
                sent = await self.deliver_due()
            except Exception as exc:  # a database outage is waited out
                log.warning("webhook worker pass failed (%s: %s)", type(exc).__name__, exc)
                fanned = sent = 0
            if fanned or sent:
                linger = self.settings.webhook_fan_out_linger_ms / 1000
                if linger and fanned < self.FAN_OUT_BATCH:
                    # Caught up with a stream of commits, each of which wakes this loop: the next pass waits a
                    # moment so that it fans out the commits of that moment together (a pass is a transaction of
                    # five statements; py-spy under 16 registration clients: a pass per registration).
                    try:
                        await asyncio.wait_for(self._stopping.wait(), linger)
                    except asyncio.TimeoutError:
                        pass
                continue
            self.wake.clear()
            idle = await self._idle_wait()  # first: a stop while it runs must not leave a wait() never awaited
            try:
                await asyncio.wait_for(self.wake.wait(), idle)
            except asyncio.TimeoutError:
                pass

    async def _idle_wait(self) -> float:
        """Until the next poll, or sooner when a delivery falls due."""
        wait = self.settings.webhook_poll_interval_ms / 1000
        try:
            async with self.db.session() as session:
                due = (await session.execute(select(func.min(WebhookDelivery.next_attempt_at))
                                             .where(WebhookDelivery.status == PENDING))).scalar_one_or_none()
        except Exception:
            return wait
        if due is not None:
            wait = min(wait, max(0.0, (aware(due) - utcnow()).total_seconds()))
        return max(wait, 0.01)

    async def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        await self._client.aclose()

    async def purge_delivered(self, now: datetime | None = None) -> int:
        """Delivered rows are kept as long as the outbox keeps its published rows, then deleted (parked and
        pending ones stay until delivered, replayed or their subscription is deleted)."""
        cutoff = (now or utcnow()) - timedelta(days=self.settings.outbox_retention_days)
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(WebhookDelivery).where(WebhookDelivery.status == DELIVERED, WebhookDelivery.delivered_at < cutoff))
        return int(result.rowcount or 0)

    async def waiting(self) -> dict[str, int]:
        """Deliveries pending and parked, over every subscription (the /metrics gauge)."""
        async with self.db.session() as session:
            rows = (await session.execute(select(WebhookDelivery.status, func.count())
                                          .where(WebhookDelivery.status.in_((PENDING, PARKED)))
                                          .group_by(WebhookDelivery.status))).all()
        counts = {PENDING: 0, PARKED: 0}
        counts.update({status: int(n) for status, n in rows})
        return counts

    # -- fan-out ----------------------------------------------------------------------------------------------

    FAN_OUT_BATCH = 500

    async def fan_out(self, batch: int = FAN_OUT_BATCH) -> int:
        """Turn committed outbox rows after the cursor into deliveries; the number of outbox rows read."""
        try:
            return await self._fan_out(batch)
        except IntegrityError:  # another pass placed the first cursor at the same moment: it is there now
            return 0

    async def _fan_out(self, batch: int) -> int:
        async with self.db.transaction() as session:
            stmt = select(WebhookCursor).where(WebhookCursor.name == _CURSOR)
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update()
            cursor = (await session.execute(stmt)).scalar_one_or_none()
            if cursor is None:
                # The first pass starts after the events written before the first subscription (a subscription
                # sees events from its creation on, never the past), not after "now": a subscription and its
                # first events can commit before this pass, and they must not be skipped.
                first = (await session.execute(select(func.min(WebhookSubscription.created_at)))).scalar_one_or_none()
                before = select(func.max(OutboxMessage.seq))
                if first is not None:
                    before = before.where(OutboxMessage.created_at < first)
                top = (await session.execute(before)).scalar_one_or_none() or 0
                session.add(WebhookCursor(name=_CURSOR, last_seq=top))
                return 0
            rows = list((await session.execute(
                select(OutboxMessage.seq, OutboxMessage.event_id, OutboxMessage.event_type, OutboxMessage.created_at)
                .where(OutboxMessage.seq > cursor.last_seq).order_by(OutboxMessage.seq).limit(batch))).all())
            if not rows:
                return 0
            # In creation order: the order deliveries take their ids in (the example world plans the first one).
            subscriptions = list((await session.execute(
                select(WebhookSubscription).order_by(WebhookSubscription.created_at, WebhookSubscription.id))).scalars())
            now = utcnow()
            grace = timedelta(seconds=self.settings.webhook_gap_grace_s)
            last = cursor.last_seq
            taken = 0
            for seq, event_id, event_type, created_at in rows:
                if seq != last + 1 and aware(created_at) > now - grace:
                    break  # an earlier seq may still commit: wait for it (or for the grace to pass)
                for sub in subscriptions:
                    if (event_type in sub.event_types and aware(sub.created_at) <= aware(created_at)
                            and rules.may_read(self.service, sub.scopes)):
                        session.add(WebhookDelivery(
                            id=new_id(), subscription_id=sub.id, seq=seq, event_id=event_id,
                            event_type=event_type, status=PENDING, attempts=0, next_attempt_at=now, created_at=now))
                last = seq
                taken += 1
            if taken:
                await session.execute(update(WebhookCursor).where(WebhookCursor.name == _CURSOR)
                                      .values(last_seq=last))
            return taken

    # -- delivery ---------------------------------------------------------------------------------------------

    #: Deliveries of one subscription claimed at once (a run, in seq order), posted one after another.
    RUN = 50

    def _lease_s(self) -> float:
        """A claim's lease: new posts start only in its first `webhook_timeout_s` (`_runs_budget_s`), each is
        bounded by `webhook_timeout_s` + 5, and the outcomes are written after; the rest is margin."""
        return self.settings.webhook_timeout_s * 2 + 10

    def _runs_budget_s(self) -> float:
        return self.settings.webhook_timeout_s

    async def _heads(self) -> list[WebhookDelivery]:
        """Each subscription's first pending delivery (lowest seq), when it is due and not leased."""
        now = utcnow()
        async with self.db.session() as session:
            first = (select(WebhookDelivery.subscription_id, func.min(WebhookDelivery.seq).label("seq"))
                     .where(WebhookDelivery.status == PENDING).group_by(WebhookDelivery.subscription_id).subquery())
            stmt = (select(WebhookDelivery)
                    .join(first, and_(WebhookDelivery.subscription_id == first.c.subscription_id,
                                      WebhookDelivery.seq == first.c.seq))
                    .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now)
                    .limit(self.settings.webhook_concurrency * 4))
            heads = list((await session.execute(stmt)).scalars())
        return [h for h in heads if h.lease_until is None or aware(h.lease_until) < now]

    async def _runs(self, heads: list[WebhookDelivery]) -> dict[str, list[WebhookDelivery]]:
        """For each head's subscription, its pending deliveries from the head on, in seq order, as long as they are
        due and not leased (up to RUN): what may go out now, in order. One statement (a UNION ALL of one indexed
        range per subscription: `ix_webhook_deliveries_queue`)."""
        if not heads:
            return {}
        now = utcnow()
        t = WebhookDelivery.__table__
        parts = [select(t).where(t.c.subscription_id == h.subscription_id, t.c.status == PENDING, t.c.seq >= h.seq)
                 .order_by(t.c.seq).limit(self.RUN).subquery(f"run{i}") for i, h in enumerate(heads)]
        stmt = union_all(*(select(*part.c) for part in parts)) if len(parts) > 1 else select(*parts[0].c)
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).mappings().all()
        runs: dict[str, list[WebhookDelivery]] = {}
        for row in sorted(rows, key=lambda r: (r["subscription_id"], r["seq"])):
            run = runs.setdefault(row["subscription_id"], [])
            if run and run[-1] is None:
                continue
            leased = row["lease_until"] is not None and aware(row["lease_until"]) >= now
            if aware(row["next_attempt_at"]) > now or leased:
                run.append(None)  # the run ends here: what follows waits for this one
                continue
            run.append(WebhookDelivery(**dict(row)))
        return {sid: [d for d in run if d is not None] for sid, run in runs.items() if run and run[0] is not None}

    async def _claim_ids(self, ids: list[str]) -> set[str]:
        """Lease the given pending deliveries, in one statement; the ids this instance got (not those another
        instance leased meanwhile, nor those no longer pending)."""
        if not ids:
            return set()
        now = utcnow()
        lease = now + timedelta(seconds=self._lease_s())
        async with self.db.transaction() as session:
            result = await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == PENDING,
                       or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now))
                .values(lease_until=lease).returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False))
            return {row[0] for row in result.all()}

    async def _claim(self, delivery: WebhookDelivery) -> bool:
        return delivery.id in await self._claim_ids([delivery.id])

    async def deliver_due(self) -> int:
        """One pass: claim each due subscription's run in one statement, post each run in order (runs of different
        subscriptions at once, `webhook_concurrency`), then write every outcome in one statement. A run stops at a
        failed attempt (what follows must not overtake it) and after its time budget; the rest of it is released.
        Returns the number of attempts made."""
        runs = await self._runs(await self._heads())
        return await self._deliver_runs(runs)

    async def _deliver_runs(self, runs: dict[str, list[WebhookDelivery]], *, last: bool = False) -> int:
        if not runs:
            return 0
        got = await self._claim_ids([d.id for run in runs.values() for d in run])
        claimed: dict[str, list[WebhookDelivery]] = {}
        released: list[str] = []
        for sid, run in runs.items():
            taken = 0
            while taken < len(run) and run[taken].id in got:  # only an unbroken prefix goes out, in order
                taken += 1
            if taken:
                claimed[sid] = run[:taken]
            released += [d.id for d in run[taken:] if d.id in got]
        if not claimed:
            await self._write([], released)
            return 0
        async with self.db.session() as session:
            subs = {s.id: s for s in (await session.execute(
                select(WebhookSubscription).where(WebhookSubscription.id.in_(list(claimed))))).scalars()}
            event_ids = [d.event_id for run in claimed.values() for d in run]
            rows = {r.event_id: r for r in (await session.execute(
                select(OutboxMessage).where(OutboxMessage.event_id.in_(event_ids)))).scalars()}
        limit = asyncio.Semaphore(self.settings.webhook_concurrency)
        started = time.monotonic()
        outcomes: list[dict[str, Any]] = []

        async def send(sid: str, run: list[WebhookDelivery]) -> None:
            sub = subs.get(sid)
            if sub is None:
                return  # deleted meanwhile: its deliveries go with it
            async with limit:
                secret = self.keyring.decrypt(sub.secret, context=secret_context(self.service, sub.id))  # once a run
                for i, delivery in enumerate(run):
                    if time.monotonic() - started > self._runs_budget_s():
                        released.extend(d.id for d in run[i:])  # the lease would not cover another post
                        return
                    outcome = await self._try(sub, delivery, rows.get(delivery.event_id), last=last, secret=secret)
                    outcomes.append(outcome)
                    if outcome["b_status"] == PENDING:  # failed, retried later: the rest waits behind it
                        released.extend(d.id for d in run[i + 1:])
                        return

        await asyncio.gather(*(send(sid, run) for sid, run in claimed.items()))
        await self._write(outcomes, released)
        for outcome in outcomes:
            webhook_delivered(self.service, outcome.pop("_outcome"), outcome.pop("_seconds"))
        return len(outcomes)

    async def _try(self, sub: WebhookSubscription, delivery: WebhookDelivery, row: OutboxMessage | None, *,
                   last: bool, secret: str) -> dict[str, Any]:
        """One attempt of one claimed delivery; its outcome as the parameters of `_write`'s statement."""
        status: int | None = None
        error: str | None = None
        final = False
        seconds: float | None = None
        if row is None:
            error, final = "the event is no longer in the outbox (purged after the retention period)", True
        elif not rules.may_read(self.service, sub.scopes):
            error, final = "the subscription no longer holds the scopes to read this event", True
        else:
            try:
                # again (DNS may have changed); a lookup blocks, so it runs off the event loop, and only a host
                # name needs one (no thread for an address: a busy shared executor must not hold deliveries up).
                # An attempt that does not end (a lookup that hangs) is given up as a timeout.
                async with asyncio.timeout(self.settings.webhook_timeout_s):
                    await check_url(sub.url, dev_mode=self.dev_mode)
            except rules.UnacceptableUrl as exc:
                error = str(exc)[:300]
            except asyncio.TimeoutError:
                error = "timeout (looking the callback's host up)"
            else:
                begun = time.monotonic()
                try:
                    async with asyncio.timeout(self.settings.webhook_timeout_s + 5):
                        status, error = await self._post(sub, row, secret)
                except asyncio.TimeoutError:
                    status, error = None, "timeout"
                seconds = time.monotonic() - begun if status is not None else None
        return self._outcome(delivery, status, error, final=final, last=last) | {"_seconds": seconds}

    async def attempt_as_last(self, delivery_id: str) -> str | None:
        """Attempt one pending delivery now, as the last attempt its retry schedule allows: the same claim, post and
        outcome as every attempt, except that a failure parks it instead of scheduling a retry. The dev sandbox's
        example world parks its documented delivery this way (its subscriber's callback is unreachable), instead of
        waiting out the ~28 h schedule. Returns the delivery's status after (None: no such delivery)."""
        async with self.db.session() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
        if delivery is None:
            return None
        if delivery.status == PENDING:
            await self._attempt(delivery, last=True)
        async with self.db.session() as session:
            delivery = await session.get(WebhookDelivery, delivery_id)
        return delivery.status if delivery is not None else None

    async def _attempt(self, delivery: WebhookDelivery, *, last: bool = False) -> int:
        """Claim, post and record one delivery (`attempt_as_last`)."""
        return await self._deliver_runs({delivery.subscription_id: [delivery]}, last=last)

    async def _post(self, sub: WebhookSubscription, row: OutboxMessage, secret: str) -> tuple[int | None, str | None]:
        body = structured_event(row)
        headers = rules.signature_headers(secret, row.event_id, int(time.time()), body)
        headers["user-agent"] = f"pana-webhooks/{self.service}"
        try:
            response = await self._client.post(sub.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return None, "timeout"
        except httpx.HTTPError as exc:
            return None, f"connection error ({type(exc).__name__})"
        return response.status_code, None if rules.delivered(response.status_code) else f"HTTP {response.status_code}"

    def _outcome(self, delivery: WebhookDelivery, status: int | None, error: str | None, *, final: bool,
                 last: bool = False) -> dict[str, Any]:
        """The row's values after one attempt (the rules: delivered, retried after the schedule's next delay, or
        parked), as the parameters of `_write`'s statement."""
        now = utcnow()
        attempts = delivery.attempts + 1
        values: dict[str, Any] = {"b_id": delivery.id, "b_attempts": attempts, "b_last_attempt_at": now,
                                  "b_last_status": status, "b_last_error": error, "b_status": PENDING,
                                  "b_next_attempt_at": aware(delivery.next_attempt_at), "b_delivered_at": None}
        if rules.delivered(status) and not final:
            values |= {"b_status": DELIVERED, "b_delivered_at": now, "_outcome": DELIVERED}
            return values
        delay = None if final or last or not rules.should_retry(status) else rules.retry_delay(
            self.settings.webhook_retry_schedule_s, attempts, jitter=self.settings.webhook_retry_jitter)
        if delay is None:
            log.warning("webhook delivery %s parked after %d attempts (%s)", delivery.id, attempts, error)
            return values | {"b_status": PARKED, "_outcome": PARKED}
        return values | {"b_next_attempt_at": now + timedelta(seconds=delay), "_outcome": "failed"}

    async def _write(self, outcomes: list[dict[str, Any]], released: list[str]) -> None:
        """Every outcome of a pass in one statement (executemany), and the leases of what was not sent given back,
        in one transaction. Only rows still pending change (a subscription deleted meanwhile took its rows)."""
        if not outcomes and not released:
            return
        t = WebhookDelivery.__table__
        async with self.db.transaction() as session:
            if outcomes:
                stmt = (t.update().where(t.c.id == bindparam("b_id"), t.c.status == PENDING)
                        .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                                last_attempt_at=bindparam("b_last_attempt_at"),
                                last_status=bindparam("b_last_status"), last_error=bindparam("b_last_error"),
                                next_attempt_at=bindparam("b_next_attempt_at"),
                                delivered_at=bindparam("b_delivered_at"), lease_until=None))
                await session.execute(stmt, [{k: v for k, v in o.items() if not k.startswith("_")}
                                             for o in outcomes])
            if released:
                await session.execute(t.update().where(t.c.id.in_(released), t.c.status == PENDING)
                                      .values(lease_until=None))
