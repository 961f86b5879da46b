"""Consuming events: inbox deduplication, bounded retries, dead letters, safe commits.

For each record: parse the envelope (unreadable -> dead letter at once); refuse
an event that does not belong to its topic (a type registered under another
topic or outside the topic's namespace, or a CloudEvents `source` other than the
topic's producer: a forgery, or a misrouted event -> dead letter, nothing
changes); skip types this service does not handle; validate the payload against the contract
(invalid -> dead letter); run the handler in a unit of work that also records
the event in the inbox, so a redelivery changes nothing. A handler that keeps
failing is retried with backoff, then dead-lettered, and the partition moves on.
Offsets are committed after the effect (by a commit loop beside the handling, so the next record does not
wait for the broker's answer), and only for partitions still assigned
(aiokafka #929, #1046): a commit for a revoked partition would fail or, worse,
move another member's position. A revoke waits for the record in hand and ends
the batch fetched before it, so a rebalance does not hand the same record twice
(which the inbox absorbs, but a dead letter would be written twice). A database
outage is waited out, not counted against the event's attempts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from pana_events import EVENT_TYPES, Envelope, EnvelopeError, Event, dead_letter_topic, from_kafka
from pana_events.topics import TOPIC_BY_NAME, TOPIC_OF_EVENT

from .db import Database
from .domain import DomainError
from .kafka import BrokerWait, backoff_sleep, ensure_topics, make_consumer, make_producer
from .metrics import CONSUMER_LAG, DEAD_LETTER_BACKLOG, DEAD_LETTERS, EVENTS_CONSUMED, event_type_label
from .outbox import OutboxSignal, UnitOfWork
from .settings import ServiceSettings
from .tracing import continue_trace

log = logging.getLogger("pana.consumer")

Handler = Callable[[Event, Envelope, UnitOfWork], Awaitable[None]]


async def _skip(event, envelope: Envelope, uow: UnitOfWork) -> None:
    """The 'handler' of a type this consumer does not act on: nothing but the inbox record."""


def producer_source(service: str) -> str:
    """The CloudEvents `source` a service's events carry (pana_kit.service: `/pana/<service name>`)."""
    return f"/pana/{service}"


def foreign_to_topic(topic: str, envelope: Envelope) -> str | None:
    """Why `envelope` does not belong on `topic` (None when it does, or when the topic is not in the registry).

    Only the topic's producer publishes there (the broker's ACLs enforce it; this is the consumer's own check,
    should a credential leak or an ACL be too wide): its `source` must be the producer's, and its type one of the
    topic's. A type the contract does not know yet but named in the topic's namespace (a newer producer's
    addition, `registration.something.new.v9` on registration.events) belongs: it is skipped, not refused.
    """
    registered = TOPIC_BY_NAME.get(topic)
    if registered is None:
        return None
    home = TOPIC_OF_EVENT.get(envelope.type)
    if home is not None and home != topic:
        return f"event type {envelope.type} belongs to {home}, not {topic}"
    if home is None:
        namespaces = {event.event_type.split(".", 1)[0] for event in registered.events} | {topic.split(".", 1)[0]}
        if envelope.type.split(".", 1)[0] not in namespaces:
            return f"event type {envelope.type} is not of {topic} (its types are {', '.join(sorted(namespaces))}.*)"
    expected = producer_source(registered.producer)
    if envelope.source != expected:
        return f"source {envelope.source} is not the producer of {topic} ({expected})"
    return None


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the record is left uncommitted for a later delivery."""


@dataclass(frozen=True)
class Outcome:
    name: str  # handled | duplicate | skipped | dead_lettered
    reason: str | None = None


class _CommitOnRevoke(ConsumerRebalanceListener):
    def __init__(self, owner: "EventConsumer"):
        self.owner = owner

    async def on_partitions_revoked(self, revoked):
        # Let the record in hand finish first, so its offset is in this commit; and end the
        # batch fetched before the rebalance (its partitions restart from the committed offsets).
        async with self.owner.handling:
            self.owner.generation += 1
            await self.owner.commit_processed(set(revoked))

    async def on_partitions_assigned(self, assigned):
        for tp in assigned:
            self.owner.processed.pop(tp, None)


class EventConsumer:
    def __init__(self, db: Database, settings: ServiceSettings, signal: OutboxSignal,
                 topics: list[str], handlers: dict[str, Handler], source: str):
        unknown = set(handlers) - set(EVENT_TYPES)
        if unknown:
            raise ValueError(f"handlers for event types not in the contract: {sorted(unknown)}")
        self.db = db
        self.settings = settings
        self.signal = signal
        self.topics = topics
        self.handlers = handlers
        self.source = source
        self.group = settings.group
        self.dlq_topic = dead_letter_topic(self.group)
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.processed: dict[TopicPartition, int] = {}
        self.handling = asyncio.Lock()  # held while one record is handled; a revoke waits for it
        self._commit_lock = asyncio.Lock()
        self._commit_wanted = asyncio.Event()
        self.generation = 0  # bumped at every revoke: a batch fetched before it is stale
        self.connected = False
        self._stopping = asyncio.Event()
        self._lag_reported: set[TopicPartition] = set()

    # -- lifecycle -------------------------------------------------------
    async def run(self) -> None:
        attempt = 0
        broker = BrokerWait()
        while not self._stopping.is_set():
            try:
                await self._connect()
                broker.reached = True
                attempt = 0
                await self._poll_loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                broker.unreachable(log, "consumer %s lost the broker (%s: %s); reconnecting", self.group,
                                   type(exc).__name__, exc)
            finally:
                self.connected = False
                await self._close_clients()
            if not self._stopping.is_set():
                await backoff_sleep(attempt)
                attempt += 1

    async def _connect(self) -> None:
        await ensure_topics(self.settings, [*self.topics, self.dlq_topic])
        self.producer = make_producer(self.settings)
        await self.producer.start()
        self.consumer = make_consumer(self.settings, self.group)
        self.consumer.subscribe(self.topics, listener=_CommitOnRevoke(self))
        await self.consumer.start()
        self.connected = True

    async def _close_clients(self) -> None:
        for client in (self.consumer, self.producer):
            if client is not None:
                try:
                    await client.stop()
                except Exception:  # closing a broken client must not stop the reconnect loop
                    pass
        self.consumer = self.producer = None

    async def stop(self) -> None:
        self._stopping.set()

    # -- polling and committing -----------------------------------------
    async def _poll_loop(self) -> None:
        assert self.consumer is not None
        committer = asyncio.create_task(self._commit_loop(), name=f"consumer-commits-{self.group}")
        try:
            while not self._stopping.is_set():
                batches = await self.consumer.getmany(timeout_ms=500, max_records=200)
                generation = self.generation
                for tp, records in batches.items():
                    for record in records:
                        async with self.handling:
                            if (self._stopping.is_set() or self.generation != generation
                                    or tp not in self.consumer.assignment()):
                                break
                            await self.handle_record(record)
                            self.processed[tp] = record.offset + 1
                    self._commit_wanted.set()
        finally:
            committer.cancel()
            await asyncio.gather(committer, return_exceptions=True)
        # A stop: what was handled since the last commit. (After a failure the reconnect does not wait for it:
        # those records come again, and the inbox absorbs them.)
        if self.processed:
            try:  # bounded: with the broker gone, aiokafka would retry for ever and the stop would hang
                await asyncio.wait_for(self.commit_processed(set(self.processed)),
                                       self.settings.kafka_request_timeout_ms / 1000)
            except Exception as exc:  # noqa: BLE001 - not committed: these records come again
                log.info("consumer %s: last offsets not committed (%s)", self.group, type(exc).__name__)

    async def _commit_loop(self) -> None:
        """Commits the offsets of handled records off the handling path: the next record is fetched and handled
        while the commit is at the broker. Only offsets of records whose effect is committed are in `processed`,
        so an offset is never committed before its effect is durable; a crash before the commit redelivers, and
        the inbox absorbs it. Commits coalesce: one at a time, each with everything handled until it starts."""
        while True:
            await self._commit_wanted.wait()
            self._commit_wanted.clear()
            try:
                await self.commit_processed(set(self.processed))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - kept in `processed`: the next commit carries them
                log.info("consumer %s: offsets not committed yet (%s: %s)", self.group, type(exc).__name__, exc)
                await asyncio.sleep(0.2)
                self._commit_wanted.set()

    async def commit_processed(self, partitions: set[TopicPartition]) -> None:
        async with self._commit_lock:  # the commit loop's and a revoke's, one after the other
            consumer = self.consumer
            if consumer is None:
                return
            owned = consumer.assignment()
            offsets = {tp: off for tp, off in self.processed.items() if tp in partitions and tp in owned}
            if not offsets:
                return
            try:
                await consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                # The partition moved during a rebalance; its new owner redelivers and the inbox dedups.
                log.info("commit skipped for %s: %s", sorted(map(str, offsets)), exc)
            for tp, off in offsets.items():
                if self.processed.get(tp) == off:  # not moved on meanwhile (handled while the commit was out)
                    del self.processed[tp]

    # -- metrics -------------------------------------------------------------
    async def measure_lag(self) -> dict[TopicPartition, int]:
        """Set `pana_consumer_lag` for each partition this member owns (end offset minus the group's committed
        offset; a partition with no commit yet counts from its first offset) and `pana_dead_letter_messages` for
        the group's dead-letter topic. Asks the broker, so it runs when /metrics is scraped, not per record."""
        consumer = self.consumer
        if consumer is None or not self.connected:
            return {}
        owned = sorted(consumer.assignment())
        lags: dict[TopicPartition, int] = {}
        for tp in self._lag_reported - set(owned):  # moved to another member: its lag is that member's to report
            CONSUMER_LAG.remove(self.settings.service_name, self.group, tp.topic, str(tp.partition))
        self._lag_reported = set(owned)
        if owned:
            ends = await consumer.end_offsets(owned)
            starts = await consumer.beginning_offsets(owned)
            for tp in owned:
                committed = await consumer.committed(tp)
                lag = max(0, ends[tp] - (committed if committed is not None else starts[tp]))
                lags[tp] = lag
                CONSUMER_LAG.labels(self.settings.service_name, self.group, tp.topic, str(tp.partition)).set(lag)
        if self.producer is not None:
            partitions = await self.producer.partitions_for(self.dlq_topic)  # fetches the metadata when unknown
            dlq = [TopicPartition(self.dlq_topic, p) for p in sorted(partitions)]
            ends, starts = await consumer.end_offsets(dlq), await consumer.beginning_offsets(dlq)
            DEAD_LETTER_BACKLOG.labels(self.settings.service_name, self.group).set(sum(ends[tp] - starts[tp] for tp in dlq))
        return lags

    # -- one record ------------------------------------------------------
    async def handle_record(self, record) -> Outcome:
        try:
            envelope = from_kafka(record.headers, record.value)
        except EnvelopeError as exc:
            return await self._dead_letter(record, f"unreadable envelope: {exc}", None)
        foreign = foreign_to_topic(record.topic, envelope)
        if foreign is not None:
            return await self._dead_letter(record, f"not of this topic: {foreign}", envelope)
        handler = self.handlers.get(envelope.type)
        if handler is None:
            # Recorded in the inbox all the same, so the inbox says which events of its topics this
            # consumer received (reconciliation compares it with the producers' outboxes).
            return await self.deliver(None, envelope, _skip, record, outcome="skipped")
        try:
            event = EVENT_TYPES[envelope.type].model_validate(envelope.data)
        except ValidationError as exc:
            fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
            return await self._dead_letter(record, f"payload does not match {envelope.type}: {fields}", envelope)
        return await self.deliver(event, envelope, handler, record)

    async def deliver(self, event: Event | None, envelope: Envelope, handler: Handler, record=None, *,
                      outcome: str = "handled") -> Outcome:
        last_error = "unknown"
        attempt = 0
        while attempt < self.settings.consumer_max_attempts:
            try:
                with continue_trace(envelope.traceparent, f"consume {envelope.type}", **{"messaging.destination.name": record.topic if record else "", "pana.event.id": envelope.id}):
                    async with UnitOfWork(self.db, self.source, signal=self.signal, causation=envelope) as uow:
                        # The inbox record first (one statement), the handler's effect after it, one commit.
                        if not await uow.claim(self.group, envelope, topic=record.topic if record else None,
                                               outcome=outcome):
                            EVENTS_CONSUMED.labels(self.settings.service_name, event_type_label(envelope.type), "duplicate").inc()
                            return Outcome("duplicate")
                        await handler(event, envelope, uow)
                EVENTS_CONSUMED.labels(self.settings.service_name, event_type_label(envelope.type), outcome).inc()
                return Outcome(outcome)
            except IntegrityError as exc:
                # Another member committed the same event first: the next attempt sees it in the inbox.
                last_error = f"integrity error: {exc.orig!s}"[:500]
            except DomainError as exc:
                # The procedure refuses this event; retrying cannot change that.
                if record is None:
                    raise
                return await self._dead_letter(record, f"refused by rule {exc.rule or type(exc).__name__}: {exc.detail}", envelope)
            except Exception as exc:
                last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("handler for %s failed (attempt %d): %s", envelope.type, attempt + 1, last_error)
                if await self._waited_for_database():
                    continue  # the database was away, not the event at fault: this attempt does not count
            delay = self.settings.consumer_retry_backoff_ms / 1000 * 2 ** attempt
            attempt += 1
            await asyncio.sleep(min(delay, 10) * (0.5 + random.random() / 2))
        if record is None:
            raise RuntimeError(last_error)
        return await self._dead_letter(record, f"failed after {self.settings.consumer_max_attempts} attempts: {last_error}", envelope)

    async def _waited_for_database(self) -> bool:
        """After a failed attempt: if the database does not answer, wait until it does.

        A database restart or outage is no fault of the event being handled; counting
        it against the event's attempts would dead-letter valid events (a loss) within
        seconds. True when the database was away (the attempt is then repeated). When
        the consumer stops meanwhile, `DatabaseUnavailable` abandons the record
        uncommitted, so it is delivered again later.
        """
        waited = 0
        while True:
            try:
                await self.db.ping()
                return waited > 0
            except Exception as exc:  # noqa: BLE001 - any failure to reach the database
                if waited == 0:
                    log.warning("consumer %s: database unavailable (%s); holding the record until it is back",
                                self.group, type(exc).__name__)
            if self._stopping.is_set():
                raise DatabaseUnavailable("database unavailable while stopping; the record stays uncommitted")
            await backoff_sleep(waited, base_s=0.25, cap_s=5)
            waited += 1

    async def _dead_letter(self, record, reason: str, envelope: Envelope | None) -> Outcome:
        from . import dead_letters

        if isinstance(record, dead_letters.ReplayRecord):  # a replay that failed again: its row waits once more
            await dead_letters.mark_failed(self.db, record.dead_letter_id, reason)
            log.warning("dead letter %s failed again on replay: %s", record.dead_letter_id, reason[:300])
            return Outcome("dead_lettered", reason)
        # In the database first (`pana dlq`): a redelivery after a failure below finds the row and adds none.
        await dead_letters.record(self.db, service=self.settings.service_name, group=self.group, record=record,
                                  reason=reason, envelope=envelope)
        headers = list(record.headers or ()) + [
            ("dlq_reason", reason[:2000].encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
            ("dlq_group", self.group.encode()),
            ("dlq_failed_at", datetime.now(timezone.utc).isoformat().encode()),
        ]
        assert self.producer is not None
        await self.producer.send_and_wait(self.dlq_topic, record.value, key=record.key, headers=headers)
        DEAD_LETTERS.labels(self.settings.service_name, record.topic).inc()
        EVENTS_CONSUMED.labels(self.settings.service_name, event_type_label(envelope.type if envelope else None), "dead_lettered").inc()
        log.warning("dead-lettered %s[%s]@%s: %s", record.topic, record.partition, record.offset, reason[:300])
        return Outcome("dead_lettered", reason)
