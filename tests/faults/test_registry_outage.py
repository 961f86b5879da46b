"""The civil registry down while births arrive: all complete after it returns, none twice (issue 6).

Births are produced into registration.events as registration would send them; the
bridge stores each request before it calls the registry, so an outage only delays
them. `PANA_FAULT_REGISTRY_REQUESTS` (default 500) and `PANA_FAULT_REGISTRY_DOWN_S`
(default 60) are the issue's figures.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import date, timedelta

import httpx
from support import HTTP_TIMEOUT, headers, produce, wait_for

from pana_events import Envelope, to_kafka
from pana_events.events.registration import BirthRecorded

REQUESTS = int(os.environ.get("PANA_FAULT_REGISTRY_REQUESTS", "500"))
DOWN_S = float(os.environ.get("PANA_FAULT_REGISTRY_DOWN_S", "60"))


def _birth(tag: str, i: int) -> BirthRecorded:
    return BirthRecorded(
        child_person_id=str(uuid.uuid4()), given_name="Aruzhan", family_name=f"Outage{tag}{i}",
        birth_date=date.today() - timedelta(days=1), sex="female", born_in_kazakhstan=True, place_of_birth="Almaty",
        medical_birth_certificate_number=f"MBC-{tag}-{i:05d}", mother_given_name="Gulnara",
        mother_family_name=f"Outage{tag}{i}", mother_birth_date=date(1994, 2, 3), mother_status="stateless",
    )


def test_registry_outage_queues_births_that_all_register_once(fault_stack):
    stack = fault_stack
    sim = stack.url("civil-registry-simulator")
    bridge = stack.url("civil-registry-bridge")
    before = httpx.get(sim + "/sim/v1/stats", timeout=HTTP_TIMEOUT).json()["registrations"]["created"]
    httpx.put(sim + "/sim/v1/faults", json={"outage": True}, timeout=HTTP_TIMEOUT).raise_for_status()
    tag = uuid.uuid4().hex[:6]
    births = [_birth(tag, i) for i in range(REQUESTS)]
    went_down = time.monotonic()
    try:
        produce(stack.kafka_bootstrap, "registration.events", [
            to_kafka(Envelope(source="/pana/registration", type=b.event_type, subject=b.child_person_id,
                              data=b.model_dump(mode="json"))) for b in births])
        # The outage's length, a window on purpose: the bridge must hold the births meanwhile.
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - went_down)))
        during = httpx.get(sim + "/sim/v1/stats", timeout=HTTP_TIMEOUT).json()["registrations"]["created"]
        assert during == before, "the registry registered births while it was down"
    finally:
        httpx.put(sim + "/sim/v1/faults", json={"outage": False}, timeout=HTTP_TIMEOUT).raise_for_status()
    back_at = time.monotonic()
    officer = headers("civil-registrar")

    def all_registered():
        done = 0
        for birth in births:
            r = httpx.get(bridge + "/api/v1/birth-verifications", params={"child_person_id": birth.child_person_id},
                          headers=officer, timeout=30)
            items = r.json()["items"]
            assert len(items) <= 1, f"two requests for one birth: {items}"
            done += bool(items) and items[0]["status"] == "registered"
        return done == len(births)

    wait_for(all_registered, timeout=900, interval=5.0, what=f"{REQUESTS} births registered after the outage")
    created = httpx.get(sim + "/sim/v1/stats", timeout=HTTP_TIMEOUT).json()["registrations"]["created"] - before
    print(f"\n[fault] registry outage {DOWN_S:.0f}s: sent={REQUESTS} effects={created} duplicates={created - REQUESTS} "
          f"losses={REQUESTS - min(created, REQUESTS)} recover={time.monotonic() - back_at:.1f}s")
    assert created == REQUESTS, f"{created} registrations for {REQUESTS} births"
