"""`GET /api/v1/verify/{number}` over HTTP with wrk, against a bare FastAPI app under the same uvicorn (issue 16).

A script, not a test. Needs wrk (Debian: `apt-get install -y wrk`).

    nice .venv/bin/python tests/bench/bench_verify_http.py [--documents 1000000] [--duration 20] [--connections 8]
        [--database postgres|sqlite] [--rounds 2] [--keep]

What it does, in one run:
1. starts PostgreSQL (pana_dev's embedded launcher, data under var/bench-verify-http) or uses SQLite;
2. starts registration under uvicorn (`uvicorn --factory registration.app:create`, one process, dev mode, relay and
   consumers off, the verify limit raised so the limiter does not measure itself; otherwise the defaults) and lets
   it migrate;
3. loads N issued refugee certificates straight into `issued_documents` and, when the schema has it, the
   verification projection `verification_index` (asyncpg COPY on PostgreSQL: a data migration, no events);
4. starts the anchor, a bare FastAPI app with the same route shape (path and birth_date query, no auth, no
   database), under the same uvicorn with the same options;
5. runs wrk (1 thread, C connections, D seconds, `--latency`) on each, alternating, `--rounds` times, every
   request a different number of the N (a Lua script cycles through 20,000 sampled numbers and birth dates);
6. prints req/s, p50 and p99 of each run, the CPU seconds per request of the server (and of PostgreSQL) read
   from /proc, and the ratios service/anchor of the medians (on a shared machine req/s moves with everyone
   else's load; CPU per request much less).

`--reuse` keeps a `--var` whose database already holds the documents (and its state directory, whose keyring made
the audit log's MACs): no load, the sample of numbers is regenerated (the load is deterministic).

`--source DIR` runs the servers from another checkout's sources (e.g. `git archive crypt-merge` unpacked) with
this environment, for a before/after in one session; `--before DIR` runs a second registration from DIR's
sources on the same database and measures it in the same rounds (anchor, before, verify alternating: one load for
all three, the before/after of a change in one run); `--loop asyncio --http h11` makes uvicorn use the pure-Python
loop and parser (what ran before uvicorn[standard]).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine  # noqa: E402

import httpx  # noqa: E402

from pana_dev.launchers.ports import free_port  # noqa: E402
from pana_dev.testing import wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BARE_APP = '''
from datetime import date
from fastapi import FastAPI, Path, Query

app = FastAPI()


@app.get("/api/v1/verify/{document_number}")
async def verify(document_number: str = Path(max_length=20), birth_date: date = Query()):
    return {"result": "valid", "status_category": "refugee", "expires_on": "2031-01-04",
            "entitlements": ["medical_care", "employment", "education", "social_assistance"]}
'''
LUA = '''
local numbers = {%s}
local births = {%s}
local i = 0
request = function()
  i = (i %% #numbers) + 1
  return wrk.format("GET", "/api/v1/verify/" .. numbers[i] .. "?birth_date=" .. births[i], {["Authorization"] = "%s"})
end
'''


# -- data ----------------------------------------------------------------------------------------

def documents(n: int, seed: int = 16):
    """(number, birth date, document JSON) for n refugee certificates, deterministic."""
    from registration.domain import RegistrationRules, document_number, issue_refugee_certificate

    rules = RegistrationRules()
    template = issue_refugee_certificate(number=document_number("refugee_certificate", 2026, 1), holder_person_id="p",
                                         holder_birth_date=date(1990, 1, 1), issued_on=date(2026, 1, 5), rules=rules)
    base = template.to_document()
    rng = random.Random(seed)
    for i in range(n):
        year = 2026 - i // 9_000_000
        number = document_number("refugee_certificate", year, 1 + i % 9_000_000)
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30_000))
        doc = dict(base, document_number=number, holder_person_id=f"p{i:08d}", holder_birth_date=birth.isoformat())
        yield number, birth, doc, base


async def load_postgres(dsn: str, n: int) -> tuple[int, bool, list[tuple[str, date]]]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        projection = bool(await conn.fetchval("SELECT to_regclass('verification_index') IS NOT NULL"))
        now = datetime.now(timezone.utc)
        sample: list[tuple[str, date]] = []
        batch_docs, batch_index = [], []
        started = time.perf_counter()
        expires = None
        for i, (number, birth, doc, base) in enumerate(documents(n)):
            expires = expires or date.fromisoformat(base["expires_on"])
            batch_docs.append((f"d{i:09d}", number, "refugee_certificate", doc["holder_person_id"], "issued", None,
                               json.dumps(doc), now))
            if projection:
                batch_index.append((number, "refugee_certificate", "issued", expires, birth, None))
            if i % max(1, n // 20_000) == 0:
                sample.append((number, birth))
            if len(batch_docs) >= 50_000:
                await _copy(conn, batch_docs, batch_index)
                batch_docs, batch_index = [], []
                print(f"  loaded {i + 1:,} documents in {time.perf_counter() - started:.0f}s", flush=True)
        await _copy(conn, batch_docs, batch_index)
        await conn.execute("ANALYZE issued_documents")
        if projection:
            await conn.execute("ANALYZE verification_index")
        return n, projection, sample
    finally:
        await conn.close()


async def loaded_postgres(dsn: str, n: int) -> tuple[int, bool, list[tuple[str, date]]] | None:
    """What `load_postgres` would return, when the database already holds those n documents (`--reuse`)."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('issued_documents') IS NOT NULL"):
            return None
        have = await conn.fetchval("SELECT count(*) FROM issued_documents")
        if have != n:
            return None
        projection = bool(await conn.fetchval("SELECT to_regclass('verification_index') IS NOT NULL"))
    finally:
        await conn.close()
    from registration.domain import document_number

    rng = random.Random(16)
    sample = []
    for i in range(n):  # as `documents`, without building each document
        number = document_number("refugee_certificate", 2026 - i // 9_000_000, 1 + i % 9_000_000)
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30_000))
        if i % max(1, n // 20_000) == 0:
            sample.append((number, birth))
    return n, projection, sample


async def _copy(conn, docs: list, index: list) -> None:
    if docs:
        await conn.copy_records_to_table("issued_documents", records=docs, columns=[
            "document_id", "document_number", "kind", "holder_person_id", "state", "source_event_id", "document",
            "created_at"])
    if index:
        await conn.copy_records_to_table("verification_index", records=index, columns=[
            "document_number", "kind", "state", "expires_on", "holder_birth_date", "revocation_reason"])


def load_sqlite(path: Path, n: int) -> tuple[int, bool, list[tuple[str, date]]]:
    import sqlite3

    con = sqlite3.connect(path)
    projection = con.execute("SELECT name FROM sqlite_master WHERE name = 'verification_index'").fetchone() is not None
    now = datetime.now(timezone.utc).isoformat()
    sample = []
    docs, index = [], []
    for i, (number, birth, doc, base) in enumerate(documents(n)):
        docs.append((f"d{i:09d}", number, "refugee_certificate", doc["holder_person_id"], "issued", json.dumps(doc), now))
        if projection:
            index.append((number, "refugee_certificate", "issued", base["expires_on"], birth.isoformat(), None))
        if i % max(1, n // 20_000) == 0:
            sample.append((number, birth))
    with con:
        con.executemany("INSERT INTO issued_documents (document_id, document_number, kind, holder_person_id, state, "
                        "document, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", docs)
        if projection:
            con.executemany("INSERT INTO verification_index VALUES (?, ?, ?, ?, ?, ?)", index)
    con.execute("ANALYZE")
    con.close()
    return n, projection, sample


# -- servers ---------------------------------------------------------------------------------------

def uvicorn_command(target: str, port: int, args, factory: bool = False) -> list[str]:
    cmd = ["nice", sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
           "--no-access-log", "--log-level", "warning", "--loop", args.loop, "--http", args.http]
    return cmd + (["--factory"] if factory else [])


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    def ready() -> bool:
        if process.poll() is not None:
            raise SystemExit(f"server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        return httpx.get(url, timeout=2).status_code < 500

    try:
        wait_for(ready, timeout=timeout, what=f"{url} to answer")
    except AssertionError:
        raise SystemExit(f"server not ready after {timeout}s:\n{log.read_text()[-3000:]}") from None


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# -- wrk -------------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, script: Path, connections: int, duration: int) -> dict:
    out = subprocess.run(["nice", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
                          url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def latency(q: str) -> float:
        value, unit = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * _UNITS[unit]

    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": latency("50"), "p99": latency("99"), "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def profile(process: subprocess.Popen, out: str, duration: int) -> subprocess.Popen:
    """py-spy on the server's Python process (uvicorn's, under nice), raw collapsed stacks to `out`."""
    spy = shutil.which("py-spy") or str(Path.home() / ".local" / "bin" / "py-spy")
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    pid = children[0] if children else str(process.pid)
    return subprocess.Popen([spy, "record", "--pid", pid, "--duration", str(max(1, duration - 2)), "--format", "raw",
                             "--output", out, "--nonblocking"] + (["--native"] if os.environ.get("PYSPY_NATIVE") else []), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_functions(path: str, n: int = 25) -> None:
    """Self and inclusive share of samples per function, from py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in Path(path).read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        total += samples
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + samples
        own[frames[-1]] = own.get(frames[-1], 0) + samples
    print(f"  profile: {total} samples; inclusive share (top {n}):")
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[:n]:
        print(f"    {100 * count / total:5.1f}%  {frame[:150]}")
    print("  own share:")
    for frame, count in sorted(own.items(), key=lambda kv: -kv[1])[:n]:
        print(f"    {100 * count / total:5.1f}%  {frame[:150]}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (/proc/<pid>/stat), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


def postgres_pids(var: Path) -> list[int]:
    """The postmaster (its command line names the data directory) and its children (the backends)."""
    def pgrep(*args: str) -> list[int]:
        return [int(p) for p in subprocess.run(["pgrep", *args], capture_output=True, text=True).stdout.split()]

    masters = pgrep("-f", str(var / "postgres" / "pgdata"))
    return masters + [child for master in masters for child in pgrep("-P", str(master))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--documents", type=int, default=100_000)
    p.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    p.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2, help="anchor and service runs, alternating")
    p.add_argument("--loop", default="auto", help="uvicorn --loop (auto picks uvloop when installed)")
    p.add_argument("--http", default="auto", help="uvicorn --http (auto picks httptools when installed)")
    p.add_argument("--source", help="run the servers from this checkout's sources (before/after)")
    p.add_argument("--before", help="also run registration from this checkout's sources, same database, same rounds")
    p.add_argument("--var", default=str(ROOT / "var" / "bench-verify-http"))
    p.add_argument("--reuse", action="store_true", help="keep --var's database when it holds --documents documents")
    p.add_argument("--env", action="append", default=[], help="extra REGISTRATION_*=value for the service")
    p.add_argument("--profile", help="py-spy (on PATH or ~/.local/bin) records the service during the first verify "
                                     "round into this file (speedscope JSON) and prints its top functions")
    args = p.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    var = Path(args.var)
    if not args.reuse:
        shutil.rmtree(var, ignore_errors=True)
    var.mkdir(parents=True, exist_ok=True)
    print(f"bench_verify_http on {machine()}; load average {os.getloadavg()[0]:.1f}; {args.documents:,} documents "
          f"on {args.database}; wrk 1 thread, {args.connections} connections, {args.duration}s; uvicorn --loop "
          f"{args.loop} --http {args.http}; sources {args.source or ROOT}", flush=True)

    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRATION_")}
    def source_path(checkout: str) -> str:
        src = Path(checkout)
        paths = [src / "services" / s / "src" for s in ("registration", "rsd", "statelessness", "civil-registry-bridge")]
        paths += [src / "shared" / s / "src" for s in ("pana-kit", "pana-events", "pana-dev")]
        return os.pathsep.join(str(x) for x in paths if x.exists())

    if args.source:
        env["PYTHONPATH"] = source_path(args.source)
    pg = None
    if args.database == "postgres":
        from pana_dev.launchers.postgres import EmbeddedPostgres

        pg = EmbeddedPostgres(var / "postgres", start_timeout=180).start()
        pg.create_database("verify_bench")
        url, dsn = pg.url("verify_bench"), pg.dsn("verify_bench")
    else:
        url = f"sqlite+aiosqlite:///{var / 'registration.db'}"
    env.update({
        "REGISTRATION_DATABASE_URL": url, "REGISTRATION_DEV_MODE": "true", "REGISTRATION_STATE_DIR": str(var / "state"),
        "REGISTRATION_RUN_CONSUMERS": "false", "REGISTRATION_RUN_OUTBOX_RELAY": "false",
        "REGISTRATION_VERIFY_RATE_PER_MINUTE": "1000000000", "REGISTRATION_READ_RATE_PER_MINUTE": "0",
        "REGISTRATION_STATELESS_CERTIFICATE_WATCH_ENABLED": "false",
    })
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    (var / "bare_app.py").write_text(BARE_APP)
    service_port, bare_port = free_port(), free_port()
    processes = []
    try:
        service = start(uvicorn_command("registration.app:create", service_port, args, factory=True), env,
                        var / "service.log")
        processes.append(service)
        wait_ready(f"http://127.0.0.1:{service_port}/healthz", service, var / "service.log")
        started = time.perf_counter()
        kept = asyncio.run(loaded_postgres(dsn, args.documents)) if pg is not None and args.reuse else None
        if kept is not None:
            n, projection, sample = kept
        elif pg is not None:
            n, projection, sample = asyncio.run(load_postgres(dsn, args.documents))
        else:
            n, projection, sample = load_sqlite(var / "registration.db", args.documents)
        print(f"loaded {n:,} documents ({'with' if projection else 'without'} the verification projection) in "
              f"{time.perf_counter() - started:.0f}s", flush=True)
        bare = start(uvicorn_command("bare_app:app", bare_port, args), {**env, "PYTHONPATH": str(var)},
                     var / "bare.log")
        processes.append(bare)
        wait_ready(f"http://127.0.0.1:{bare_port}/docs", bare, var / "bare.log")
        servers = {"anchor": (bare, bare_port)}
        if args.before:
            before_port = free_port()
            earlier = start(uvicorn_command("registration.app:create", before_port, args, factory=True),
                            {**env, "PYTHONPATH": source_path(args.before),
                             "REGISTRATION_STATE_DIR": str(var / "state-before")}, var / "before.log")
            processes.append(earlier)
            wait_ready(f"http://127.0.0.1:{before_port}/healthz", earlier, var / "before.log")
            servers["before"] = (earlier, before_port)
        servers["verify"] = (service, service_port)

        from pana_kit.auth import mint_dev_token
        from registration.settings import RegistrationSettings

        token = mint_dev_token(RegistrationSettings(dev_mode=True), role="service-provider", ttl_seconds=3600)
        random.Random(1).shuffle(sample)
        script = var / "verify.lua"
        script.write_text(LUA % (",".join(f'"{n}"' for n, _ in sample), ",".join(f'"{b}"' for _, b in sample),
                                 f"Bearer {token}"))
        check = httpx.get(f"http://127.0.0.1:{service_port}/api/v1/verify/{sample[0][0]}",
                          params={"birth_date": str(sample[0][1])}, headers={"Authorization": f"Bearer {token}"})
        assert check.status_code == 200 and check.json()["result"] == "valid", check.text
        for _, port in servers.values():
            wrk(f"http://127.0.0.1:{port}", script, args.connections, 3)  # warm-up
        runs: dict[str, list[dict]] = {name: [] for name in servers}
        for r in range(args.rounds):
            for name, (server, port) in servers.items():
                spy = None
                if args.profile and name == "verify" and r == 0:
                    spy = profile(service, args.profile, args.duration)
                database = postgres_pids(var) if pg is not None else []
                before = cpu_seconds([server.pid]), cpu_seconds(database)
                result = wrk(f"http://127.0.0.1:{port}", script, args.connections, args.duration)
                served = result["rps"] * args.duration
                # CPU per request: what a request costs whatever else the machine runs (the shared box's load
                # moves req/s; it moves this much less).
                result["cpu_ms"] = 1000 * (cpu_seconds([server.pid]) - before[0]) / max(1, served)
                result["db_cpu_ms"] = 1000 * (cpu_seconds(database) - before[1]) / max(1, served)
                if spy is not None:
                    spy.wait()
                runs[name].append(result)
                print(f"  round {r + 1} {name:6s}: {result['rps']:8.0f} req/s  p50 {result['p50']:7.2f} ms  "
                      f"p99 {result['p99']:7.2f} ms  CPU/request: server {result['cpu_ms']:.3f} ms, database "
                      f"{result['db_cpu_ms']:.3f} ms  non-2xx {result['non2xx']}  {result['socket_errors']}",
                      flush=True)
        def median(name: str, key: str) -> float:
            values = sorted(x[key] for x in runs[name])
            return values[len(values) // 2] if len(values) % 2 else sum(values[len(values) // 2 - 1:][:2]) / 2

        v, a = median("verify", "rps"), median("anchor", "rps")
        print(f"RESULT verify over HTTP, {n:,} documents, {args.database}: {v:.0f} req/s, p50 "
              f"{median('verify', 'p50'):.2f} ms, p99 {median('verify', 'p99'):.2f} ms; bare FastAPI {a:.0f} req/s, "
              f"p50 {median('anchor', 'p50'):.2f} ms, p99 {median('anchor', 'p99'):.2f} ms; ratio {v / a:.3f}; "
              f"server CPU per request {median('verify', 'cpu_ms'):.3f} ms (+ database "
              f"{median('verify', 'db_cpu_ms'):.3f} ms) vs anchor {median('anchor', 'cpu_ms'):.3f} ms: CPU ratio "
              f"{median('anchor', 'cpu_ms') / median('verify', 'cpu_ms'):.3f}; load average now "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        if "before" in runs:
            b = median("before", "rps")
            print(f"RESULT before (--before {args.before}): {b:.0f} req/s, p50 {median('before', 'p50'):.2f} ms, p99 "
                  f"{median('before', 'p99'):.2f} ms; ratio {b / a:.3f}; server CPU per request "
                  f"{median('before', 'cpu_ms'):.3f} ms (+ database {median('before', 'db_cpu_ms'):.3f} ms): CPU ratio "
                  f"{median('anchor', 'cpu_ms') / median('before', 'cpu_ms'):.3f}; after/before: req/s "
                  f"{v / b:.2f}x, CPU per request {median('before', 'cpu_ms') / median('verify', 'cpu_ms'):.2f}x less",
                  flush=True)
        if args.profile and Path(args.profile).exists():
            top_functions(args.profile)
        if any(x["non2xx"] for x in runs["verify"]):
            print("WARNING: some verifications were not 200 (see non-2xx above)")
    finally:
        for process in processes:
            stop(process)
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
