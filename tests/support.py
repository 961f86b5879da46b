"""Helpers for the cross-service tests: which infrastructure, tokens, waiting."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

import httpx

from pana_kit.auth import mint_dev_token
from pana_kit.settings import ServiceSettings
from pana_dev.testing import wait_for  # noqa: F401 - the one way a cross-service test waits for an effect


#: The bound on one HTTP call to a service of the stack: only a failure bound (a busy machine can be slow).
HTTP_TIMEOUT = 60.0


def chosen_broker() -> str:
    """Apache Kafka when Java and Maven are here (as in CI), else the embedded broker."""
    wanted = os.environ.get("PANA_TEST_BROKER")
    if wanted:
        return wanted
    return "apache" if shutil.which("java") and shutil.which("mvn") else "embedded"


def chosen_database() -> str:
    return os.environ.get("PANA_TEST_DATABASE", "postgres" if chosen_broker() == "apache" else "sqlite")


def headers(role: str, *, purpose: str | None = "case-work", idempotency_key: str | None = None, **claims) -> dict[str, str]:
    h = {"Authorization": "Bearer " + mint_dev_token(ServiceSettings(), role=role, **claims)}
    if purpose:
        h["X-Purpose"] = purpose
    if idempotency_key:
        h["Idempotency-Key"] = idempotency_key
    return h


def all_powerful_headers() -> dict[str, str]:
    """Every role and scope, so fuzzed requests reach the handlers instead of stopping at 403."""
    from pana_kit.roles import ROLE_SCOPES, SCOPES

    return headers("supervisor", purpose="audit", roles=list(ROLE_SCOPES), scope=" ".join(SCOPES), subject="fuzzer")


def referral_body(i: int = 0, **overrides) -> dict[str, Any]:
    body = {
        "given_name": f"Aziz{chr(97 + i % 26)}", "family_name": f"Karimov{i}", "birth_date": "1990-04-12",
        "sex": "male", "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs", "intent": "asylum",
    }
    body.update(overrides)
    return body


def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, list[tuple[str, bytes]], bytes | None]]) -> None:
    """Write raw records to a topic, as a foreign or broken producer would."""
    import asyncio

    from aiokafka import AIOKafkaProducer

    async def go():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
        await producer.start()
        try:
            for key, hdrs, value in records:
                await producer.send_and_wait(topic, value, key=key, headers=hdrs)
        finally:
            await producer.stop()

    asyncio.run(go())


def read_topic(bootstrap: str, topic: str, *, timeout: float = 120.0) -> list:
    """Every record currently in a topic (from the beginning), without joining a group.

    Reads up to the end offsets taken when it starts; `timeout` only bounds a failure (a
    partial read would pass a test that asserts something is absent, so it is an error).
    """
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def go():
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in partitions]
            if not tps:
                return []
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            out = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            async def behind() -> bool:
                for tp in tps:
                    if await consumer.position(tp) < ends[tp]:
                        return True
                return False

            while await behind():
                if loop.time() > deadline:
                    raise AssertionError(f"read {len(out)} records of {topic} in {timeout}s, not to its end {ends}")
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    out.extend(records)
            return out
        finally:
            await consumer.stop()

    return asyncio.run(go())


async def _group_offsets(bootstrap: str, group: str, topics: list[str]) -> tuple[int, int]:
    """(records committed by `group`, records on `topics`), summed over the partitions."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    # A consumer named after the group that never subscribes: it only asks the coordinator for the group's
    # committed offsets (OffsetFetch), which both brokers answer; the embedded one cannot answer the admin call.
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                                request_timeout_ms=20000)
    await consumer.start()
    try:
        done = total = 0
        for topic in topics:
            parts = consumer.partitions_for_topic(topic)
            if not parts:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in parts]
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                offset = await consumer.committed(tp)
                # The embedded broker may report an end offset below the committed one: none is behind then.
                done += min(offset, ends[tp]) if offset is not None and offset >= 0 else 0
                total += ends[tp]
        return done, total
    finally:
        await consumer.stop()


def group_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records not yet committed by `group` on `topics` (0 = it has handled everything on them now).

    The group commits an offset only after the record's effect, so lag 0 right after producing means
    what was produced has been handled, whatever partition it went to.
    """
    import asyncio

    done, total = asyncio.run(_group_offsets(bootstrap, group, topics))
    return total - done


def group_committed(bootstrap: str, group: str, topics: list[str]) -> int:
    """Records `group` has committed on `topics`: how far it has got, without paging its results."""
    import asyncio

    return asyncio.run(_group_offsets(bootstrap, group, topics))[0]


def settled(url: str) -> bool:
    """Nothing waits in the service's outbox and its consumer group has committed every record it reads (its
    `/metrics`): no event of this service is in flight."""
    text = httpx.get(f"{url}/metrics", timeout=HTTP_TIMEOUT).text
    found = re.findall(r"^(pana_outbox_pending|pana_consumer_lag)\{[^}]*\} (\S+)$", text, re.M)
    samples = [(name, float(value)) for name, value in found]
    return any(name == "pana_consumer_lag" for name, _ in samples) and all(value == 0 for _, value in samples)
