"""Statements per registration (issue 16): `POST /api/v1/persons` in process on an embedded PostgreSQL, every SQL
statement sent to the database counted at the driver (asyncpg), whether SQLAlchemy or the kit's direct paths send it.
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
            seen: list[str] = []
            count_driver_calls(seen)

            chained: list[str] = []
            all_bodies = bodies(n + 5)
            per: list[int] = []
            examples: list[list[str]] = []
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
                    examples.append(list(seen))
                chained += seen
            print(f"process CPU per registration (this process: client, app, chainer; the database apart): "
                  f"{1000 * cpu / len(per):.2f} ms")
            begins = [sum(1 for s in seen_one if _kind(s) == "BEGIN") for seen_one in examples]
            statements = [count - b for count, b in zip(per, begins)]
            print(f"statements per registration (201 answers, n={len(per)}; BEGIN apart, COMMIT counted): mean "
                  f"{sum(statements) / len(statements):.1f}, min {min(statements)}, max {max(statements)}; round "
                  f"trips with BEGIN: mean {sum(per) / len(per):.1f}  (includes what the audit chainer ran meanwhile)")
            kinds = Counter(_kind(s) for s in chained)
            print(f"    by kind over the run: {dict(kinds)}")
            if show:
                for s in examples[0]:
                    print("    ", s)


def _kind(statement: str) -> str:
    return statement.split("] ")[-1].split()[0].rstrip(";").upper()


def count_driver_calls(seen: list[str]) -> None:
    """Record every statement sent through asyncpg, whoever sends it (SQLAlchemy's adapter runs prepared statements
    and BEGIN/COMMIT on the connection; the kit's direct paths and held connections call the connection): one
    entry per round trip (a statement prepared for the first time costs one more, not counted)."""
    import asyncpg.connection
    import asyncpg.prepared_stmt

    def wrap(cls, name: str, label: str, sql_of) -> None:
        original = getattr(cls, name)

        async def counted(self, *args, **kwargs):
            seen.append(f"[{label}] " + " ".join(sql_of(self, args).split())[:100])
            return await original(self, *args, **kwargs)

        setattr(cls, name, counted)

    for name in ("execute", "executemany", "fetch", "fetchrow", "fetchval"):
        wrap(asyncpg.connection.Connection, name, "connection", lambda self, args: args[0])
    for name in ("executemany", "fetch", "fetchrow", "fetchval"):
        wrap(asyncpg.prepared_stmt.PreparedStatement, name, "prepared", lambda self, args: self.get_query())


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
