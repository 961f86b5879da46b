"""Backbone figures (issue 2): referral -> application latency, outbox relay throughput.

    uv run python tests/bench/bench_backbone.py [--referrals 1000] [--events 20000]

1. Referral posted -> application visible on rsd, p50/p99 over N referrals
   (registration and rsd as separate processes on the chosen broker/database).
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
from common import machine, parser, summary
from support import headers, referral_body

from pana_dev.stack import Stack, spec


def referral_latency(stack: Stack, n: int, rate: float) -> list[float]:
    posted: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()
    officer = headers("eligibility-officer")
    rsd = stack.url("rsd") + "/api/v1/applications"

    def poll():
        # Ask rsd about each outstanding person (an indexed lookup), not for whole pages: paging
        # through every application would load rsd more than the flow being measured.
        with httpx.Client(timeout=30) as client:
            while not done.is_set():
                outstanding = [p for p in list(posted) if p not in seen]
                for person_id in outstanding:
                    page = client.get(rsd, params={"person_id": person_id, "limit": 5}, headers=officer).json()
                    if page["items"]:
                        seen.setdefault(person_id, time.perf_counter())
                if len(seen) >= n:
                    done.set()
                time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    border = headers("border-officer", purpose=None)
    url = stack.url("registration") + "/api/v1/border-referrals"
    tag = uuid.uuid4().hex[:6]

    def post(i: int):
        with httpx.Client(timeout=30) as client:
            r = client.post(url, json=referral_body(i, family_name=f"Bench{tag}{i}"),
                            headers={**border, "Idempotency-Key": f"bench-{tag}-{i:06d}"})
            r.raise_for_status()
            posted[r.json()["person_id"]] = time.perf_counter()

    interval = 1.0 / rate
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for i in range(n):
            pool.submit(post, i)
            time.sleep(max(0.0, started + (i + 1) * interval - time.perf_counter()))
    done.wait(timeout=600)
    return [(seen[p] - t) * 1000 for p, t in posted.items() if p in seen]


async def relay_throughput(stack: Stack, database_url: str, events: int) -> tuple[float, float]:
    from aiokafka import AIOKafkaProducer
    from sqlmodel import SQLModel

    from pana_events import Envelope
    from pana_kit.db import Database
    from pana_kit.outbox import OutboxRelay, OutboxSignal, outbox_row
    from pana_kit.settings import ServiceSettings
    from pana_kit.tables import OutboxMessage

    topic = f"bench.relay.{uuid.uuid4().hex[:6]}"
    envelopes = [Envelope(source="/pana/bench", type="bench.event.v1", subject=str(uuid.uuid4()),
                          data={"i": i, "padding": "x" * 200}) for i in range(events)]
    settings = ServiceSettings(service_name="bench", kafka_bootstrap=stack.kafka_bootstrap, outbox_batch_size=1000)

    # Baseline: raw aiokafka, the same records, the same broker, same batching.
    from pana_events.envelope import to_kafka

    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all", enable_idempotence=False,
                                linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    raw_topic = topic + ".raw"
    await producer.send_and_wait(raw_topic, b"warm-up")
    started = time.perf_counter()
    for chunk in range(0, events, 1000):
        futures = []
        for env in envelopes[chunk:chunk + 1000]:
            key, hdrs, value = to_kafka(env)
            futures.append(await producer.send(raw_topic, value, key=key, headers=hdrs))
        await asyncio.gather(*futures)
    raw_rate = events / (time.perf_counter() - started)
    await producer.stop()

    db = Database(database_url)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: SQLModel.metadata.create_all(c, tables=[OutboxMessage.__table__]))
    async with db.transaction() as session:
        for env in envelopes:
            session.add(outbox_row(env, topic))
    relay = OutboxRelay(db, settings, OutboxSignal(), [topic])
    task = asyncio.create_task(relay.run())
    started = time.perf_counter()
    while await relay.pending() > 0:
        await asyncio.sleep(0.05)
    relay_rate = events / (time.perf_counter() - started)
    await relay.stop()
    task.cancel()
    await db.dispose()
    return relay_rate, raw_rate


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--referrals", type=int, default=1000)
    p.add_argument("--rate", type=float, default=25.0, help="referrals posted per second")
    p.add_argument("--events", type=int, default=20000)
    args = p.parse_args()
    var = Path(args.var)
    shutil.rmtree(var, ignore_errors=True)
    stack = Stack(var_dir=var, broker=args.broker, database=args.database)
    try:
        stack.start(services=(spec("registration"), spec("rsd")), simulator=False)
        print(f"machine: {machine()}; broker={args.broker} database={args.database}")
        latencies = referral_latency(stack, args.referrals, args.rate)
        print(summary(f"referral posted -> application visible on rsd ({args.rate:g}/s)", latencies))
        db_url = stack.database_url("bench-relay") if args.database == "postgres" else f"sqlite+aiosqlite:///{var / 'relay.db'}"
        relay_rate, raw_rate = asyncio.run(relay_throughput(stack, db_url, args.events))
        print(f"outbox relay: {relay_rate:,.0f} events/s; raw aiokafka: {raw_rate:,.0f} events/s; "
              f"ratio relay/raw = {relay_rate / raw_rate:.2f} ({args.events} events of ~0.5 KB)")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
