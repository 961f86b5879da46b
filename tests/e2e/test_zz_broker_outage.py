"""Apache Kafka stopped while referrals are posted: every POST succeeds, nothing is lost or doubled.

Named to run last: it stops and restarts the broker of the primary stack.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from support import headers, referral_body, wait_for

pytestmark = pytest.mark.e2e

REFERRALS = 200


def test_referrals_posted_while_kafka_is_down_all_become_applications_once(primary_stack):
    stack = primary_stack
    if stack.config[0] != "apache":
        pytest.skip("the outage test stops Apache Kafka; the embedded broker keeps nothing across a restart")
    kafka = stack.infra[0]
    kafka.stop()
    url = stack.url("registration") + "/api/v1/border-referrals"
    tag = uuid.uuid4().hex[:6]

    def post(i: int) -> str:
        r = httpx.post(url, json=referral_body(i, family_name=f"Outage{tag}{i}"),
                       headers=headers("border-officer", purpose=None, idempotency_key=f"outage-{tag}-{i:04d}"), timeout=30)
        assert r.status_code == 201, r.text
        return r.json()["person_id"]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        person_ids = list(pool.map(post, range(REFERRALS)))
    posting_s = time.monotonic() - started
    assert len(set(person_ids)) == REFERRALS

    kafka.start()
    recovered_from = time.monotonic()
    rsd = stack.url("rsd") + "/api/v1/applications"

    def all_applications():
        found: dict[str, int] = {}
        cursor = None
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = httpx.get(rsd, params=params, headers=headers("eligibility-officer"), timeout=30).json()
            for item in page["items"]:
                found[item["person_id"]] = found.get(item["person_id"], 0) + 1
            cursor = page.get("next_cursor")
            if not cursor:
                return found

    def complete():
        found = all_applications()
        return found if all(p in found for p in person_ids) else None

    found = wait_for(complete, timeout=600, interval=1.0, what=f"{REFERRALS} applications after Kafka returned")
    print(f"\n[outage] {REFERRALS} POSTs with Kafka down took {posting_s:.1f}s; all applications visible "
          f"{time.monotonic() - recovered_from:.1f}s after Kafka restarted")
    assert all(found[p] == 1 for p in person_ids), "an application was created twice"
