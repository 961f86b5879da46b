"""Backbone figures (issue 2): referral -> application latency, outbox relay throughput.

    uv run python tests/bench/bench_backbone.py [--referrals 1000] [--events 20000]

1. Border referral posted -> application lodged on rsd, p50/p99 over N referrals
   (registration and rsd as separate processes on the chosen broker/database),
   after a warm-up that waits until rsd's consumer has its partitions; read from
   rsd's `rsd.application.lodged.v1` events (their time, and when they arrive).
2. Outbox relay throughput (events/s) against raw aiokafka producing the same
   events to the same broker in the same run, and their ratio.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import machine, median_rounds, parser, summary
from support import headers, referral_body

from pana_dev.stack import Stack, spec


class LodgedWatcher:
    """Reads rsd.events from its end in a thread of its own: when each person's `rsd.application.lodged.v1`
    was lodged (the event's time, stamped in rsd's transaction) and when it reached us (published by rsd's relay).

    Reading the events costs the services nothing; asking rsd's API for every outstanding person (as this bench
    once did) loaded rsd with the measurement and added the poll's own cycle to each figure."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.lodged: dict[str, float] = {}  # person id -> lodged at (epoch seconds, rsd's clock = ours)
        self.seen: dict[str, float] = {}  # person id -> received here (epoch seconds)
        # The stages between: registration's referral event (stamped in its transaction; its Kafka record's
        # CreateTime = when registration's relay handed it to the producer) and rsd's lodged record's CreateTime.
        self.referred: dict[str, float] = {}  # person id -> registration's ce_time
        self.referral_sent: dict[str, float] = {}  # person id -> registration's relay produced it
        self.lodged_sent: dict[str, float] = {}  # person id -> rsd's relay produced the lodged event
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> "LodgedWatcher":
        self._thread.start()
        if not self.ready.wait(120):
            raise RuntimeError("the watcher could not read rsd.events")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _run(self) -> None:
        import json
        from datetime import datetime

        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                    fetch_max_wait_ms=20, fetch_min_bytes=1)
        await consumer.start()
        try:
            tps = []
            for topic in ("rsd.events", "registration.events"):
                while not (partitions := consumer.partitions_for_topic(topic)):
                    await consumer._client.force_metadata_update()
                    await asyncio.sleep(0.2)
                tps += [TopicPartition(topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:
                await consumer.position(tp)
            self.ready.set()
            while not self._stop.is_set():
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    now = time.time()
                    for record in records:
                        hdrs = dict(record.headers or ())
                        if hdrs.get("ce_type") == b"registration.referral.registered.v1":
                            person_id = json.loads(record.value)["person_id"]
                            self.referred.setdefault(person_id, datetime.fromisoformat(hdrs["ce_time"].decode()).timestamp())
                            self.referral_sent.setdefault(person_id, record.timestamp / 1000)
                        if hdrs.get("ce_type") != b"rsd.application.lodged.v1":
                            continue
                        person_id = json.loads(record.value)["person_id"]
                        self.lodged_sent.setdefault(person_id, record.timestamp / 1000)
                        self.lodged.setdefault(person_id, datetime.fromisoformat(hdrs["ce_time"].decode()).timestamp())
                        self.seen.setdefault(person_id, now)
        finally:
            await consumer.stop()


def post_referrals(stack: Stack, n: int, rate: float, tag: str, answered: dict[str, float] | None = None) -> dict[str, float]:
    """Posts n referrals at `rate` per second (8 clients); person id -> when its POST was sent (epoch seconds);
    `answered` gets when each answer came."""
    posted: dict[str, float] = {}
    answered = {} if answered is None else answered
    border = headers("border-officer", purpose=None)
    url = stack.url("registration") + "/api/v1/border-referrals"
    local = threading.local()

    def post(i: int):
        client = getattr(local, "client", None) or httpx.Client(timeout=30)
        local.client = client
        sent = time.time()
        r = client.post(url, json=referral_body(i, family_name=f"Bench{tag}{i}"),
                        headers={**border, "Idempotency-Key": f"bench-{tag}-{i:06d}"})
        r.raise_for_status()
        answered[r.json()["person_id"]] = time.time()
        posted[r.json()["person_id"]] = sent

    interval = 1.0 / rate
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for i in range(n):
            pool.submit(post, i)
            time.sleep(max(0.0, started + (i + 1) * interval - time.perf_counter()))
    return posted


def referral_latency(stack: Stack, n: int, rate: float, warmup: int = 20) -> tuple[list[float], ...]:
    """(referral posted -> application lodged on rsd, -> its lodged event received, -> registration's answer,
    registration's answer -> lodged: the events' part), in ms, in the steady state.

    The warm-up referrals are posted and awaited first: rsd's consumer then has its partitions and every
    client its connections, so the figures are not the start-up's."""
    watcher = LodgedWatcher(stack.kafka_bootstrap).start()
    try:
        tag = uuid.uuid4().hex[:6]
        warm = post_referrals(stack, warmup, min(rate, 10.0), "w" + tag)
        deadline = time.monotonic() + 600
        while not warm.keys() <= watcher.seen.keys() and time.monotonic() < deadline:
            time.sleep(0.2)
        print(f"warm-up: {sum(p in watcher.seen for p in warm)}/{warmup} referrals lodged "
              f"in {max((watcher.seen.get(p, 0) - t for p, t in warm.items()), default=0):.1f} s at most")
        answered: dict[str, float] = {}
        posted = post_referrals(stack, n, rate, tag, answered)
        deadline = time.monotonic() + 600
        while not posted.keys() <= watcher.seen.keys() and time.monotonic() < deadline:
            time.sleep(0.2)
        lodged = [(watcher.lodged[p] - t) * 1000 for p, t in posted.items() if p in watcher.lodged]
        seen = [(watcher.seen[p] - t) * 1000 for p, t in posted.items() if p in watcher.seen]
        http = [(answered[p] - t) * 1000 for p, t in posted.items()]
        events = [(watcher.lodged[p] - answered[p]) * 1000 for p in posted if p in watcher.lodged]
        stages = {
            "registration's event stamped -> its relay produced it": [
                (watcher.referral_sent[p] - watcher.referred[p]) * 1000 for p in posted if p in watcher.referral_sent],
            "registration's relay produced -> rsd's lodged event stamped (fetch + rsd's handler)": [
                (watcher.lodged[p] - watcher.referral_sent[p]) * 1000 for p in posted
                if p in watcher.lodged and p in watcher.referral_sent],
            "rsd's lodged event stamped -> rsd's relay produced it": [
                (watcher.lodged_sent[p] - watcher.lodged[p]) * 1000 for p in posted if p in watcher.lodged_sent],
        }
        for name, values in stages.items():
            if values:
                print(summary(f"  stage: {name}", values))
        return lodged, seen, http, events
    finally:
        watcher.stop()


def _CountingRelay(*args):
    """The old relay (no position) with a `wait_position` of the same meaning: its publish_batch returns after
    the acknowledgements and the commit, so counting what it returned is exact, with no polling."""
    from pana_kit.outbox import OutboxRelay

    class Counting(OutboxRelay):
        published = 0
        moved: asyncio.Event | None = None

        async def publish_batch(self) -> int:
            sent = await super().publish_batch()
            if sent:
                self.published += sent
                if self.moved:
                    self.moved.set()
            return sent

        async def wait_position(self, seq: int) -> None:  # seqs start at 1 in a fresh table
            while self.published < seq:
                self.moved = asyncio.Event()
                await self.moved.wait()

    return Counting(*args)


async def relay_throughput(stack: Stack, database_url: str, events: int, rounds: int) -> list[tuple[float, float]]:
    """[(relay events/s, raw aiokafka events/s)] for each round: the same records, the same broker, this process.

    Each round sends `events` records through raw aiokafka and then the same number through the relay, so both
    see the same machine at nearly the same moment (one short window each was noise: the anchor alone moved
    from 10,765 to 29,915 events/s between two runs). The producer and the relay are started, connected and
    leading first (their start-up is not the figure); each round's rows are committed in one transaction and the
    clock runs from that commit until the relay's own position says the last row is acknowledged
    (`wait_position`: woken by the relay, not a COUNT(*) polled on its event loop)."""
    from aiokafka import AIOKafkaProducer
    from sqlmodel import SQLModel

    from pana_events import Envelope
    from pana_events.envelope import to_kafka
    from pana_kit.db import Database
    from pana_kit.outbox import OutboxRelay, OutboxSignal, outbox_row
    from pana_kit.settings import ServiceSettings
    from pana_kit import tables

    topic = f"bench.relay.{uuid.uuid4().hex[:6]}"
    def fresh() -> list:  # each round's own events: an event id is unique in the outbox
        return [Envelope(source="/pana/bench", type="bench.event.v1", subject=str(uuid.uuid4()),
                         data={"i": i, "padding": "x" * 200}) for i in range(events)]

    settings = ServiceSettings(service_name="bench", kafka_bootstrap=stack.kafka_bootstrap, outbox_batch_size=1000)

    # Anchor: raw aiokafka, the same records, the same broker, the relay's producer settings, 1,000 at a time.
    from pana_kit.kafka import ensure_topics, make_producer

    raw_topic = topic + ".raw"
    await ensure_topics(settings, [topic, raw_topic])
    producer: AIOKafkaProducer = make_producer(settings)
    await producer.start()
    await producer.send_and_wait(raw_topic, b"warm-up")

    async def raw_round(envelopes: list) -> float:
        started = time.perf_counter()
        for chunk in range(0, events, 1000):
            futures = []
            for env in envelopes[chunk:chunk + 1000]:
                key, hdrs, value = to_kafka(env)
                futures.append(await producer.send(raw_topic, value, key=key, headers=hdrs))
            await asyncio.gather(*futures)
        return events / (time.perf_counter() - started)

    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(
            c, tables=[getattr(tables, name).__table__ for name in ("OutboxMessage", "OutboxRelayPosition", "OutboxReplay")
                       if hasattr(tables, name)]))
    signal = OutboxSignal()
    relay = OutboxRelay(db, settings, signal, [topic])
    if not hasattr(relay, "wait_position"):  # the relay before issue 16: count what its batches published
        relay = _CountingRelay(db, settings, signal, [topic])
    task = asyncio.create_task(relay.run())
    async with db.transaction() as session:  # warm-up: one row through the running relay
        row = outbox_row(Envelope(source="/pana/bench", type="bench.event.v1", subject="warm-up", data={}), topic)
        session.add(row)
    signal.notify()
    await asyncio.wait_for(relay.wait_position(row.seq), 120)

    async def relay_round(envelopes: list) -> float:
        rows = [outbox_row(env, topic) for env in envelopes]  # built before the clock, as units of work build them
        async with db.transaction() as session:
            session.add_all(rows)
        started = time.perf_counter()
        signal.notify()
        await relay.wait_position(rows[-1].seq)
        return events / (time.perf_counter() - started)

    results = []
    for _ in range(rounds):
        envelopes = fresh()
        raw_rate = await raw_round(envelopes)
        results.append((await relay_round(envelopes), raw_rate))
    await producer.stop()
    await relay.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await db.dispose()
    return results


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--referrals", type=int, default=1000)
    p.add_argument("--rate", type=float, default=25.0, help="referrals posted per second")
    p.add_argument("--events", type=int, default=20000, help="events per relay round")
    p.add_argument("--relay-rounds", type=int, default=5, help="raw aiokafka then relay, this many times")
    args = p.parse_args()
    var = Path(args.var)
    shutil.rmtree(var, ignore_errors=True)
    stack = Stack(var_dir=var, broker=args.broker, database=args.database)
    try:
        stack.start(services=(spec("registration"), spec("rsd")), simulator=False)
        print(f"machine: {machine()}; broker={args.broker} database={args.database}")
        lodged, seen, http, events = referral_latency(stack, args.referrals, args.rate)
        print(summary(f"border referral posted -> application lodged on rsd ({args.rate:g}/s)", lodged))
        print(summary(f"border referral posted -> rsd's lodged event received ({args.rate:g}/s)", seen))
        print(summary(f"  of which: POST answered by registration ({args.rate:g}/s)", http))
        print(summary(f"  of which: registration's answer -> application lodged on rsd ({args.rate:g}/s)", events))
        db_url = stack.database_url("bench-relay") if args.database == "postgres" else f"sqlite+aiosqlite:///{var / 'relay.db'}"
        rounds = asyncio.run(relay_throughput(stack, db_url, args.events, args.relay_rounds))
        for i, (relay_rate, raw_rate) in enumerate(rounds, 1):
            print(f"  round {i}: outbox relay {relay_rate:,.0f} events/s; raw aiokafka {raw_rate:,.0f} events/s; "
                  f"ratio {relay_rate / raw_rate:.2f}")
        relay_rate, raw_rate, ratio, round_ratio = median_rounds(rounds)
        print(f"outbox relay: {relay_rate:,.0f} events/s; raw aiokafka: {raw_rate:,.0f} events/s (medians of "
              f"{len(rounds)} rounds); ratio relay/raw = {ratio:.2f}; median of the rounds' ratios "
              f"{round_ratio:.2f} ({args.events} events of ~0.5 KB a round)")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
