"""Status per member through the API: a partial ending and a principal's death name only those concerned."""

import pytest
from api_flows import FAILS, INTERVIEW, MEETS, SUPERVISOR, SUPERVISOR_2, Api, harness, lodged_id

SPOUSE = {"id": "m2", "person_id": "p-2", "relationship": "spouse", "birth_date": "1988-03-03",
          "derivative_status_consent": True}
CHILD = {"id": "m3", "person_id": "p-3", "relationship": "child", "birth_date": "2018-02-02"}


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


async def recognised_family(api: Api) -> str:
    app_id = await lodged_id(api, family=[SPOUSE, CHILD])
    for path, body in (("interviews", INTERVIEW), ("interviews/i1/record", {"held_on": "2026-02-02", "record": "."}),
                       ("assessments", MEETS), ("assessments", {**FAILS, "member_id": "m2"}),
                       ("recommendation", {"outcome": "recognised", "on": "2026-02-20"})):
        r = await api.step(app_id, path, body)
        assert r.status_code == 200, r.text
    r = await api.step(app_id, "decision", {"on": "2026-03-01"}, who=SUPERVISOR)
    assert r.json()["status"] == "recognised", r.text
    return app_id


def statuses(body) -> dict[str, str]:
    return {m["id"]: m["status"] for m in body["members"]}


async def test_ending_the_spouses_status_names_only_the_spouse_and_keeps_the_file(api):
    app_id = await recognised_family(api)
    r = await api.step(app_id, "ending/notice", {"kind": "cessation", "grounds": ["1C(1)"], "member_ids": ["m2"],
                                                 "on": "2027-01-10"}, who=SUPERVISOR)
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "ending/decision", {"end_status": True, "on": "2027-02-15"}, who=SUPERVISOR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "recognised"
    assert statuses(body) == {"m1": "recognised", "m2": "status_ended", "m3": "recognised"}
    spouse = next(m for m in body["members"] if m["id"] == "m2")
    assert spouse["outcome"] == "derivative"
    assert spouse["status_ending"] == {"kind": "cessation", "grounds": ["1C(1)"], "ended_on": "2027-02-15"}
    (ended,) = await api.h.published("rsd.status.ended.v1")
    assert ended["data"]["member_ids"] == ["p-2"] and ended["subject"] == "p-1"
    r = await api.step(app_id, "ending/notice", {"kind": "cessation", "grounds": ["1C(1)"], "member_ids": ["m2"],
                                                 "on": "2027-03-01"}, who=SUPERVISOR)
    assert r.status_code == 409 and r.json()["rule"] == "ending_status_holder", r.text
    r = await api.step(app_id, "appeals", {"lodged_on": "2027-02-20"})
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "appeals/decision", {"outcome": "allowed", "on": "2027-03-10"}, who=SUPERVISOR_2)
    assert r.status_code == 200, r.text
    assert set(statuses(r.json()).values()) == {"recognised"}
    (decided,) = await api.h.published("rsd.appeal.decided.v1")
    assert decided["data"]["member_ids"] == ["p-2"] and decided["data"]["against"] == "ending"


async def test_the_principals_death_closes_the_file_for_the_principal_only(api):
    app_id = await lodged_id(api, family=[SPOUSE, CHILD])
    r = await api.step(app_id, "closure", {"reason": "death", "on": "2026-02-01"}, who=SUPERVISOR)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "lodged" and body["principal_member_id"] == "m2" and body["person_id"] == "p-1"
    assert statuses(body) == {"m1": "deceased", "m2": "pending", "m3": "pending"}
    assert next(m for m in body["members"] if m["id"] == "m1")["deceased_on"] == "2026-02-01"
    (closed,) = await api.h.published("rsd.application.closed.v1")
    assert closed["data"]["member_ids"] == ["p-1"] and closed["data"]["reason"] == "death"
    assert closed["subject"] == closed["data"]["person_id"] == "p-1"  # the file's events keep their key
    r = await api.step(app_id, "closure", {"reason": "death", "member_id": "m3", "on": "2026-02-03"},
                       who=SUPERVISOR)
    assert r.status_code == 200 and statuses(r.json())["m3"] == "deceased", r.text
    closed = await api.h.published("rsd.application.closed.v1")
    assert closed[-1]["data"]["member_ids"] == ["p-3"] and closed[-1]["subject"] == "p-1"
    r = await api.step(app_id, "closure", {"reason": "death", "member_id": "m3", "on": "2026-02-04"},
                       who=SUPERVISOR)
    assert r.status_code == 409 and r.json()["rule"] == "member_deceased", r.text
    r = await api.step(app_id, "closure", {"reason": "withdrawal", "member_id": "m2"}, who=SUPERVISOR)
    assert r.status_code in (400, 422), r.text


async def test_a_death_registration_tells_of_is_recorded_in_the_file_for_that_member_alone(api):
    """registration.person.deceased.v1 (issue 13): the member is recorded as deceased as a closure on death
    would; the others' procedure goes on; told again (or after rsd's own closure) it changes nothing."""
    from datetime import date

    from pana_events.events import registration as reg

    app_id = await recognised_family(api)
    died = reg.PersonDeceased(person_id="p-3", died_on=date(2027, 1, 5))
    assert (await api.h.deliver(died, subject="p-3")).name == "handled"
    body = (await api.h.client.get(f"/api/v1/applications/{app_id}", headers=api.headers())).json()
    assert statuses(body) == {"m1": "recognised", "m2": "recognised", "m3": "deceased"}
    (closed,) = await api.h.published("rsd.application.closed.v1")
    assert closed["data"]["member_ids"] == ["p-3"] and closed["data"]["reason"] == "death"
    assert closed["data"]["closed_on"] == "2027-01-05"
    await api.h.deliver(died, subject="p-3", event_id="again")
    await api.h.deliver(reg.PersonDeceased(person_id="p-nobody", died_on=date(2027, 1, 5)), subject="p-nobody")
    assert len(await api.h.published("rsd.application.closed.v1")) == 1
