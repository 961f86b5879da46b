"""The flow the fault tests drive, and the count of its effects.

A `Feeder` sends N border referrals over a stretch of time, from a background
thread: half through registration's HTTP API (`POST /border-referrals`, each
with its own Idempotency-Key, retried like a real client until it answers), half
produced straight into `registration.events` as PersonRegistered +
ReferralRegistered pairs with unique ids (retried until the broker acknowledges;
every tenth referral is sent a second time under the same id, as a redelivery).
Each referral must end as exactly one rsd application and one
`rsd.application.lodged.v1` event id: `Effects` counts both.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
from pana_dev.testing import wait_for
from support import group_committed, group_lag, headers, read_topic, referral_body  # noqa: F401 - tests import them from here

from pana_events import Envelope, to_kafka
from pana_events.events.registration import PersonRegistered, ReferralRegistered

#: Events per fault (the issue asks 10,000; CI runs a size that fits its budget).
FAULT_EVENTS = int(os.environ.get("PANA_FAULT_EVENTS", "300"))


def referral_records(person_id: str, *, tag: str, i: int) -> list[tuple[bytes, list[tuple[str, bytes]], bytes]]:
    """A PersonRegistered + ReferralRegistered pair, as registration would publish it."""
    now = datetime.now(timezone.utc)
    person = PersonRegistered(person_id=person_id, registration_number=f"KZR-F{tag}-{i}", given_name="Fault",
                              family_name=f"Flow{tag}{i}", sex="female" if i % 2 else "male", registered_at=now)
    referral = ReferralRegistered(referral_id=str(uuid.uuid4()), person_id=person_id, crossing_point="Khorgos",
                                  referred_at=now, registered_at=now, language="uig", intent="asylum")
    return [to_kafka(Envelope(source="/pana/registration", type=e.event_type, subject=person_id,
                              data=e.model_dump(mode="json"))) for e in (person, referral)]


@dataclass
class Feeder:
    """Sends `n` referrals over about `duration` seconds; `start()`, then `join()`."""

    bootstrap: str
    registration_url: str
    n: int
    duration: float
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    concurrency: int = 8
    give_up_after: float = 600.0
    person_ids: list[str] = field(default_factory=list)
    sent: int = 0
    http_retries: int = 0
    produce_retries: int = 0
    redeliveries: int = 0
    errors: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Feeder":
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name=f"feeder-{self.tag}", daemon=True)
        self._thread.start()
        return self

    def wait_sent(self, count: int, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 300 + self.n / 10)
        while self.sent < count:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError(f"feeder sent {self.sent} of {count} wanted; errors {self.errors[:3]}")
            time.sleep(0.1)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout if timeout is not None else self.give_up_after + self.duration)
        assert not self._thread.is_alive(), f"feeder still running after the fault; sent {self.sent}/{self.n}"
        assert not self.errors, f"feeder gave up: {self.errors[:5]}"
        assert len(self.person_ids) == self.n == len(set(self.person_ids)), "a referral was not accepted"

    def _count(self, person_id: str) -> None:
        with self._lock:
            self.person_ids.append(person_id)
            self.sent += 1

    async def _run(self) -> None:
        interval = self.duration / max(self.n, 1)
        t0 = time.monotonic()
        http_items = [i for i in range(self.n) if i % 2 == 0]
        kafka_items = [i for i in range(self.n) if i % 2 == 1]
        await asyncio.gather(self._run_http(http_items, t0, interval), self._run_kafka(kafka_items, t0, interval))

    async def _until(self, when: float) -> None:
        delay = when - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    # -- through registration's API ---------------------------------------------
    async def _run_http(self, items: list[int], t0: float, interval: float) -> None:
        gate = asyncio.Semaphore(self.concurrency)
        url = self.registration_url + "/api/v1/border-referrals"
        async with httpx.AsyncClient(timeout=30) as client:

            async def one(i: int) -> None:
                await self._until(t0 + i * interval)
                async with gate:
                    key = f"fault-{self.tag}-{i:06d}"
                    body = referral_body(i, family_name=f"Fault{self.tag}{i}")
                    deadline = time.monotonic() + self.give_up_after
                    attempt = 0
                    while True:
                        try:
                            r = await client.post(url, json=body, headers=headers("border-officer", purpose=None,
                                                                                 idempotency_key=key))
                            if r.status_code == 201:
                                self._count(r.json()["person_id"])
                                return
                            last = f"{r.status_code} {r.text[:200]}"
                            if r.status_code < 500 and r.status_code != 429 and r.status_code != 409:
                                self.errors.append(f"POST {i}: {last}")
                                return
                        except httpx.HTTPError as exc:
                            last = repr(exc)
                        if time.monotonic() > deadline:
                            self.errors.append(f"POST {i} never accepted: {last}")
                            return
                        self.http_retries += 1
                        attempt += 1
                        await asyncio.sleep(min(2.0, 0.2 * attempt))

            await asyncio.gather(*(one(i) for i in items))

    # -- straight into registration.events ---------------------------------------
    async def _run_kafka(self, items: list[int], t0: float, interval: float) -> None:
        from aiokafka import AIOKafkaProducer

        producer: AIOKafkaProducer | None = None

        async def connect() -> AIOKafkaProducer:
            while True:
                p = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=False,
                                     request_timeout_ms=15000, retry_backoff_ms=300)
                try:
                    await p.start()
                    return p
                except Exception:
                    await p.stop()
                    self.produce_retries += 1
                    await asyncio.sleep(1.0)

        async def send(records) -> None:
            nonlocal producer
            deadline = time.monotonic() + self.give_up_after
            while True:
                try:
                    if producer is None:
                        producer = await connect()
                    futures = [await producer.send("registration.events", v, key=k, headers=h) for k, h, v in records]
                    await asyncio.gather(*futures)
                    return
                except Exception as exc:  # broker away: same records, same ids, again
                    if time.monotonic() > deadline:
                        raise AssertionError(f"could not produce for {self.give_up_after}s: {exc!r}")
                    self.produce_retries += 1
                    try:
                        await producer.stop()
                    except Exception:
                        pass
                    producer = None
                    await asyncio.sleep(1.0)

        try:
            for i in items:
                await self._until(t0 + i * interval)
                person_id = str(uuid.uuid4())
                records = referral_records(person_id, tag=self.tag, i=i)
                await send(records)
                if i % 20 == 1:  # every tenth of these: the referral once more, same event id
                    await send(records[1:])
                    self.redeliveries += 1
                self._count(person_id)
        except Exception as exc:
            self.errors.append(f"produce: {exc!r}")
        finally:
            if producer is not None:
                await producer.stop()


# -- effects ----------------------------------------------------------------------


def applications_by_person(rsd_url: str) -> Counter:
    """Every rsd application, counted per person (all pages)."""
    found: Counter = Counter()
    cursor = None
    with httpx.Client(timeout=60) as client:
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            r = client.get(rsd_url + "/api/v1/applications", params=params, headers=headers("eligibility-officer"))
            r.raise_for_status()
            page = r.json()
            found.update(item["person_id"] for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                return found


def lodged_event_ids_by_person(bootstrap: str, person_ids: set[str]) -> dict[str, set[str]]:
    """Distinct ids of `rsd.application.lodged.v1` on rsd.events, per person of ours."""
    out: dict[str, set[str]] = {}
    for record in read_topic(bootstrap, "rsd.events", timeout=120):
        hdrs = dict(record.headers or ())
        if hdrs.get("ce_type") != b"rsd.application.lodged.v1":
            continue
        try:  # the poison tests put broken copies of this type on rsd.events too
            person_id = json.loads(record.value)["person_id"]
        except (TypeError, ValueError, KeyError):
            continue
        if person_id in person_ids:
            out.setdefault(person_id, set()).add(hdrs["ce_id"].decode())
    return out


def lodged_events_once_published(bootstrap: str, persons: set[str], *, timeout: float) -> dict[str, set[str]]:
    """rsd's lodged event ids by person, once every person has one or the timeout has passed.

    rsd publishes a lodged event from its outbox after storing the application, so a relay slower
    than the count would read as a loss. On timeout this returns what is there: the counts that
    follow say which are missing, which tells more than a timeout would.
    """
    lodged: dict[str, set[str]] = {}

    def every_person_lodged() -> bool:
        lodged.clear()
        lodged.update(lodged_event_ids_by_person(bootstrap, persons))
        return persons <= lodged.keys()

    try:
        wait_for(every_person_lodged, timeout=timeout, interval=2, what="rsd's lodged events")
    except AssertionError:
        pass
    return lodged


@dataclass
class Result:
    name: str
    sent: int
    effects: int
    duplicates: int
    losses: int
    recover_s: float
    notes: str = ""

    def line(self) -> str:
        return (f"[fault] {self.name}: sent={self.sent} effects={self.effects} duplicates={self.duplicates} "
                f"losses={self.losses} recover={self.recover_s:.1f}s{(' ' + self.notes) if self.notes else ''}")


def settle_and_count(stack, feeder: Feeder, *, name: str, repaired_at: float, baseline: Counter,
                     timeout: float | None = None, notes: str = "") -> Result:
    """Wait until every referral has its application and rsd has nothing left to read; count the effects.

    `recover` is the time from the repair (broker, database or process back) to the
    moment every effect is visible: it includes draining what piled up meanwhile.
    """
    expected = set(feeder.person_ids)
    rsd = stack.url("rsd")
    timeout = timeout or 300 + feeder.n / 5
    deadline = time.monotonic() + timeout
    counts: Counter = Counter()
    while time.monotonic() < deadline:
        # Paging every application is heavy at 10,000+ of them and would slow the very
        # drain we time: count only once rsd has read all there is (its lag is cheap to ask).
        try:
            caught_up = group_lag(stack.kafka_bootstrap, "rsd", ["registration.events"]) == 0
        except Exception:  # noqa: BLE001 - the broker may still be electing
            caught_up = False
        if caught_up:
            try:
                counts = applications_by_person(rsd)
            except httpx.HTTPError:
                counts = Counter()
            if all(counts[p] for p in expected):
                break
        time.sleep(2)
    recover_s = time.monotonic() - repaired_at
    # Nothing left for rsd to read, so no redelivery could still add a duplicate.
    lag_deadline = time.monotonic() + 120
    while time.monotonic() < lag_deadline:
        try:
            if group_lag(stack.kafka_bootstrap, "rsd", ["registration.events"]) == 0:
                break
        except Exception:  # noqa: BLE001 - the broker may still be electing
            pass
        time.sleep(2)
    lodged = lodged_events_once_published(stack.kafka_bootstrap, expected, timeout=120 + feeder.n / 10)
    counts = applications_by_person(rsd)
    mine = {p: counts[p] for p in expected}
    # Applications for persons we do not know of (a referral registered twice) count as duplicates too.
    new_total = sum(counts.values()) - sum(baseline.values())
    strangers = new_total - sum(mine.values())
    duplicates = sum(c - 1 for c in mine.values() if c > 1) + max(strangers, 0) \
        + sum(len(ids) - 1 for ids in lodged.values() if len(ids) > 1)
    losses = sum(1 for p in expected if mine[p] == 0 or p not in lodged)
    effects = sum(1 for c in mine.values() if c >= 1)
    extra = (f"http_retries={feeder.http_retries} produce_retries={feeder.produce_retries} "
             f"redelivered={feeder.redeliveries} lodged_events={sum(len(v) for v in lodged.values())}")
    result = Result(name, feeder.n, effects, duplicates, losses, recover_s, (notes + " " + extra).strip())
    print("\n" + result.line(), flush=True)
    return result
