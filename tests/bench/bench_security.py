"""Overhead of authentication, authorization and audit on a read (issue 7).

    uv run python tests/bench/bench_security.py [--requests 2000] [--concurrency 8]

The rsd app runs in process (httpx ASGI transport, SQLite) with one application.
The same GET /api/v1/applications/{id} is measured three ways in one run:
  full      token verified, scope checked, purpose required, audit row appended (production)
  no-audit  token and scope checked, audit append replaced by a no-op
  bare      no token check and no audit (dependencies overridden): the baseline
and the ratios to the baseline are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from common import machine, percentile

from pana_events.events import registration as reg
from pana_kit import audit
from pana_kit.auth import Principal
from pana_kit.roles import ROLE_SCOPES
from pana_dev.testing import service_harness
from rsd.app import create
from rsd.settings import RsdSettings


async def measure(client, url: str, headers: dict, n: int, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(range(n))

    async def worker():
        while queue:
            queue.pop()
            started = time.perf_counter()
            r = await client.get(url, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - started), latencies


async def main(requests: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with service_harness(create, RsdSettings, Path(tmp), keyring_file=str(Path(tmp) / "keys.json")) as h:
            now = datetime.now(timezone.utc)
            await h.deliver(reg.ReferralRegistered(referral_id="r-1", person_id="p-1", crossing_point="Dostyk",
                                                   referred_at=now, registered_at=now, language="prs", intent="asylum"),
                            subject="p-1")
            headers = h.headers("eligibility-officer")
            listing = (await h.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=headers)).json()
            url = f"/api/v1/applications/{listing['items'][0]['id']}"
            await measure(h.client, url, headers, 100, concurrency)  # warm-up

            results = {}
            results["full"] = await measure(h.client, url, headers, requests, concurrency)

            original = audit.record

            async def no_audit(*args, **kwargs):
                return None

            audit.record = no_audit
            try:
                results["no-audit"] = await measure(h.client, url, headers, requests, concurrency)
                principal = Principal(subject="bench", client_id="bench", roles=("supervisor",),
                                      scopes=ROLE_SCOPES["supervisor"], office="almaty")
                from fastapi.routing import _iter_routes_with_context

                for route, _ctx in _iter_routes_with_context(h.app.routes):
                    for dep in getattr(getattr(route, "dependant", None), "dependencies", []):
                        if getattr(dep.call, "required_scope", None):
                            h.app.dependency_overrides[dep.call] = lambda: principal
                results["bare"] = await measure(h.client, url, {"X-Purpose": "case-work"}, requests, concurrency)
            finally:
                audit.record = original
                h.app.dependency_overrides.clear()

    base = results["bare"][0]
    print(f"machine: {machine()}; rsd in process, SQLite; {requests} GETs of one application, concurrency {concurrency}")
    for name, (rps, lat) in results.items():
        print(f"{name:>9}: {rps:8.1f} req/s  p50={percentile(lat, 50):.2f} ms  p99={percentile(lat, 99):.2f} ms  "
              f"ratio to bare = {rps / base:.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    asyncio.run(main(args.requests, args.concurrency))
