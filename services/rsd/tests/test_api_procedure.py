"""The whole procedure through the API: lodge -> interview -> assessment -> decision -> appeal."""

from datetime import datetime

import pytest
from api_flows import INTERVIEW, MEETS, SUPERVISOR, SUPERVISOR_2, Api, decided, harness, lodged_id


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


async def test_lodging_directly_registers_and_publishes(api):
    r = await api.lodge()
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "lodged" and body["stage"] == "registered" and body["decision_due"] == "2026-04-10"
    assert r.headers["ETag"] and body["office"] == "almaty"
    lodged = await api.h.published("rsd.application.lodged.v1")
    assert len(lodged) == 1 and "narrative" not in str(lodged) and "detained" not in str(lodged)
    assert await api.h.published("rsd.certificate.requested.v1")


async def test_the_same_idempotency_key_lodges_once(api):
    payload = dict(principal={"id": "m1", "person_id": "p-9", "relationship": "principal"}, lodged_on="2026-01-08",
                   arrived_on="2026-01-06", manner_of_arrival="irregular")
    headers = api.headers(key="same-key-0001")
    first = await api.h.client.post("/api/v1/applications", json=payload, headers=headers)
    again = await api.h.client.post("/api/v1/applications", json=payload, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["late_lodging"] is True  # irregular entry: 1 day; recorded, not refused


async def test_full_procedure_to_appeal_decision(api):
    app_id = await decided(api, "rejected")
    r = await api.step(app_id, "appeals", {"lodged_on": "2026-03-20"})
    assert r.status_code == 200 and r.json()["stage"] == "under_appeal" and r.json()["removal_suspended"]
    r = await api.step(app_id, "appeals/decision", {"outcome": "allowed", "on": "2026-04-15"}, who=SUPERVISOR_2)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "recognised"
    types = [e["type"] for e in await api.h.published()]
    for t in ("rsd.interview.scheduled.v1", "rsd.decision.issued.v1", "rsd.appeal.lodged.v1", "rsd.appeal.decided.v1"):
        assert t in types
    issued = (await api.h.published("rsd.decision.issued.v1"))[0]["data"]
    assert issued["member_ids"] == [] and issued["outcome"] == "rejected"
    assert "Consistent" not in str(await api.h.published())


async def test_recognition_covers_the_family_and_status_can_end(api):
    app_id = await lodged_id(api, family=[{"id": "m3", "person_id": "p-3", "relationship": "child",
                                           "birth_date": "2018-02-02"}])
    await api.step(app_id, "interviews", INTERVIEW)
    await api.step(app_id, "interviews/i1/record", {"held_on": "2026-02-02", "record": "..."})
    await api.step(app_id, "assessments", MEETS)
    await api.step(app_id, "recommendation", {"outcome": "recognised", "on": "2026-02-20"})
    r = await api.step(app_id, "decision", {"on": "2026-03-01"}, who=SUPERVISOR)
    assert r.json()["status"] == "recognised", r.text
    issued = (await api.h.published("rsd.decision.issued.v1"))[0]["data"]
    assert sorted(issued["member_ids"]) == ["p-1", "p-3"]
    r = await api.step(app_id, "ending/notice", {"kind": "cessation", "grounds": ["1C(1)"], "on": "2027-01-10"},
                       who=SUPERVISOR)
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "ending/response", {"on": "2027-01-20", "response": "I never went back."})
    assert r.status_code == 200 and "never went back" not in r.text
    r = await api.step(app_id, "ending/decision", {"end_status": True, "on": "2027-02-01"}, who=SUPERVISOR)
    assert r.json()["status"] == "status_ended", r.text
    assert len(await api.h.published("rsd.status.ended.v1")) == 1


async def test_extension_closure_and_reopening(api):
    app_id = await lodged_id(api)
    r = await api.step(app_id, "extensions", {"months": 3, "reason": "country information awaited"}, who=SUPERVISOR)
    assert r.status_code == 200 and r.json()["decision_due"] == "2026-07-10"
    assert len(await api.h.published("rsd.decision_period.extended.v1")) == 1
    r = await api.step(app_id, "closure", {"reason": "withdrawal", "on": "2026-05-01"}, who=SUPERVISOR)
    assert r.json()["status"] == "closed"
    r = await api.step(app_id, "reopening", {"ground": "changed_circumstances", "reason": "new coup at home",
                                             "on": "2026-09-01"}, who=SUPERVISOR)
    assert r.status_code == 200 and r.json()["stage"] == "registered"
    assert await api.h.published("rsd.application.closed.v1") and await api.h.published("rsd.application.reopened.v1")


async def test_steps_that_manage_fingerprints_mode_and_assignment(api):
    app_id = await lodged_id(api)
    r = await api.step(app_id, "fingerprinting", {"fingerprinted_on": "2026-01-20"})
    assert r.status_code == 200 and r.json()["fingerprinting_late"] is True
    r = await api.step(app_id, "processing-mode", {"mode": "accelerated", "reason": "manifestly well-founded"},
                       who=SUPERVISOR)
    assert r.status_code == 200 and r.json()["decision_due"] == "2026-02-10"
    r = await api.step(app_id, "assignment", {"officer_id": "eo-2", "reason": "workload"}, who=SUPERVISOR)
    assert r.json()["officer_id"] == "eo-2"
    hist = await api.h.client.get(f"/api/v1/applications/{app_id}/assignments", headers=api.headers())
    assert [a["officer_id"] for a in hist.json()["items"]] == ["eo-1", "eo-2"]
    r = await api.step(app_id, "interviews", INTERVIEW)
    r = await api.step(app_id, "interviews/i1/rescheduling", {"to_date": "2026-02-09", "reason": "interpreter ill"})
    assert r.status_code == 200 and r.json()["interviews"][0]["scheduled_on"] == "2026-02-09"
    r = await api.step(app_id, "interviews/i1/no-show", {"on": "2026-02-09"})
    assert r.json()["interviews"][0]["status"] == "no_show"


async def test_the_claim_is_encrypted_and_read_only_by_deciding_roles(api):
    app_id = await decided(api, "recognised", notify=False)
    r = await api.h.client.get(f"/api/v1/applications/{app_id}/claim", headers=api.headers())
    assert r.status_code == 200
    kinds = {t["kind"] for t in r.json()["texts"]}
    assert kinds == {"narrative", "interview_record", "assessment"}
    # A date-time with its offset, as documented, though SQLite gives the stored time back without one.
    assert all(datetime.fromisoformat(t["written_at"]).tzinfo for t in r.json()["texts"])
    assert "detained" not in (await api.get(app_id)).text
    from rsd.store.tables import ClaimTextRow
    from sqlalchemy import select
    async with api.h.app.state.db.session() as session:
        rows = (await session.execute(select(ClaimTextRow))).scalars().all()
    assert rows and all(b"detained" not in row.ciphertext and row.key_id for row in rows)
    r = await api.h.client.get(f"/api/v1/applications/{app_id}/claim",
                               headers=api.h.headers("border-officer"))
    assert r.status_code == 403
