"""`make run`'s broker keeps what it acknowledged: events written with acks=all and the
consumer groups' committed offsets survive a SIGKILL of the broker and a restart on the
same var directory. The memory-only broker is there only when asked for, with a warning.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from pana_dev.launchers import kafka as kafka_launcher
from pana_dev.launchers.ports import free_ports
from pana_dev.stack import MEMORY_WARNING, Stack
from pana_kit.cli import main

N = 1000
ALREADY_READ = 400
TOPIC = "durable"
PARTITIONS = 3
BOUND_S = 120.0  # a bound on a hang, not a pace


async def produce_acknowledged(bootstrap: str) -> list[bytes]:
    """N events, each acknowledged by the broker (acks=all), as the outbox relay sends them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        values = [f"event-{i}".encode() for i in range(N)]
        pending = [await producer.send(TOPIC, v, key=v) for v in values]
        for ack in pending:
            await ack  # raises unless the broker acknowledged it
        return values
    finally:
        await producer.stop()


async def read(bootstrap: str, group: str, want: int | None, *, commit: bool) -> list[bytes]:
    """Read as a member of ``group`` (committing each batch if asked): ``want`` records, or with
    ``want=None`` everything up to the end of the log. A short answer means records are missing;
    the loop ends on that condition (or, on a hang, the bound)."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    got: list[bytes] = []
    try:
        deadline = time.monotonic() + BOUND_S
        while time.monotonic() < deadline:
            if want is not None and len(got) >= want:
                break
            limit = None if want is None else want - len(got)
            batch = await consumer.getmany(timeout_ms=500, max_records=limit)
            for tp, records in batch.items():
                got += [r.value for r in records]
                if commit:
                    await consumer.commit({tp: records[-1].offset + 1})
            if want is None and len(consumer.assignment()) == PARTITIONS:
                ends = await consumer.end_offsets(list(consumer.assignment()))
                if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                    break
        return got
    finally:
        await consumer.stop()


async def committed_total(bootstrap: str, group: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        total = 0
        for p in range(PARTITIONS):
            total += await consumer.committed(TopicPartition(TOPIC, p)) or 0
        return total
    finally:
        await consumer.stop()


@pytest.mark.timeout(600)
def test_make_run_broker_keeps_acknowledged_events_and_offsets_across_sigkill(tmp_path: Path) -> None:
    reason = kafka_launcher.kafka_unavailable()
    if reason:
        pytest.skip(f"the durable broker needs Apache Kafka: {reason}")
    first = Stack(var_dir=tmp_path, start_timeout=BOUND_S)  # the broker `make run` starts, by default
    assert first.broker_is_durable
    bootstrap = first.start_broker()
    broker = first.infra[0]
    try:
        sent = asyncio.run(produce_acknowledged(bootstrap))
        already = asyncio.run(read(bootstrap, "rsd", ALREADY_READ, commit=True))
        assert len(already) == ALREADY_READ
    finally:
        broker.kill()  # SIGKILL: no flush, no controlled shutdown
    assert not broker.is_running

    second = Stack(var_dir=tmp_path, start_timeout=BOUND_S)  # the next `make run` on the same var/
    bootstrap = second.start_broker()
    try:
        # The group resumes at its committed offsets: exactly the 600 it had not read, none of the 400 again.
        # (It joins first: a bare OffsetFetch in the first moments after the restart can still answer "none"
        # while the coordinator loads; a member's join waits for the load.)
        rest = asyncio.run(read(bootstrap, "rsd", None, commit=True))
        assert len(rest) == N - ALREADY_READ
        assert sorted(already + rest) == sorted(sent)  # nothing lost, nothing twice
        assert asyncio.run(committed_total(bootstrap, "rsd")) == N
        everything = asyncio.run(read(bootstrap, "a-new-group", None, commit=False))
        assert sorted(everything) == sorted(sent)  # every acknowledged event is still in the log
    finally:
        second.stop()


def test_the_broker_keeps_its_address_from_run_to_run_while_the_ports_are_free(tmp_path: Path) -> None:
    port, controller = free_ports(2)
    (tmp_path / "server.properties").write_text(
        f"node.id=1\nlisteners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}\n")
    assert kafka_launcher.previous_ports(tmp_path) == (port, controller)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", controller))
        taken.listen()
        assert kafka_launcher.previous_ports(tmp_path) is None  # someone else has it now: fresh ports
    assert kafka_launcher.previous_ports(tmp_path / "never-started") is None


def test_the_memory_broker_is_only_there_by_name_and_says_what_it_loses(tmp_path: Path, capsys) -> None:
    assert Stack(var_dir=tmp_path).broker == "kafka"
    for name in ("memory", "embedded"):
        stack = Stack(var_dir=tmp_path, broker=name)
        assert not stack.broker_is_durable
        assert MEMORY_WARNING in stack.broker_notes()
    assert "LOST" in MEMORY_WARNING and "--broker kafka" in MEMORY_WARNING
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "kafka (default" in text and "memory (Tansu, memory only: acknowledged events are LOST on stop)" in text


def test_without_java_pana_run_refuses_and_names_the_choices(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("PANA_BROKER", raising=False)
    monkeypatch.setattr(kafka_launcher.shutil, "which", lambda name: None)
    assert main(["run", "--var", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "java (17+) is not on PATH" in err
    assert "--broker memory" in err and "lost" in err
    assert not (tmp_path / "kafka").exists() and not (tmp_path / "logs").exists()  # nothing was started


def test_a_first_durable_run_beside_older_databases_says_what_it_keeps(tmp_path: Path) -> None:
    (tmp_path / "rsd.db").write_bytes(b"")
    notes = Stack(var_dir=tmp_path).broker_notes()
    assert any("rsd.db" in n and "kept" in n for n in notes)
    (tmp_path / "kafka" / "logs").mkdir(parents=True)
    (tmp_path / "kafka" / "logs" / "meta.properties").write_text("cluster.id=x\n")
    assert not any("rsd.db" in n for n in Stack(var_dir=tmp_path).broker_notes())


def test_a_kafka_left_running_on_the_same_var_dir_is_named_instead_of_a_lock_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    data_dir = (tmp_path / "kafka").resolve()
    # Stands in for a JVM left behind by a killed launcher: same -Dkafka.logs.dir, still alive.
    squatter = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()", f"-Dkafka.logs.dir={data_dir}"],
                                stdin=subprocess.PIPE)
    try:
        with pytest.raises(RuntimeError, match=rf"another Kafka \(pid {squatter.pid}\) is running on .*kill {squatter.pid}"):
            kafka_launcher.ApacheKafka(data_dir).start_process()
    finally:
        squatter.kill()
        squatter.wait()
    assert kafka_launcher.ApacheKafka(data_dir).other_owner() is None
