"""Figures for issue 4 (run on demand, never as a timed test):

    uv run python tests/bench/bench_rsd.py --cases 50 --open-cases 100000

1. The full procedure (lodge -> interview -> assessment -> decision -> appeal -> appeal decision) through the
   API in process (SQLite): cases per second and p99 of each step.
2. The deadline queries (overdue, approaching) with N open cases inserted directly: p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

# The API flow helpers live with rsd's tests; common.py turns the per-principal read limit off for benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402,F401

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "rsd" / "tests"))

from api_flows import FAILS, INTERVIEW, SUPERVISOR, SUPERVISOR_2, Api, harness  # noqa: E402


def p(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


async def procedure(api: Api, cases: int) -> None:
    steps: dict[str, list[float]] = {}

    async def timed(name, coro):
        t = time.perf_counter()
        r = await coro
        steps.setdefault(name, []).append(time.perf_counter() - t)
        assert r.status_code in (200, 201), (name, r.text)
        return r

    start = time.perf_counter()
    for _ in range(cases):
        app_id = (await timed("lodge", api.lodge())).json()["id"]
        await timed("interview", api.step(app_id, "interviews", INTERVIEW))
        await timed("interview_held", api.step(app_id, "interviews/i1/record", {"held_on": "2026-02-02", "record": "r"}))
        await timed("assessment", api.step(app_id, "assessments", FAILS))
        await timed("recommendation", api.step(app_id, "recommendation", {"outcome": "rejected",
                                                                          "rejection_reasons": ["harm_not_persecution"]}))
        await timed("decision", api.step(app_id, "decision", {}, who=SUPERVISOR))
        await timed("notification", api.step(app_id, "notification", {"served_on": date.today().isoformat(),
                                                                      "language": "prs"}))
        await timed("appeal", api.step(app_id, "appeals", {"lodged_on": date.today().isoformat()}))
        await timed("appeal_decision", api.step(app_id, "appeals/decision", {"outcome": "allowed"}, who=SUPERVISOR_2))
    elapsed = time.perf_counter() - start
    print(f"full procedure: {cases / elapsed:.2f} cases/s ({cases} cases, {elapsed:.1f} s; each step includes its read)")
    for name, values in steps.items():
        print(f"  {name:16s} p50 {p(values, .5):7.1f} ms  p99 {p(values, .99):7.1f} ms")


async def deadlines(api: Api, open_cases: int, queries: int) -> None:
    from sqlalchemy import insert

    from rsd.store.tables import ApplicationRow

    today = date.today()
    rows = []
    for i in range(open_cases):
        due = today + timedelta(days=(i % 200) - 100)
        rows.append(dict(id=str(uuid.uuid4()), person_id=f"p{i}", office="almaty", officer_id=f"eo-{i % 50}",
                         status="registered", priority=i % 7 == 0, lodged_on=today, registered_on=today,
                         decision_due=due, next_due=due, next_deadline="decision", watch_due=due, version=1,
                         document={}, created_at=time_now(), updated_at=time_now()))
    async with api.h.app.state.db.transaction() as session:
        for chunk in range(0, len(rows), 5000):
            await session.execute(insert(ApplicationRow), rows[chunk:chunk + 5000])
    for status in ("overdue", "approaching"):
        times = []
        for q in range(queries):
            params = {"status": status, "limit": 50}
            if q % 2:
                params["officer_id"] = f"eo-{q % 50}"
            t = time.perf_counter()
            r = await api.h.client.get("/api/v1/deadlines", params=params, headers=api.headers())
            times.append(time.perf_counter() - t)
            assert r.status_code == 200, r.text
        print(f"deadlines {status:11s} ({open_cases} open): p50 {p(times, .5):6.1f} ms  p99 {p(times, .99):6.1f} ms")


def time_now():
    from pana_kit.domain import utcnow

    return utcnow()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--open-cases", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with harness(Path(tmp)) as h:
            api = Api(h)
            await procedure(api, args.cases)
            await deadlines(api, args.open_cases, args.queries)
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
