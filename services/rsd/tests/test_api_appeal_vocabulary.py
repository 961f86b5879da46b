"""Appeal results in the one vocabulary (issue 13): rsd.appeal.decided.v2 carries `result` (allowed | rejected |
remitted) and names every member the appeal concerns; v1 is still published beside it for one deprecation window."""

import pytest
from api_flows import FAILS, INTERVIEW, SUPERVISOR, SUPERVISOR_2, Api, harness, lodged_id

SPOUSE = {"id": "m2", "person_id": "p-2", "relationship": "spouse", "birth_date": "1988-03-03",
          "derivative_status_consent": True}


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


async def rejected_family_under_appeal(api: Api) -> str:
    app_id = await lodged_id(api, family=[SPOUSE])
    for path, body in (("interviews", INTERVIEW), ("interviews/i1/record", {"held_on": "2026-02-02", "record": "."}),
                       ("assessments", FAILS), ("assessments", {**FAILS, "member_id": "m2"}),
                       ("recommendation", {"outcome": "rejected", "rejection_reasons": ["harm_not_persecution"],
                                           "on": "2026-02-20"})):
        r = await api.step(app_id, path, body)
        assert r.status_code == 200, r.text
    r = await api.step(app_id, "decision", {"on": "2026-03-01"}, who=SUPERVISOR)
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "notification", {"served_on": "2026-03-03", "language": "prs"})
    assert r.status_code == 200, r.text
    r = await api.step(app_id, "appeals", {"lodged_on": "2026-03-20"})
    assert r.status_code == 200, r.text
    return app_id


async def test_the_old_words_are_refused_naming_the_new_ones(api):
    app_id = await rejected_family_under_appeal(api)
    for word in ("upheld", "dismissed"):
        r = await api.step(app_id, "appeals/decision", {"outcome": word, "on": "2026-04-15"}, who=SUPERVISOR_2)
        assert r.status_code == 422, r.text
        assert all(w in r.text for w in ("allowed", "rejected", "remitted")), r.text
    assert await api.h.published("rsd.appeal.decided.v2") == []


async def test_a_remittal_and_a_rejection_name_every_member_in_v2(api):
    app_id = await rejected_family_under_appeal(api)
    r = await api.step(app_id, "appeals/decision", {"outcome": "remitted", "on": "2026-04-15"}, who=SUPERVISOR_2)
    assert r.status_code == 200, r.text
    (v2,) = await api.h.published("rsd.appeal.decided.v2")
    assert v2["data"]["result"] == "remitted" and v2["data"]["against"] == "decision"
    assert v2["data"]["member_ids"] == ["p-1", "p-2"] and v2["data"]["allowed_member_ids"] == []
    assert v2["subject"] == "p-1"
    (v1,) = await api.h.published("rsd.appeal.decided.v1")  # deprecated, still published beside v2
    assert v1["data"]["result"] == "remitted" and v1["data"]["outcome"] == "dismissed"

    other = await rejected_family_under_appeal(api)
    r = await api.step(other, "appeals/decision", {"outcome": "rejected", "on": "2026-04-15"}, who=SUPERVISOR_2)
    assert r.status_code == 200, r.text
    rejected = (await api.h.published("rsd.appeal.decided.v2"))[-1]["data"]
    assert rejected["application_id"] == other and rejected["result"] == "rejected"
    assert rejected["member_ids"] == ["p-1", "p-2"] and rejected["allowed_member_ids"] == []
