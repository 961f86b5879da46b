"""An authenticated, authorised event bus: Apache Kafka with a SASL_SSL (SCRAM-SHA-512) listener and the ACLs
derived from the topic registry (pana_dev.launchers.kafka_security), spoken to by the kit's own clients.

One broker for the module (about 20 s to start on a busy two-core machine, timings printed). The finding it
covers: whoever reached the broker could publish `rsd.decision.issued.v1` and registration would issue a refugee
certificate. Now the broker refuses the forgery from anyone without rsd's credentials.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError, TopicAuthorizationFailedError
from sqlalchemy import select

from pana_events import Envelope, to_kafka
from pana_events.events.rsd import DecisionIssued
from pana_kit.consumer import EventConsumer
from pana_kit.db import Database
from pana_kit.kafka import make_producer
from pana_kit.outbox import OutboxSignal
from pana_kit.settings import ServiceSettings, refuse_unsafe_start
from pana_kit.tables import KIT_METADATA, InboxMessage



@pytest.fixture(scope="module")
def secured_broker(tmp_path_factory):
    from pana_dev.launchers import ApacheKafka, KafkaSecurity

    base = tmp_path_factory.mktemp("kafka-sasl")
    started = time.monotonic()
    security = KafkaSecurity(base / "security")
    kafka = ApacheKafka(base / "kafka", security=security, start_timeout=120)
    kafka.start()  # formats with the SCRAM users, waits until ready, creates the topics and the ACLs
    print(f"\n[kafka-sasl] SASL_SSL broker with ACLs ready in {time.monotonic() - started:.1f}s")
    yield kafka
    stopping = time.monotonic()
    kafka.stop()
    print(f"[kafka-sasl] stopped in {time.monotonic() - stopping:.1f}s")


def settings_for(kafka, service: str, **overrides) -> ServiceSettings:
    values = dict(service_name=service, kafka_bootstrap=kafka.bootstrap, otel_enabled=False,
                  kafka_request_timeout_ms=5000, consumer_retry_backoff_ms=10, **kafka.security.settings_values(service))
    return ServiceSettings(**{**values, **overrides})


def decision_record(person: str, source: str = "/pana/rsd") -> tuple[bytes, list, bytes, str]:
    event = DecisionIssued(application_id=f"app-{person}", person_id=person, member_ids=[person],
                           outcome="recognised", decided_on=date(2026, 11, 30))
    envelope = Envelope(source=source, type=event.event_type, subject=person, data=event.model_dump(mode="json"))
    key, headers, value = to_kafka(envelope)
    return key, headers, value, envelope.id


async def send(producer: AIOKafkaProducer, topic: str, record) -> None:
    key, headers, value, _ = record
    await producer.start()
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, value, key=key, headers=headers), 60)
    finally:
        await producer.stop()


async def test_a_forged_decision_is_refused_by_the_broker_and_rsds_own_is_consumed_by_registration(secured_broker, tmp_path):
    kafka = secured_broker
    person = str(uuid.uuid4())
    forged = decision_record(person, source="/pana/rsd")  # a perfect copy of rsd's event: only the credentials differ

    # registration's credentials (it may read rsd.events, not write it): the broker refuses the record
    registration = settings_for(kafka, "registration")
    refuse_unsafe_start(registration)  # SASL_SSL with its credentials: a production configuration
    with pytest.raises(TopicAuthorizationFailedError):
        await send(make_producer(registration), "rsd.events", forged)

    # statelessness's credentials: nor may any other service
    with pytest.raises(TopicAuthorizationFailedError):
        await send(make_producer(settings_for(kafka, "statelessness")), "rsd.events", forged)

    # a wrong password, or no login at all: no connection to speak of
    wrong = settings_for(kafka, "rsd", kafka_sasl_password="guessed-" + uuid.uuid4().hex)
    with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
        await send(make_producer(wrong), "rsd.events", forged)
    for anonymous in (AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, request_timeout_ms=5000),  # plaintext
                      AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, request_timeout_ms=5000,  # TLS, no login
                                       security_protocol="SSL", ssl_context=kafka.security.ssl_context())):
        with pytest.raises((KafkaError, OSError, asyncio.TimeoutError)):
            await asyncio.wait_for(anonymous.start(), 30)
        await anonymous.stop()

    # rsd's credentials write rsd.events (and nothing else)
    genuine = decision_record(person)
    await send(make_producer(settings_for(kafka, "rsd")), "rsd.events", genuine)
    with pytest.raises(TopicAuthorizationFailedError):
        await send(make_producer(settings_for(kafka, "rsd")), "registration.events", decision_record(person))

    # registration's own consumer, with its credentials and group, receives rsd's decision (and only that one:
    # the forgeries never reached the log)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'registration.db'}")
    async with db.engine.begin() as conn:
        await conn.run_sync(KIT_METADATA.create_all)
    handled: list[str] = []

    async def on_decision(event, envelope, uow):
        if event.person_id == person:
            handled.append(envelope.id)

    consumer = EventConsumer(db, registration, OutboxSignal(), ["rsd.events"], {DecisionIssued.event_type: on_decision},
                             "/pana/registration")
    task = asyncio.create_task(consumer.run())
    try:
        from pana_dev.testing import eventually

        started = time.monotonic()
        await eventually(lambda: handled, timeout=90, interval=0.2, what="registration consumed rsd's decision")
        print(f"[kafka-sasl] registration's consumer joined and handled the decision in {time.monotonic() - started:.1f}s")
        assert handled == [genuine[3]]
        async with db.session() as session:
            inbox = list((await session.execute(select(InboxMessage.event_id))).scalars())
        assert forged[3] not in inbox
    finally:
        await consumer.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await db.dispose()


async def refused_to_read(consumer: AIOKafkaConsumer) -> BaseException:
    """Start `consumer` and poll once; the error the broker answers with (the test fails if none)."""
    try:
        await asyncio.wait_for(consumer.start(), 60)
        await asyncio.wait_for(consumer.getmany(timeout_ms=5000), 60)
    except KafkaError as exc:
        return exc
    finally:
        await consumer.stop()
    raise AssertionError("the broker let the consumer read")


async def test_a_service_reads_only_with_its_own_group_and_only_what_it_consumes(secured_broker):
    kafka = secured_broker
    from aiokafka.errors import GroupAuthorizationFailedError

    # registration's credentials under rsd's group name: refused (a consumer group is the service's own)
    refused = await refused_to_read(AIOKafkaConsumer("rsd.events", bootstrap_servers=kafka.bootstrap, group_id="rsd",
                                                     request_timeout_ms=10_000,
                                                     **kafka.security.client_options("registration")))
    assert isinstance(refused, GroupAuthorizationFailedError)

    # the civil-registry bridge does not consume rsd.events: not even with its own group
    refused = await refused_to_read(AIOKafkaConsumer("rsd.events", bootstrap_servers=kafka.bootstrap,
                                                     group_id="civil-registry-bridge", request_timeout_ms=10_000,
                                                     **kafka.security.client_options("civil-registry-bridge")))
    assert isinstance(refused, TopicAuthorizationFailedError)
