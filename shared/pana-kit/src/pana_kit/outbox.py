"""Transactional outbox: events are rows written with the state change, then relayed.

`UnitOfWork` is the one place a command commits: state, the events it caused
(into `outbox`) and, for a consumed event, its inbox record. The relay publishes
rows in `seq` order and advances one position row (`outbox_relay`) once the
broker has acknowledged them; Kafka being down only means they wait.

How the relay keeps the broker's pace:
- **Pipelined.** The next batch is selected and handed to the producer while the
  previous batches' acknowledgements are in flight (at most `outbox_inflight_batches`).
- **A position, not marks.** Acknowledged rows are not updated one by one: the relay
  keeps the highest contiguous acknowledged `seq` and writes that one row, off the
  publishing path. Retention, replay (`outbox_replay`) and reconciliation read it.
- **Ready records.** A unit of work hands the relay of its process the records it
  built (key, headers, value) at commit; rows from elsewhere are built from the row.
- **Woken, not polling.** The commit wakes the relay in process (`OutboxSignal`); on
  PostgreSQL a transaction that writes outbox rows also sends `NOTIFY pana_outbox`,
  which the leading relay of any process LISTENs to. A slow poll
  (`outbox_poll_interval_ms`) stays as a safety net.
- **One leader.** On PostgreSQL the relay that holds an advisory lock publishes; other
  instances of the service wait to take over (a killed leader's lock goes with its
  connection). The next leader starts from the saved position, so a takeover sends again
  what the old one sent past it: the relay selects no batch that would take it further than
  `outbox_inflight_batches` batches past its saved position, and a leader that fails, stops
  or loses its lock keeps what was acknowledged and saves it before its lock can go.

Gaps. `seq` comes from a sequence, and concurrent transactions commit out of order:
seq 11 can be visible while seq 10 is still uncommitted (or rolled back, never to
appear). The position never passes such a gap until it is known to be final: every
transaction writing outbox rows takes a transaction id *before* its rows take their
seq (`UnitOfWork._write_deferred`'s statement, the only writer of outbox rows on
PostgreSQL), so whatever transaction holds seq 10 was already
running when the relay's snapshot saw seq 11, and had an id below that snapshot's
`xmax`. Once a later snapshot's `xmin` reaches it, every such transaction has
finished: the relay reads the gap again, publishes what committed there, and the
rest is gone for good. Rows after a gap are published meanwhile (as before, commit
order decides; an aggregate's events are ordered by its own row locks). On SQLite a
single writer commits in `seq` order, so a gap is final at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import json
from collections import Counter
from functools import lru_cache

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from pana_events import Envelope, Event, topic_of
from pana_events.topics import TOPIC_OF_EVENT
from pana_events.envelope import kafka_headers, to_kafka

from .audit import after_commit
from .db import UNIT_OF_WORK_KEY, Database, InTransaction, insert_on_conflict
from .kafka import BrokerWait, backoff_sleep, ensure_topics, make_producer
from .metrics import EVENTS_PUBLISHED, OUTBOX_PENDING
from .settings import ServiceSettings
from .tables import InboxMessage, OutboxMessage, OutboxRelayPosition, OutboxReplay
from .tracing import current_traceparent

log = logging.getLogger("pana.outbox")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


NOTIFY_CHANNEL = "pana_outbox"
RELAY_NAME = "outbox"
_LEADER_LOCK = 0x70616E61_0001  # pg advisory lock key of the outbox relay (one per database)

Record = tuple[bytes, list[tuple[str, bytes]], bytes]  # (key, headers, value) as the producer takes them


@dataclass
class OutboxSignal:
    """Wakes the relay right after a commit, so events do not wait for the next poll.

    It also carries the records units of work built for their events (`ready`, by event id), so the relay
    of the same process publishes them without rebuilding headers from the row."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    ready: dict[str, Record] = field(default_factory=dict)
    ready_limit: int = 20_000
    # Others woken by the same commits (the webhook worker), each with its own event to clear.
    listeners: list[asyncio.Event] = field(default_factory=list)

    def notify(self) -> None:
        self.event.set()
        for listener in self.listeners:
            listener.set()

    def offer(self, records: dict[str, Record]) -> None:
        if len(self.ready) + len(records) > self.ready_limit:
            self.ready.clear()  # nobody is taking them (no relay here, or it is not the leader)
        self.ready.update(records)


def outbox_row(envelope: Envelope, topic: str, record: Record | None = None) -> OutboxMessage:
    key, _headers, value = record or to_kafka(envelope)
    return OutboxMessage(
        event_id=envelope.id,
        topic=topic,
        key=key.decode(),
        event_type=envelope.type,
        attributes=envelope.attributes(),
        payload=value.decode(),
        created_at=utcnow(),
    )


class UnitOfWork:
    """`async with UnitOfWork(db, source) as uow:` — commit on success, roll back on error."""

    def __init__(self, db: Database, source: str, *, signal: OutboxSignal | None = None,
                 causation: Envelope | None = None, correlation_id: str | None = None):
        self.db = db
        self.source = source
        self.signal = signal
        self.causation = causation
        self.correlation_id = correlation_id or (causation.correlationid or causation.id if causation else None)
        self.session: AsyncSession
        self.emitted: list[Envelope] = []
        self.records: dict[str, Record] = {}
        # PostgreSQL: what the commit statement (`_write_deferred`, just before the commit) writes: outbox rows (as
        # the statement's columns), audit intents (`pana_kit.audit.record`) and idempotency answers
        # (`pana_kit.idempotency`), each in this transaction, in one round trip instead of one or two apiece.
        self._outbox: list[tuple] = []
        self._intents: list[dict] = []
        self._answers: list[tuple] = []
        self._raw: InTransaction | None = None

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self.db.sessions()
        await self.session.begin()
        if not self.db.is_sqlite:
            self.session.info[UNIT_OF_WORK_KEY] = self
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        committed = False
        try:
            if exc_type is None:
                if self._outbox or self._intents or self._answers:
                    await self._write_deferred()
                await self.session.commit()
                committed = True
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
        if committed and self.emitted and self.signal:
            # The relay first: the events are durable now, and waiting for the audit chain below would only
            # delay their publication (the chain is the caller's answer's concern, not the events').
            self.signal.offer(self.records)
            self.signal.notify()
        if committed:
            await after_commit(self.session)  # its audit intents chained before the caller answers

    def emit(self, event: Event, *, subject: str) -> Envelope:
        """Write an event to the outbox in this transaction."""
        envelope = Envelope(
            source=self.source,
            type=event.event_type,
            subject=subject,
            correlationid=self.correlation_id,
            causationid=self.causation.id if self.causation else None,
            traceparent=current_traceparent() or (self.causation.traceparent if self.causation else None),
            data=event.model_dump(mode="json"),
        )
        if self.correlation_id is None:
            # The first event of a flow starts its correlation.
            envelope = envelope.model_copy(update={"correlationid": envelope.id})
            self.correlation_id = envelope.id
        record = to_kafka(envelope)
        if self.db.is_sqlite:
            self.session.add(outbox_row(envelope, topic_of(event), record))
        else:
            self._outbox.append((envelope.id, topic_of(event), record[0].decode(), envelope.type,
                                 json.dumps(envelope.attributes()), record[2].decode(), utcnow()))
        self.records[envelope.id] = record
        self.emitted.append(envelope)
        return envelope

    async def flush(self) -> None:
        """Write what the transaction holds so far, its events included (their rows take their seqs), without
        committing."""
        if self._outbox or self._intents or self._answers:
            await self._write_deferred()
        await self.session.flush()

    @property
    def raw(self) -> InTransaction:
        """PostgreSQL: statements on this transaction's connection without SQLAlchemy (`pana_kit.db.InTransaction`)."""
        if self._raw is None:
            self._raw = InTransaction(self.session)
        return self._raw

    def defer_intent(self, values: dict) -> None:
        """PostgreSQL: an audit intent (`audit_intents`' columns but `id` and `rejected`), written by the commit
        statement in this transaction (`pana_kit.audit.record`)."""
        self._intents.append(values)

    def defer_answer(self, subject: str, scope: str, key: str, status_code: int, body: str, headers: str) -> None:
        """PostgreSQL: the answer to a claimed idempotency key (its row inserted by this transaction), written by
        the commit statement in this transaction (`pana_kit.idempotency`)."""
        self._answers.append((subject, scope, key, status_code, body, headers))

    async def _write_deferred(self) -> None:
        """PostgreSQL: the outbox rows, audit intents and idempotency answers held so far, in one statement.

        The outbox rows first take the transaction's id and queue the relay's NOTIFY (the id makes a gap in `seq`
        decidable, see the module's docstring; the notification, sent at commit, wakes the leading relay). The id
        is taken before any row draws its seq: the rows are produced by a join with the one-row CTE, evaluated
        (once: volatile) before the first joined row reaches the insert, where the seq default is drawn. SQLite,
        one writer at a time, needs neither: its rows go through the session. Each part is a data-modifying CTE,
        which PostgreSQL runs to completion whether or not the statement reads it."""
        outbox, intents, answers = self._outbox, self._intents, self._answers
        self._outbox, self._intents, self._answers = [], [], []
        args: list = []
        if outbox:
            args += [NOTIFY_CHANNEL, *(list(column) for column in zip(*outbox))]
        if intents:
            args += [[intent[c] for intent in intents] for c in _INTENT_COLUMNS]
        if answers:
            args += [list(column) for column in zip(*answers)]
        rows = await self.raw.fetch(_deferred_statement(bool(outbox), bool(intents), bool(answers)), *args)
        if answers and rows[0][0] != len(answers):
            raise RuntimeError(f"{len(answers) - rows[0][0]} idempotency answer(s) found no claimed key to answer")

    async def claim(self, group: str, envelope: Envelope, *, topic: str | None = None,
                    outcome: str = "handled") -> bool:
        """Record the event in the inbox first, in one statement: True when this transaction claimed it, False when
        the group settled it already (a redelivery: nothing else is to be done).

        `INSERT … ON CONFLICT DO NOTHING RETURNING`: one round trip instead of a read now and an insert at the
        flush. A member handling the same event at the same time waits on the row's key until this transaction
        ends, then finds it settled (or claims it, if this one rolled back)."""
        values = dict(consumer_group=group, event_id=envelope.id, event_type=envelope.type[:200], handled_at=utcnow(),
                      topic=topic or TOPIC_OF_EVENT.get(envelope.type), outcome=outcome)
        return (await self.session.execute(_CLAIM, values)).first() is not None


def record_of(key: str, attributes: str | dict, payload: str) -> Record:
    """(key, headers, value) of an outbox row (CloudEvents binary mode, as `to_kafka` builds them)."""
    attrs = json.loads(attributes) if isinstance(attributes, str) else attributes
    return key.encode(), kafka_headers(attrs), payload.encode()


_OUTBOX = OutboxMessage.__table__
_INBOX = InboxMessage.__table__
_CLAIM = insert_on_conflict(_INBOX, ("consumer_group", "event_id", "event_type", "handled_at", "topic", "outcome"),
                            "DO NOTHING", returning="event_id")
_COLUMNS = "seq, event_id, topic, key, attributes, payload"


_INTENT_COLUMNS = ("at", "subject", "client_id", "role", "action", "resource", "purpose", "outcome", "trace_id", "mac")


@lru_cache(maxsize=8)
def _deferred_statement(outbox: bool, intents: bool, answers: bool) -> str:
    """`UnitOfWork._write_deferred`'s statement for the parts it has; each part's values as column arrays
    (unnested), so its text does not depend on the number of rows and asyncpg prepares it once per connection."""
    parts, n = [], 0

    def arrays(*kinds: str) -> str:
        nonlocal n
        n += len(kinds)
        return ", ".join(f"${n - len(kinds) + 1 + i}::{kind}[]" for i, kind in enumerate(kinds))

    if outbox:
        n = 1  # $1: the channel
        parts.append("x AS (SELECT pg_current_xact_id() AS xid, pg_notify($1, '') AS n)")
        parts.append(
            "o AS (INSERT INTO outbox (event_id, topic, key, event_type, attributes, payload, created_at, attempts) "
            "SELECT v.event_id, v.topic, v.key, v.event_type, CAST(v.attributes AS JSON), v.payload, v.created_at, 0 "
            f"FROM unnest({arrays('text', 'text', 'text', 'text', 'text', 'text', 'timestamptz')}) "
            "AS v(event_id, topic, key, event_type, attributes, payload, created_at) CROSS JOIN x)")
    if intents:
        parts.append(
            f"a AS (INSERT INTO audit_intents ({', '.join(_INTENT_COLUMNS)}) "
            f"SELECT * FROM unnest({arrays('timestamptz', *['text'] * (len(_INTENT_COLUMNS) - 1))}))")
    if answers:
        parts.append(
            "i AS (UPDATE idempotency_keys AS k SET status_code = v.status_code, response_body = v.body, "
            "headers = CAST(v.headers AS JSON) "
            f"FROM unnest({arrays('text', 'text', 'text', 'int', 'text', 'text')}) "
            "AS v(subject, scope, key, status_code, body, headers) "
            "WHERE k.subject = v.subject AND k.scope = v.scope AND k.key = v.key RETURNING 1)")
    return f"WITH {', '.join(parts)} SELECT " + ("(SELECT count(*) FROM i)" if answers else "1")


class _Batch:
    """Records handed to the producer together; `done` once every one is acknowledged (or one failed)."""

    __slots__ = ("first", "last", "replayed", "topics", "done")

    def __init__(self, first: int | None, last: int | None, replayed: list[int], topics: Counter, done: asyncio.Future):
        self.first, self.last, self.replayed, self.topics, self.done = first, last, replayed, topics, done


class _Gap:
    """Seqs [lo, hi] not visible when rows after them were; final once every transaction below `horizon` ended."""

    __slots__ = ("lo", "hi", "horizon", "sent")

    def __init__(self, lo: int, hi: int, horizon: int):
        self.lo, self.hi, self.horizon, self.sent = lo, hi, horizon, set()


class RelayLost(RuntimeError):
    """The relay's database connection (its leadership, its LISTEN) is gone."""


class OutboxRelay:
    """Publishes outbox rows in `seq` order, pipelined; advances its position once the broker acknowledged them."""

    def __init__(self, db: Database, settings: ServiceSettings, signal: OutboxSignal, topics: list[str]):
        self.db = db
        self.settings = settings
        self.signal = signal
        self.topics = topics
        self.producer: AIOKafkaProducer | None = None
        self.connected = False
        self.leading = False
        self.position = 0  # every seq <= position acknowledged (or a final gap); written to outbox_relay
        self.high = 0  # the highest seq read; every seq in (position, high] is in flight, sent or in a gap
        self.gaps: list[_Gap] = []
        self.inflight: list[_Batch] = []
        self._saved = -1
        self._moved = asyncio.Event()  # the position moved: the saver writes it
        self._progress = asyncio.Event()  # set (and replaced) at every move: `wait_position` wakes
        self._saved_progress = asyncio.Event()  # set (and replaced) at every save: the window waits on it
        self._stopping = asyncio.Event()
        self._interrupted = asyncio.Event()  # stopping, or the leader connection lost: waits for saves end
        self._listener = None  # SQLAlchemy connection holding the leader lock and the LISTEN (PostgreSQL)
        self._raw = None  # its asyncpg connection
        self._lost = False
        self._last_replay_check = 0.0
        self._last_gap_check = 0.0
        self._replay_wanted = True
        self._loaded = False
        self._unmarking: set[asyncio.Task] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    async def _connect(self) -> None:
        attempt = 0
        broker = BrokerWait()
        while not self._stopping.is_set():
            producer = make_producer(self.settings)
            try:
                await producer.start()
                await ensure_topics(self.settings, self.topics)
                self.producer = producer
                self.connected = True
                return
            except Exception as exc:  # broker not there yet: keep events in the outbox
                broker.unreachable(log, "outbox relay cannot reach the broker (%s); retrying", type(exc).__name__)
                await producer.stop()
                await backoff_sleep(attempt)
                attempt += 1

    async def run(self) -> None:
        await self._connect()
        saver = asyncio.create_task(self._save_loop(), name="outbox-relay-position")
        attempt = 0
        try:
            while not self._stopping.is_set():
                try:
                    await self._lead()
                    if self._stopping.is_set():
                        break
                    await self._load_position()
                    attempt = 0
                    await self._pump()
                except Exception as exc:
                    self.connected = False
                    log.warning("outbox publish failed (%s: %s); events stay in the outbox", type(exc).__name__, exc)
                    await self._abandon()
                    await backoff_sleep(attempt, base_s=0.2, cap_s=5)
                    attempt += 1
        finally:
            await self._abandon()
            saver.cancel()
            try:  # before the lock goes: the next leader starts from here, not from an older position
                await self._save()
            except Exception:  # noqa: BLE001 - the next leader starts from the last saved position
                pass
            await self._release()

    async def stop(self) -> None:
        self._stopping.set()
        self._interrupted.set()
        self.signal.notify()
        if self.producer is not None:
            await self.producer.stop()

    # -- leadership and wake-ups (PostgreSQL) -----------------------------------------------------
    async def _lead(self) -> None:
        """Become the one relay of this database: hold its advisory lock on a connection that also LISTENs."""
        if self.db.is_sqlite or self._listener is not None:
            self.leading = True
            return
        while not self._stopping.is_set():
            conn = await self.db.engine.connect()
            try:
                raw = (await conn.get_raw_connection()).driver_connection
                if await raw.fetchval("SELECT pg_try_advisory_lock($1)", _LEADER_LOCK):
                    self._lost = False
                    if not self._stopping.is_set():
                        self._interrupted.clear()
                    await raw.add_listener(NOTIFY_CHANNEL, self._notified)
                    raw.add_termination_listener(self._terminated)
                    self._listener, self._raw = conn, raw
                    self.leading = True
                    log.info("outbox relay leads (advisory lock %d)", _LEADER_LOCK)
                    return
            except BaseException:
                await conn.close()
                raise
            await conn.close()
            self.leading = False
            # Another instance leads; its lock goes with its connection. Look again now and then.
            try:
                await asyncio.wait_for(self._stopping.wait(), 2.0)
            except asyncio.TimeoutError:
                pass

    def _notified(self, _conn, _pid, _channel, payload) -> None:
        if payload == "replay":
            self._replay_wanted = True
        self.signal.notify()

    def _terminated(self, *_args) -> None:
        self._lost = True
        self._interrupted.set()
        self.signal.notify()

    async def _release(self) -> None:
        conn, self._listener, self._raw = self._listener, None, None
        self.leading = False
        if conn is not None:
            try:
                raw = (await conn.get_raw_connection()).driver_connection
                if not raw.is_closed():
                    await raw.remove_listener(NOTIFY_CHANNEL, self._notified)
                    await raw.fetchval("SELECT pg_advisory_unlock($1)", _LEADER_LOCK)
            except Exception:  # noqa: BLE001 - a broken connection releases the lock by closing
                pass
            try:
                await conn.invalidate()
            except Exception:  # noqa: BLE001
                pass

    def _check_leadership(self) -> None:
        if self._listener is None and not self.db.is_sqlite:
            raise RelayLost("no leader connection")
        if self._lost or (self._raw is not None and self._raw.is_closed()):
            self._lost = True
            raise RelayLost("the leader connection closed")

    # -- the position ------------------------------------------------------------------------------
    async def _load_position(self) -> None:
        async with self.db.transaction() as session:
            row = await session.get(OutboxRelayPosition, RELAY_NAME)
            if row is None:
                row = OutboxRelayPosition(name=RELAY_NAME, position=0, updated_at=utcnow())
                session.add(row)
            position = row.position
        self.position = max(position, self.position) if self._saved >= 0 else position
        self._saved = max(self._saved, position)
        self.high = self.position
        self.gaps = []
        self._loaded = True

    async def _save(self) -> None:
        position = self.position
        if position <= self._saved:
            return
        async with self.db.transaction() as session:
            await session.execute(
                text("UPDATE outbox_relay SET position = :p, updated_at = :at WHERE name = :n AND position < :p"),
                {"p": position, "at": utcnow(), "n": RELAY_NAME})
        self._saved = max(self._saved, position)
        progress, self._saved_progress = self._saved_progress, asyncio.Event()
        progress.set()

    async def _save_loop(self) -> None:
        """Writes the position when it moves: one row, never on the publishing path."""
        while True:
            await self._moved.wait()
            self._moved.clear()
            try:
                await self._save()
            except Exception as exc:  # noqa: BLE001 - written again at the next move
                log.info("outbox relay position not saved yet (%s)", type(exc).__name__)
                await asyncio.sleep(0.5)
                self._moved.set()

    def _advance(self) -> None:
        floor = [b.first for b in self.inflight if b.first is not None] + [g.lo for g in self.gaps]
        position = (min(floor) - 1) if floor else self.high
        if position > self.position:
            self.position = position
            self._moved.set()
            progress, self._progress = self._progress, asyncio.Event()
            progress.set()

    async def wait_position(self, seq: int) -> None:
        """Until every row up to `seq` is acknowledged (benches and tests; no polling)."""
        while self.position < seq:
            await self._progress.wait()

    # -- the pipeline --------------------------------------------------------------------------------
    async def _pump(self) -> None:
        limit = max(1, self.settings.outbox_inflight_batches)
        poll_s = self.settings.outbox_poll_interval_ms / 1000
        while not self._stopping.is_set():
            self._check_leadership()
            self._retire()
            self.signal.event.clear()
            sent = await self.publish_batch()
            loop = asyncio.get_running_loop()
            if self.gaps and (not sent or loop.time() - self._last_gap_check > 0.05):
                self._last_gap_check = loop.time()
                sent += await self._recheck_gaps()
            if sent:
                while (len(self.inflight) >= limit or self._unsaved_beyond(limit - 1)) \
                        and not self._interrupted.is_set():
                    if self.position > self._saved:
                        self._moved.set()
                    await self._await_one(saved=True)
                continue
            if self._replay_wanted or loop.time() - self._last_replay_check > 1.0:
                self._replay_wanted = False
                self._last_replay_check = loop.time()
                if await self._publish_replays():
                    continue
            if not self.inflight:
                OUTBOX_PENDING.labels(self.settings.service_name).set(len(self.gaps))
            # Idle: until a commit (here or, by NOTIFY, anywhere), an acknowledgement, or the safety poll.
            wake = asyncio.ensure_future(self.signal.event.wait())
            try:
                await asyncio.wait({wake, *(b.done for b in self.inflight)},
                                   timeout=min(poll_s, 0.05) if self.gaps else poll_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                wake.cancel()

    def _unsaved_beyond(self, batches: int) -> bool:
        """More than `batches` batches of rows sent past the saved position (and no gap holds the position).

        The window a takeover may send again: the next leader starts from the saved position, so the relay
        selects no further batch until the saver has caught up (without a gap, every row in (saved, high] is in
        flight or acknowledged and not saved yet). While a gap holds the position, rows after it are published
        as before and a takeover may send those again too."""
        return not self.gaps and self.high - self._saved > batches * self.settings.outbox_batch_size

    async def _await_one(self, *, saved: bool = False) -> None:
        """Until an acknowledgement (or, with `saved`, the next save of the position)."""
        waits = {b.done for b in self.inflight}
        extra = [asyncio.ensure_future(self._saved_progress.wait()),
                 asyncio.ensure_future(self._interrupted.wait())] if saved else []
        try:
            await asyncio.wait(waits | set(extra), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in extra:
                waiter.cancel()
        self._retire()

    async def publish_pending(self) -> int:
        """Publish every row there is now, wait for the acknowledgements and save the position (tests, tools)."""
        if not self._loaded:
            await self._load_position()
        total = 0
        while True:
            sent = await self.publish_batch()
            if self.gaps:
                sent += await self._recheck_gaps()
            total += sent
            sent_replays = await self._publish_replays()
            total += sent_replays
            while self.inflight:
                await self._await_one()
            if not sent and not sent_replays:
                break
        await asyncio.gather(*self._unmarking)
        await self._save()
        return total

    def _retire(self) -> None:
        """Take the acknowledged batches off the pipeline (in any order) and advance the position."""
        if not self.inflight:
            return
        still = []
        for batch in self.inflight:
            if not batch.done.done():
                still.append(batch)
                continue
            batch.done.result()  # a failed send raises here: the pipeline starts again from the position
            self.connected = True
            for topic, count in batch.topics.items():
                EVENTS_PUBLISHED.labels(self.settings.service_name, topic).inc(count)
            if batch.replayed:
                task = asyncio.get_running_loop().create_task(self._replayed(batch.replayed))
                self._unmarking.add(task)
                task.add_done_callback(self._unmarking.discard)
        self.inflight = still
        self._advance()

    async def _abandon(self) -> None:
        """After a failure or at a stop: wait out what is in flight, keep what was acknowledged, save the position.

        The position passes every batch acknowledged up to the first one that failed (or never answered), so
        neither this relay nor the next leader sends those again; the rest is sent again from the position."""
        unsent = []
        for batch in self.inflight:
            try:
                await asyncio.wait_for(asyncio.shield(batch.done), 30)
            except BaseException:  # noqa: BLE001 - failed or abandoned: sent again from the position
                unsent.append(batch)
        self.inflight = [b for b in unsent if b.first is not None]
        self._advance()
        self.inflight = []
        self.high = self.position
        self.gaps = []
        try:  # before the lock can go to another relay: it starts from here
            await self._save()
        except Exception:  # noqa: BLE001 - the next leader starts from the last saved position
            pass
        if self._lost:
            await self._release()

    async def _send(self, rows, *, replayed: bool = False) -> _Batch:
        assert self.producer is not None
        ready = self.signal.ready
        send = self.producer.send
        futures = []
        topics: Counter = Counter()
        for seq, event_id, topic, key, attributes, payload in rows:
            record = ready.pop(event_id, None) or record_of(key, attributes, payload)
            futures.append(await send(topic, record[2], key=record[0], headers=record[1]))
            topics[topic] += 1
        done = asyncio.gather(*futures)
        seqs = [row[0] for row in rows]
        batch = _Batch(None if replayed else seqs[0], seqs[-1], seqs if replayed else [], topics, done)
        self.inflight.append(batch)
        return batch

    async def publish_batch(self) -> int:
        """Select the rows after `high` and hand them to the producer (acknowledgements are awaited later)."""
        if self.producer is None:
            raise RuntimeError("the relay has no producer")
        rows, xmax, _xmin = await self._select(f"seq > :after ORDER BY seq LIMIT {int(self.settings.outbox_batch_size)}",
                                               {"after": self.high})
        if not rows:
            return 0
        if self._lost:  # the lock went while the rows were read: another relay may lead already
            raise RelayLost("the leader connection closed")
        expected = self.high + 1
        for row in rows:
            if row[0] > expected:  # not visible (yet): a gap the position waits at
                self.gaps.append(_Gap(expected, row[0] - 1, xmax))
            expected = row[0] + 1
        self.high = rows[-1][0]
        await self._send(rows)
        return len(rows)

    async def _select(self, where: str, params: dict) -> tuple[list, int, int]:
        """Rows of the outbox matching `where`, with the statement's snapshot bounds (PostgreSQL)."""
        async with self.db.session() as session:
            if self.db.is_sqlite:
                result = await session.execute(text(f"SELECT {_COLUMNS} FROM outbox WHERE {where}"), params)
                return [tuple(r) for r in result], 0, 1 << 62
            result = await session.execute(text(
                "SELECT pg_snapshot_xmax(s.snap)::text::bigint, pg_snapshot_xmin(s.snap)::text::bigint, "
                f"o.seq, o.event_id, o.topic, o.key, o.attributes::text, o.payload "
                "FROM (SELECT pg_current_snapshot() AS snap) s "
                f"LEFT JOIN LATERAL (SELECT {_COLUMNS} FROM outbox WHERE {where}) o ON true"), params)
            rows = result.all()
            await session.rollback()
        xmax, xmin = rows[0][0], rows[0][1]
        return [tuple(r[2:]) for r in rows if r[2] is not None], xmax, xmin

    async def _recheck_gaps(self) -> int:
        """Publish what committed late in a gap; drop a gap once no transaction can still fill it."""
        clauses, params = [], {}
        for n, gap in enumerate(self.gaps[:200]):
            clauses.append(f"seq BETWEEN :lo{n} AND :hi{n}")
            params[f"lo{n}"], params[f"hi{n}"] = gap.lo, gap.hi
        rows, _xmax, xmin = await self._select("(" + " OR ".join(clauses) + ") ORDER BY seq", params)
        late = []
        for row in rows:
            gap = next(g for g in self.gaps if g.lo <= row[0] <= g.hi)
            if row[0] not in gap.sent:
                gap.sent.add(row[0])
                late.append(row)
        if late:
            log.info("outbox relay: %d row(s) committed late in a gap of seq; publishing them", len(late))
            batch = await self._send(late)
            batch.first = late[0][0]
        checked = self.gaps[:200]
        self.gaps = [g for g in checked if g.horizon > xmin] + self.gaps[200:]
        self._advance()
        return len(late)

    # -- replay ------------------------------------------------------------------------------------
    async def _publish_replays(self) -> int:
        """Publish rows marked for replay (`pana outbox replay`, reconciliation), oldest first."""
        rows, _, _ = await self._select(
            f"seq IN (SELECT seq FROM outbox_replay WHERE seq <= :position) ORDER BY seq "
            f"LIMIT {int(self.settings.outbox_batch_size)}", {"position": self.position})
        rows = [r for r in rows if not any(r[0] in b.replayed for b in self.inflight)]
        if rows:
            await self._send(rows, replayed=True)
        return len(rows)

    async def _replayed(self, seqs: list[int]) -> None:
        try:
            async with self.db.transaction() as session:
                await session.execute(OutboxReplay.__table__.delete().where(OutboxReplay.seq.in_(seqs)))
        except Exception as exc:  # noqa: BLE001 - published again at the next look: a duplicate the inbox absorbs
            log.info("outbox relay: replayed rows not unmarked (%s)", type(exc).__name__)

    # -- how much waits ------------------------------------------------------------------------------
    async def pending(self) -> int:
        from .delivery import count_unpublished

        return await count_unpublished(self.db)

    async def backlog(self) -> tuple[int, float]:
        """(events waiting, age in seconds of the oldest of them; 0 when none waits)."""
        from sqlalchemy import func, select

        from .delivery import unpublished_clause

        async with self.db.session() as session:
            count, oldest = (await session.execute(
                select(func.count(), func.min(OutboxMessage.created_at)).where(unpublished_clause()))).one()
        if not count or oldest is None:
            return 0, 0.0
        if oldest.tzinfo is None:  # SQLite hands timestamps back naive; they are stored in UTC
            oldest = oldest.replace(tzinfo=timezone.utc)
        return count, max(0.0, (utcnow() - oldest).total_seconds())
