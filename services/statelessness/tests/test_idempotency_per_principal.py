"""Idempotency-Key (issue #15): a key belongs to the caller; a concurrent reuse is 409, never 500; keys expire."""

from datetime import datetime, timedelta, timezone

import pytest
from pana_dev.testing import service_harness
from pana_kit.idempotency import purge_expired
from pana_kit.tables import IdempotencyRecord
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from statelessness.app import create
from statelessness.settings import StatelessnessSettings


@pytest.fixture
async def svc(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        yield harness


def officer(svc, subject):
    return {**svc.headers("statelessness-officer", subject=subject), "Idempotency-Key": "shared-key-0001"}


async def test_two_officers_with_one_key_get_their_own_answers(svc):
    a = await svc.client.post("/api/v1/cases", json={"person_id": "p-a"}, headers=officer(svc, "officer-a"))
    b = await svc.client.post("/api/v1/cases", json={"person_id": "p-b"}, headers=officer(svc, "officer-b"))
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    # On main officer-b got 422 (key reused with another body); with the same body, officer-a's stored case.
    assert b.json()["person_id"] == "p-b" and b.json()["id"] != a.json()["id"]
    assert "Idempotent-Replayed" not in b.headers
    same = await svc.client.post("/api/v1/cases", json={"person_id": "p-c"}, headers=officer(svc, "officer-c"))
    again = await svc.client.post("/api/v1/cases", json={"person_id": "p-c"}, headers=officer(svc, "officer-d"))
    assert same.status_code == 201 and again.status_code == 409 and again.json()["rule"] == "one_case_at_a_time"
    replay = await svc.client.post("/api/v1/cases", json={"person_id": "p-a"}, headers=officer(svc, "officer-a"))
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json()["id"] == a.json()["id"]


async def test_a_concurrent_request_with_the_same_key_is_409_not_500(svc, monkeypatch):
    first = await svc.client.post("/api/v1/cases", json={"person_id": "p-a"}, headers=officer(svc, "officer-a"))
    assert first.status_code == 201
    # The race, made deterministic: the second request looks the key up before the first has committed
    # (it sees nothing), then tries to store it after the first committed.
    real_get = AsyncSession.get

    async def get_before_commit(self, entity, ident, *args, **kwargs):
        if entity is IdempotencyRecord:
            return None
        return await real_get(self, entity, ident, *args, **kwargs)

    monkeypatch.setattr(AsyncSession, "get", get_before_commit)
    # (A client that reuses a key for another body while the first is in flight; on main: 500 IntegrityError
    # at commit, after the second case had been written.)
    second = await svc.client.post("/api/v1/cases", json={"person_id": "p-b"}, headers=officer(svc, "officer-a"))
    monkeypatch.undo()
    assert second.status_code == 409, second.text
    assert second.headers["content-type"] == "application/problem+json"
    assert second.json()["type"].endswith("/idempotency-key-in-use")
    assert len(await svc.published("statelessness.case.opened.v1")) == 1
    replay = await svc.client.post("/api/v1/cases", json={"person_id": "p-a"}, headers=officer(svc, "officer-a"))
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]


async def test_keys_expire_after_the_setting_and_are_purged(svc):
    r = await svc.client.post("/api/v1/cases", json={"person_id": "p-a"}, headers=officer(svc, "officer-a"))
    assert r.status_code == 201
    db = svc.app.state.db
    assert svc.app.state.settings.idempotency_ttl_hours == 24
    assert await purge_expired(db, ttl=timedelta(hours=24)) == 0
    later = datetime.now(timezone.utc) + timedelta(hours=25)
    assert await purge_expired(db, ttl=timedelta(hours=24), now=later) == 1
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(IdempotencyRecord))).scalar_one() == 0
