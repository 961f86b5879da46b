"""Flow (a): a border referral becomes an asylum application, across services and a broker."""

from __future__ import annotations

import uuid
from datetime import date

import httpx
import pytest
from support import HTTP_TIMEOUT, headers, referral_body, wait_for

from pana_kit.domain import add_months

pytestmark = pytest.mark.e2e


def _applications(stack, person_id):
    r = httpx.get(stack.url("rsd") + "/api/v1/applications", params={"person_id": person_id},
                  headers=headers("eligibility-officer"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_referral_lodges_an_application_due_in_three_months(stack):
    key = str(uuid.uuid4())
    r = httpx.post(stack.url("registration") + "/api/v1/border-referrals", json=referral_body(1),
                   headers=headers("border-officer", purpose=None, idempotency_key=key), timeout=HTTP_TIMEOUT)
    assert r.status_code == 201, r.text
    person_id = r.json()["person_id"]
    registered_on = date.fromisoformat(r.json()["registered_at"][:10])

    [application] = wait_for(lambda: _applications(stack, person_id), timeout=90, what="application in rsd")
    assert application["status"] == "lodged"
    assert application["decision_due"] == add_months(registered_on, 3).isoformat()

    # The same Idempotency-Key replays the answer; nothing is registered twice.
    again = httpx.post(stack.url("registration") + "/api/v1/border-referrals", json=referral_body(1),
                       headers=headers("border-officer", purpose=None, idempotency_key=key), timeout=HTTP_TIMEOUT)
    assert again.status_code == 201 and again.json()["person_id"] == person_id


def test_bad_referrals_are_refused_and_nothing_is_stored(stack):
    url = stack.url("registration") + "/api/v1/border-referrals"
    h = headers("border-officer", purpose=None, idempotency_key=str(uuid.uuid4()))
    cases = [
        (referral_body(2, birth_date="2999-01-01"), "birth_date"),
        (referral_body(2, given_name="Az\u0000iz"), "given_name"),
        (referral_body(2, citizenship="afghanistan"), "citizenship"),
        (referral_body(2, unexpected="field"), "unexpected"),
        ({**referral_body(2), "sex": 7}, "sex"),
    ]
    for body, field in cases:
        r = httpx.post(url, json=body, headers=h, timeout=HTTP_TIMEOUT)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text
    r = httpx.post(url, content=b"{not json", headers={**h, "Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 422
    r = httpx.post(url, content=b"x" * 2_000_000, headers={**h, "Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 413
    # The key was never used for a stored answer: a valid body with it now creates exactly one person.
    ok = httpx.post(url, json=referral_body(2), headers=h, timeout=HTTP_TIMEOUT)
    assert ok.status_code == 201, ok.text


def test_every_service_is_ready_and_serves_its_docs_offline(stack):
    for name in ("registration", "rsd", "statelessness", "civil-registry-bridge"):
        base = stack.url(name)
        ready = wait_for(lambda: httpx.get(base + "/readyz", timeout=HTTP_TIMEOUT).status_code == 200, timeout=120,
                         what=f"{name} ready")
        assert ready
        docs = httpx.get(base + "/docs", timeout=HTTP_TIMEOUT)
        assert docs.status_code == 200 and "/_docs-static/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        assert httpx.get(base + "/_docs-static/swagger-ui-bundle.js", timeout=HTTP_TIMEOUT).status_code == 200
        assert httpx.get(base + "/asyncapi.json", timeout=HTTP_TIMEOUT).json()["asyncapi"] == "3.0.0"
        assert b"pana_http_requests_total" in httpx.get(base + "/metrics", timeout=HTTP_TIMEOUT).content
