"""A working day's load on the whole system, measured (issue 8, Scale).

    uv run python tests/bench/load.py --seconds 60 --concurrency 16 --persons 20000 [--instances 2]

Starts Apache Kafka, PostgreSQL, the civil-registry simulator and the four services
(`--instances 2`: a second process of every service on another port, same database and
consumer group), fills them with a generated population (`population.py`: bulk into the
tables, then a few households through the APIs so events flow), then runs a closed-loop
asyncio client for `--seconds` with the mix of a working day (`--mix`, weights):

    referral            border officer refers an asylum-seeker        registration POST /border-referrals
    register            registration officer registers a person       registration POST /persons
    duplicate_check     officer checks a person against the register  registration POST /persons/duplicate-check
    verify              service provider checks a document            registration GET  /verify/{number}
    rsd_read            eligibility officer lists/reads applications  rsd GET /applications[/{id}]
    rsd_command         supervisor reassigns a case (If-Match)        rsd POST /applications/{id}/assignment
    stateless_read      statelessness officer lists/reads cases       statelessness GET /cases[/{id}]
    birth_verification  civil registrar asks for a birth verification bridge POST /birth-verifications

Reports throughput and p50/p99 per operation, errors by status, CPU% and RSS per process
(services, PostgreSQL with its backends, Kafka), consumer lag per group during the run and
the time to drain it afterwards, and names the first bottleneck.

National scale (on demand, not in CI): one population, the day with one instance of every
service, then again with two:
    uv run python tests/bench/load.py --persons 1000000 --seconds 600 --concurrency 32 --instances 1 2
and the latency the expected peak demand meets (open loop), on the same data:
    uv run python tests/bench/load.py --reuse --rate 7.3 --seconds 300 --instances 1 2
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
from common import machine, parser, percentile
from population import TODAY, Generator, fill_via_api, person_body, referral_body, run_bulk
from support import headers

from pana_dev.launchers.ports import free_port
from pana_dev.stack import SERVICES, HttpProcess, Stack

DEFAULT_MIX = ("referral=4,register=8,duplicate_check=20,verify=30,rsd_read=18,rsd_command=3,"
               "stateless_read=10,birth_verification=7")


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        mix[name.strip()] = float(weight)
    return mix


# --- the system ---------------------------------------------------------------------------

def start_second_instances(stack: Stack) -> None:
    """One more process per service: another port, same database, same consumer group."""
    for spec in SERVICES:
        port = free_port()
        name = f"{spec.name}#2"
        proc = HttpProcess(name, [sys.executable, "-m", spec.module], port,
                           env=stack.service_environment(spec, port), log_path=stack.var_dir / "logs" / f"{name}.log")
        proc.start()
        stack.processes[name] = proc  # Stack.stop() stops it too


def instance_urls(stack: Stack) -> dict[str, list[str]]:
    urls: dict[str, list[str]] = defaultdict(list)
    for name, proc in stack.processes.items():
        urls[name.split("#")[0]].append(proc.url)
    return urls


class Monitor:
    """CPU% and RSS of every process (with its children: PostgreSQL backends), once a second."""

    def __init__(self, stack: Stack):
        self.procs: dict[str, psutil.Process] = {}
        for name, proc in stack.processes.items():
            if proc.pid:
                self.procs[name] = psutil.Process(proc.pid)
        for item in stack.infra:
            if getattr(item, "pid", None):
                self.procs[type(item).__name__] = psutil.Process(item.pid)
        self.cpu: dict[str, list[float]] = defaultdict(list)
        self.rss: dict[str, list[float]] = defaultdict(list)
        self.machine_cpu: list[float] = []
        self._last: dict[int, float] = {}

    def _tree(self, root: psutil.Process) -> list[psutil.Process]:
        try:
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self, interval: float) -> None:
        self.machine_cpu.append(psutil.cpu_percent(None))
        for name, root in self.procs.items():
            cpu_s = rss = 0.0
            for p in self._tree(root):
                try:
                    t = p.cpu_times()
                    total = t.user + t.system
                    cpu_s += total - self._last.get(p.pid, total)
                    self._last[p.pid] = total
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            self.cpu[name].append(100 * cpu_s / interval)
            self.rss[name].append(rss / 2**20)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        self.sample(interval)  # primes the counters
        self.cpu.clear()
        self.machine_cpu.clear()
        while not stop.is_set():
            await asyncio.sleep(interval)
            self.sample(interval)


async def consumer_lag(bootstrap: str) -> dict[str, int]:
    """Per consumer group: sum over its partitions of (end offset - committed offset)."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        lags = {}
        for group, *_ in await admin.list_consumer_groups():
            if group.endswith(".dlq"):
                continue
            committed = await admin.list_consumer_group_offsets(group)
            tps = list(committed)
            if not tps:
                continue
            ends = await consumer.end_offsets(tps)
            lags[group] = sum(max(0, ends[tp] - (meta.offset if meta.offset >= 0 else 0)) for tp, meta in committed.items())
        return lags
    finally:
        await consumer.stop()
        await admin.close()


async def lag_watch(bootstrap: str, stop: asyncio.Event, samples: list[dict[str, int]], interval: float = 5.0):
    while not stop.is_set():
        try:
            samples.append(await consumer_lag(bootstrap))
        except Exception as exc:  # a slow broker must not end the run
            print(f"  (lag sample failed: {exc!r})")
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass


# --- the working day ----------------------------------------------------------------------

class Day:
    def __init__(self, client: httpx.AsyncClient, urls: dict[str, list[str]], world: dict, seed: int):
        self.client, self.urls, self.world = client, urls, world
        self.rng = random.Random(seed)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.timeline: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.gen = Generator(seed + 1000)  # new people, not those already in the register
        self.h = {r: headers(r) for r in ("registration-officer", "eligibility-officer", "statelessness-officer",
                                          "civil-registrar", "supervisor")}
        self.h["border-officer"] = headers("border-officer", purpose=None)
        # Service providers: many clients (banks, clinics, schools), each under its own rate limit.
        self.providers = [headers("service-provider", purpose=None, subject=f"provider-{i:04d}") for i in range(400)]
        self.started = time.perf_counter()
        self.etags: dict[str, str] = {}

    def url(self, service: str) -> str:
        return self.rng.choice(self.urls[service])

    async def call(self, op: str, method: str, service: str, path: str, **kw) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = await self.client.request(method, self.url(service) + path, **kw)
            status = r.status_code
        except httpx.HTTPError as exc:
            r, status = None, 599
            self.statuses[op][type(exc).__name__] += 1
        took = (time.perf_counter() - t0) * 1000
        self.latency[op].append(took)
        self.timeline[op].append((t0 - self.started, took))
        if status != 599:
            self.statuses[op][status] += 1
        return r

    def key(self) -> str:
        return "load-" + uuid.uuid4().hex

    async def referral(self):
        h = self.gen.household(self.rng.randrange(10**6))
        await self.call("referral", "POST", "registration", "/api/v1/border-referrals", json=referral_body(h, h.focal),
                        headers={**self.h["border-officer"], "Idempotency-Key": self.key()})

    async def register(self):
        h = self.gen.household(self.rng.randrange(10**6))
        body = person_body(h.focal, latin=self.rng.random() < 0.5)
        await self.call("register", "POST", "registration", "/api/v1/persons", json=body,
                        headers={**self.h["registration-officer"], "Idempotency-Key": self.key()})

    async def duplicate_check(self):
        # Half are people already registered, spelled as in another passport.
        p = self.rng.choice(self.world["known_persons"]) if self.rng.random() < 0.5 else \
            self.gen.household(self.rng.randrange(10**6)).focal
        body = person_body(p, latin=True)
        for k in ("languages", "specific_needs", "interpreter_needed", "citizenship_status"):
            body.pop(k, None)
        await self.call("duplicate_check", "POST", "registration", "/api/v1/persons/duplicate-check", json=body,
                        headers=self.h["registration-officer"])

    async def verify(self):
        number, birth = self.rng.choice(self.world["documents"])
        await self.call("verify", "GET", "registration", f"/api/v1/verify/{number}", params={"birth_date": birth},
                        headers=self.rng.choice(self.providers))

    async def rsd_read(self):
        if self.rng.random() < 0.3 or not self.world["applications"]:
            await self.call("rsd_read", "GET", "rsd", "/api/v1/applications", params={"limit": 50},
                            headers=self.h["eligibility-officer"])
        else:
            app = self.rng.choice(self.world["applications"])
            await self.call("rsd_read", "GET", "rsd", f"/api/v1/applications/{app}", headers=self.h["eligibility-officer"])

    async def rsd_command(self):
        if not self.world["applications"]:
            return
        app = self.rng.choice(self.world["applications"])
        r = await self.call("rsd_command", "GET", "rsd", f"/api/v1/applications/{app}", headers=self.h["supervisor"])
        if r is None or r.status_code != 200:
            return
        await self.call("rsd_command", "POST", "rsd", f"/api/v1/applications/{app}/assignment",
                        json={"officer_id": f"eo-{self.rng.randint(1, 40)}", "reason": "workload balancing"},
                        headers={**self.h["supervisor"], "If-Match": r.headers.get("etag", "*")})

    async def stateless_read(self):
        if self.rng.random() < 0.3 or not self.world["cases"]:
            await self.call("stateless_read", "GET", "statelessness", "/api/v1/cases", params={"limit": 50},
                            headers=self.h["statelessness-officer"])
        else:
            case = self.rng.choice(self.world["cases"])
            await self.call("stateless_read", "GET", "statelessness", f"/api/v1/cases/{case}",
                            headers=self.h["statelessness-officer"])

    async def birth_verification(self):
        p = self.gen.person(self.gen.household(self.rng.randrange(10**6)), "child", self.rng.choice(["male", "female"]),
                            0, ("Каримов", ["Karimov"]), birth_date=TODAY - timedelta(days=self.rng.randint(1, 900)))
        body = {"kind": "verification", "child": {"surname": p.family_name_latin, "given_name": p.given_name_latin,
                                                  "birth_date": p.birth_date.isoformat(), "sex": p.sex,
                                                  "place_of_birth": {"in_kazakhstan": True, "locality": "Almaty", "region": "Almaty"}},
                "mother": {"surname": "Karimova", "given_name": "Aigerim", "nationality": "stateless", "legal_status": "stateless"},
                "medical_birth_certificate_number": f"MBC-{p.person_id[:12]}"}
        await self.call("birth_verification", "POST", "civil-registry-bridge", "/api/v1/birth-verifications", json=body,
                        headers={**self.h["civil-registrar"], "Idempotency-Key": self.key()})


async def working_day(urls, world, mix: dict[str, float], seconds: float, concurrency: int, seed: int) -> Day:
    limits = httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        day = Day(client, urls, world, seed)
        ops = list(mix)
        weights = [mix[o] for o in ops]
        deadline = time.perf_counter() + seconds

        async def worker(i: int):
            rng = random.Random(seed * 1000 + i)
            while time.perf_counter() < deadline:
                await getattr(day, rng.choices(ops, weights)[0])()

        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return day


async def open_loop_day(urls, world, mix: dict[str, float], seconds: float, rate: float, seed: int,
                        cap: int = 256) -> Day:
    """Requests arrive at `rate` per second (Poisson), whatever the answers' speed: the latency
    a given demand meets, where the closed loop measures how much the system can take."""
    limits = httpx.Limits(max_connections=cap, max_keepalive_connections=cap)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        day = Day(client, urls, world, seed)
        ops, weights = list(mix), list(mix.values())
        rng = random.Random(seed)
        inflight: set[asyncio.Task] = set()
        deadline = time.perf_counter() + seconds
        at = time.perf_counter()
        while (at := at + rng.expovariate(rate)) < deadline:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            if len(inflight) >= cap:  # the system has fallen behind: count it, do not pile on
                day.statuses["(not sent: over cap)"][0] += 1
                continue
            task = asyncio.create_task(getattr(day, rng.choices(ops, weights)[0])())
            inflight.add(task)
            task.add_done_callback(inflight.discard)
        await asyncio.gather(*inflight)
    return day


# --- preparing the world --------------------------------------------------------------------

async def collect_world(stack: Stack, urls, persons: int, seed: int) -> dict:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(stack.database_url("registration"))
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT document_number, holder_person_id FROM issued_documents ORDER BY document_number LIMIT 20000"))).all()
        births = dict((await conn.execute(text(
            "SELECT person_id, birth_date FROM persons WHERE person_id IN (SELECT holder_person_id FROM issued_documents "
            "ORDER BY document_number LIMIT 20000)"))).all())
    await engine.dispose()
    documents = [(n, births[p].isoformat()) for n, p in rows if births.get(p)]
    sample = []
    for h in Generator(seed).households(persons=min(persons, 20000)):
        sample += h.members
    known = random.Random(seed).sample(sample, min(2000, len(sample)))
    for p in known:  # another passport's spelling, as at a second registration
        p.given_name_latin = p.given_name_latin.replace("u", "ou", 1) if "u" in p.given_name_latin else p.given_name_latin + "h"
    apps, cases = [], []
    async with httpx.AsyncClient(timeout=60) as client:
        r = await client.get(urls["rsd"][0] + "/api/v1/applications", params={"limit": 200},
                             headers=headers("eligibility-officer"))
        apps = [a["id"] for a in r.json().get("items", [])] if r.status_code == 200 else []
        r = await client.get(urls["statelessness"][0] + "/api/v1/cases", params={"limit": 200},
                             headers=headers("statelessness-officer"))
        cases = [c["id"] for c in r.json().get("items", [])] if r.status_code == 200 else []
    return {"documents": documents, "known_persons": known, "applications": apps, "cases": cases}


# --- reporting ------------------------------------------------------------------------------

def report(day: Day, monitor: Monitor, lags: list[dict[str, int]], drain: dict, seconds: float) -> None:
    print("\nper operation:")
    print(f"  {'operation':<20}{'req':>7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'p99 1st half':>14}{'p99 2nd half':>14}  statuses")
    total = 0
    growth = {}
    for op, values in sorted(day.latency.items()):
        total += len(values)
        half = seconds / 2
        first = [t for s, t in day.timeline[op] if s < half]
        second = [t for s, t in day.timeline[op] if s >= half]
        p99a, p99b = percentile(first, 99), percentile(second, 99)
        growth[op] = (p99b / p99a) if first and second and p99a > 0 else float("nan")
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(day.statuses[op].items(), key=lambda kv: str(kv[0])))
        print(f"  {op:<20}{len(values):>7}{len(values) / seconds:>8.1f}{percentile(values, 50):>9.1f}"
              f"{percentile(values, 99):>9.1f}{p99a:>14.1f}{p99b:>14.1f}  {statuses}")
    print(f"  {'all':<20}{total:>7}{total / seconds:>8.1f}")
    errors = {f"{op} {s}": n for op, st in day.statuses.items() for s, n in st.items() if str(s)[0] not in "23"}
    print(f"errors by status: {errors or 'none'}")
    print("\nprocesses (mean / max CPU% of one core; max RSS MiB):")
    cpu_mean = {}
    for name in sorted(monitor.cpu, key=lambda n: -statistics.fmean(monitor.cpu[n] or [0])):
        cpu = monitor.cpu[name] or [0]
        cpu_mean[name] = statistics.fmean(cpu)
        print(f"  {name:<28}{statistics.fmean(cpu):>7.1f}{max(cpu):>7.1f}{max(monitor.rss[name] or [0]):>9.0f}")
    if monitor.machine_cpu:
        print(f"  machine (all cores, incl. the load client and other users): mean {statistics.fmean(monitor.machine_cpu):.0f}%")
    groups = sorted({g for s in lags for g in s})
    print("\nconsumer lag (events behind), sampled every 5 s during the run:")
    for g in groups:
        series = [s.get(g, 0) for s in lags]
        print(f"  {g:<28} max {max(series):>6}  last {series[-1]:>6}  drained {drain.get(g, 'n/a')}")
    print("\nfirst bottleneck:")
    busiest = max(cpu_mean, key=cpu_mean.get) if cpu_mean else None
    if busiest:
        print(f"  busiest process: {busiest} at {cpu_mean[busiest]:.0f}% of a core on average")
    worst = max(day.latency, key=lambda op: percentile(day.latency[op], 99)) if day.latency else None
    if worst:
        print(f"  slowest operation: {worst} p99 {percentile(day.latency[worst], 99):.0f} ms "
              f"(p99 2nd half / 1st half: {growth[worst]:.2f})")
    grew = [op for op, g in growth.items() if g == g and g > 1.5]
    if grew:
        print(f"  p99 growing during the run: {', '.join(grew)}")
    if groups:
        g = max(groups, key=lambda g: max(s.get(g, 0) for s in lags))
        print(f"  largest lag: {g} ({max(s.get(g, 0) for s in lags)} events)")


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(var="/tmp/pana-load")
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--rate", type=float, default=None,
                   help="open loop: requests per second arriving whatever the latency (else a closed loop of "
                        "--concurrency clients)")
    p.add_argument("--reuse", action="store_true",
                   help="keep --var's data from an earlier run and skip loading (the million once, many runs)")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--instances", type=int, nargs="+", default=[1], choices=[1, 2],
                   help="instances per service; '1 2' runs the day twice on one population, then with a second "
                        "instance of every service (loading 1,000,000 persons once, not twice)")
    p.add_argument("--persons", type=int, default=20000, help="bulk-loaded population before the run")
    p.add_argument("--households", type=int, default=30, help="households created through the APIs before the run")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--mix", default=DEFAULT_MIX)
    args = p.parse_args()
    mix = parse_mix(args.mix)
    var = Path(args.var)
    reuse = args.reuse and (var / "postgres").exists()
    if not reuse:
        shutil.rmtree(var, ignore_errors=True)
    stack = Stack(var_dir=var, broker=args.broker, database=args.database)
    try:
        t0 = time.perf_counter()
        stack.start()
        urls = instance_urls(stack)
        print(f"machine: {machine()}; broker={args.broker} database={args.database}; instances per service: "
              f"{' then '.join(map(str, args.instances))}; started in {time.perf_counter() - t0:.0f}s", flush=True)
        if args.persons and not reuse:
            t0 = time.perf_counter()
            url = stack.database_url("registration")
            template = url.rsplit("/", 1)[0] + "/{db}"
            run_bulk(template, args.persons, args.seed, 2000, ["registration", "rsd", "statelessness"])
            print(f"bulk population: {args.persons:,} persons in {time.perf_counter() - t0:.0f}s", flush=True)
        if args.households and not reuse:
            t0 = time.perf_counter()
            first = {k: v[0] for k, v in urls.items()}
            filler = asyncio.run(fill_via_api(first, args.households, args.seed + 1, concurrency=4))
            print(f"through the APIs: {len(filler.person_ids)} persons in {args.households} households in "
                  f"{time.perf_counter() - t0:.0f}s; {dict(sorted(filler.counts.items()))}")
        world = asyncio.run(collect_world(stack, urls, args.persons, args.seed))
        print(f"world: {len(world['documents'])} documents, {len(world['applications'])} applications, "
              f"{len(world['cases'])} cases; mix {mix}; "
              f"{f'open loop at {args.rate:g} req/s' if args.rate else f'{args.concurrency} concurrent clients'} "
              f"for {args.seconds:g}s",
              flush=True)
        for n in args.instances:
            if n == 2 and len(urls["registration"]) == 1:
                start_second_instances(stack)
                urls = instance_urls(stack)
            print(f"\n=== {n} instance(s) per service ===", flush=True)
            run_day(stack, urls, world, mix, args)
    finally:
        stack.stop()


def run_day(stack: Stack, urls: dict[str, list[str]], world: dict, mix: dict[str, float], args) -> None:
    """One working day on the instances running now, then its report (lag drained for up to 60 s)."""
    async def run():
        monitor = Monitor(stack)
        stop = asyncio.Event()
        lags: list[dict[str, int]] = []
        mon = asyncio.create_task(monitor.run(stop))
        lagger = asyncio.create_task(lag_watch(stack.kafka_bootstrap, stop, lags))
        if args.rate:
            day = await open_loop_day(urls, world, mix, args.seconds, args.rate, args.seed)
        else:
            day = await working_day(urls, world, mix, args.seconds, args.concurrency, args.seed)
        stop.set()
        await asyncio.gather(mon, lagger)
        drain: dict[str, str] = {}
        t_end = time.perf_counter()
        while time.perf_counter() - t_end < 60:
            now = await consumer_lag(stack.kafka_bootstrap)
            for g, lag in now.items():
                if lag == 0 and g not in drain:
                    drain[g] = f"in {time.perf_counter() - t_end:.1f}s"
            if all(v == 0 for v in now.values()):
                break
            await asyncio.sleep(1)
        for g, lag in now.items():
            drain.setdefault(g, f"no: {lag} left after 60s")
        return day, monitor, lags, drain

    day, monitor, lags, drain = asyncio.run(run())
    report(day, monitor, lags, drain, args.seconds)


if __name__ == "__main__":
    main()
