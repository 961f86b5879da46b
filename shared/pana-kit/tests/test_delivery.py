"""Outbox retention, purge and replay by range; the inbox read by window; reconciliation between services.

On real SQLite databases and the kit's real unit of work, relay and consumer (the broker test further
down runs the embedded Tansu broker on a free port).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, update

from pana_events.events.rsd import DecisionPeriodExtended, InterviewScheduled
from pana_kit import delivery
from pana_kit.db import Database
from pana_kit.outbox import UnitOfWork
from pana_kit.settings import ServiceSettings, SettingsError, load_settings
from pana_kit.tables import KIT_METADATA, InboxMessage, OutboxMessage, OutboxRelayPosition

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


async def kit_db(path_or_url) -> Database:
    url = str(path_or_url) if "://" in str(path_or_url) else f"sqlite+aiosqlite:///{path_or_url}"
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(KIT_METADATA.create_all)
    return db


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, tmp_path):
    """Makes a fresh database with the kit's tables, on SQLite or on PostgreSQL."""
    if request.param == "sqlite":
        return lambda name: kit_db(tmp_path / f"{name}.db")
    pg = request.getfixturevalue("postgres")

    async def make(name: str) -> Database:
        unique = f"{name}_{uuid.uuid4().hex[:8]}"
        pg.create_database(unique)
        return await kit_db(pg.url(unique))

    return make


@pytest.fixture
async def rsd_db(database):
    db = await database("rsd")
    yield db
    await db.dispose()


@pytest.fixture
async def stateless_db(database):
    db = await database("statelessness")
    yield db
    await db.dispose()


def interview(n: int) -> InterviewScheduled:
    return InterviewScheduled(application_id=f"app-{n}", person_id=f"person-{n}", interview_id=f"iv-{n}",
                              scheduled_for=date(2026, 12, 1))


async def emit(db: Database, event, *, created_at: datetime, published_at: datetime | None) -> str:
    """One event through the real unit of work, then dated as the test needs.

    Published (`published_at` given) means the relay's position has reached it: the relay advances one
    position, it marks no row."""
    async with UnitOfWork(db, "/pana/rsd") as uow:
        envelope = uow.emit(event, subject=getattr(event, "person_id", "x"))
    async with db.transaction() as session:
        seq = (await session.execute(update(OutboxMessage).where(OutboxMessage.event_id == envelope.id)
                                     .values(created_at=created_at).returning(OutboxMessage.seq))).scalar_one()
        if published_at is not None:
            position = await session.get(OutboxRelayPosition, "outbox")
            if position is None:
                session.add(OutboxRelayPosition(name="outbox", position=seq, updated_at=published_at))
            else:
                position.position = seq
    return envelope.id


async def outbox_state(db: Database) -> dict[str, datetime | None]:
    """Each event id with its creation time once published (None while not, or while waiting for a replay)."""
    async with db.session() as session:
        rows = (await session.execute(select(OutboxMessage.event_id, OutboxMessage.created_at,
                                             delivery.published_clause()))).all()
    return {event_id: (at if published else None) for event_id, at, published in rows}


# -- retention -------------------------------------------------------------------------------------

def test_retention_defaults_to_30_days_and_a_bad_value_refuses_start(monkeypatch):
    class RsdLike(ServiceSettings):
        model_config = {**ServiceSettings.model_config, "env_prefix": "RSD_"}

    assert load_settings(RsdLike).outbox_retention_days == 30
    monkeypatch.setenv("RSD_OUTBOX_RETENTION_DAYS", "0")
    with pytest.raises(SettingsError, match="RSD_OUTBOX_RETENTION_DAYS"):
        load_settings(RsdLike)
    monkeypatch.setenv("RSD_OUTBOX_RETENTION_DAYS", "7")
    assert load_settings(RsdLike).outbox_retention_days == 7


async def test_purge_deletes_only_published_rows_past_retention(rsd_db):
    now = T0 + timedelta(days=60)
    old = await emit(rsd_db, interview(1), created_at=T0, published_at=T0 + timedelta(minutes=1))
    recent = await emit(rsd_db, interview(2), created_at=now - timedelta(days=29), published_at=now - timedelta(days=29))
    never_sent = await emit(rsd_db, interview(3), created_at=T0, published_at=None)

    purged = await delivery.purge_published(rsd_db, retention=timedelta(days=30), now=now, batch=1)

    assert purged == 1
    assert set(await outbox_state(rsd_db)) == {recent, never_sent}  # an unsent event is never purged
    assert old not in await outbox_state(rsd_db)


async def test_the_relay_keeps_published_rows(rsd_db, tmp_path):
    """Published rows stay (marked, not deleted) until the purge: that is what replay and reconcile read."""
    from pana_kit.outbox import OutboxRelay, OutboxSignal

    sent = []

    class Producer:  # a stand-in for the broker client only: the relay's own code runs as is
        async def send(self, topic, value, key=None, headers=None):
            import asyncio

            future = asyncio.get_running_loop().create_future()
            future.set_result(None)
            sent.append((topic, key))
            return future

    relay = OutboxRelay(rsd_db, ServiceSettings(service_name="rsd"), OutboxSignal(), ["rsd.events"])
    relay.producer = Producer()
    async with UnitOfWork(rsd_db, "/pana/rsd") as uow:
        envelope = uow.emit(interview(1), subject="person-1")
    assert await relay.publish_pending() == 1 and len(sent) == 1
    state = await outbox_state(rsd_db)
    assert state[envelope.id] is not None and await relay.pending() == 0


# -- replay by range -------------------------------------------------------------------------------

async def test_replay_marks_exactly_the_published_rows_of_the_range_and_topic(rsd_db):
    at = [T0 + timedelta(hours=h) for h in range(4)]
    ids = [await emit(rsd_db, interview(n), created_at=at[n], published_at=at[n] + timedelta(seconds=5)) for n in range(4)]
    unsent = await emit(rsd_db, interview(9), created_at=at[1], published_at=None)

    marked = await delivery.replay(rsd_db, since=at[1], until=at[3])

    assert marked == 2  # hours 1 and 2; [since, until) leaves hour 3 out; the unsent row was pending anyway
    state = await outbox_state(rsd_db)
    assert [state[i] is None for i in ids] == [False, True, True, False] and state[unsent] is None
    async with rsd_db.session() as session:
        attempts = dict((await session.execute(select(OutboxMessage.event_id, OutboxMessage.attempts))).all())
    assert attempts[ids[1]] == 1 and attempts[ids[0]] == 0

    assert await delivery.replay(rsd_db, since=at[0], topic="registration.events") == 0  # another topic: none
    with pytest.raises(ValueError):
        await delivery.replay(rsd_db)


# -- the inbox by window ---------------------------------------------------------------------------

async def test_the_inbox_pages_by_window_and_topic(stateless_db):
    async with stateless_db.transaction() as session:
        for n in range(7):
            session.add(InboxMessage(consumer_group="statelessness", event_id=f"e{n}", event_type="rsd.x.v1",
                                     handled_at=T0 + timedelta(minutes=n), topic="rsd.events" if n != 3 else "registration.events",
                                     outcome="handled" if n % 2 == 0 else "skipped"))
        session.add(InboxMessage(consumer_group="other", event_id="e2", event_type="rsd.x.v1", handled_at=T0,
                                 topic="rsd.events"))

    seen, cursor = [], None
    while True:
        page = await delivery.inbox_window(stateless_db, "statelessness", since=T0 + timedelta(minutes=1),
                                           until=T0 + timedelta(minutes=6), topic="rsd.events", cursor=cursor, limit=2)
        seen += [row.event_id for row in page.items]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == ["e1", "e2", "e4", "e5"]  # minute 3 is another topic, minute 6 is past `until`, "other" is another group


# -- reconciliation (no broker: the databases alone) ---------------------------------------------------

async def test_reconcile_finds_an_event_published_but_never_received_and_repairs_only_that(rsd_db, stateless_db):
    now = T0 + timedelta(hours=2)
    received = await emit(rsd_db, interview(1), created_at=T0, published_at=T0)
    lost = await emit(rsd_db, interview(2), created_at=T0, published_at=T0)  # acknowledged, then the broker forgot it
    in_flight = await emit(rsd_db, interview(3), created_at=now - timedelta(seconds=30), published_at=now - timedelta(seconds=20))
    async with stateless_db.transaction() as session:
        session.add(InboxMessage(consumer_group="statelessness", event_id=received, event_type=InterviewScheduled.event_type,
                                 handled_at=T0, topic="rsd.events", outcome="skipped"))

    dbs = {"rsd": rsd_db, "statelessness": stateless_db}
    result = await delivery.reconcile(dbs, since=T0 - timedelta(days=1), settle=timedelta(minutes=1), now=now)

    [report] = result.reports  # rsd.events -> statelessness; registration's database was not given
    assert (report.producer, report.topic, report.consumer) == ("rsd", "rsd.events", "statelessness")
    assert report.missing == [lost] and report.published == 2 and report.in_flight == 1
    from prometheus_client import REGISTRY
    assert REGISTRY.get_sample_value("pana_reconcile_missing", {"producer": "rsd", "topic": "rsd.events",
                                                                "consumer": "statelessness"}) == 1

    repaired = await delivery.reconcile(dbs, since=T0 - timedelta(days=1), settle=timedelta(minutes=1), now=now, repair=True)
    assert repaired.republished == 1
    state = await outbox_state(rsd_db)
    assert state[lost] is None and state[received] is not None and state[in_flight] is not None


# -- with a broker: replay is absorbed by the inbox, a lost event is found and repaired ------------------

async def test_replay_and_repair_through_a_real_broker(broker, tmp_path):
    import asyncio

    rsd_db, stateless_db = await kit_db(tmp_path / "rsd.db"), await kit_db(tmp_path / "statelessness.db")

    from pana_dev.testing import eventually
    from pana_kit.consumer import EventConsumer
    from pana_kit.outbox import OutboxRelay, OutboxSignal
    from pana_kit.tables import table_base
    from sqlmodel import Field

    common = dict(kafka_bootstrap=broker, otel_enabled=False, outbox_poll_interval_ms=20, consumer_retry_backoff_ms=10)
    producer_settings = ServiceSettings(service_name="rsd", **common)
    consumer_settings = ServiceSettings(service_name="statelessness", consumer_group=f"statelessness-{uuid.uuid4().hex[:8]}", **common)
    group = consumer_settings.group

    # The consumer's state: one row per interview it was told of, written in the handler's transaction.
    Base = table_base("delivery-test")

    class Seen(Base, table=True):
        __tablename__ = "seen_interviews"
        interview_id: str = Field(primary_key=True)
        times: int

    async with stateless_db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)

    async def on_interview(event, envelope, uow):
        row = await uow.session.get(Seen, event.interview_id)
        if row is None:
            uow.session.add(Seen(interview_id=event.interview_id, times=1))
        else:
            row.times += 1

    async def seen() -> dict[str, int]:
        async with stateless_db.session() as session:
            return {r.interview_id: r.times for r in (await session.execute(select(Seen))).scalars()}

    def duplicates() -> float:
        from prometheus_client import REGISTRY

        return sum(REGISTRY.get_sample_value("pana_events_consumed_total", {"service": "statelessness", "type": t,
                                                                            "outcome": "duplicate"}) or 0
                   for t in (InterviewScheduled.event_type, DecisionPeriodExtended.event_type))

    async def inbox() -> dict[str, str]:
        async with stateless_db.session() as session:
            rows = (await session.execute(select(InboxMessage.event_id, InboxMessage.outcome)
                                          .where(InboxMessage.consumer_group == group))).all()
        return dict(rows)

    signal = OutboxSignal()
    relay = OutboxRelay(rsd_db, producer_settings, signal, ["rsd.events"])
    consumer = EventConsumer(stateless_db, consumer_settings, OutboxSignal(), ["rsd.events"],
                             {InterviewScheduled.event_type: on_interview}, "/pana/statelessness")
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    try:
        start = datetime.now(timezone.utc) - timedelta(seconds=1)
        ids = []
        for n in range(5):
            async with UnitOfWork(rsd_db, "/pana/rsd", signal=signal) as uow:
                ids.append(uow.emit(interview(n), subject=f"person-{n}").id)
        async with UnitOfWork(rsd_db, "/pana/rsd", signal=signal) as uow:  # a type this consumer does not act on
            other = uow.emit(DecisionPeriodExtended(application_id="app-9", person_id="person-9",
                                                    decision_due=date(2027, 1, 1)), subject="person-9").id
        await eventually(lambda: _all_in(inbox, [*ids, other]), timeout=120, what="the six events in the consumer's inbox")
        assert await seen() == {f"iv-{n}": 1 for n in range(5)}
        assert await inbox() == {**{i: "handled" for i in ids}, other: "skipped"}

        # Replaying the range the consumer already handled changes nothing: each is handled once.
        before = duplicates()
        assert await delivery.replay(rsd_db, since=start) == 6
        signal.notify()
        await eventually(lambda: duplicates() - before == 6, timeout=120, what="the six replayed events settled as duplicates")
        assert await seen() == {f"iv-{n}": 1 for n in range(5)}
        assert len(await inbox()) == 6 and await delivery.count_unpublished(rsd_db) == 0

        # A lost event: the consumer's inbox row and its effect are gone (as after a broker that forgot it).
        async with stateless_db.transaction() as session:
            await session.execute(delete(InboxMessage).where(InboxMessage.event_id == ids[3]))
            await session.execute(delete(Seen).where(Seen.interview_id == "iv-3"))
        dbs = {"rsd": rsd_db, "statelessness": stateless_db}
        groups = {"statelessness": group}
        found = await delivery.reconcile(dbs, since=start, settle=timedelta(0), groups=groups)
        assert [(r.topic, r.consumer, r.missing) for r in found.reports] == [("rsd.events", "statelessness", [ids[3]])]

        repaired = await delivery.reconcile(dbs, since=start, settle=timedelta(0), groups=groups, repair=True)
        assert repaired.republished == 1
        signal.notify()
        await eventually(lambda: _all_in(inbox, [ids[3]]), timeout=120, what="the missing event handled again")
        assert (await seen())["iv-3"] == 1
        await eventually(lambda: _none_pending(rsd_db), timeout=120, what="the repair published")
        after = await delivery.reconcile(dbs, since=start, settle=timedelta(0), groups=groups)
        assert after.missing == 0
    finally:
        await consumer.stop()
        await relay.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await rsd_db.dispose(), await stateless_db.dispose()


async def _all_in(inbox, ids) -> bool:
    have = await inbox()
    return all(i in have for i in ids)


async def _none_pending(db) -> bool:
    return await delivery.count_unpublished(db) == 0


# -- the operator's commands -----------------------------------------------------------------------

def test_the_pana_commands_replay_list_and_reconcile(tmp_path, monkeypatch, capsys):
    import asyncio

    from pana_kit.cli import main
    from pana_kit.settings import ENV_PREFIX

    for service, prefix in ENV_PREFIX.items():  # nothing outside tmp_path is read
        monkeypatch.setenv(f"{prefix}DATABASE_URL", f"sqlite:///{tmp_path / service}.db")

    async def seed() -> tuple[str, str]:
        rsd, sl = await kit_db(tmp_path / "rsd.db"), await kit_db(tmp_path / "statelessness.db")
        kept = await emit(rsd, interview(1), created_at=T0, published_at=T0)
        lost = await emit(rsd, interview(2), created_at=T0 + timedelta(minutes=1), published_at=T0 + timedelta(minutes=1))
        async with sl.transaction() as session:
            session.add(InboxMessage(consumer_group="statelessness", event_id=kept, event_type=InterviewScheduled.event_type,
                                     handled_at=T0, topic="rsd.events", outcome="skipped"))
        await rsd.dispose(), await sl.dispose()
        return kept, lost

    kept, lost = asyncio.run(seed())

    assert main(["inbox", "--service", "statelessness", "--since", "2026-10-01", "--json"]) == 0
    assert f'"event_id": "{kept}"' in capsys.readouterr().out

    assert main(["reconcile", "--since", "2026-10-01", "--settle", "0"]) == 1  # something is missing
    out = capsys.readouterr().out
    assert "rsd.events: rsd -> statelessness: 2 published, 1 missing" in out and f"  missing {lost}" in out
    assert "skipped registration: no database" in out

    assert main(["reconcile", "--since", "2026-10-01", "--settle", "0", "--repair"]) == 0
    assert "re-published 1 events" in capsys.readouterr().out

    assert main(["outbox", "replay", "--service", "rsd", "--since", "2026-11-01T08:00:00Z", "--until", "2026-11-01T09:00:30"]) == 0
    assert capsys.readouterr().out.startswith("1 published events of rsd marked")  # `kept`; `lost` is already pending

    async def pending() -> dict:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}")
        try:
            return {k: v is None for k, v in (await outbox_state(db)).items()}
        finally:
            await db.dispose()

    assert asyncio.run(pending()) == {kept: True, lost: True}
    assert main(["outbox", "purge", "--service", "rsd"]) == 0
    assert "purged 0 published outbox rows" in capsys.readouterr().out


def test_the_periodic_reconcile_exports_the_missing_count(tmp_path):
    """`pana reconcile --every S --metrics-port P` repeats the pass and serves pana_reconcile_missing."""
    import asyncio
    import os
    import subprocess
    import sys

    import httpx
    from pana_dev.launchers.ports import free_port
    from pana_dev.testing import wait_for
    from pana_kit.settings import ENV_PREFIX

    async def seed() -> None:
        rsd, sl = await kit_db(tmp_path / "rsd.db"), await kit_db(tmp_path / "statelessness.db")
        await emit(rsd, interview(1), created_at=T0, published_at=T0)  # never received by statelessness
        await rsd.dispose(), await sl.dispose()

    asyncio.run(seed())
    env = {**os.environ, **{f"{prefix}DATABASE_URL": f"sqlite:///{tmp_path / service}.db" for service, prefix in ENV_PREFIX.items()}}
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pana_kit.cli", "reconcile", "--since", "2026-10-01", "--settle", "0",
                             "--every", "0.5", "--metrics-port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sample = 'pana_reconcile_missing{consumer="statelessness",producer="rsd",topic="rsd.events"} 1.0'

        def metrics() -> str:
            assert proc.poll() is None, "pana reconcile --every stopped"
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            return sample in text and text

        wait_for(metrics, timeout=60, what="the gauge on /metrics")
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_periodic_reconcile_pushes_the_missing_count_over_otlp_when_asked(tmp_path):
    """With OTEL_METRICS_EXPORTER=otlp, `pana reconcile --every S` pushes pana_reconcile_missing to the collector as
    the services push theirs (no scrape port needed), and a SIGTERM ends it cleanly, after a last push."""
    import asyncio
    import os
    import subprocess
    import sys

    from pana_dev.otlp_receiver import OtlpReceiver, point
    from pana_dev.testing import wait_for
    from pana_kit.settings import ENV_PREFIX

    async def seed() -> None:
        rsd, sl = await kit_db(tmp_path / "rsd.db"), await kit_db(tmp_path / "statelessness.db")
        await emit(rsd, interview(1), created_at=T0, published_at=T0)  # never received by statelessness
        await rsd.dispose(), await sl.dispose()

    asyncio.run(seed())
    with OtlpReceiver() as receiver:
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
               **{f"{prefix}DATABASE_URL": f"sqlite:///{tmp_path / service}.db" for service, prefix in ENV_PREFIX.items()},
               "OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": receiver.endpoint + "/v1/metrics",
               "OTEL_METRIC_EXPORT_INTERVAL": "200"}
        proc = subprocess.Popen([sys.executable, "-m", "pana_kit.cli", "reconcile", "--since", "2026-10-01",
                                 "--settle", "0", "--every", "0.5"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def pushed():
                assert proc.poll() is None, "pana reconcile --every stopped"
                return point(receiver, "pana_reconcile_missing", producer="rsd", topic="rsd.events",
                             consumer="statelessness")

            missing = wait_for(pushed, timeout=60, what="the gauge at the OTLP receiver")
        finally:
            proc.terminate()
            code = proc.wait(30)
    assert missing["value"] == 1 and missing["resource"]["service.name"] == "pana-reconcile"
    assert code == 0, "a SIGTERM is a clean stop"
    assert set(receiver.paths) == {"/v1/metrics"}


# -- the relay: pipelined, a position, gaps, wake-ups, one leader ---------------------------------------

class FakeProducer:
    """A stand-in for the broker client only: acknowledgements come when the test says (`ack`)."""

    def __init__(self, sent: list, *, auto_ack: bool = False):
        self.sent, self.auto_ack, self.futures = sent, auto_ack, []

    async def start(self):
        pass

    async def stop(self):
        pass

    async def send(self, topic, value, key=None, headers=None):
        import asyncio

        future = asyncio.get_running_loop().create_future()
        self.sent.append((topic, key, dict(headers)["ce_id"].decode()))
        if self.auto_ack:
            future.set_result(None)
        self.futures.append(future)
        return future

    def ack(self, first: int, last: int, error: Exception | None = None):
        for future in self.futures[first:last]:
            future.set_exception(error) if error else future.set_result(None)


async def emit_many(db, n: int, start: int = 0, signal=None) -> list[str]:
    ids = []
    for i in range(start, start + n):
        async with UnitOfWork(db, "/pana/rsd", signal=signal) as uow:
            ids.append(uow.emit(interview(i), subject=f"person-{i}").id)
    return ids


async def test_the_relay_pipelines_batches_and_its_position_follows_the_acknowledgements(rsd_db):
    import asyncio

    from pana_kit.outbox import OutboxRelay, OutboxSignal

    signal = OutboxSignal()
    ids = await emit_many(rsd_db, 25, signal=signal)
    sent: list = []
    relay = OutboxRelay(rsd_db, ServiceSettings(service_name="rsd", outbox_batch_size=10), signal, ["rsd.events"])
    relay.producer = FakeProducer(sent)
    await relay._load_position()
    # Two batches handed to the producer before any acknowledgement: the second is selected while the first waits.
    assert await relay.publish_batch() == 10 and await relay.publish_batch() == 10
    assert [s[2] for s in sent] == ids[:20] and relay.position == 0
    relay.producer.ack(10, 20)  # the second batch first: the position still waits for the first
    await asyncio.sleep(0)
    relay._retire()
    assert relay.position == 0
    relay.producer.ack(0, 10)
    await asyncio.sleep(0)
    relay._retire()
    assert relay.position == 20
    # The ready records came from the units of work: the headers are the envelope's own.
    assert not signal.ready.keys() & set(ids[:20]) and signal.ready.keys() >= set(ids[20:])

    # A failed acknowledgement: the relay starts again from its position (the same event ids again).
    assert await relay.publish_batch() == 5
    relay.producer.ack(20, 25, error=RuntimeError("broker gone"))
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        relay._retire()
    await relay._abandon()
    assert relay.position == 20 and relay.high == 20
    relay.producer = FakeProducer(sent, auto_ack=True)
    assert await relay.publish_pending() == 5 and [s[2] for s in sent[25:]] == ids[20:]
    assert relay.position == 25 and await delivery.count_unpublished(rsd_db) == 0

    # The position is one saved row: a new relay starts from it.
    fresh = OutboxRelay(rsd_db, ServiceSettings(service_name="rsd"), OutboxSignal(), ["rsd.events"])
    fresh.producer = FakeProducer(sent := [], auto_ack=True)
    assert await fresh.publish_pending() == 0 and fresh.position == 25


async def test_the_position_never_passes_a_seq_that_commits_later(database):
    """Concurrent transactions commit out of seq order: the relay publishes what is visible, and its position
    waits at the gap until the transaction holding it has ended (committed: published then; rolled back: gone)."""
    from pana_kit.outbox import OutboxRelay, OutboxSignal

    db = await database("gaps")
    try:
        if db.is_sqlite:
            pytest.skip("one writer at a time on SQLite: seqs commit in order")
        sent: list = []
        relay = OutboxRelay(db, ServiceSettings(service_name="rsd"), OutboxSignal(), ["rsd.events"])
        relay.producer = FakeProducer(sent, auto_ack=True)

        slow = UnitOfWork(db, "/pana/rsd")
        await slow.__aenter__()
        late = slow.emit(interview(1), subject="person-1").id
        await slow.flush()  # seq 1 taken, not committed
        [after] = await emit_many(db, 1, start=2)  # seq 2, committed

        assert await relay.publish_pending() == 1 and [s[2] for s in sent] == [after]
        assert relay.position == 0 and [(g.lo, g.hi) for g in relay.gaps] == [(1, 1)]
        assert await delivery.count_unpublished(db) == 1  # seq 2 is sent but not past the position; seq 1 not visible

        await slow.__aexit__(None, None, None)  # seq 1 commits after seq 2 was published
        assert await relay.publish_pending() == 1 and [s[2] for s in sent] == [after, late]
        assert relay.position == 2 and not relay.gaps

        # A rolled-back transaction leaves a gap that never fills: passed once the transaction has ended.
        doomed = UnitOfWork(db, "/pana/rsd")
        await doomed.__aenter__()
        doomed.emit(interview(3), subject="person-3")
        await doomed.flush()  # seq 3
        [last] = await emit_many(db, 1, start=4)  # seq 4
        await relay.publish_pending()
        assert relay.position == 2
        await doomed.__aexit__(RuntimeError, RuntimeError("refused"), None)
        await relay.publish_pending()
        assert relay.position == 4 and [s[2] for s in sent] == [after, late, last]
        assert await delivery.count_unpublished(db) == 0
    finally:
        await db.dispose()


async def test_a_commit_elsewhere_wakes_the_leading_relay_and_one_relay_leads(database, monkeypatch):
    """On PostgreSQL: NOTIFY wakes the relay (its poll is ten minutes here); of two relays on one database
    one publishes; when it stops, the other takes over."""
    import asyncio

    from pana_dev.testing import eventually
    from pana_kit import outbox

    db = await database("leader")
    try:
        if db.is_sqlite:
            pytest.skip("LISTEN/NOTIFY and the leader lock are PostgreSQL's")
        sent: list = []
        monkeypatch.setattr(outbox, "make_producer", lambda settings: FakeProducer(sent, auto_ack=True))

        async def no_topics(settings, names):
            pass

        monkeypatch.setattr(outbox, "ensure_topics", no_topics)
        settings = ServiceSettings(service_name="rsd", outbox_poll_interval_ms=600_000)
        relays = [outbox.OutboxRelay(db, settings, outbox.OutboxSignal(), ["rsd.events"]) for _ in range(2)]
        tasks = [asyncio.create_task(r.run()) for r in relays]
        await eventually(lambda: _true(any(r.leading for r in relays)), timeout=60, what="a relay leading")
        ids = await emit_many(db, 5)  # no signal: as from another process
        await eventually(lambda: _true(len(sent) == 5), timeout=60, what="the five events published")
        assert [s[2] for s in sent] == ids and [r.leading for r in relays].count(True) == 1

        leader = next(i for i, r in enumerate(relays) if r.leading)
        await relays[leader].stop()
        await asyncio.wait_for(tasks[leader], 30)
        other = relays[1 - leader]
        await eventually(lambda: _true(other.leading), timeout=60, what="the other relay leading")
        more = await emit_many(db, 3, start=5)
        await eventually(lambda: _true(set(more) <= {s[2] for s in sent}), timeout=60, what="the next events published")
        # At least once: a takeover may send again what the old leader published after its last saved position.
        assert set(s[2] for s in sent) == set(ids + more) and [s[2] for s in sent if s[2] in more] == more
        # A leader that stops saves its acknowledged position before its lock goes: nothing is sent twice.
        assert len(sent) == len({s[2] for s in sent})
        await other.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await db.dispose()


async def _true(value: bool) -> bool:
    return value


class StreamProducer:
    """A broker client for the takeover test: acknowledges each record on the next loop turn; at its `kill_at`-th
    record it calls `on_kill` (the test's kill or revocation of its relay), and once `dead` it sends nothing."""

    def __init__(self, sent: list, acked: list):
        self.sent, self.acked, self.pending = sent, acked, set()
        self.kill_at: int | None = None
        self.on_kill = None
        self.dead = False
        self.count = 0

    async def start(self):
        pass

    async def stop(self):
        pass

    def die(self):
        self.dead = True
        for future in self.pending:
            if not future.done():
                future.set_exception(ConnectionError("the process is gone"))

    async def send(self, topic, value, key=None, headers=None):
        import asyncio

        if self.dead:
            raise ConnectionError("the process is gone")
        event_id = dict(headers)["ce_id"].decode()
        self.sent.append(event_id)
        self.count += 1
        future = asyncio.get_running_loop().create_future()
        self.pending.add(future)

        def ack():
            self.pending.discard(future)
            if not future.done():
                future.set_result(None)
                self.acked.append(event_id)

        asyncio.get_running_loop().call_soon(ack)
        if self.count == self.kill_at and self.on_kill is not None:
            self.on_kill()
        return future


@pytest.mark.parametrize("how", ["killed", "revoked"])
async def test_a_takeover_mid_stream_loses_no_event_and_resends_at_most_the_inflight_window(database, monkeypatch, how):
    """The leading relay dies (its process: no more sends, acknowledgements or saves, its lock gone) or loses its
    lock (its connection terminated; it lives on) while publishing a stream; the other relay takes over.

    Nothing is lost. Sent twice is at most what the old leader had sent past its saved position, and the relay
    never sends further than `outbox_inflight_batches` batches past it (no gap in this stream)."""
    import asyncio

    from pana_dev.testing import eventually
    from pana_kit import outbox
    from sqlalchemy import text

    db = await database(f"takeover_{how}")
    try:
        if db.is_sqlite:
            pytest.skip("the leader lock is PostgreSQL's")
        sent: list[str] = []
        acked: list[str] = []
        producers: list[StreamProducer] = []

        def make_producer(settings):
            producers.append(StreamProducer(sent, acked))
            return producers[-1]

        async def no_topics(settings, names):
            pass

        monkeypatch.setattr(outbox, "make_producer", make_producer)
        monkeypatch.setattr(outbox, "ensure_topics", no_topics)
        settings = ServiceSettings(service_name="rsd", outbox_poll_interval_ms=600_000, outbox_batch_size=50,
                                   outbox_inflight_batches=4)
        window = settings.outbox_batch_size * settings.outbox_inflight_batches
        relays = [outbox.OutboxRelay(db, settings, outbox.OutboxSignal(), ["rsd.events"]) for _ in range(2)]
        tasks = [asyncio.create_task(r.run()) for r in relays]
        await eventually(lambda: _true(any(r.leading for r in relays) and all(r.producer for r in relays)),
                         timeout=60, what="a relay leading")
        old = next(r for r in relays if r.leading)
        new = next(r for r in relays if r is not old)
        lock_pid = old._raw.get_server_pid()
        gone = asyncio.Event()

        async def terminate_lock_connection():
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lock_pid})
            gone.set()

        async def nothing_saved():
            pass

        def kill():
            if how == "killed":  # a dead process: nothing more sent, acknowledged or saved
                old._save = nothing_saved
                old.producer.die()
            asyncio.get_running_loop().create_task(terminate_lock_connection())

        old.producer.kill_at, old.producer.on_kill = 600, kill
        ids: list[str] = []
        for n in range(0, 2000, 100):  # a stream from another process (NOTIFY wakes the relay), 100 a transaction
            async with UnitOfWork(db, "/pana/rsd") as uow:
                ids += [uow.emit(interview(i), subject=f"person-{i}").id for i in range(n, n + 100)]
        await asyncio.wait_for(gone.wait(), 60)
        if how == "killed":
            tasks[relays.index(old)].cancel()
        await eventually(lambda: _true(set(acked) >= set(ids)), timeout=120, what="every event acknowledged")

        assert set(sent) == set(ids)  # nothing lost, nothing else
        resent = len(sent) - len(set(sent))
        print(f"{how}: {len(ids)} events, {resent} sent twice (bound: {window})")
        assert resent <= window
        assert any(p.count for p in producers if p is not old.producer) or how == "revoked"
        for relay in relays:
            await relay.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        await db.dispose()
