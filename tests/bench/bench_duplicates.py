"""Duplicate check at national scale (issue 16, "A matching engine"). A script, not a test:

    uv run python tests/bench/bench_duplicates.py --persons 1000000 [--clients 8] [--seconds 60] [--reuse]
        [--analysed] [--before REF] [--in-process 100000] [--profile] [--workers 2] [--var DIR] [--checks N]

1. PostgreSQL (embedded, under var/bench-duplicates/), registration's migrations, then `population.py`'s bulk load
   of `--persons` persons (realistic name pools; match records and blocking keys written as the service would).
   `--reuse` keeps a database already loaded with that many persons.
2. The registration service under its own server (`python -m registration`, uvicorn, consumers and relay off), and
   as the anchor a bare FastAPI app under the same server answering the same POST with a constant.
3. `--clients` closed-loop HTTP clients (httpx, one process) post `POST /api/v1/persons/duplicate-check` for
   `--seconds`: bodies of registered persons as written, or in another spelling with day and month swapped, and
   of people not in the register. Prints req/s, p50/p99, found rate, and the share of people not registered who
   come back as a "likely duplicate" — then the same against the anchor, and the ratio; and the CPU per request
   of the server (with its workers: `--workers N` sets REGISTRATION_WORKERS) and of the database.
4. `--before REF`: the same run against the service's code at git REF (extracted to a temporary directory and put
   first on PYTHONPATH), on the same database, for a before/after in one run.
5. `--profile`: py-spy (raw, 50 Hz) on each service run, written to var/bench-duplicates/profile-LABEL.txt and
   summarised (the functions most often on the stack, and where the event-loop thread is busy).
6. `--var DIR`: the bench's directory (default var/bench-duplicates), e.g. a copy of a loaded database measured
   while another load runs; `--analysed`: with `--reuse`, no VACUUM ANALYZE (the load did it).
7. `--in-process N`: the check through the app in process (ASGI, no server) on SQLite with N persons, p50/p99.
8. `--checks N`: N distinct check bodies (default 800), cycled. Each run prints the checks posted for the first
   time in the run (the record cache holds only what earlier checks brought in: "cold") apart from repeats
   ("warm"); `--checks 24000 --seconds 20` makes every check a first pass.
9. `--compare-bounds 60,40,25`: no HTTP run; the answers of 500 registered and 500 unregistered checks with the
   one-name blocking keys read to each bound (`matching_engine.KIND_BOUND`) against reading them to PER_KEY.
"""

from __future__ import annotations

import argparse
from collections import Counter
import asyncio
import random
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402
from common import machine, percentile  # noqa: E402
from population import Generator, bulk_registration  # noqa: E402

from pana_dev.launchers.ports import free_port  # noqa: E402
from pana_dev.stack import HttpProcess  # noqa: E402

SEED = 7


# --- data -------------------------------------------------------------------------------------------

def start_postgres(var: Path):
    from pana_dev.launchers.postgres import EmbeddedPostgres

    pg = EmbeddedPostgres(var / "postgres", max_connections=100)
    pg.start()
    return pg


async def count_persons(url: str) -> int:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT count(*) FROM persons"))).scalar_one()
    except Exception:
        return -1
    finally:
        await engine.dispose()


def prepare(pg, persons: int, reuse: bool, analysed: bool = False) -> tuple[str, int]:
    from pana_kit.migrations import upgrade
    from registration.app import MIGRATIONS

    pg.create_database("registration")
    url = pg.url("registration")
    upgrade(MIGRATIONS, url)
    have = asyncio.run(count_persons(url))
    if reuse and have > 0:
        print(f"reusing the {have:,} persons already loaded", flush=True)
        if not analysed:
            analyse(url)
        return url, have
    if have:
        pg.drop_database("registration")
        pg.create_database("registration")
        upgrade(MIGRATIONS, url)
    t = time.perf_counter()
    counts = asyncio.run(bulk_registration(url, persons, SEED, 2000))
    print(f"bulk load: {counts} in {time.perf_counter() - t:.0f} s", flush=True)
    analyse(url)
    return url, persons


def analyse(url: str) -> None:
    async def go():
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text("VACUUM ANALYZE"))
            rows = (await conn.execute(text("SELECT key, count(*) n FROM person_blocking_keys GROUP BY key "
                                            "ORDER BY n DESC LIMIT 5"))).all()
            keys = (await conn.execute(text("SELECT count(DISTINCT key) FROM person_blocking_keys"))).scalar_one()
        await engine.dispose()
        print(f"blocking keys: {keys:,} distinct; the largest hold {', '.join(f'{k} {n:,}' for k, n in rows)}",
              flush=True)
    asyncio.run(go())


def check_bodies(persons: int, count: int) -> tuple[list[dict], list[dict]]:
    """(bodies of registered persons, half as written and half respelt with day/month swapped, with the person id
    expected back; bodies of people not in the register)."""
    rng = random.Random(11)
    step = max(1, persons // (count * 3))
    registered, i = [], 0
    for h in Generator(SEED).households(persons=persons):
        for p in h.everyone():
            i += 1
            if i % step or len(registered) >= count:
                continue
            body = {"given_name": p.given_name, "family_name": p.family_name, "birth_date": p.birth_date.isoformat(),
                    "sex": p.sex}
            if p.country_of_origin:
                body["country_of_origin"] = p.country_of_origin
            if rng.random() < 0.5:
                body["given_name"], body["family_name"] = p.given_name_latin.upper(), p.family_name_latin
                if p.birth_date.day <= 12:
                    body["birth_date"] = p.birth_date.replace(month=p.birth_date.day, day=p.birth_date.month).isoformat()
            registered.append((body, p.person_id))
        if len(registered) >= count:
            break
    newcomers = []
    for h in Generator(SEED + 1000).households(persons=count):
        for p in h.everyone():
            body = {"given_name": p.given_name, "family_name": p.family_name, "birth_date": p.birth_date.isoformat(),
                    "sex": p.sex}
            newcomers.append((body, None))
    return registered, newcomers


# --- servers ------------------------------------------------------------------------------------------

ANCHOR = textwrap.dedent('''
    import sys, uvicorn
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.post("/api/v1/persons/duplicate-check")
    async def check(body: dict):
        return {"candidates": []}

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
''')


def start_service(url: str, var: Path, name: str, pythonpath: str | None = None, workers: int = 1) -> HttpProcess:
    port = free_port()
    env = {"REGISTRATION_PORT": str(port), "REGISTRATION_HOST": "127.0.0.1", "REGISTRATION_DATABASE_URL": url,
           "REGISTRATION_DEV_MODE": "true", "REGISTRATION_RUN_CONSUMERS": "false",
           "REGISTRATION_RUN_OUTBOX_RELAY": "false", "REGISTRATION_LOG_LEVEL": "WARNING",
           # Background work that is not the check's: a freshly loaded register has thousands of stateless
           # certificates to catch up on (py-spy: 17 % of the process during a run), and the webhook worker.
           "REGISTRATION_STATELESS_CERTIFICATE_WATCH_ENABLED": "false", "REGISTRATION_RUN_WEBHOOKS": "false"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if workers > 1:
        env["REGISTRATION_WORKERS"] = str(workers)
    proc = HttpProcess(name, ["nice", sys.executable, "-m", "registration"], port, env=env,
                       log_path=var / f"{name}.log")
    return proc.start(900)  # start-up reads every person once (upgrade_sealed): minutes at national scale


def start_anchor(var: Path) -> HttpProcess:
    port = free_port()
    proc = HttpProcess("anchor", ["nice", sys.executable, "-c", ANCHOR, str(port)], port, env={},
                       log_path=var / "anchor.log")
    return proc.start(60)


def old_code(ref: str) -> tuple[tempfile.TemporaryDirectory, str]:
    """registration's source at `ref`, extracted; migrations newer than it copied in (same database)."""
    tmp = tempfile.TemporaryDirectory(prefix="bench-dup-before-")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "services/registration/src"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp.name], input=archive, check=True)
    src = Path(tmp.name) / "services/registration/src"
    ours = ROOT / "services/registration/src/registration/migrations/versions"
    theirs = src / "registration/migrations/versions"
    for f in ours.glob("*.py"):
        if not (theirs / f.name).exists():
            (theirs / f.name).write_text(f.read_text())
    return tmp, str(src)


# --- clients ---------------------------------------------------------------------------------------------

async def drive(base: str, bodies: list[tuple[dict, str | None]], clients: int, seconds: float, headers: dict,
                warmup: float = 5.0) -> dict:
    """Closed-loop clients cycling through `bodies`: a check is a *first pass* the first time its body is posted
    in the run (the service's record cache holds only what earlier checks brought in), a *repeat* after; both are
    timed apart (`first`, `repeat`) besides all together."""
    timings: list[float] = []
    passes: dict[str, list[float]] = {"first": [], "repeat": []}
    stats = {"found": 0, "expected": 0, "likely_new": 0, "new": 0, "errors": 0, "all": 0}
    stop_at = time.perf_counter() + warmup + seconds
    measure_from = time.perf_counter() + warmup
    counter = iter(range(10**9))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as client:
        async def worker():
            while time.perf_counter() < stop_at:
                i = next(counter)
                body, expected = bodies[i % len(bodies)]
                t = time.perf_counter()
                r = await client.post("/api/v1/persons/duplicate-check", json=body)
                took = time.perf_counter() - t
                stats["all"] += 1  # warm-up included: the CPU per request is taken over the whole drive
                if t < measure_from:
                    continue
                timings.append(took * 1000)
                passes["first" if i < len(bodies) else "repeat"].append(took * 1000)
                if r.status_code != 200:
                    stats["errors"] += 1
                    continue
                found = r.json()["candidates"]
                if expected is not None:
                    stats["expected"] += 1
                    stats["found"] += any(c["person_id"] == expected for c in found)
                else:
                    stats["new"] += 1
                    stats["likely_new"] += any(c["verdict"] == "likely_duplicate" for c in found)
        await asyncio.gather(*(worker() for _ in range(clients)))
    timings.sort()
    for t in passes.values():
        t.sort()
    return {"n": len(timings), "rps": len(timings) / seconds, "p50": percentile(timings, 50),
            "p99": percentile(timings, 99), "used": min(next(counter), len(bodies)), "bodies": len(bodies),
            **{f"{k}_{q}": (percentile(t, q) if t else None) for k, t in passes.items() for q in (50, 99)},
            **{f"{k}_n": len(t) for k, t in passes.items()}, **stats}


def line(label: str, r: dict) -> str:
    out = f"{label}: {r['rps']:.1f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms ({r['n']} requests"
    if r.get("expected"):
        out += f"; registered person found {r['found']}/{r['expected']}"
    if r.get("new"):
        out += f"; people not registered called a likely duplicate {r['likely_new']}/{r['new']}"
    if r.get("errors"):
        out += f"; {r['errors']} errors"
    if "cpu_ms" in r:
        out += f"; CPU per request: server {r['cpu_ms']:.2f} ms, database {r['db_cpu_ms']:.2f} ms"
    out += ")"
    if r.get("first_n") is not None:
        out += f"\n  {r['bodies']:,} distinct checks, {r['used']:,} of them posted; measured: " + "; ".join(
            f"{label} {r[k + '_n']:,} (p50 {r[k + '_50']:.1f}, p99 {r[k + '_99']:.1f} ms)" if r[k + "_n"] else
            f"{label} 0" for k, label in (("first", "first pass"), ("repeat", "repeats")))
    return out


def measured(drive_it, server_pid: int, var: Path) -> dict:
    """`drive_it()`'s result with the server's CPU (the process and its workers) and the database's per request."""
    import psutil
    from bench_verify_http import cpu_seconds, postgres_pids

    def pids() -> list[int]:
        try:
            return [server_pid] + [c.pid for c in psutil.Process(server_pid).children(recursive=True)]
        except psutil.Error:
            return [server_pid]

    def cpu(pids: list[int]) -> dict[int, float]:  # per process: processes started meanwhile count from 0
        return {pid: cpu_seconds([pid]) for pid in pids}

    before = cpu(pids()), cpu(postgres_pids(var))
    result = drive_it()
    after = cpu(pids()), cpu(postgres_pids(var))
    served = max(1, result["all"])
    result["cpu_ms"], result["db_cpu_ms"] = (
        1000 * sum(t - was.get(pid, 0.0) for pid, t in now.items()) / served for now, was in zip(after, before))
    return result


def run_http(args, var: Path, url: str) -> None:
    from support import headers

    registered, newcomers = check_bodies(args.persons, args.checks // 2)
    bodies = [b for pair in zip(registered, newcomers) for b in pair]
    print(f"{len(bodies):,} distinct checks (half registered persons, half not), cycled", flush=True)
    h = headers("registration-officer")
    results = {}
    anchor = start_anchor(var)
    try:
        results["anchor"] = measured(lambda: asyncio.run(drive(anchor.url, bodies, args.clients, min(args.seconds, 20),
                                                                h)), anchor._proc.pid, var)
    finally:
        anchor.stop()
    print(line(f"anchor (bare FastAPI, same uvicorn, {args.clients} clients)", results["anchor"]), flush=True)
    runs = [("after", None)]
    if args.before:
        runs.insert(0, ("before", args.before))
    for label, ref in runs:
        tmp, path = old_code(ref) if ref else (None, None)
        try:
            service = start_service(url, var, f"registration-{label}", path, args.workers)
            try:
                spy = None
                if args.profile:
                    spy = subprocess.Popen([py_spy(), "record", "-o",
                                            str(var / f"profile-{label}.txt"), "-f", "raw", "-r", "50", "-d",
                                            str(int(args.seconds + 5)), "-p", str(service._proc.pid)]
                                           + (["--subprocesses"] if args.workers > 1 else []),
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                results[label] = measured(lambda: asyncio.run(drive(service.url, bodies, args.clients, args.seconds,
                                                                    h)), service._proc.pid, var)
                if spy is not None:
                    spy.wait(60)
                    print(summarise(var / f"profile-{label}.txt"), flush=True)
            finally:
                service.stop()
        finally:
            if tmp:
                tmp.cleanup()
        r = results[label]
        print(line(f"{label}{' (' + ref + ')' if ref else ''}: duplicate-check over HTTP, {args.persons:,} persons, "
                   f"PostgreSQL, {args.clients} clients, {args.workers} worker(s)", r) +
              f"; ratio to anchor {r['rps'] / results['anchor']['rps']:.3f}", flush=True)
    if "before" in results:
        b, a = results["before"], results["after"]
        print(f"after/before: req/s x{a['rps'] / b['rps']:.1f}, p99 {b['p99']:.0f} -> {a['p99']:.0f} ms")


def py_spy() -> str:
    """py-spy beside this interpreter, else on PATH (it is a tool, not a dependency: `uv pip install py-spy`)."""
    import shutil

    here = Path(sys.executable).with_name("py-spy")
    found = str(here) if here.exists() else shutil.which("py-spy")
    if not found:
        raise SystemExit("--profile needs py-spy: uv pip install py-spy")
    return found


# Frames every request passes through (server, middleware, routing): left out of the summary.
PLUMBING = re.compile(r"threading|anyio|queue\.py|runpy|uvicorn/|starlette/|fastapi/|pana_kit/middleware|__main__|"
                      r"serve \(|asyncio/|importlib")


def summarise(path: Path, top: int = 30) -> str:
    """The functions most often on the event-loop thread's stack (inclusive share of its samples, wall clock) in a
    py-spy raw profile; idle worker threads and the server's plumbing are left out."""
    if not path.exists():
        return f"(no profile at {path})"
    total, inclusive = 0, {}
    for row in path.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        if not count.isdigit() or "Runner.run (asyncio/runners.py" not in stack:
            continue
        n = int(count)
        total += n
        for frame in {re.sub(r":\d+\)$", ")", f) for f in stack.split(";")}:
            inclusive[frame] = inclusive.get(frame, 0) + n
    lines = [f"profile {path.name}: {total} samples of the event-loop thread; inclusive share"]
    ranked = [(f, n) for f, n in sorted(inclusive.items(), key=lambda kv: -kv[1]) if not PLUMBING.search(f)]
    for frame, n in ranked[:top]:
        lines.append(f"  {100 * n / max(total, 1):5.1f} %  {frame[:150]}")
    return "\n".join(lines)


# --- in process ------------------------------------------------------------------------------------------

async def in_process(n: int, checks: int) -> None:
    from pana_dev.testing import service_harness
    from registration.app import create
    from registration.settings import RegistrationSettings
    from support import headers

    with tempfile.TemporaryDirectory() as tmp:
        async with service_harness(create, RegistrationSettings, Path(tmp)) as h:
            url = str(h.app.state.db.engine.url)
            t = time.perf_counter()
            await bulk_registration(url, n, SEED, 2000)
            print(f"in process: bulk load of {n:,} persons into SQLite in {time.perf_counter() - t:.0f} s", flush=True)
            registered, newcomers = check_bodies(n, checks // 2)
            bodies = [b for pair in zip(registered, newcomers) for b in pair]
            hd = headers("registration-officer")
            timings, found, expected = [], 0, 0
            for body, pid in bodies[:checks]:
                t = time.perf_counter()
                r = await h.client.post("/api/v1/persons/duplicate-check", json=body, headers=hd)
                timings.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                if pid:
                    expected += 1
                    found += any(c["person_id"] == pid for c in r.json()["candidates"])
    timings.sort()
    print(f"in process (ASGI, SQLite, sequential): duplicate-check at {n:,} persons: p50 {percentile(timings, 50):.1f} ms, "
          f"p99 {percentile(timings, 99):.1f} ms over {len(timings)} checks; registered person found {found}/{expected}")


# --- per-kind key bounds -------------------------------------------------------------------------------

async def compare_bounds(url: str, persons: int, count: int, bounds: list[int]) -> None:
    """The answers of `count` registered and `count` unregistered checks (the bench's bodies) with the one-name
    keys (`matching_engine.KIND_BOUND`) read to each of `bounds` against reading them to PER_KEY like every other
    key: candidates read, answers that differ (any candidate or verdict), registered persons found, and the
    unregistered called "likely"."""
    from pana_kit.db import Database
    from registration import matching, matching_engine
    from registration.api.duplicates import DuplicateCheckIn, transient_person
    from registration.domain import MatchingConfig, MatchRecord

    config = MatchingConfig()
    registered, newcomers = check_bodies(persons, count)
    db = Database(url)
    kept = dict(matching_engine.KIND_BOUND)
    try:
        answers: dict[int | None, list] = {}
        for bound in [None, *bounds]:
            matching_engine.KIND_BOUND = {} if bound is None else {k: bound for k in kept}
            out, read, found, likely = [], 0, 0, 0
            for body, pid in registered + newcomers:
                person = transient_person(DuplicateCheckIn(**body))
                others, _ = await matching_engine.read_candidates(db, MatchRecord.of(person), config)
                read += len(others)
                checked = await matching.check(db, person, config)
                answer = sorted((c.person_id, c.verdict, c.score) for c in checked.results)
                out.append(answer)
                found += bool(pid) and any(c[0] == pid for c in answer)
                likely += not pid and any(c[1] == "likely_duplicate" for c in answer)
            answers[bound] = out
            differ = sum(a != b for a, b in zip(out, answers[None]))
            lost = Counter(("registered" if body[1] else "unregistered", c[1]) for body, a, b in
                           zip(registered + newcomers, out, answers[None]) for c in set(b) - set(a))
            print(f"one-name keys read to {bound or matching_engine.PER_KEY}: {read / len(out):.0f} candidates a "
                  f"check; answers differing from {matching_engine.PER_KEY}: {differ}/{len(out)}; registered found "
                  f"{found}/{len(registered)}; unregistered called likely {likely}/{len(newcomers)}; candidates not "
                  f"returned (check, verdict): {dict(lost)}", flush=True)
    finally:
        matching_engine.KIND_BOUND = kept
        await db.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--persons", type=int, default=100_000)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--reuse", action="store_true", help="keep the persons already loaded (a load stopped early: its "
                                                         "size is what is measured; --persons should say it)")
    p.add_argument("--before", default=None, help="git ref of the code to compare with, e.g. crypt-merge")
    p.add_argument("--in-process", type=int, default=0, help="also the in-process figure at this many persons")
    p.add_argument("--load-only", action="store_true")
    p.add_argument("--profile", action="store_true", help="py-spy each service run (see 5. above)")
    p.add_argument("--no-http", action="store_true")
    p.add_argument("--var", default=None, help="the bench's directory (database, logs, profiles); default "
                                               "var/bench-duplicates: another one runs beside a load in progress")
    p.add_argument("--analysed", action="store_true", help="with --reuse: the database was analysed after its "
                                                          "load (no VACUUM ANALYZE, minutes at national scale)")
    p.add_argument("--checks", type=int, default=800, help="distinct check bodies, cycled (800: the figures of "
                   "earlier rounds, mostly repeats after the first seconds; 24000 with --seconds 20: every check "
                   "a first pass). Each run prints first passes and repeats apart")
    p.add_argument("--workers", type=int, default=1, help="REGISTRATION_WORKERS for the service (PostgreSQL)")
    p.add_argument("--compare-bounds", default=None, help="e.g. 60,40,25: the answers with the one-name keys read "
                                                           "to each bound against PER_KEY (no HTTP run)")
    args = p.parse_args()
    print(machine(), flush=True)
    if args.in_process:
        asyncio.run(in_process(args.in_process, 400))
    if args.no_http:
        return
    var = Path(args.var).resolve() if args.var else ROOT / "var" / "bench-duplicates"
    var.mkdir(parents=True, exist_ok=True)
    pg = start_postgres(var)
    try:
        url, args.persons = prepare(pg, args.persons, args.reuse, args.analysed)
        if args.compare_bounds:
            asyncio.run(compare_bounds(url, args.persons, 500, [int(b) for b in args.compare_bounds.split(",")]))
        elif not args.load_only:
            run_http(args, var, url)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
