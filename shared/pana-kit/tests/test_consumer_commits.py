"""The consumer's offset commits are off the handling path, and never ahead of the effects.

The consumer's own code runs on a real SQLite database; only the Kafka client is a stand-in whose commit is held
at "the broker" until the test lets it go, so the test sees what is handled while a commit is out.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date

import pytest
from aiokafka import TopicPartition
from sqlalchemy import select

from pana_dev.testing import Record, eventually
from pana_events import Envelope, to_kafka
from pana_events.events.rsd import DecisionIssued
from pana_kit.consumer import EventConsumer
from pana_kit.db import Database
from pana_kit.outbox import OutboxSignal
from pana_kit.settings import ServiceSettings
from pana_kit.tables import KIT_METADATA, InboxMessage

TP = TopicPartition("rsd.events", 0)


@dataclass
class Broker:
    """A stand-in for AIOKafkaConsumer: records handed out as batches; commits wait at `gate`."""

    db: Database
    batches: asyncio.Queue = field(default_factory=asyncio.Queue)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    committing: list = field(default_factory=list)  # offsets of commits that reached the broker
    committed: list = field(default_factory=list)  # offsets of commits the broker answered
    inbox_at_commit: list = field(default_factory=list)  # events in the (committed) inbox when each commit was sent

    def assignment(self):
        return {TP}

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None):
        try:
            return await asyncio.wait_for(self.batches.get(), timeout_ms / 1000)
        except asyncio.TimeoutError:
            return {}

    async def commit(self, offsets):
        async with self.db.session() as session:  # what is durable when the offset leaves
            self.inbox_at_commit.append(set((await session.execute(select(InboxMessage.event_id))).scalars()))
        self.committing.append(dict(offsets))
        await self.gate.wait()
        self.committed.append(dict(offsets))


def record(offset: int) -> tuple[Record, str]:
    event = DecisionIssued(application_id=f"app-{offset}", person_id=f"p-{offset}", member_ids=[f"p-{offset}"],
                           outcome="recognised", decided_on=date(2026, 11, 30))
    envelope = Envelope(source="/pana/rsd", type=event.event_type, subject=event.person_id,
                        data=event.model_dump(mode="json"))
    key, headers, value = to_kafka(envelope)
    return Record(TP.topic, key, headers, value, offset=offset), envelope.id


@pytest.fixture
async def consumer(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'registration.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(KIT_METADATA.create_all)
    handled: list[str] = []

    async def on_decision(event, envelope, uow):
        handled.append(envelope.id)

    consumer = EventConsumer(db, ServiceSettings(service_name="registration", dev_mode=True, otel_enabled=False),
                             OutboxSignal(), ["rsd.events"], {DecisionIssued.event_type: on_decision},
                             "/pana/registration")
    consumer.consumer = broker = Broker(db)
    yield consumer, broker, handled
    await db.dispose()


async def test_the_next_record_is_handled_while_the_last_commit_is_at_the_broker(consumer):
    consumer, broker, handled = consumer
    loop = asyncio.create_task(consumer._poll_loop())
    first, first_id = record(0)
    await broker.batches.put({TP: [first]})
    await eventually(lambda: broker.committing, what="the first offset sent to the broker")
    assert broker.committing == [{TP: 1}] and first_id in broker.inbox_at_commit[0]  # its effect was durable first

    second, second_id = record(1)
    await broker.batches.put({TP: [second]})  # the commit of the first is still out
    await eventually(lambda: second_id in handled, what="the second record handled while the commit is out")
    assert broker.committed == []

    broker.gate.set()
    await eventually(lambda: {TP: 2} in broker.committed, what="the second offset committed in the next commit")
    assert second_id in broker.inbox_at_commit[-1]
    await consumer.stop()
    await loop


async def test_what_was_handled_is_committed_at_the_stop_and_a_redelivery_changes_nothing(consumer):
    consumer, broker, handled = consumer
    broker.gate.set()
    loop = asyncio.create_task(consumer._poll_loop())
    records = [record(n) for n in range(3)]
    await broker.batches.put({TP: [r for r, _ in records]})
    await eventually(lambda: len(handled) == 3, what="three records handled")
    await consumer.stop()
    await loop
    assert broker.committed[-1] == {TP: 3} and consumer.processed == {}
    for committed, seen in zip(broker.committing, broker.inbox_at_commit):  # never an offset before its effect
        assert {event_id for r, event_id in records if r.offset < committed[TP]} <= seen

    again = await consumer.handle_record(records[1][0])  # a redelivery (a commit lost with a crash)
    assert again.name == "duplicate" and len(handled) == 3
