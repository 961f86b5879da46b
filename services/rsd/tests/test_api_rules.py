"""Refused transitions (409 naming the rule), If-Match conflicts, bad input, the office rule."""

import pytest
from api_flows import (INTERVIEW, MEETS, OFFICER, SUPERVISOR, SUPERVISOR_2, Api, decided, harness, interviewed,
                       lodged_id)


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


def refused(r, rule):
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["rule"] == rule and r.json()["detail"]


async def test_no_decision_without_an_interview(api):
    app_id = await lodged_id(api)
    await api.step(app_id, "assessments", MEETS)
    refused(await api.step(app_id, "recommendation", {"outcome": "recognised"}), "interview_before_decision")


async def test_four_eyes(api):
    app_id = await interviewed(api)
    await api.step(app_id, "assessments", MEETS, who=SUPERVISOR)
    await api.step(app_id, "recommendation", {"outcome": "recognised"}, who=SUPERVISOR)
    refused(await api.step(app_id, "decision", {}, who=SUPERVISOR), "four_eyes")


async def test_deciding_before_a_recommendation(api):
    app_id = await interviewed(api)
    refused(await api.step(app_id, "decision", {}, who=SUPERVISOR), "recommendation_before_decision")


async def test_appeal_after_the_window_and_grace(api):
    app_id = await decided(api)
    refused(await api.step(app_id, "appeals", {"lodged_on": "2026-06-30"}), "appeal_window")


async def test_appeal_heard_by_the_first_instance_decision_maker(api):
    app_id = await decided(api)
    await api.step(app_id, "appeals", {"lodged_on": "2026-03-20"})
    refused(await api.step(app_id, "appeals/decision", {"outcome": "allowed"}, who=SUPERVISOR), "appeal_independence")


async def test_reopening_needs_a_ground(api):
    app_id = await lodged_id(api)
    await api.step(app_id, "closure", {"reason": "withdrawal"}, who=SUPERVISOR)
    refused(await api.step(app_id, "reopening", {"reason": "because"}, who=SUPERVISOR), "reopening_ground")


async def test_legal_representative_may_not_interpret(api):
    app_id = await lodged_id(api)
    body = {**INTERVIEW, "legal_representative_id": "int-1", "legal_representative_consent": True}
    refused(await api.step(app_id, "interviews", body), "legal_representative_not_interpreter")
    body = {**INTERVIEW, "legal_representative_id": "lr-1"}
    refused(await api.step(app_id, "interviews", body), "legal_representative_consent")


async def test_same_gender_requests_are_honoured(api):
    app_id = await lodged_id(api)
    body = {**INTERVIEW, "interviewer_sex": "male", "same_gender_interviewer_requested": True}
    refused(await api.step(app_id, "interviews", body), "same_gender_interviewer")
    body = {**INTERVIEW, "interpreter": {**INTERVIEW["interpreter"], "sex": "male"},
            "same_gender_interpreter_requested": True}
    refused(await api.step(app_id, "interviews", body), "same_gender_interpreter")
    assert (await api.get(app_id)).json()["interviews"] == []  # nothing stored


async def test_extension_beyond_twelve_months(api):
    app_id = await lodged_id(api)
    assert (await api.step(app_id, "extensions", {"months": 9, "reason": "awaiting evidence"},
                           who=SUPERVISOR)).status_code == 200
    refused(await api.step(app_id, "extensions", {"months": 1, "reason": "more"}, who=SUPERVISOR), "extension_limit")


async def test_ending_status_needs_a_chance_to_respond(api):
    app_id = await decided(api, "recognised")
    await api.step(app_id, "ending/notice", {"kind": "revocation", "grounds": ["1F(a)"], "on": "2027-01-10"},
                   who=SUPERVISOR)
    refused(await api.step(app_id, "ending/decision", {"end_status": True, "on": "2027-01-11"}, who=SUPERVISOR),
            "ending_response_opportunity")
    refused(await api.step(app_id, "ending/notice", {"kind": "cessation", "grounds": ["1C(9)"]}, who=SUPERVISOR),
            "ending_in_progress")


async def test_abandonment_needs_six_weeks_without_contact(api):
    app_id = await lodged_id(api)
    await api.step(app_id, "interviews", INTERVIEW)
    await api.step(app_id, "interviews/i1/no-show", {"on": "2026-02-02"})
    refused(await api.step(app_id, "closure", {"reason": "abandonment", "on": "2026-02-20"}, who=SUPERVISOR),
            "abandonment")
    r = await api.step(app_id, "closure", {"reason": "abandonment", "on": "2026-03-20"}, who=SUPERVISOR)
    assert r.status_code == 200 and r.json()["status"] == "closed"


async def test_if_match_is_required_and_checked(api):
    app_id = await lodged_id(api)
    etag = (await api.get(app_id)).headers["ETag"]
    url = f"/api/v1/applications/{app_id}/fingerprinting"
    r = await api.h.client.post(url, json={"fingerprinted_on": "2026-01-11"}, headers=api.headers())
    assert r.status_code == 428
    assert (await api.step(app_id, "fingerprinting", {"fingerprinted_on": "2026-01-11"}, etag=etag)).status_code == 200
    stale = await api.step(app_id, "processing-mode", {"mode": "simplified", "reason": "clear case"}, who=SUPERVISOR,
                           etag=etag)
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"


BAD_STEPS = [
    ("fingerprinting", {"fingerprinted_on": "not-a-date"}),
    ("fingerprinting", {"fingerprinted_on": "2026-01-11", "extra": 1}),
    ("interviews", {**INTERVIEW, "interpreter": {"id": "x", "language": "<script>"}}),
    ("assessments", {**MEETS, "nexus_grounds": ["tribe"]}),
    ("extensions", {"months": 0, "reason": "zero"}),
    ("interviews", {**INTERVIEW, "member_id": "m-nobody"}),
    ("recommendation", {"outcome": "recognised", "rejection_reasons": ["harm_not_persecution"]}),
    ("interviews/i9/no-show", {}),
    ("decision", {"member_outcomes": {"m1": "nonsense"}}),
]


async def test_bad_input_is_a_problem_and_stores_nothing(api):
    app_id = await lodged_id(api)
    before = await api.get(app_id)
    for path, body in BAD_STEPS:
        r = await api.step(app_id, path, body, who=SUPERVISOR, etag=before.headers["ETag"])
        assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json", (path, r.text)
    after = await api.get(app_id)
    assert after.headers["ETag"] == before.headers["ETag"] and after.json() == before.json()
    assert not await api.h.published("rsd.interview.scheduled.v1")


async def test_bad_lodging_input(api):
    r = await api.lodge(lodged_on="2026-01-01")  # before arrival
    assert r.status_code == 422
    r = await api.lodge(lodging_language="en")
    assert r.status_code == 422
    r = await api.h.client.post("/api/v1/applications", json={}, headers=api.headers())
    assert r.status_code == 422  # no Idempotency-Key, no body
    page = await api.h.client.get("/api/v1/applications", headers=api.headers())
    assert page.json()["items"] == []


async def test_scopes_come_before_any_lookup(api):
    r = await api.h.client.post("/api/v1/applications/nope/decision", json={})
    assert r.status_code == 401
    r = await api.step("nope", "decision", {}, who=OFFICER, etag='"x"')
    assert r.status_code == 403  # an eligibility officer does not decide
    r = await api.step("nope", "decision", {}, who=SUPERVISOR, etag='"x"')
    assert r.status_code == 404


async def test_an_officer_sees_only_their_office(api):
    app_id = await lodged_id(api)
    assert (await api.get(app_id, office="astana")).status_code == 404
    r = await api.step(app_id, "fingerprinting", {"fingerprinted_on": "2026-01-11"}, office="astana", etag='"x"')
    assert r.status_code == 404
    listing = await api.h.client.get("/api/v1/applications", headers=api.headers(office="astana"))
    assert listing.json()["items"] == []
    listing = await api.h.client.get("/api/v1/applications", headers=api.headers(SUPERVISOR_2, office="astana"))
    assert listing.json()["items"] == []
