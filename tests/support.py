"""Helpers for the cross-service tests: which infrastructure, tokens, waiting."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, Callable

import httpx

from pana_kit.auth import mint_dev_token
from pana_kit.settings import ServiceSettings


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


def wait_for(probe: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition") -> Any:
    """Poll until `probe` returns something truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


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


def read_topic(bootstrap: str, topic: str, *, timeout: float = 5.0) -> list:
    """Every record currently in a topic (from the beginning), without joining a group."""
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

            while loop.time() < deadline and await behind():
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    out.extend(records)
            return out
        finally:
            await consumer.stop()

    return asyncio.run(go())
