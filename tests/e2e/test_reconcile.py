"""Reconciliation on the running system: producers' outboxes against consumers' inboxes.

A border referral goes through; then rsd loses the person's registration event (its inbox record and
its effect are deleted, as when a broker forgot an acknowledged event). `pana reconcile` names exactly
that event for (registration, registration.events, rsd); `--repair` re-publishes it once, rsd handles
it again, the other consumers ignore their copy, and nothing is doubled.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import delete, select
from support import HTTP_TIMEOUT, headers, referral_body, wait_for

from pana_kit import delivery
from pana_kit.db import Database
from pana_kit.roles import SERVICES
from pana_kit.tables import InboxMessage, OutboxMessage

pytestmark = pytest.mark.e2e


def _run(stack, work):
    """`work(databases)` against every service's database (as the services themselves reach them)."""

    async def go():
        dbs = {s: Database(stack.database_url(s)) for s in SERVICES}
        try:
            return await work(dbs)
        finally:
            for db in dbs.values():
                await db.dispose()

    return asyncio.run(go())


def _reconcile(stack, since, **kw):
    return _run(stack, lambda dbs: delivery.reconcile(dbs, since=since, settle=timedelta(0), **kw))


def _applications(stack, person_id):
    r = httpx.get(stack.url("rsd") + "/api/v1/applications", params={"person_id": person_id},
                  headers=headers("eligibility-officer"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_lost_event_is_found_and_re_published_once(stack):
    from rsd.store.tables import ApplicantRow

    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    r = httpx.post(stack.url("registration") + "/api/v1/border-referrals", json=referral_body(41),
                   headers=headers("border-officer", purpose=None, idempotency_key=str(uuid.uuid4())), timeout=HTTP_TIMEOUT)
    assert r.status_code == 201, r.text
    person_id = r.json()["person_id"]
    wait_for(lambda: _applications(stack, person_id), timeout=90, what="application in rsd")
    # Everything produced since (rsd's lodging too) reaches every consumer: nothing missing.
    wait_for(lambda: _reconcile(stack, since).missing == 0, timeout=120, what="every consumer has every event")

    async def lose(dbs) -> str:
        async with dbs["registration"].session() as session:
            event_id = (await session.execute(select(OutboxMessage.event_id).where(
                OutboxMessage.key == person_id, OutboxMessage.event_type == "registration.person.registered.v1"))).scalar_one()
        async with dbs["rsd"].transaction() as session:
            await session.execute(delete(InboxMessage).where(InboxMessage.consumer_group == "rsd",
                                                             InboxMessage.event_id == event_id))
            await session.execute(delete(ApplicantRow).where(ApplicantRow.person_id == person_id))
        return event_id

    lost = _run(stack, lose)
    found = _reconcile(stack, since)
    # (Only the lost event is asserted on: a background job's event may be in flight at this moment.)
    missing_by = {(r.producer, r.topic, r.consumer): r.missing for r in found.reports}
    assert lost in missing_by[("registration", "registration.events", "rsd")]
    assert [k for k, ids in missing_by.items() if lost in ids] == [("registration", "registration.events", "rsd")]

    assert _reconcile(stack, since, repair=True).republished >= 1

    async def applicant_back(dbs) -> bool:
        async with dbs["rsd"].session() as session:
            # (the id only: the applicant's fields are sealed, and this connection holds no keyring)
            return (await session.execute(select(ApplicantRow.person_id).where(
                ApplicantRow.person_id == person_id))).first() is not None

    wait_for(lambda: _reconcile(stack, since).missing == 0 and _run(stack, applicant_back), timeout=120,
             what="the lost event handled again by rsd")
    assert len(_applications(stack, person_id)) == 1  # the other consumers' copies changed nothing

    async def inbox_rows(dbs) -> dict[str, int]:
        counts = {}
        for service in ("rsd", "statelessness", "civil-registry-bridge"):
            async with dbs[service].session() as session:
                counts[service] = len((await session.execute(select(InboxMessage).where(
                    InboxMessage.event_id == lost))).all())
        return counts

    assert _run(stack, inbox_rows) == {"rsd": 1, "statelessness": 1, "civil-registry-bridge": 1}
