"""Statelessness figures (issue 5): ex officio opening from events; work-list queries at scale.

    uv run python tests/bench/bench_statelessness.py [--broker apache|embedded] [--database postgres|sqlite]
        [--paced 300 --rate 20] [--burst 2000] [--cases 100000] [--queries 200]

statelessness runs as its own process on the chosen broker/database (nothing else consumes).

1. Ex officio opening from events: `registration.birth.recorded.v1` for children born in
   Kazakhstan to stateless parents, produced straight into `registration.events` (as
   registration would), each opening a child-at-risk case. Latency = event time (the
   envelope's `time`, stamped when produced) -> case visible in `GET /api/v1/cases`
   (polled a page at a time), p50/p99:
     - paced: --paced events at --rate/s (an unsaturated consumer);
     - burst: --burst events produced at once; throughput = events / (first produce ->
       last case visible), i.e. events consumed to cases opened per second.
2. The work-list queries with --cases cases bulk-loaded through the service's tables
   (half open with a nationality inquiry, ~70 % of those overdue; half recognised with a
   naturalization track, ~2/3 eligible now): `GET /api/v1/inquiries/overdue` and
   `GET /api/v1/naturalization/eligible` (first page, 50 items) p50/p99 through the API.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
from common import machine, parser, percentile, summary
from support import headers

from pana_dev.stack import Stack, spec

OFFICER = None  # set in main (token minting reads settings)


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} cores"


# --------------------------------------------------------------------------- 1. ex officio opening
class CaseWatcher(threading.Thread):
    """Polls the case list (child_at_risk, oldest first, keyset pages) and notes when each person's case appears."""

    def __init__(self, base_url: str, interval: float = 0.05):
        super().__init__(daemon=True)
        self.url = base_url + "/api/v1/cases"
        self.interval = interval
        self.seen: dict[str, float] = {}
        self.stop_event = threading.Event()
        self.polls = 0

    def run(self) -> None:
        cursor = None
        with httpx.Client(timeout=30) as client:
            while not self.stop_event.is_set():
                params = {"reason": "child_at_risk", "limit": 500, **({"cursor": cursor} if cursor else {})}
                try:
                    r = client.get(self.url, params=params, headers=OFFICER)
                    r.raise_for_status()
                    page = r.json()
                except httpx.HTTPError:
                    time.sleep(0.2)
                    continue
                now = time.time()
                self.polls += 1
                for item in page["items"]:
                    self.seen.setdefault(item["person_id"], now)
                if page.get("next_cursor"):
                    cursor = page["next_cursor"]  # the last page is always read again (late commits land there)
                    continue
                time.sleep(self.interval)

    def wait_for(self, people: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(p in self.seen for p in people):
                return True
            time.sleep(0.05)
        return False


def birth_envelope(i: int, tag: str):
    from pana_events import Envelope
    from pana_events.events.registration import BirthRecorded

    child = f"bench-{tag}-{i:06d}-{uuid.uuid4().hex[:8]}"
    event = BirthRecorded(
        child_person_id=child, given_name="Aruzhan", family_name=f"Bench{tag}{i}",
        birth_date=date.today() - timedelta(days=2), sex="female" if i % 2 else "male", born_in_kazakhstan=True,
        place_of_birth="Almaty", medical_birth_certificate_number=f"MBC-{tag}-{i:06d}",
        mother_person_id=f"bench-m-{tag}-{i}", mother_given_name="Gulnara", mother_family_name=f"Bench{tag}{i}",
        mother_birth_date=date(1994, 2, 3), mother_status="stateless", father_status="stateless",
    )
    return child, lambda: Envelope(source="/pana/registration", type=event.event_type, subject=child,
                                   data=event.model_dump(mode="json"))


async def produce_events(bootstrap: str, count: int, tag: str, rate: float | None) -> dict[str, float]:
    """Produce `count` birth events (paced at `rate`/s, or all at once); {child: event time (epoch s)}."""
    from aiokafka import AIOKafkaProducer

    from pana_events import to_kafka

    made = [birth_envelope(i, tag) for i in range(count)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=2)
    await producer.start()
    sent: dict[str, float] = {}
    try:
        started = time.perf_counter()
        futures = []
        for i, (child, envelope) in enumerate(made):
            env = envelope()  # time stamped now
            key, hdrs, value = to_kafka(env)
            sent[child] = env.time.timestamp()
            fut = await producer.send("registration.events", value, key=key, headers=hdrs)
            if rate:
                await fut
                await asyncio.sleep(max(0.0, started + (i + 1) / rate - time.perf_counter()))
            else:
                futures.append(fut)
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return sent


def opening(stack: Stack, watcher: CaseWatcher, count: int, rate: float | None, tag: str, quiet: bool = False) -> None:
    sent = asyncio.run(produce_events(stack.kafka_bootstrap, count, tag, rate))
    first = min(sent.values())
    produced = max(sent.values())
    complete = watcher.wait_for(list(sent), timeout=max(120.0, count / 5))
    latencies = [(watcher.seen[c] - t) * 1000 for c, t in sent.items() if c in watcher.seen]
    label = f"paced {rate:g}/s" if rate else "burst"
    if quiet:
        return
    if not complete:
        print(f"  ({label}: only {len(latencies)}/{count} cases appeared before the timeout)")
    if not latencies:
        return
    last = max(watcher.seen[c] for c in sent if c in watcher.seen)
    print("  " + summary(f"{label}: birth event -> case visible", latencies))
    if rate is None:
        print(f"  burst: {count} events produced in {produced - first:.2f} s; {len(latencies)} cases opened in "
              f"{last - first:.2f} s -> {len(latencies) / (last - first):,.1f} events/s consumed to cases opened")
    else:
        print(f"  paced: {len(latencies) / (last - first):,.1f} cases/s over {last - first:.1f} s (offered {rate:g}/s)")


# --------------------------------------------------------------------------- 2. work-list queries
STATES = ("UZB", "KGZ", "TJK", "RUS", "CHN", "TKM", "AFG", "MNG", "UKR", "AZE")


def _templates():
    from pana_kit.documents import to_document
    from statelessness.domain import DeterminationCase, OpeningReason, StatelessnessRules
    from statelessness.domain.inquiry import StateLink

    rules = StatelessnessRules()
    case = DeterminationCase.open(case_id="template", person_id="template", reason=OpeningReason.APPLICATION,
                                  opened_on=date(2024, 1, 10), rules=rules, opened_by="bench")
    case.send_inquiry(inquiry_id="inq-1", state="UZB", link=StateLink.BIRTH, sent_on=date(2024, 1, 15), rules=rules)
    return to_document(case), rules


async def bulk_load(database_url: str, cases: int) -> float:
    from sqlalchemy import insert, text

    from pana_kit.db import Database
    from pana_kit.documents import to_document
    from statelessness.domain import NaturalizationTrack
    from statelessness.domain.naturalization import naturalization_eligible_from
    from statelessness.store.tables import CaseRow, InquiryRow, NaturalizationTrackRow

    template, rules = _templates()
    today = date.today()
    now = datetime.now(timezone.utc)
    db = Database(database_url)
    started = time.perf_counter()
    chunk = 2000
    for base in range(0, cases, chunk):
        case_rows, inquiry_rows, track_rows = [], [], []
        for i in range(base, min(cases, base + chunk)):
            case_id, person_id = str(uuid.uuid4()), f"bench-p{i:07d}"
            opened = today - timedelta(days=200 + i % 1500)
            recognised = i % 2 == 1
            sent_on = today - timedelta(days=i % 720)  # reply due 6 months later: ~3/4 of sent ones overdue
            answered = recognised or i % 10 == 0
            doc = {**template, "case_id": case_id, "person_id": person_id, "opened_on": opened.isoformat()}
            case_rows.append(dict(
                id=case_id, person_id=person_id, reason="application", status="determined" if recognised else "open",
                opened_on=opened, decision_due=opened + timedelta(days=182),
                decided_on=opened + timedelta(days=150) if recognised else None,
                outcome="stateless" if recognised else None,
                recognised_on=opened + timedelta(days=150) if recognised else None,
                version=1, document=doc, created_at=now, updated_at=now))
            inquiry_rows.append(dict(
                case_id=case_id, inquiry_id=f"inq-{i}", person_id=person_id, state=STATES[(i // 2) % len(STATES)],
                link="birth", status="answered" if answered else "sent", answer="denies" if answered else None,
                sent_on=sent_on, reply_due=sent_on + timedelta(days=182),
                answered_on=sent_on + timedelta(days=60) if answered else None))
            if recognised:
                residence_from = today - timedelta(days=i % 2700)  # 5 years -> ~1/3 eligible now
                eligible_from = naturalization_eligible_from(residence_from, rules)
                decided = i % 20 == 1
                track = NaturalizationTrack(
                    track_id=str(uuid.uuid4()), person_id=person_id, case_id=case_id,
                    lawful_residence_from=residence_from, eligible_from=eligible_from,
                    opened_on=min(today, opened + timedelta(days=160)))
                track_rows.append(dict(
                    id=track.track_id, case_id=case_id, person_id=person_id, eligible_from=eligible_from,
                    outcome="granted" if decided else None, decided_on=today if decided else None, version=1,
                    document=to_document(track), created_at=now, updated_at=now))
        async with db.transaction() as session:
            await session.execute(insert(CaseRow), case_rows)
            await session.execute(insert(InquiryRow), inquiry_rows)
            if track_rows:
                await session.execute(insert(NaturalizationTrackRow), track_rows)
    if db.engine.dialect.name == "postgresql":
        async with db.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE cases, inquiries, naturalization_tracks"))
    else:
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await db.dispose()
    return time.perf_counter() - started


def queries(base_url: str, count: int) -> None:
    cases_read = {
        "overdue inquiries": ("/api/v1/inquiries/overdue", lambda q: {}),
        "overdue inquiries ?state=": ("/api/v1/inquiries/overdue", lambda q: {"state": STATES[q % len(STATES)]}),
        "eligible now": ("/api/v1/naturalization/eligible", lambda q: {"when": "now"}),
        "eligible soon": ("/api/v1/naturalization/eligible", lambda q: {"when": "soon"}),
    }
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for name, (path, params) in cases_read.items():
            for _ in range(5):  # warm-up
                client.get(path, params=params(0), headers=OFFICER).raise_for_status()
            times, sizes = [], []
            for q in range(count):
                t = time.perf_counter()
                r = client.get(path, params=params(q), headers=OFFICER)
                times.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
                sizes.append(len(r.json()["items"]))
            print(f"  {name:27s} p50 {percentile(times, 50):6.1f} ms  p99 {percentile(times, 99):6.1f} ms  "
                  f"(n={count}, {min(sizes)}-{max(sizes)} items/page)")


def main() -> None:
    global OFFICER
    p = parser(__doc__)
    p.add_argument("--paced", type=int, default=300, help="events produced at --rate (latency)")
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--burst", type=int, default=2000, help="events produced at once (throughput)")
    p.add_argument("--cases", type=int, default=100_000, help="cases bulk-loaded for the queries")
    p.add_argument("--queries", type=int, default=200, help="requests per query")
    args = p.parse_args()
    OFFICER = headers("statelessness-officer")
    var = Path(args.var)
    shutil.rmtree(var, ignore_errors=True)
    stack = Stack(var_dir=var, broker=args.broker, database=args.database)
    try:
        stack.start(services=(spec("statelessness"),), simulator=False)
        print(f"machine: {machine()}; broker={args.broker} database={args.database}")
        print(f"at start: {load()}")
        base = stack.url("statelessness")
        watcher = CaseWatcher(base)
        watcher.start()
        tag = uuid.uuid4().hex[:6]
        print("1. ex officio opening from registration.birth.recorded.v1 (child of stateless parents, born in KZ)")
        opening(stack, watcher, 20, 10.0, tag + "w", quiet=True)  # warm-up: consumer group joined, first-time costs paid
        watcher.seen.clear()
        opening(stack, watcher, args.paced, args.rate, tag + "p")
        opening(stack, watcher, args.burst, None, tag + "b")
        print(f"  ({watcher.polls} list polls; {load()})")
        watcher.stop_event.set()
        print(f"2. work-list queries with {args.cases:,} cases bulk-loaded")
        seconds = asyncio.run(bulk_load(stack.database_url("statelessness"), args.cases))
        print(f"  loaded {args.cases:,} cases + {args.cases:,} inquiries + {args.cases // 2:,} tracks in {seconds:.1f} s")
        queries(base, args.queries)
        print(f"at end: {load()}")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
