"""Webhooks end to end on one service (rsd's app, in process, its webhook worker running) against a REAL receiver:
a separate process (`pana_dev.webhook_receiver`) that verifies each signature with the `standardwebhooks`
reference package. No sleeps: the tests wait on conditions (the subscription's status, the receiver's log)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pana_dev.testing import eventually, service_harness
from pana_dev.webhook_receiver import ReceiverProcess
from pana_events.events.rsd import DecisionIssued
from pana_kit.outbox import UnitOfWork
from rsd.app import create
from rsd.settings import RsdSettings

# Three quick retries, then 27 of 2 s: the test waits for 3 failures, then starts the receiver, which has a
# minute (on a loaded machine) before a delivery would be parked.
FAST = "0.05,0.05,0.05" + ",2" * 27


def receiver(tmp_path: Path) -> ReceiverProcess:
    return ReceiverProcess(tmp_path)


async def _emit(h, n: int, first: int = 0) -> list[str]:
    ids = []
    for i in range(first, first + n):
        async with UnitOfWork(h.app.state.db, "/pana/rsd", signal=h.app.state.signal) as uow:
            env = uow.emit(DecisionIssued(application_id=f"app-{i}", person_id=f"person-{i}",
                                          member_ids=[f"person-{i}"], outcome="recognised",
                                          decided_on=date(2026, 12, 1)), subject=f"person-{i}")
            ids.append(env.id)
    return ids


async def _subscribe(h, url: str, types=("rsd.decision.issued.v1",)) -> dict:
    r = await h.client.post("/api/v1/webhooks/subscriptions", headers=h.headers("integration-system", purpose=None),
                            json={"event_types": list(types), "url": url})
    assert r.status_code == 201, r.text
    return r.json()


async def _trusted(h, rec, path: str = "/hooks/rsd", **kwargs) -> dict:
    """A subscription of the receiver's `path`, whose signatures the receiver checks with the secret it was given."""
    sub = await _subscribe(h, rec.url(path), **kwargs)
    rec.trust(path, sub["secret"])
    return sub


async def _status(h, sid: str) -> dict:
    r = await h.client.get(f"/api/v1/webhooks/subscriptions/{sid}", headers=h.headers("integration-system",
                                                                                         purpose=None))
    assert r.status_code == 200, r.text
    return r.json()["status"]


def _check_signed_cloudevents(records: list[dict], ids: list[str]) -> None:
    assert all(r["verified"] for r in records), [r.get("error") for r in records]
    assert all(r["content_type"] == "application/cloudevents+json" for r in records)
    assert all(r["webhook_id"] == r["event"]["id"] for r in records)  # webhook-id: the event id, on every attempt
    firsts = list(dict.fromkeys(r["webhook_id"] for r in records))
    assert firsts == ids  # in order, each one
    event = records[0]["event"]
    assert event["specversion"] == "1.0" and event["type"] == "rsd.decision.issued.v1"
    assert event["source"] == "/pana/rsd" and event["datacontenttype"] == "application/json"
    assert set(event["data"]) == {"application_id", "person_id", "member_ids", "outcome", "decided_on",
                                  "notified_on", "appeal_until"}  # exactly what the event carries


# Every harness turns the per-principal read limit off: the tests poll a subscription's status every 20 ms
# (pana_dev.testing.eventually), faster than any client may read; the limit is not what they test.


async def test_a_receiver_down_for_a_while_gets_every_event_in_order_once_back(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0, run_webhooks=True, webhook_retry_schedule_s=FAST,
                               webhook_retry_jitter=0, webhook_poll_interval_ms=50) as h:
        with receiver(tmp_path) as rec:
            sub = await _trusted(h, rec)
            ids = await _emit(h, 5)  # the receiver is down: nothing listens on its port
            await eventually(lambda: _failed_at_least(h, sub["id"], 3), timeout=180, interval=0.1, what="3 failed attempts")
            assert rec.received() == []
            rec.up()
            status = await eventually(lambda: _all_delivered(h, sub["id"], 5), timeout=180, interval=0.1, what="all delivered")
            assert status["backlog"] == 0 and status["parked"] == 0 and status["last_success_at"]
            _check_signed_cloudevents(rec.received(), ids)
            # and the events after it, at once
            more = await _emit(h, 2, first=5)
            await eventually(lambda: _all_delivered(h, sub["id"], 7), timeout=180, interval=0.1, what="the next two")
            _check_signed_cloudevents(rec.received(), ids + more)


async def _failed_at_least(h, sid, n):
    status = await _status(h, sid)
    return status if status["failures"] >= n else None


async def _all_delivered(h, sid, n):
    status = await _status(h, sid)
    return status if status["delivered"] == n else None


async def _parked(h, sid, n):
    status = await _status(h, sid)
    return status if status["parked"] == n else None


async def test_parked_deliveries_are_replayed_one_or_all(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0, run_webhooks=True, webhook_retry_schedule_s="0.05,0.05",
                               webhook_retry_jitter=0, webhook_poll_interval_ms=50) as h:
        admin = h.headers("integration-system", purpose=None)
        with receiver(tmp_path) as rec:
            sub = await _trusted(h, rec)
            ids = await _emit(h, 3)
            status = await eventually(lambda: _parked(h, sub["id"], 3), timeout=180, interval=0.1, what="all parked")
            assert status["failures"] == 9 and status["backlog"] == 0  # 3 attempts each, then parked
            assert "connection error" in status["last_error"]
            r = await h.client.get(f"/api/v1/webhooks/subscriptions/{sub['id']}/deliveries",
                                   params={"status": "parked", "limit": 2}, headers=admin)
            page = r.json()
            assert [d["event_id"] for d in page["items"]] == ids[:2] and page["next_cursor"]
            assert all(d["attempts"] == 3 for d in page["items"])
            rec.up()
            one = page["items"][1]["id"]
            r = await h.client.post(f"/api/v1/webhooks/subscriptions/{sub['id']}/deliveries/{one}/replay",
                                    headers=admin)
            assert r.status_code == 202 and r.json() == {"replayed": 1}
            await eventually(lambda: _all_delivered(h, sub["id"], 1), timeout=180, interval=0.1, what="one replayed")
            assert [r["webhook_id"] for r in rec.received()] == [ids[1]]
            r = await h.client.post(f"/api/v1/webhooks/subscriptions/{sub['id']}/deliveries/{one}/replay",
                                    headers=admin)
            assert r.status_code == 409 and r.json()["rule"] == "replay_only_parked"
            r = await h.client.post(f"/api/v1/webhooks/subscriptions/{sub['id']}/replay", headers=admin)
            assert r.json() == {"replayed": 2}
            await eventually(lambda: _all_delivered(h, sub["id"], 3), timeout=180, interval=0.1, what="all replayed")
            records = rec.received()
            assert all(r["verified"] for r in records)
            assert [r["webhook_id"] for r in records] == [ids[1], ids[0], ids[2]]  # the rest in their order
            r = await h.client.get("/api/v1/audit", params={"action": "webhook.replay"},
                                   headers=h.headers("auditor", purpose=None))
            assert len(r.json()["items"]) == 2


async def test_a_subscriber_gets_only_its_types_and_only_what_its_scopes_allow(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0, run_webhooks=True, webhook_poll_interval_ms=50) as h:
        with receiver(tmp_path) as rec:
            rec.up()
            sub = await _trusted(h, rec, "/hooks/appeals", types=("rsd.appeal.lodged.v1",))
            await _emit(h, 2)  # decisions: not subscribed
            # A system whose token lacks rsd:read may not subscribe to rsd's events at all.
            no_read = h.headers("integration-system", purpose=None, scope="webhooks:manage registration:read")
            r = await h.client.post("/api/v1/webhooks/subscriptions", headers=no_read,
                                    json={"event_types": ["rsd.decision.issued.v1"], "url": rec.url("/x")})
            assert r.status_code == 403 and r.json()["rule"] == "event_type_not_permitted"
            # Unknown types (another service's) are a 422 naming them.
            r = await h.client.post("/api/v1/webhooks/subscriptions", headers=h.headers("integration-system",
                                                                                          purpose=None),
                                    json={"event_types": ["registration.person.registered.v1"], "url": rec.url("/x")})
            assert r.status_code == 422 and "registration.person.registered.v1" in r.json()["detail"]
            # A subscription is its client's own: another client sees 404.
            other = h.headers("integration-system", purpose=None, client_id="another-system")
            assert (await h.client.get(f"/api/v1/webhooks/subscriptions/{sub['id']}", headers=other)).status_code == 404
            r = await h.client.get("/api/v1/webhooks/subscriptions", headers=other)
            assert r.json()["items"] == []
            await h.app.state.webhooks.fan_out()
            status = await _status(h, sub["id"])
            assert status["backlog"] == 0 and status["delivered"] == 0 and rec.received() == []
            r = await h.client.delete(f"/api/v1/webhooks/subscriptions/{sub['id']}",
                                      headers=h.headers("integration-system", purpose=None))
            assert r.status_code == 204


async def test_nothing_is_pushed_before_its_transaction_commits(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0, webhook_poll_interval_ms=50) as h:
        worker = h.app.state.webhooks  # not running: driven step by step
        sub = await _subscribe(h, "http://127.0.0.1:9/never")
        await worker.fan_out()  # the first pass places the cursor
        with pytest.raises(RuntimeError):
            async with UnitOfWork(h.app.state.db, "/pana/rsd") as uow:
                uow.emit(DecisionIssued(application_id="a", person_id="p", member_ids=["p"], outcome="rejected",
                                        decided_on=date(2026, 12, 1)), subject="p")
                await uow.session.flush()  # the row is written, not committed
                assert await worker.fan_out() == 0  # the open transaction's row is invisible
                raise RuntimeError("rolled back")
        assert await worker.fan_out() == 0
        await _emit(h, 1)
        assert await worker.fan_out() == 1
        assert (await _status(h, sub["id"]))["backlog"] == 1


async def test_delivered_rows_are_purged_after_the_outbox_retention(tmp_path):
    from sqlalchemy import update

    from pana_kit.tables import WebhookDelivery

    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0) as h:
        worker = h.app.state.webhooks
        sub = await _subscribe(h, "http://127.0.0.1:9/never")
        await worker.fan_out()
        await _emit(h, 2)
        await worker.fan_out()
        long_ago = datetime.now(timezone.utc) - timedelta(days=31)
        async with h.app.state.db.transaction() as session:
            first = (await h.client.get(f"/api/v1/webhooks/subscriptions/{sub['id']}/deliveries",
                                        headers=h.headers("integration-system", purpose=None))).json()["items"][0]
            await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == first["id"])
                                  .values(status="delivered", delivered_at=long_ago))
        assert await worker.purge_delivered() == 1
        status = await _status(h, sub["id"])
        assert status["delivered"] == 0 and status["backlog"] == 1  # the pending one stays


async def test_a_delivery_claimed_by_a_process_that_died_is_sent_once_its_lease_ends(tmp_path):
    """Kill between claim and outcome: the row says pending with a lease; after the lease another worker (the
    restarted process) sends it, with the same webhook-id. Nothing acknowledged in the database is lost."""
    from sqlalchemy import update

    from pana_kit.tables import WebhookDelivery
    from pana_kit.webhooks import WebhookWorker

    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0, webhook_retry_jitter=0) as h:
        with receiver(tmp_path) as rec:
            rec.up()
            worker = h.app.state.webhooks
            sub = await _trusted(h, rec)
            await worker.fan_out()
            [event_id] = await _emit(h, 1)
            await worker.fan_out()
            [head] = await worker._heads()
            assert await worker._claim(head)  # ... and the process dies here, before posting
            restarted = WebhookWorker(h.app.state.db, h.app.state.settings, "rsd", h.app.state.keyring)
            try:
                assert await restarted.deliver_due() == 0  # leased: not sent twice at once
                async with h.app.state.db.transaction() as session:  # the lease runs out
                    await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == head.id)
                                          .values(lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
                assert await restarted.deliver_due() == 1
            finally:
                await restarted.stop()
            status = await _status(h, sub["id"])
            assert status["delivered"] == 1 and status["backlog"] == 0
            [got] = rec.received()
            assert got["verified"] and got["webhook_id"] == event_id


async def test_metrics_show_what_waits(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0) as h:
        await _subscribe(h, "http://127.0.0.1:9/never")
        await h.app.state.webhooks.fan_out()
        await _emit(h, 2)
        await h.app.state.webhooks.fan_out()
        text = (await h.client.get("/metrics")).text
        assert 'pana_webhook_pending{service="rsd"} 2.0' in text
        assert 'pana_webhook_parked{service="rsd"} 0.0' in text


async def test_events_committed_before_the_workers_first_pass_are_not_skipped(tmp_path):
    # The worker's first pass sets its cursor; a subscription and its first events can commit before that pass
    # (here: the worker does not run until called). They are fanned out all the same; older events are not.
    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0) as h:
        past = await _emit(h, 2)
        sub = await _subscribe(h, "http://127.0.0.1:9/hooks/rsd")
        ids = await _emit(h, 3, first=2)
        worker = h.app.state.webhooks
        assert await worker.fan_out() == 0  # the first pass only places the cursor
        assert await worker.fan_out() == 3
        r = await h.client.get(f"/api/v1/webhooks/subscriptions/{sub['id']}/deliveries",
                               headers=h.headers("integration-system", purpose=None))
        assert [d["event_id"] for d in r.json()["items"]] == ids and not set(past) & set(ids)


async def test_two_workers_passing_at_once_send_each_event_once_in_order(tmp_path, url):
    """Runs are claimed in one statement that takes only unleased rows: of two instances passing together, each
    delivery goes out once, and per subscription in order (a run is one instance's, posted one after another).
    On SQLite and PostgreSQL (the claim is an UPDATE ... RETURNING; the runs a UNION ALL of limited ranges)."""
    from pana_kit.webhooks import WebhookWorker

    async with service_harness(create, RsdSettings, tmp_path, database_url=url, read_rate_per_minute=0) as h:
        with receiver(tmp_path) as rec:
            rec.up()
            worker = h.app.state.webhooks
            sub = await _trusted(h, rec)
            await worker.fan_out()
            ids = await _emit(h, 12)
            await worker.fan_out()
            other = WebhookWorker(h.app.state.db, h.app.state.settings, "rsd", h.app.state.keyring)
            try:
                sent = 0
                while sent < 12:
                    done = await asyncio.gather(worker.deliver_due(), other.deliver_due())
                    assert sum(done) > 0
                    sent += sum(done)
            finally:
                await other.stop()
            assert sent == 12
            records = rec.received()
            assert [r["webhook_id"] for r in records] == ids  # each once, in order
            assert (await _status(h, sub["id"]))["delivered"] == 12


async def test_the_example_world_holds_a_parked_delivery_the_document_names(tmp_path):
    """Dev mode's example world (pana_kit.sandbox): the documented delivery was parked by the worker's own attempt
    against the unreachable callback; "Try it out" replays it (202, 1), and pressed again answers 202 with 0 (it
    is queued already), never 409."""
    from pana_kit.sandbox import PARKED_DELIVERY, SANDBOX_CALLBACK, SandboxClient, _webhook_id

    async with service_harness(create, RsdSettings, tmp_path, read_rate_per_minute=0, sandbox_examples=True) as h:
        operation = h.app.openapi()["paths"][
            "/api/v1/webhooks/subscriptions/{subscription_id}/deliveries/{delivery_id}/replay"]["post"]
        documented = {p["name"]: p["example"] for p in operation["parameters"]}
        assert documented == {"subscription_id": _webhook_id("parked"), "delivery_id": PARKED_DELIVERY}
        client = SandboxClient(h.app)
        try:
            base = f"/api/v1/webhooks/subscriptions/{documented['subscription_id']}"
            r = await client.call("GET", f"{base}/deliveries", params={"status": "parked"})
            [parked] = r.json()["items"]
            assert parked["id"] == PARKED_DELIVERY and parked["attempts"] == 1
            assert parked["last_error"].startswith("connection error") and "last_status" not in parked  # no answer
            assert (await client.call("GET", f"{base}")).json()["url"] == SANDBOX_CALLBACK
            replay = f"{base}/deliveries/{PARKED_DELIVERY}/replay"
            assert (await client.call("POST", replay)).json() == {"replayed": 1}
            for _ in range(2):
                r = await client.call("POST", replay)
                assert r.status_code == 202 and r.json() == {"replayed": 0}
        finally:
            await client.aclose()
