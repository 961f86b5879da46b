"""Self-starting infrastructure: each server starts, serves a real round trip,
stops, and leaves no process behind."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pana_dev.launchers import (
    ApacheKafka,
    ApacheKafkaCluster,
    EmbeddedBroker,
    EmbeddedPostgres,
    ManagedProcess,
    free_port,
    wait_for_port,
)
from pana_dev.testing import eventually


# Starting brokers and databases on two busy cores: every start gets a generous bound (a bound on a hang,
# not a pace), and so does each test as a whole (the project's default is 300 s).
START_S = 180.0
pytestmark = pytest.mark.timeout(1800)


def assert_gone(proc: ManagedProcess, pid: int) -> None:
    """The process and everything in its process group are gone."""
    assert not proc.is_running
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


async def produce(bootstrap: str, topic: str, values: list[bytes], **kw) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **kw)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, key=v)
    finally:
        await producer.stop()


async def consume(bootstrap: str, topic: str, group: str, n: int, timeout: float = 180) -> list[bytes]:
    """Consume ``n`` records as a member of ``group`` and commit them."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        got: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                got.extend(r.value for r in records)
        await consumer.commit()
        for tp in consumer.assignment():
            assert await consumer.committed(tp) == await consumer.position(tp)
        return got
    finally:
        await consumer.stop()


def test_ports() -> None:
    port = free_port()
    with pytest.raises(TimeoutError):
        wait_for_port("127.0.0.1", port, timeout=0.2)  # nothing listens there: short on purpose


async def test_tansu_round_trip() -> None:
    broker = EmbeddedBroker()
    await asyncio.to_thread(broker.start, START_S)
    pid = broker.pid
    try:
        assert broker.bootstrap == f"127.0.0.1:{broker.port}"
        values = [f"m{i}".encode() for i in range(5)]
        await produce(broker.bootstrap, "infra-tansu", values)
        got = await consume(broker.bootstrap, "infra-tansu", "g-tansu", len(values))
        assert sorted(got) == values
    finally:
        broker.stop()
    assert_gone(broker, pid)


async def test_apache_kafka_round_trip(tmp_path: Path) -> None:
    kafka = ApacheKafka(tmp_path / "kafka", start_timeout=START_S)
    await asyncio.to_thread(kafka.start)
    try:
        values = [f"m{i}".encode() for i in range(10)]
        await produce(kafka.bootstrap, "infra-kafka", values, acks="all", enable_idempotence=True)
        assert sorted(await consume(kafka.bootstrap, "infra-kafka", "g-kafka", len(values))) == sorted(values)

        # Same data directory and address after a restart; the group's offsets survived.
        bootstrap = kafka.bootstrap
        await asyncio.to_thread(kafka.restart)
        assert kafka.bootstrap == bootstrap
        await produce(kafka.bootstrap, "infra-kafka", [b"after"], acks="all")
        assert await consume(kafka.bootstrap, "infra-kafka", "g-kafka", 1) == [b"after"]
        pid = kafka.pid
    finally:
        kafka.stop()
    assert_gone(kafka, pid)


async def test_apache_kafka_kill_and_recover(tmp_path: Path) -> None:
    kafka = ApacheKafka(tmp_path / "kafka", start_timeout=START_S)
    await asyncio.to_thread(kafka.start)
    try:
        await produce(kafka.bootstrap, "infra-kill", [b"durable"], acks="all")
        pid = kafka.pid
        kafka.kill()
        assert_gone(kafka, pid)
        await asyncio.to_thread(kafka.start)
        assert await consume(kafka.bootstrap, "infra-kill", "g-kill", 1) == [b"durable"]
        pid = kafka.pid
    finally:
        kafka.stop()
    assert_gone(kafka, pid)


# Stable across sessions (initdb once), under the world-searchable temp dir so the
# unprivileged server user can reach it.
PG_DIR = Path(tempfile.gettempdir()) / "pana-infra-tests" / "postgres"


async def test_postgres_round_trip() -> None:
    pg = EmbeddedPostgres(PG_DIR, start_timeout=START_S)
    await asyncio.to_thread(pg.start)
    pid = pg.pid
    try:
        assert pg.url("x") == f"postgresql+asyncpg://postgres@127.0.0.1:{pg.port}/x"
        conn = await asyncpg.connect(pg.dsn())
        try:
            assert await conn.fetchval("SELECT 1") == 1
            assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        finally:
            await conn.close()

        name = f"infra_{uuid.uuid4().hex[:8]}"
        assert await asyncio.to_thread(pg.create_database, name) is True
        assert await asyncio.to_thread(pg.create_database, name) is False  # idempotent
        await asyncio.to_thread(pg.restart)
        conn = await asyncpg.connect(pg.dsn(name))
        try:
            assert await conn.fetchval("SELECT current_database()") == name
        finally:
            await conn.close()
        await asyncio.to_thread(pg.drop_database, name)
        assert_gone_pid = pg.pid
    finally:
        pg.stop()
    assert_gone(pg, assert_gone_pid)
    assert pid != assert_gone_pid  # restart really restarted


@pytest.mark.slow
async def test_cluster_survives_leader_loss(tmp_path: Path) -> None:
    cluster = ApacheKafkaCluster(tmp_path / "cluster", n=3, start_timeout=2 * START_S)
    await asyncio.to_thread(cluster.start)
    pids = {n.node_id: n.pid for n in cluster.nodes}
    topic = "infra-fault"
    try:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=3)])
        finally:
            await admin.close()

        producer = AIOKafkaProducer(
            bootstrap_servers=cluster.bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=10000
        )
        await producer.start()
        sent: list[bytes] = []

        async def send(prefix: str, n: int) -> None:
            for i in range(n):
                v = f"{prefix}-{i}".encode()
                await producer.send_and_wait(topic, v, partition=0)
                sent.append(v)

        try:
            await send("before", 10)
            leader = await cluster.leader_of(topic, 0)
            assert leader in pids
            replicas, isr = await cluster.replicas_of(topic, 0)
            assert sorted(replicas) == [1, 2, 3] and sorted(isr) == [1, 2, 3]

            await asyncio.to_thread(cluster.stop_node, leader)
            assert_gone(cluster.node(leader), pids[leader])
            await send("during", 20)  # acks=all with 2 of 3 in sync (min.insync.replicas=2)
            new_leader = await cluster.leader_of(topic, 0)
            assert new_leader not in (None, leader)

            await asyncio.to_thread(cluster.start_node, leader)
            async def rejoined() -> bool:
                return leader in (await cluster.replicas_of(topic, 0))[1]

            await eventually(rejoined, timeout=2 * START_S, interval=0.5, what="the restarted node in the ISR")
            await send("after", 10)
        finally:
            await producer.stop()

        got = await consume(cluster.bootstrap, topic, "g-fault", len(sent))
        assert got == sent  # one partition: in order, nothing lost, no duplicates
    finally:
        final = {n.node_id: n.pid for n in cluster.nodes}
        cluster.stop()
    for node in cluster.nodes:
        assert_gone(node, final[node.node_id])
