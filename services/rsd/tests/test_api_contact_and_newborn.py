"""Through the API: recording contact stops an abandonment closure; a newborn joins a pending application and is
entered on the principal's certificate (rsd.certificate.requested.v1)."""

import pytest
from api_flows import INTERVIEW, SUPERVISOR, Api, decided, harness, lodged_id

CHILD = {"id": "m3", "person_id": "p-3", "relationship": "child", "birth_date": "2018-02-02"}


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


async def test_abandonment_is_refused_after_a_recorded_contact(api):
    app_id = await lodged_id(api)
    assert (await api.step(app_id, "interviews", INTERVIEW)).status_code == 200
    r = await api.step(app_id, "interviews/i1/no-show", {"on": "2026-02-02"})
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "contacts", {"kind": "through_representative", "on": "2026-03-10",
                                            "note": "Lawyer says she was in hospital."})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["last_contact_on"] == "2026-03-10"
    assert body["contacts"] == [{"kind": "through_representative", "on": "2026-03-10",
                                 "note": "Lawyer says she was in hospital.", "recorded_by": "eo-1"}]
    r = await api.step(app_id, "closure", {"reason": "abandonment", "on": "2026-03-20"}, who=SUPERVISOR)
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["rule"] == "abandonment_despite_contact" and "2026-03-10" in r.json()["detail"]
    r = await api.step(app_id, "closure", {"reason": "abandonment", "on": "2026-04-21"}, who=SUPERVISOR)
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text


async def test_bad_contacts_are_problems(api):
    app_id = await lodged_id(api)
    for body in ({"kind": "fax", "on": "2026-03-10"}, {"kind": "phone", "on": "2999-01-01"},
                 {"kind": "phone", "note": "x" * 501}, {"kind": "phone", "extra": 1}):
        r = await api.step(app_id, "contacts", body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (body, r.text)
    r = await api.step(app_id, "contacts", {"kind": "phone", "on": "2026-01-01"})  # before lodging
    assert r.status_code in (400, 422) and r.headers["content-type"] == "application/problem+json", r.text
    r = await api.h.client.post(f"/api/v1/applications/{app_id}/contacts", json={"kind": "phone"},
                                headers=api.headers())
    assert r.status_code == 428, r.text


async def test_a_newborn_joins_and_is_entered_on_the_principals_certificate(api):
    app_id = await lodged_id(api, family=[CHILD])
    (first,) = await api.h.published("rsd.certificate.requested.v1")
    r = await api.step(app_id, "members", {"person_id": "p-9", "name": "Aisha", "sex": "female",
                                           "birth_date": "2026-02-14", "relationship": "child", "on": "2026-02-20"})
    assert r.status_code == 200, r.text
    baby = next(m for m in r.json()["members"] if m["person_id"] == "p-9")
    assert baby["id"] == "m4" and baby["relationship"] == "child"  # the next free member id
    assert baby["status"] == "pending" and baby["added_on"] == "2026-02-20" and baby["name"] == "Aisha"
    requested = await api.h.published("rsd.certificate.requested.v1")
    assert len(requested) == 2
    data = requested[-1]["data"]
    assert requested[-1]["subject"] == "p-1" and data["person_id"] == "p-1"
    assert data["member_ids"] == ["p-1", "p-3", "p-9"] and data["reason"] == "registration"
    assert data["valid_from"] == "2026-02-20" and data["valid_until"] == first["data"]["valid_until"]
    r = await api.step(app_id, "members", {"person_id": "p-9", "birth_date": "2026-02-14"})
    assert r.status_code == 409 and r.json()["rule"] == "member_already_on_application", r.text


async def test_no_newborn_after_a_final_decision_and_bad_input_is_a_problem(api):
    app_id = await decided(api, "recognised")
    r = await api.step(app_id, "members", {"person_id": "p-9", "birth_date": "2026-04-01"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json", r.text
    problem = r.json()
    assert problem["rule"] == "member_addition_pending"
    assert "its own application" in problem["detail"] and "family reunification" in problem["detail"]
    for body in ({"person_id": "p-9", "birth_date": "2026-04-01", "relationship": "spouse"},
                 {"person_id": "p 9!", "birth_date": "2026-04-01"}, {"person_id": "p-9"}):
        r = await api.step(app_id, "members", body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (body, r.text)
