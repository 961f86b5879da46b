"""Issue 17's "done when": a webhook subscriber registered on every service receives every event of a
border-referral flow, signed (checked by the receiver with the `standardwebhooks` reference package), as
CloudEvents, each from the service that published it. The flow's events are those on the topics carrying its
correlation id; the subscriber must have received exactly those (each at least once), and nothing unverified."""

from __future__ import annotations

import uuid

import httpx
import pytest
from support import HTTP_TIMEOUT, headers, read_topic, referral_body, wait_for

from pana_dev.webhook_receiver import ReceiverProcess
from pana_events.topics import TOPICS

pytestmark = pytest.mark.e2e

SYSTEM = dict(purpose=None, client_id=f"journey-{uuid.uuid4().hex[:8]}")


def _subscribe_everywhere(stack, receiver: ReceiverProcess) -> None:
    for topic in TOPICS:
        base = stack.url(topic.producer)
        r = httpx.get(base + "/api/v1/webhooks/event-types", headers=headers("integration-system", **SYSTEM),
                      timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.text
        types = [t["type"] for t in r.json()["items"]]
        path = f"/hooks/{topic.producer}"
        r = httpx.post(base + "/api/v1/webhooks/subscriptions", json={"event_types": types, "url": receiver.url(path)},
                       headers=headers("integration-system", **SYSTEM), timeout=HTTP_TIMEOUT)
        assert r.status_code == 201, r.text
        receiver.trust(path, r.json()["secret"])


def _flow_on_the_bus(stack, correlation: str) -> dict[str, str]:
    """event id -> producer, of every event of the flow on the topics."""
    out = {}
    for topic in TOPICS:
        for record in read_topic(stack.kafka_bootstrap, topic.name):
            attrs = {k: v.decode() for k, v in record.headers or ()}
            if attrs.get("ce_correlationid") == correlation:
                out[attrs["ce_id"]] = topic.producer
    return out


def test_a_subscriber_on_every_service_receives_every_event_of_a_border_referral(primary_stack, tmp_path):
    stack = primary_stack
    with ReceiverProcess(tmp_path) as receiver:
        receiver.up()
        _subscribe_everywhere(stack, receiver)
        r = httpx.post(stack.url("registration") + "/api/v1/border-referrals", json=referral_body(uuid.uuid4().int % 97),
                       headers=headers("border-officer", purpose=None, idempotency_key=str(uuid.uuid4())),
                       timeout=HTTP_TIMEOUT)
        assert r.status_code == 201, r.text
        person_id = r.json()["person_id"]

        def referral():
            return next((rec["event"] for rec in receiver.received()
                         if rec["event"] and rec["event"]["type"] == "registration.referral.registered.v1"
                         and rec["event"]["subject"] == person_id), None)

        first = wait_for(referral, timeout=120, what="the referral pushed by registration")
        correlation = first.get("correlationid") or first["id"]

        def complete():
            mine = [rec for rec in receiver.received() if rec["event"] and
                    (rec["event"].get("correlationid") or rec["event"]["id"]) == correlation]
            on_bus = _flow_on_the_bus(stack, correlation)
            got = {rec["webhook_id"]: rec["path"] for rec in mine}
            types = {rec["event"]["type"] for rec in mine}
            if "rsd.application.lodged.v1" in types and set(got) == set(on_bus):
                return mine, on_bus
            return None

        mine, on_bus = wait_for(complete, timeout=180, what="every event of the flow pushed")
        assert all(rec["verified"] for rec in receiver.received())  # nothing unsigned, nothing forged
        for rec in mine:
            assert rec["content_type"] == "application/cloudevents+json"
            assert rec["webhook_id"] == rec["event"]["id"] and rec["event"]["specversion"] == "1.0"
            assert rec["path"] == f"/hooks/{on_bus[rec['webhook_id']]}"  # from the service that published it
        producers = set(on_bus.values())
        assert {"registration", "rsd"} <= producers, producers
