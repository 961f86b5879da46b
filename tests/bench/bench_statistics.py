"""Population statistics read from the summary table vs counted from every record (issue 16), on the PostgreSQL
that bench_registration.py (e) leaves under --var (250,000 bulk-loaded persons by default):

    uv run python tests/bench/bench_statistics.py --var /tmp/pana-bench-registration [--recount]

Prints the summary's time per request (several dates) and, with --recount, the time of the old way (every
person and status fact read, documents opened) in the same run, their ratio, and whether they agree.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402

from pana_dev.launchers.postgres import EmbeddedPostgres  # noqa: E402


async def run(url: str, recount: bool) -> None:
    from pana_kit.crypto import attach_keyring, keyring_from_settings
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from registration.domain import RegistrationRules
    from registration.service import population, population_recount
    from registration.settings import RegistrationSettings

    engine = create_async_engine(url)
    attach_keyring(engine, keyring_from_settings(RegistrationSettings(dev_mode=True)))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rules = RegistrationRules()
    days = [date(2026, 6, 1), date.today(), date(2030, 1, 1)]
    async with sessions() as session:
        persons = (await session.execute(text("SELECT count(*) FROM persons"))).scalar()
        rows = (await session.execute(text("SELECT count(*) FROM population_counts"))).scalar()
        for on in days:
            await population(session, on, rules)  # warm
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < 5:
            for on in days:
                await population(session, on, rules)
                n += 1
        took = (time.perf_counter() - t0) / n
        print(f"statistics on {machine()}: {persons:,} persons, {rows:,} summary rows")
        print(f"  from the summary: {took * 1000:.1f} ms per request ({n} requests, 3 dates)")
        if recount:
            t0 = time.perf_counter()
            counted = await population_recount(session, date.today(), rules)
            slow = time.perf_counter() - t0
            same = counted == await population(session, date.today(), rules)
            print(f"  recounted from every record (the old way): {slow:.1f} s; ratio {slow / took:,.0f}x; "
                  f"figures equal: {same}")
    await engine.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--var", default="/tmp/pana-bench-registration")
    p.add_argument("--recount", action="store_true")
    args = p.parse_args()
    pg = EmbeddedPostgres(Path(args.var) / "postgres", start_timeout=180)
    pg.start()
    try:
        asyncio.run(run(pg.url("registration"), args.recount))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
