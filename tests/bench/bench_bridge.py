"""Civil-registry bridge figures (issue 6): verification throughput; drain after a registry outage.

    uv run python tests/bench/bench_bridge.py [--broker apache|embedded] [--database postgres|sqlite]
        [--verifications 1000] [--queued 2000 | --queued 10000] [--latency-ms 50]

The bridge and the civil-registry simulator run as their own processes on the chosen
broker/database, with the bridge's default settings (registry concurrency 16, worker
batch 100, retries/backoff/circuit breaker as shipped); the simulator answers every
/registry call after --latency-ms (SIM_LATENCY_MS). Requests are verifications of births
the simulator holds (rebuilt here from its seed), so each is one search call.

1. Verifications per second through the bridge: --verifications requests posted to
   `POST /api/v1/birth-verifications` (8 in flight) -> all settled (read from the bridge's
   table); against the simulator's own ceiling: its search endpoint driven directly with
   the bridge's registry concurrency, in the same run; and their ratio.
2. Outage drain: outage on (`PUT /sim/v1/faults {"outage": true}`), --queued requests
   posted (each with its Idempotency-Key), outage off; the time from the outage ending to
   every request settled.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from common import machine, parser, summary
from support import headers

from pana_dev.stack import Stack, spec

SETTLED = ("verified", "not_found", "registered", "rejected", "quarantined")
API_KEY = "sim-registry-key"
SEED = 2019


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


def seeded_records(count: int) -> list:
    """The simulator's seed records, rebuilt with its own generator (same seed, same records)."""
    from civil_registry_simulator.store import RegistryStore

    store = RegistryStore(SEED)
    store.seed(count)
    return list(store.records.values())


def verification_body(record) -> dict:
    c, m = record.child, record.mother
    place = c.place_of_birth
    return {
        "kind": "verification",
        "child": {"surname": c.surname, "given_name": c.given_name, "birth_date": c.birth_date.isoformat(),
                  "sex": c.sex, "place_of_birth": {"in_kazakhstan": True, "region": place.region,
                                                   "locality": place.locality}},
        "mother": {"surname": m.surname, "given_name": m.given_name,
                   **({"birth_date": m.birth_date.isoformat()} if m.birth_date else {})},
        "medical_birth_certificate_number": record.medical_birth_certificate_number,
    }


def search_body(record) -> dict:
    c, m = record.child, record.mother
    return {"child": {"surname": c.surname, "givenName": c.given_name, "birthDate": c.birth_date.isoformat()},
            "mother": {"surname": m.surname, "givenName": m.given_name,
                       **({"birthDate": m.birth_date.isoformat()} if m.birth_date else {})}}


async def drive(count: int, concurrency: int, call) -> tuple[float, list[float]]:
    """Run call(i) for i < count with `concurrency` in flight; (elapsed s, per-call ms)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    times: list[float] = []

    async def worker():
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            await call(i)
            times.append((time.perf_counter() - t) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, times


async def simulator_ceiling(sim_url: str, records: list, count: int, concurrency: int) -> tuple[float, list[float]]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=sim_url, limits=limits, timeout=30,
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        async def call(i: int):
            r = await client.post("/registry/v1/birth-records/search", json=search_body(records[i % len(records)]))
            r.raise_for_status()

        await drive(min(50, count), concurrency, call)  # warm-up
        elapsed, times = await drive(count, concurrency, call)
    return count / elapsed, times


class Progress:
    """Reads the bridge's table directly: how many of a batch (by key prefix) are settled, and how long each took."""

    def __init__(self, database_url: str):
        from pana_kit.db import Database

        self.db = Database(database_url)

    async def settled(self, prefix: str) -> int:
        from sqlalchemy import func, select

        from civil_registry_bridge.store.tables import BirthRequestRow as R

        async with self.db.session() as session:
            stmt = select(func.count()).where(R.idempotency_key.like(prefix + "%"), R.status.in_(SETTLED))
            return (await session.execute(stmt)).scalar_one()

    async def outcomes(self, prefix: str) -> tuple[dict[str, int], list[float], int]:
        """Statuses, received -> settled (ms) of each settled request, rows stored."""
        from sqlalchemy import select

        from civil_registry_bridge.store.tables import BirthRequestRow as R

        async with self.db.session() as session:
            rows = (await session.execute(select(R.status, R.created_at, R.updated_at)
                                          .where(R.idempotency_key.like(prefix + "%")))).all()
        statuses: dict[str, int] = {}
        durations = []
        for status, created, updated in rows:
            statuses[status] = statuses.get(status, 0) + 1
            if status in SETTLED:
                durations.append((_aware(updated) - _aware(created)).total_seconds() * 1000)
        return statuses, durations, len(rows)

    async def wait(self, prefix: str, count: int, timeout: float, marks: tuple[float, ...] = ()) -> dict[float, float]:
        """Wait until `count` are settled; the time (perf_counter) each fraction in `marks` was reached."""
        reached: dict[float, float] = {}
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            done = await self.settled(prefix)
            now = time.perf_counter()
            for m in marks:
                if m not in reached and done >= m * count:
                    reached[m] = now
            if done >= count:
                reached[1.0] = now
                return reached
            await asyncio.sleep(0.1)
        return reached

    async def close(self):
        await self.db.dispose()


def _aware(value: datetime) -> datetime:
    from datetime import timezone

    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


async def post_all(bridge_url: str, records: list, prefix: str, count: int, concurrency: int = 8) -> tuple[float, list[float]]:
    officer = headers("civil-registrar")
    async with httpx.AsyncClient(base_url=bridge_url, timeout=60) as client:
        async def call(i: int):
            r = await client.post("/api/v1/birth-verifications", json=verification_body(records[i % len(records)]),
                                  headers={**officer, "Idempotency-Key": f"{prefix}{i:06d}"})
            if r.status_code != 202:
                raise RuntimeError(f"POST answered {r.status_code}: {r.text[:300]}")

        return await drive(count, concurrency, call)


async def sim_faults(sim_url: str, **knobs) -> None:
    async with httpx.AsyncClient(base_url=sim_url, timeout=10) as client:
        (await client.put("/sim/v1/faults", json=knobs)).raise_for_status()


async def sim_stats(sim_url: str) -> dict:
    async with httpx.AsyncClient(base_url=sim_url, timeout=10) as client:
        return (await client.get("/sim/v1/stats")).json()


async def reset_stats(sim_url: str) -> None:
    async with httpx.AsyncClient(base_url=sim_url, timeout=10) as client:
        (await client.delete("/sim/v1/stats")).raise_for_status()


async def throughput(stack: Stack, progress: Progress, records: list, n: int, concurrency: int) -> None:
    sim, bridge = stack.url("civil-registry-simulator"), stack.url("civil-registry-bridge")
    ceiling, sim_times = await simulator_ceiling(sim, records, n, concurrency)
    print("  " + summary(f"simulator search, direct, {concurrency} in flight", sim_times))
    # warm-up of the bridge path
    warm = f"bench-w-{uuid.uuid4().hex[:6]}-"
    await post_all(bridge, records, warm, 50)
    await progress.wait(warm, 50, timeout=120)
    prefix = f"bench-a-{uuid.uuid4().hex[:6]}-"
    await reset_stats(sim)
    started = time.perf_counter()
    post_task = asyncio.create_task(post_all(bridge, records, prefix, n))
    reached = await progress.wait(prefix, n, timeout=max(300.0, n / 2))
    post_elapsed, post_times = await post_task
    statuses, durations, stored = await progress.outcomes(prefix)
    stats = await sim_stats(sim)
    if 1.0 not in reached:
        print(f"  bridge: only {sum(statuses.get(s, 0) for s in SETTLED)}/{n} settled before the timeout: {statuses}")
        return
    elapsed = reached[1.0] - started
    rate = n / elapsed
    print("  " + summary("POST /api/v1/birth-verifications (8 in flight)", post_times)
          + f"; all {n} posted in {post_elapsed:.1f} s ({n / post_elapsed:,.0f}/s)")
    print("  " + summary("request received -> settled (bridge's own timestamps)", durations))
    print(f"  bridge: {n} verifications settled in {elapsed:.1f} s -> {rate:,.1f} verifications/s {statuses}; "
          f"registry calls {stats['calls']['total']}")
    print(f"  simulator ceiling ({stack.simulator_env.get('SIM_LATENCY_MS')} ms, {concurrency} in flight): "
          f"{ceiling:,.1f} searches/s; ratio bridge/ceiling = {rate / ceiling:.2f}")


async def outage_drain(stack: Stack, progress: Progress, records: list, n: int) -> None:
    sim, bridge = stack.url("civil-registry-simulator"), stack.url("civil-registry-bridge")
    prefix = f"bench-b-{uuid.uuid4().hex[:6]}-"
    await reset_stats(sim)
    await sim_faults(sim, outage=True)
    outage_started = time.perf_counter()
    post_elapsed, post_times = await post_all(bridge, records, prefix, n)
    during = await progress.settled(prefix)
    await sim_faults(sim, outage=False)
    outage_ended = time.perf_counter()
    stats_during = await sim_stats(sim)
    marks = (0.01, 0.5, 0.9, 0.99)
    reached = await progress.wait(prefix, n, timeout=max(900.0, n / 5), marks=marks)
    statuses, _, stored = await progress.outcomes(prefix)
    stats = await sim_stats(sim)
    outage_calls = sum(e["by_outcome"].get("outage", 0) for e in stats_during["calls"]["by_endpoint"].values())
    print(f"  outage on; {n} requests posted in {post_elapsed:.1f} s ({n / post_elapsed:,.0f}/s, "
          + summary("POST", post_times).split(": ", 1)[1] + f"); outage lasted {outage_ended - outage_started:.1f} s, "
          f"{outage_calls} registry calls refused with 503 meanwhile, {during} settled during it")
    if 1.0 not in reached:
        print(f"  NOT drained before the timeout: {statuses} ({stored} stored)")
        return
    timeline = ", ".join(f"{int(m * 100)}% at +{reached[m] - outage_ended:.1f} s" for m in marks if m in reached)
    print(f"  outage end -> queue drained ({n} requests): {reached[1.0] - outage_ended:.1f} s  [{timeline}]")
    searches = stats["calls"]["by_endpoint"].get("POST /registry/v1/birth-records/search", {}).get("by_outcome", {})
    print(f"  outcomes {statuses}; {stored} stored for {n} keys; search calls answered 200 after the outage: "
          f"{searches.get('200', 0)}")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--verifications", type=int, default=1000, help="requests for the throughput figure")
    p.add_argument("--queued", type=int, default=2000, help="requests queued during the outage (issue: 10000)")
    p.add_argument("--latency-ms", type=int, default=50, help="the simulator's SIM_LATENCY_MS")
    p.add_argument("--records", type=int, default=1000, help="birth records the simulator seeds (SIM_RECORDS)")
    args = p.parse_args()
    var = Path(args.var)
    shutil.rmtree(var, ignore_errors=True)
    stack = Stack(var_dir=var, broker=args.broker, database=args.database,
                  simulator_env={"SIM_LATENCY_MS": str(args.latency_ms), "SIM_RECORDS": str(args.records),
                                 "SIM_SEED": str(SEED), "SIM_API_KEY": API_KEY})
    records = seeded_records(args.records)
    try:
        stack.start(services=(spec("civil-registry-bridge"),), simulator=True)
        sim = stack.url("civil-registry-simulator")
        probe = httpx.post(sim + "/registry/v1/birth-records/search", json=search_body(records[-1]),
                           headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
        if not probe.json().get("matches"):
            raise SystemExit("the simulator's records are not the ones rebuilt here (seed/records differ)")
        from civil_registry_bridge.settings import BridgeSettings

        concurrency = BridgeSettings().registry_concurrency
        print(f"machine: {machine()}; broker={args.broker} database={args.database}; "
              f"simulator latency {args.latency_ms} ms; bridge registry concurrency {concurrency}")
        print(f"at start: {load()}")
        progress = Progress(stack.database_url("civil-registry-bridge"))

        async def run():
            try:
                print(f"1. verifications through the bridge ({args.verifications})")
                await throughput(stack, progress, records, args.verifications, concurrency)
                print(f"   ({load()})")
                print(f"2. registry outage, {args.queued} requests queued, then the registry back")
                await outage_drain(stack, progress, records, args.queued)
            finally:
                await progress.close()

        asyncio.run(run())
        print(f"at end: {load()}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
