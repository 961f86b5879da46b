"""Transactional outbox: events are rows written with the state change, then relayed.

`UnitOfWork` is the one place a command commits: state, the events it caused
(into `outbox`) and, for a consumed event, its inbox record. The relay publishes
unsent rows in order and marks them sent; Kafka being down only means they wait.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from aiokafka import AIOKafkaProducer
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from pana_events import Envelope, Event, topic_of
from pana_events.topics import TOPIC_OF_EVENT
from pana_events.envelope import kafka_headers, to_kafka

from .db import Database
from .kafka import backoff_sleep, ensure_topics, make_producer
from .metrics import EVENTS_PUBLISHED, OUTBOX_PENDING
from .settings import ServiceSettings
from .tables import InboxMessage, OutboxMessage
from .tracing import current_traceparent

log = logging.getLogger("pana.outbox")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class OutboxSignal:
    """Wakes the relay right after a commit, so events do not wait for the next poll."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    # Others woken by the same commits (the webhook worker), each with its own event to clear.
    listeners: list[asyncio.Event] = field(default_factory=list)

    def notify(self) -> None:
        self.event.set()
        for listener in self.listeners:
            listener.set()


def outbox_row(envelope: Envelope, topic: str) -> OutboxMessage:
    key, _headers, value = to_kafka(envelope)
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

    async def __aenter__(self) -> "UnitOfWork":
        self.session = self.db.sessions()
        await self.session.begin()
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                await self.session.commit()
            else:
                await self.session.rollback()
        finally:
            await self.session.close()
        if exc_type is None and self.emitted and self.signal:
            self.signal.notify()

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
        self.session.add(outbox_row(envelope, topic_of(event)))
        self.emitted.append(envelope)
        return envelope

    async def already_handled(self, group: str, event_id: str) -> bool:
        row = await self.session.get(InboxMessage, (group, event_id))
        return row is not None

    def mark_handled(self, group: str, envelope: Envelope, *, topic: str | None = None, outcome: str = "handled") -> None:
        """Record the event in the inbox (`outcome` handled, or skipped: a type this consumer does not act on)."""
        self.session.add(InboxMessage(consumer_group=group, event_id=envelope.id, event_type=envelope.type[:200],
                                      handled_at=utcnow(), topic=topic or TOPIC_OF_EVENT.get(envelope.type),
                                      outcome=outcome))


class OutboxRelay:
    """Publishes unsent outbox rows in commit order; marks them sent only once acknowledged."""

    def __init__(self, db: Database, settings: ServiceSettings, signal: OutboxSignal, topics: list[str]):
        self.db = db
        self.settings = settings
        self.signal = signal
        self.topics = topics
        self.producer: AIOKafkaProducer | None = None
        self.connected = False
        self._stopping = asyncio.Event()

    async def _connect(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            producer = make_producer(self.settings)
            try:
                await producer.start()
                await ensure_topics(self.settings, self.topics)
                self.producer = producer
                self.connected = True
                return
            except Exception as exc:  # broker not there yet: keep events in the outbox
                log.warning("outbox relay cannot reach the broker (%s); retrying", type(exc).__name__)
                await producer.stop()
                await backoff_sleep(attempt)
                attempt += 1

    async def run(self) -> None:
        await self._connect()
        attempt = 0
        while not self._stopping.is_set():
            try:
                sent = await self.publish_batch()
                attempt = 0
            except Exception as exc:
                self.connected = False
                log.warning("outbox publish failed (%s: %s); events stay in the outbox", type(exc).__name__, exc)
                await backoff_sleep(attempt, base_s=0.2, cap_s=5)
                attempt += 1
                continue
            self.connected = True
            if sent == 0:
                self.signal.event.clear()
                try:
                    await asyncio.wait_for(self.signal.event.wait(), self.settings.outbox_poll_interval_ms / 1000)
                except asyncio.TimeoutError:
                    pass

    async def publish_batch(self) -> int:
        assert self.producer is not None
        async with self.db.transaction() as session:
            stmt = (
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
                .order_by(OutboxMessage.seq)
                .limit(self.settings.outbox_batch_size)
            )
            if not self.db.is_sqlite:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list((await session.execute(stmt)).scalars())
            if not rows:
                OUTBOX_PENDING.labels(self.settings.service_name).set(0)
                return 0
            futures = []
            for row in rows:
                headers = kafka_headers(row.attributes)  # datacontenttype as `content-type` (binary mode)
                futures.append(await self.producer.send(row.topic, row.payload.encode(), key=row.key.encode(), headers=headers))
            await asyncio.gather(*futures)
            now = utcnow()
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.seq.in_([r.seq for r in rows])).values(published_at=now)
            )
        for row in rows:
            EVENTS_PUBLISHED.labels(self.settings.service_name, row.topic).inc()
        return len(rows)

    async def pending(self) -> int:
        from sqlalchemy import func

        async with self.db.session() as session:
            return (await session.execute(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None)))).scalar_one()

    async def stop(self) -> None:
        self._stopping.set()
        self.signal.notify()
        if self.producer is not None:
            await self.producer.stop()
