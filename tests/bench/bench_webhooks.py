"""Webhook delivery figures (issue 17): events committed -> all delivered to a receiver process, against an anchor.

    .venv/bin/python tests/bench/bench_webhooks.py [--events 500] [--database sqlite|postgres]

rsd's app in process with its webhook worker, on SQLite or on an embedded PostgreSQL (one fresh database per
phase); one subscription; the receiver is
`pana_dev.webhook_receiver` in its own process, verifying every signature with the `standardwebhooks` package.
Anchor, in the same run and to the same receiver: the same number of signed CloudEvents POSTed one after another
with one httpx client (what a minimal sequential pusher costs). Printed: events/s of both and their ratio, and
commit -> delivered latency p50/p99 of the worker. The first figure includes the producer (the commits are made in
the same process while the worker runs, so they bound it); the second is the worker alone, draining a backlog of
as many events committed before it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from datetime import date
from pathlib import Path

import httpx
from common import machine, parser, percentile

from pana_dev.testing import eventually, module_postgres, service_harness
from pana_dev.webhook_receiver import ReceiverProcess
from pana_events.events.rsd import DecisionIssued
from pana_kit import webhook_rules as rules
from pana_kit.outbox import UnitOfWork
from rsd.app import create
from rsd.settings import RsdSettings


def databases(kind: str):
    """A function giving each phase its own empty database URL (None: SQLite under the phase's directory)."""
    if kind == "sqlite":
        return contextlib.nullcontext(lambda name: None)
    if kind != "postgres":
        raise SystemExit(f"--database must be sqlite or postgres, not {kind!r}")

    @contextlib.contextmanager
    def server():
        with module_postgres("bench-webhooks") as pg:
            def fresh(name: str) -> str:
                pg.create_database(name)
                return pg.url(name)
            yield fresh
    return server()


async def run(n: int, kind: str) -> None:
    with tempfile.TemporaryDirectory() as d, ReceiverProcess(Path(d)) as rec, databases(kind) as database:
        rec.up()
        async with service_harness(create, RsdSettings, Path(d), database("live"), run_webhooks=True) as h:
            admin = h.headers("integration-system", purpose=None)
            r = await h.client.post("/api/v1/webhooks/subscriptions", headers=admin, json={
                "event_types": ["rsd.decision.issued.v1"], "url": rec.url("/hooks/rsd")})
            sub = r.json()
            rec.trust("/hooks/rsd", sub["secret"])
            rec.trust("/anchor", sub["secret"])
            await h.app.state.webhooks.fan_out()  # places the cursor
            committed: dict[str, float] = {}
            start = time.perf_counter()
            for i in range(n):
                async with UnitOfWork(h.app.state.db, "/pana/rsd", signal=h.app.state.signal) as uow:
                    env = uow.emit(DecisionIssued(application_id=f"a-{i}", person_id=f"p-{i}", member_ids=[f"p-{i}"],
                                                  outcome="recognised", decided_on=date(2026, 12, 1)),
                                   subject=f"p-{i}")
                committed[env.id] = time.time()
            commits_s = time.perf_counter() - start

            async def done():
                r = await h.client.get(f"/api/v1/webhooks/subscriptions/{sub['id']}", headers=admin)
                return r.json()["status"]["delivered"] == n

            await eventually(done, timeout=600, interval=0.05, what="all delivered")
            worker_s = time.perf_counter() - start
        received = rec.received()
        assert len({r["webhook_id"] for r in received}) == n and all(r["verified"] for r in received)
        # The worker alone: n events committed first (worker off), then drained (no producer in the process).
        drain_dir = Path(d) / "drain"
        drain_dir.mkdir()
        async with service_harness(create, RsdSettings, drain_dir, database("drain"), run_webhooks=False) as h:
            admin = h.headers("integration-system", purpose=None)
            r = await h.client.post("/api/v1/webhooks/subscriptions", headers=admin, json={
                "event_types": ["rsd.decision.issued.v1"], "url": rec.url("/hooks/drain")})
            drain_sub = r.json()
            rec.trust("/hooks/drain", drain_sub["secret"])
            await h.app.state.webhooks.fan_out()  # places the cursor
            for i in range(n):
                async with UnitOfWork(h.app.state.db, "/pana/rsd", signal=h.app.state.signal) as uow:
                    uow.emit(DecisionIssued(application_id=f"d-{i}", person_id=f"q-{i}", member_ids=[f"q-{i}"],
                                            outcome="recognised", decided_on=date(2026, 12, 1)), subject=f"q-{i}")

            async def drained():
                r = await h.client.get(f"/api/v1/webhooks/subscriptions/{drain_sub['id']}", headers=admin)
                return r.json()["status"]["delivered"] == n

            start = time.perf_counter()
            task = asyncio.create_task(h.app.state.webhooks.run())
            await eventually(drained, timeout=600, interval=0.05, what="backlog drained")
            drain_s = time.perf_counter() - start
            await h.app.state.webhooks.stop()
            await task
        latency_ms = [(r["received_at"] - committed[r["webhook_id"]]) * 1000 for r in received]
        # Anchor: the same bodies, signed, posted sequentially by one client to the same receiver.
        bodies = [json.dumps(r["event"], separators=(",", ":")).encode() for r in received[:n]]
        async with httpx.AsyncClient(timeout=10) as client:
            start = time.perf_counter()
            for body in bodies:
                event_id = json.loads(body)["id"]
                headers = rules.signature_headers(sub["secret"], event_id, int(time.time()), body)
                resp = await client.post(rec.url("/anchor"), content=body, headers=headers)
                assert resp.status_code == 204
            anchor_s = time.perf_counter() - start
    print(machine())
    print(f"events: {n}, one subscription, {kind}, receiver verifying each signature (standardwebhooks)")
    print(f"worker (commit -> all delivered): {worker_s:.2f} s = {n / worker_s:.0f} events/s "
          f"(the {n} commits themselves, in the same process: {commits_s:.2f} s)")
    print(f"worker draining a backlog of {n} committed events (fan-out included): {drain_s:.2f} s = "
          f"{n / drain_s:.0f} events/s")
    print(f"anchor (sequential signed POSTs, one httpx client): {anchor_s:.2f} s = {n / anchor_s:.0f} events/s")
    print(f"ratio worker/anchor throughput: {(n / worker_s) / (n / anchor_s):.2f}; "
          f"draining a backlog: {(n / drain_s) / (n / anchor_s):.2f}")
    print(f"commit -> received latency: p50={percentile(latency_ms, 50):.1f} ms p99={percentile(latency_ms, 99):.1f} ms "
          "(commits made as fast as one loop can, so later events queue behind earlier ones)")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--events", type=int, default=500)
    args = p.parse_args()
    asyncio.run(run(args.events, args.database))


if __name__ == "__main__":
    main()
