"""Statements per registration (issue 16): `POST /api/v1/persons` in process on an embedded PostgreSQL, every SQL
statement the service's engine sends counted (SQLAlchemy `before_cursor_execute`; a COMMIT counted as one).
A script, not a test:

    uv run python tests/bench/count_statements.py [--persons 40] [--show]

Prints the process CPU per registration (a small, fresh register: the write path more than the matching) and
the statements per registration (mean over --persons, after 5 warm-ups) and, with --show, one
registration's statements in order.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import tempfile
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402

from pana_dev.testing import module_postgres, service_harness  # noqa: E402
from population import Generator, person_body  # noqa: E402
from registration.app import create  # noqa: E402
from registration.settings import RegistrationSettings  # noqa: E402
from support import headers  # noqa: E402


def bodies(n: int) -> list[dict]:
    out = []
    for h in Generator(11).households(persons=n + 10):
        out += [person_body(p, latin=len(out) % 2 == 0) for p in h.everyone()]
    return out


async def run(url: str, n: int, show: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with service_harness(create, RegistrationSettings, Path(tmp), database_url=url) as h:
            engine = h.app.state.db.engine.sync_engine
            seen: list[str] = []

            @event.listens_for(engine, "before_cursor_execute")
            def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
                hit = getattr(getattr(context, "cache_hit", None), "name", "-")
                seen.append(f"[{hit:8s}] " + " ".join(statement.split())[:100])

            @event.listens_for(engine, "commit")
            def commit(conn):  # noqa: ARG001
                seen.append("COMMIT")

            chained: list[str] = []
            all_bodies = bodies(n + 5)
            per: list[int] = []
            example: list[str] = []
            cpu = 0.0
            for i, body in enumerate(all_bodies[:n + 5]):
                seen.clear()
                t0 = time.process_time()
                r = await h.client.post("/api/v1/persons", json=body,
                                        headers=headers("registration-officer", idempotency_key=uuid.uuid4().hex))
                if r.status_code not in (201, 409):
                    raise SystemExit(f"{r.status_code} {r.text}")
                if i >= 5 and r.status_code == 201:
                    cpu += time.process_time() - t0
                    per.append(len(seen))
                    if not example:
                        example = list(seen)
                chained += seen
            print(f"process CPU per registration (this process: client, app, chainer; the database apart): "
                  f"{1000 * cpu / len(per):.2f} ms")
            kinds = Counter(s.split("] ")[-1].split()[0] for s in chained)
            misses = Counter(s.split("] ")[0][1:].strip() for s in chained if s.startswith("["))
            print(f"statements per registration (201 answers, n={len(per)}): mean {sum(per) / len(per):.1f}, "
                  f"min {min(per)}, max {max(per)}  (includes what the audit chainer ran meanwhile)")
            print(f"    by kind over the run: {dict(kinds)}; SQLAlchemy compiled cache: {dict(misses)}")
            if show:
                for s in example:
                    print("    ", s)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--persons", type=int, default=40)
    p.add_argument("--show", action="store_true")
    args = p.parse_args()
    with module_postgres("count-statements") as pg:
        pg.create_database("registration")
        asyncio.run(run(pg.url("registration"), args.persons, args.show))


if __name__ == "__main__":
    main()
