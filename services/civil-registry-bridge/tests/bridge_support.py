"""Helpers for the bridge's service tests: the simulator in process, fast settings, events."""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from contextlib import asynccontextmanager
from datetime import date, timedelta

import httpx
from civil_registry_simulator import FaultConfig, SimConfig, create_app as create_simulator

from pana_events.events import registration as reg
from pana_dev.testing import service_harness

from civil_registry_bridge.app import create
from civil_registry_bridge.settings import BridgeSettings

# Short delays so resilience tests run in seconds (an outage of ~2-3 s stands for "a minute").
FAST = dict(
    worker_poll_interval_s=0.05, retry_base_delay_s=0.05, retry_max_delay_s=0.4, status_poll_interval_s=0.1,
    registry_retries=0, registry_retry_base_s=0.01, registry_timeout_s=2.0, breaker_failure_threshold=3,
    breaker_reset_timeout_s=0.3, callback_enabled=False, reconciler_interval_s=3600, max_attempts=1000,
)


class HeldResponses(httpx.AsyncBaseTransport):
    """The registry handles matching calls at once, but their responses reach the bridge only
    when the test sets `release`: the test, not the scheduler, decides what happens first."""

    def __init__(self, inner: httpx.AsyncBaseTransport, method: str, path: str):
        self.inner, self.method, self.path = inner, method, path
        self.release = asyncio.Event()
        self.held = 0  # responses waiting for `release`
        self.delivered = 0  # responses handed to the bridge after `release`

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == self.method and request.url.path == self.path:
            self.held += 1
            try:
                await self.release.wait()
            finally:
                self.held -= 1
            self.delivered += 1
        return response


class Simulator:
    def __init__(self, **faults):
        defaults = dict(registration_delay_s=0.05)
        defaults.update(faults)
        self.app = create_simulator(SimConfig(records=40, faults=FaultConfig(**defaults)))
        self.transport: httpx.AsyncBaseTransport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=self.transport, base_url="http://registry.test")

    async def faults(self, **knobs) -> None:
        r = await self.client.put("/sim/v1/faults", json=knobs)
        assert r.status_code == 200, r.text

    async def stats(self) -> dict:
        return (await self.client.get("/sim/v1/stats")).json()

    def hold_responses(self, method: str, path: str) -> HeldResponses:
        """Hold the registry's responses to these calls (before the bridge is started)."""
        held = HeldResponses(self.transport, method, path)
        self.transport = held
        return held

    def any_record(self):
        return next(iter(self.app.state.sim.store.records.values()))


@asynccontextmanager
async def bridge(tmp_path, sim: Simulator, **overrides):
    settings = {**FAST, "registry_url": "http://registry.test", **overrides}
    async with service_harness(functools.partial(create, registry_transport=sim.transport), BridgeSettings,
                               tmp_path, **settings) as harness:
        yield harness


def birth_recorded(*, child_person_id: str | None = None, born: date | None = None, tag: str | None = None,
                   medical: str | None = "auto", in_kz: bool = True, mother_status: str = "stateless",
                   **overrides) -> reg.BirthRecorded:
    tag = tag or uuid.uuid4().hex[:8]
    values = dict(
        child_person_id=child_person_id or str(uuid.uuid4()), given_name="Aruzhan", family_name=f"Sultanova{tag}",
        birth_date=born or date.today() - timedelta(days=2), sex="female", born_in_kazakhstan=in_kz,
        place_of_birth="Almaty", medical_birth_certificate_number=f"MBC-{tag}" if medical == "auto" else medical,
        mother_given_name="Gulnara", mother_family_name=f"Sultanova{tag}", mother_birth_date=date(1994, 2, 3),
        mother_status=mother_status,
    )
    values.update(overrides)
    return reg.BirthRecorded(**values)


def from_record(record, *, child_person_id: str | None = None) -> reg.BirthRecorded:
    """The event registration would send for a child the registry already knows."""
    c, m = record.child, record.mother
    return reg.BirthRecorded(
        child_person_id=child_person_id or str(uuid.uuid4()), given_name=c.given_name, family_name=c.surname,
        birth_date=c.birth_date, sex=c.sex, born_in_kazakhstan=True, place_of_birth=c.place_of_birth.locality,
        medical_birth_certificate_number=record.medical_birth_certificate_number,
        mother_given_name=m.given_name, mother_family_name=m.surname, mother_birth_date=m.birth_date,
    )


async def items(harness, child_person_id: str) -> list[dict]:
    r = await harness.client.get("/api/v1/birth-verifications", params={"child_person_id": child_person_id},
                                 headers=harness.headers("civil-registrar"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(interval)


async def settled(harness, child_person_id: str, *states: str, timeout: float = 10.0) -> dict:
    states = states or ("verified", "registered", "rejected", "quarantined")

    async def check():
        found = await items(harness, child_person_id)
        return found[0] if found and found[0]["status"] in states else None

    return await wait_until(check, timeout, what=f"{child_person_id} to be {'/'.join(states)}")
