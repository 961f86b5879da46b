"""Audit append under concurrent commands (issue 16), on PostgreSQL. A script, not a test:

    .venv/bin/python tests/bench/bench_audit.py [--workers 16] [--seconds 10] [--work-ms 5]

Each worker runs commands back to back: one transaction that inserts a row, records an audit entry, then does
`--work-ms` more of the command's work in the database (`pg_sleep`, standing for the statements a real command
runs after its audit entry: outbox rows, blocking keys, idempotency) and commits. Three ways, same run, same
database server:

- anchor: the same transaction without an audit entry;
- locked: the entry appended to the chain at once (`pana_kit.audit.record` without a chainer: the chain's
  advisory lock is held until the commit, so every writer waits for the one before);
- intents: the entry recorded as an intent, chained after the commit by the process's `AuditChainer` (what
  every service does now); the command returns only once its entry is chained;
- nowait: intents, the command returns at its commit (the chainer catches up behind).

Prints commands/s, p50/p99 and the ratio to the anchor; then verifies the chain.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))

from pana_kit import audit  # noqa: E402
from pana_kit.auth import Principal  # noqa: E402
from pana_kit.crypto import Keyring  # noqa: E402
from pana_kit.db import Database  # noqa: E402
from pana_kit.migrations import upgrade  # noqa: E402

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
OFFICER = Principal(subject="officer-16", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())


async def run(db: Database, mode: str, workers: int, seconds: float, work_ms: float) -> dict:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        i = 0
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO bench_rows (note) VALUES (:n)"), {"n": f"{mode}-{n}-{i}"})
                if mode != "anchor":
                    await audit.record(session, OFFICER, "update", f"application/{n}-{i}", service="rsd")
                await session.execute(text("SELECT pg_sleep(:s)"), {"s": work_ms / 1000})
            latencies.append((time.perf_counter() - t0) * 1000)
            i += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(workers)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"per_s": len(latencies) / elapsed, "n": len(latencies), "p50": statistics.median(latencies),
            "p99": latencies[int(len(latencies) * 0.99) - 1]}


async def main(args) -> None:
    from pana_dev.launchers.postgres import EmbeddedPostgres

    root = Path(tempfile.mkdtemp(prefix="pana-bench-audit-"))
    pg = EmbeddedPostgres(root / "pg", start_timeout=180).start()
    try:
        pg.create_database("bench")
        url = pg.url("bench")
        upgrade(MIGRATIONS, url)
        keyring = Keyring.generate_file(root / "keyring.json", key_id="k1")
        key = audit.AuditKey.of(keyring)
        results = {}
        for mode in ("anchor", "locked", "intents", "nowait"):
            db = Database(url)
            db.use_audit_key(key)
            chainer = None
            if mode in ("intents", "nowait"):
                chainer = audit.AuditChainer(db, "rsd", sweep_seconds=0, wait=mode == "intents")
                db.use_audit_chainer(chainer)
            async with db.engine.begin() as conn:
                await conn.execute(text("CREATE TABLE IF NOT EXISTS bench_rows (id BIGSERIAL PRIMARY KEY, note TEXT)"))
            await run(db, mode, args.workers, 1, args.work_ms)  # warm-up
            results[mode] = await run(db, mode, args.workers, args.seconds, args.work_ms)
            if chainer is not None:
                await chainer.settle()  # nowait: what the run left to chain
                results[mode]["passes"] = chainer.started
            await db.dispose()
        db = Database(url)
        async with db.session() as session:
            report = await audit.verify_chain(session, key=key)
        await db.dispose()
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    anchor = results["anchor"]["per_s"]
    print(f"audit append, {args.workers} concurrent commands, {args.work_ms} ms of work after the entry, "
          f"{args.seconds} s each, PostgreSQL")
    for mode, r in results.items():
        extra = f", {r['passes']} chaining passes" if "passes" in r else ""
        print(f"  {mode:8s} {r['per_s']:8.1f} commands/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:7.1f} ms  "
              f"ratio to anchor {r['per_s'] / anchor:.3f}{extra}")
    print(f"  intents / locked: {results['intents']['per_s'] / results['locked']['per_s']:.1f}x; chain after the run: "
          f"{'intact' if report.intact else 'BROKEN'}, {report.entries} entries, {report.pending} pending")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--work-ms", type=float, default=5)
    asyncio.run(main(p.parse_args()))
