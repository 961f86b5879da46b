"""aiokafka clients configured once for every service.

Kafka transactions and idempotent producers are not relied on (the embedded
broker has neither): correctness comes from the outbox and the inbox.

Every client (producer, consumer, admin) speaks to the broker with the service's
security settings (`security_options`): SASL_SSL with the service's own SCRAM
credentials, or SSL with its client certificate (mutual TLS). The broker's ACLs
then let each service write only its own topic and dead-letter topic and read
only the topics it consumes (deploy/kafka/README.md). PLAINTEXT is for dev mode,
or a private network the operator vouches for (`kafka_allow_plaintext`).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from pana_events.topics import TOPIC_BY_NAME

from .settings import ServiceSettings

log = logging.getLogger("pana.kafka")


def ssl_context(settings: ServiceSettings) -> ssl.SSLContext:
    """TLS to the broker: its certificate checked against `kafka_ssl_cafile` (else the system store), host name
    included; the client certificate presented when one is configured (mutual TLS)."""
    return create_ssl_context(cafile=settings.kafka_ssl_cafile, certfile=settings.kafka_ssl_certfile,
                              keyfile=settings.kafka_ssl_keyfile, password=settings.kafka_ssl_key_password)


def security_options(settings: ServiceSettings) -> dict[str, Any]:
    """The aiokafka keyword arguments for the service's security settings (every client gets the same)."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL_"):
        options.update(sasl_mechanism=settings.kafka_sasl_mechanism,
                       sasl_plain_username=settings.kafka_sasl_username,
                       sasl_plain_password=settings.kafka_sasl_password)
    return options


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **security_options(settings),
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.service_name}-producer",
        acks="all",
        enable_idempotence=False,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=256 * 1024,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        retry_backoff_ms=200,
    )


def make_consumer(settings: ServiceSettings, group: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **security_options(settings),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group,
        client_id=f"{settings.service_name}-consumer",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_interval_ms=300_000,
        session_timeout_ms=30_000,
        heartbeat_interval_ms=3_000,
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 40_000),
        metadata_max_age_ms=5_000,
        # Low latency: the broker answers a fetch as soon as one record is there, and an empty fetch
        # comes back within fetch_max_wait_ms (aiokafka's default 500 ms; an event then waits for the next).
        fetch_min_bytes=1,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
        retry_backoff_ms=50,
    )


async def ensure_topics(settings: ServiceSettings, names: list[str]) -> None:
    """Create the topics (partitions from the registry) if they do not exist yet."""
    admin = AIOKafkaAdminClient(**security_options(settings), bootstrap_servers=settings.kafka_bootstrap,
                                request_timeout_ms=settings.kafka_request_timeout_ms)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = []
        for name in names:
            if name in existing:
                continue
            topic = TOPIC_BY_NAME.get(name)
            wanted.append(NewTopic(name, num_partitions=topic.partitions if topic else 1,
                                   replication_factor=settings.kafka_replication_factor))
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            except KafkaError as exc:  # a concurrent creator won, or the ACLs let an operator create it; anything else shows at subscribe
                log.info("create_topics: %s", exc)
    finally:
        await admin.close()


class BrokerWait:
    """How a client that has not reached the broker yet logs it. Services and the broker start together (`pana
    run` starts the services while a restarted Kafka is still loading its logs), so a first connection refused
    within `grace_s` of the client's start is INFO; past it, or once the broker was reached and then lost, it is a
    WARNING an operator should see."""

    grace_s = 30.0  # a class attribute, so a test can set it

    def __init__(self) -> None:
        self.started = asyncio.get_running_loop().time()
        self.reached = False

    def unreachable(self, logger: logging.Logger, message: str, *args) -> None:
        waiting = not self.reached and asyncio.get_running_loop().time() - self.started < self.grace_s
        logger.log(logging.INFO if waiting else logging.WARNING, message, *args)


async def backoff_sleep(attempt: int, base_s: float = 0.5, cap_s: float = 10.0) -> None:
    import random

    await asyncio.sleep(min(cap_s, base_s * 2 ** min(attempt, 10)) * (0.5 + random.random() / 2))
