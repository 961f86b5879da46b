"""The determination procedure over HTTP: opening, inquiries, interview, determination, appeal,
naturalization, children-at-risk resolution, statistics; refusals are 409 naming the rule."""

from datetime import date, datetime, timedelta, timezone

import pytest
from pana_events.events import registration as reg
from pana_events.events import rsd
from pana_dev.testing import service_harness
from statelessness.app import create
from statelessness.settings import StatelessnessSettings
from statelessness.store.tables import CaseRow

TODAY = date.today()


@pytest.fixture
async def svc(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        yield harness


def officer(svc, subject="officer-a"):
    return svc.headers("statelessness-officer", subject=subject)


async def open_case(svc, person_id="p-1", key="key-00000001", **extra):
    body = {"person_id": person_id, "birth_date": "1990-05-01", "opened_on": (TODAY - timedelta(days=400)).isoformat(), **extra}
    r = await svc.client.post("/api/v1/cases", json=body, headers={**officer(svc), "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return r.json(), r.headers["ETag"]


async def step(svc, case_id, path, body, etag, *, subject="officer-a", expect=200):
    r = await svc.client.post(f"/api/v1/cases/{case_id}/{path}", json=body,
                              headers={**officer(svc, subject), "If-Match": etag})
    assert r.status_code == expect, r.text
    return r.json(), r.headers.get("ETag")


async def test_open_on_application_is_idempotent_and_one_at_a_time(svc):
    case, etag = await open_case(svc)
    again, _ = await open_case(svc)
    assert again["id"] == case["id"]
    assert case["reason"] == "application" and case["ex_officio"] is False
    r = await svc.client.post("/api/v1/cases", json={"person_id": "p-1"},
                              headers={**officer(svc), "Idempotency-Key": "key-00000002"})
    assert r.status_code == 409 and r.json()["rule"] == "one_case_at_a_time"
    assert len(await svc.published("statelessness.case.opened.v1")) == 1
    bad = await svc.client.post("/api/v1/cases", json={"person_id": "p-9", "extra": 1},
                                headers={**officer(svc), "Idempotency-Key": "key-00000003"})
    assert bad.status_code == 422
    far = await svc.client.post("/api/v1/cases", json={"person_id": "p-9", "opened_on": "9999-12-31"},
                                headers={**officer(svc), "Idempotency-Key": "key-00000004"})
    assert far.status_code == 422


async def test_commands_need_if_match_and_refuse_stale_etags(svc):
    case, etag = await open_case(svc)
    r = await svc.client.post(f"/api/v1/cases/{case['id']}/interview", json={}, headers=officer(svc))
    assert r.status_code == 428
    _, new_etag = await step(svc, case["id"], "interview", {"notes": "first"}, etag)
    await step(svc, case["id"], "interview", {"notes": "second"}, etag, expect=412)
    assert new_etag != etag


async def test_full_procedure_to_recognition_with_confidentiality(svc):
    await svc.deliver(reg.PersonRegistered(person_id="p-1", registration_number="R-1", given_name="A", family_name="B",
                                           birth_date=date(1990, 5, 1), sex="female", citizenship=["AFG"],
                                           registered_at=datetime.now(timezone.utc)), subject="p-1")
    await svc.deliver(rsd.ApplicationLodged(application_id="a-1", person_id="p-1", lodged_on=date(2025, 1, 5),
                                            registered_on=date(2025, 1, 5), decision_due=date(2025, 4, 5)), subject="p-1")
    case, etag = await open_case(svc)
    cid = case["id"]
    sent = (TODAY - timedelta(days=300)).isoformat()
    r = await svc.client.post(f"/api/v1/cases/{cid}/inquiries", json={"state": "AFG", "link": "birth", "sent_on": sent},
                              headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "confidentiality_of_asylum"
    case, etag = await step(svc, cid, "inquiries", {"state": "UZB", "link": "residence", "sent_on": sent}, etag)
    case, etag = await step(svc, cid, "inquiries", {"state": "RUS", "link": "descent", "sent_on": sent}, etag)
    uzb, rus = case["inquiries"]
    overdue = (await svc.client.get("/api/v1/inquiries/overdue", headers=officer(svc))).json()["items"]
    assert {i["state"] for i in overdue} == {"UZB", "RUS"}
    case, etag = await step(svc, cid, f"inquiries/{uzb['inquiry_id']}/answer", {"answer": "denies"}, etag)
    case, etag = await step(svc, cid, f"inquiries/{rus['inquiry_id']}/unanswered", {}, etag)
    case, etag = await step(svc, cid, "evidence", {"kind": "document", "source": "USSR passport", "weight": "medium",
                                                   "brought_by": "applicant", "description": "issued 1988 in Shymkent"}, etag)
    # no determination without an interview
    r = await svc.client.post(f"/api/v1/cases/{cid}/determination", json={"outcome": "stateless", "reasons": "x"},
                              headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "interview_before_determination"
    case, etag = await step(svc, cid, "interview", {"notes": "lived in Russia 2005-2019"}, etag)
    case, etag = await step(svc, cid, "determination", {"outcome": "stateless", "reasons": "UZB denies; RUS silent"}, etag)
    assert case["status"] == "determined" and case["recognised_on"] == TODAY.isoformat()
    [issued] = await svc.published("statelessness.determination.issued.v1")
    assert issued["data"]["outcome"] == "stateless" and issued["data"]["certificate_eligible"] is True
    # personal text is encrypted at rest, readable through the API
    async with svc.app.state.db.transaction() as session:
        row = await session.get(CaseRow, cid)
    assert "Shymkent" not in str(row.document) and "Russia 2005" not in str(row.document)
    read = await svc.client.get(f"/api/v1/cases/{cid}", headers=officer(svc))
    assert read.json()["evidence"][-1]["description"] == "issued 1988 in Shymkent"
    assert read.json()["interviews"][0]["notes"] == "lived in Russia 2005-2019"
    # naturalization: not before eligibility, then granted
    r = await svc.client.post("/api/v1/naturalization/tracks", json={"case_id": cid, "lawful_residence_from": "2020-01-01"},
                              headers={**officer(svc), "Idempotency-Key": "track-00000001"})
    assert r.status_code == 201, r.text
    track, t_etag = r.json(), r.headers["ETag"]
    assert track["eligible_from"] == "2025-01-01"
    now = (await svc.client.get("/api/v1/naturalization/eligible", params={"when": "now"}, headers=officer(svc))).json()
    assert [t["track_id"] for t in now["items"]] == [track["track_id"]]
    r = await svc.client.post(f"/api/v1/naturalization/tracks/{track['track_id']}/decision",
                              json={"outcome": "granted", "decided_on": "2024-06-01"}, headers={**officer(svc), "If-Match": t_etag})
    assert r.status_code == 409 and r.json()["rule"] == "naturalization_residence_requirement"
    r = await svc.client.post(f"/api/v1/naturalization/tracks/{track['track_id']}/decision",
                              json={"outcome": "granted"}, headers={**officer(svc), "If-Match": t_etag})
    assert r.status_code == 200, r.text
    [nat] = await svc.published("statelessness.naturalization.decided.v1")
    assert nat["data"]["outcome"] == "granted" and nat["subject"] == "p-1"
    stats = (await svc.client.get("/api/v1/statistics", headers=svc.headers("supervisor"))).json()
    assert stats["cases"]["opened"] == "*" and stats["inquiries_by_state"]["UZB"]["sent"] == "*"
    assert set(stats["stateless_persons"]["female"]) == {"0-4", "5-11", "12-17", "18-59", "60+", "unknown"}


async def test_refusals_name_the_rule_and_change_nothing(svc):
    case, etag = await open_case(svc)
    cid = case["id"]
    sent = (TODAY - timedelta(days=10)).isoformat()
    case, etag = await step(svc, cid, "inquiries", {"state": "UZB", "link": "birth", "sent_on": sent}, etag)
    iid = case["inquiries"][0]["inquiry_id"]
    r = await svc.client.post(f"/api/v1/cases/{cid}/inquiries/{iid}/unanswered", json={},
                              headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "inquiry_reply_deadline"
    case, etag = await step(svc, cid, f"inquiries/{iid}/answer", {"answer": "confirms_national"}, etag)
    case, etag = await step(svc, cid, "interview", {}, etag)
    r = await svc.client.post(f"/api/v1/cases/{cid}/determination", json={"outcome": "stateless", "reasons": "r"},
                              headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "confirmed_nationality_needs_reasons"
    r = await svc.client.post(f"/api/v1/cases/{cid}/extension", json={"new_due": "2100-01-01", "reasons": "waiting"},
                              headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "decision_deadline_limit"
    # nothing stored changed: the old ETag still works
    decided = (TODAY - timedelta(days=60)).isoformat()
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "UZB", "reasons": "UZB confirms",
                                                        "decided_on": decided}, etag)
    r = await svc.client.post(f"/api/v1/cases/{cid}/appeal", json={}, headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "appeal_window"
    [issued] = await svc.published("statelessness.determination.issued.v1")
    assert issued["data"] == {**issued["data"], "outcome": "not_stateless", "nationality": "UZB", "certificate_eligible": False}
    r = await svc.client.post("/api/v1/naturalization/tracks", json={"case_id": cid, "lawful_residence_from": "2020-01-01"},
                              headers={**officer(svc), "Idempotency-Key": "track-00000009"})
    assert r.status_code == 409 and r.json()["rule"] == "naturalization_for_recognised_stateless"


async def test_appeal_is_heard_by_another_officer_and_can_recognise(svc):
    case, etag = await open_case(svc)
    cid = case["id"]
    case, etag = await step(svc, cid, "interview", {}, etag)
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "KGZ", "reasons": "r"}, etag)
    case, etag = await step(svc, cid, "appeal", {}, etag)
    r = await svc.client.post(f"/api/v1/cases/{cid}/appeal/decision", json={"outcome": "overturned", "reasons": "r"},
                              headers={**officer(svc), "If-Match": etag})
    assert r.status_code == 409 and r.json()["rule"] == "appeal_by_different_officer"
    case, etag = await step(svc, cid, "appeal/decision", {"outcome": "overturned", "reasons": "KGZ record is another person"},
                            etag, subject="officer-b")
    assert case["status"] == "closed" and case["recognised_on"]
    issued = await svc.published("statelessness.determination.issued.v1")
    assert [(e["data"]["outcome"], e["data"]["stage"]) for e in issued] == [("not_stateless", "first_instance"), ("stateless", "appeal")]


async def test_child_flag_resolution(svc):
    await svc.deliver(reg.BirthRecorded(child_person_id="c-1", given_name="A", family_name="B", birth_date=TODAY - timedelta(days=3),
                                        sex="male", born_in_kazakhstan=True, mother_status="stateless",
                                        father_status="stateless", parents_reside_permanently=True), subject="c-1")
    h = officer(svc)
    [flag] = (await svc.client.get("/api/v1/children-at-risk", params={"open": "true"}, headers=h)).json()["items"]
    assert flag["presumed_kazakh_citizen"] is True and flag["child_age_days"] == 3
    r = await svc.client.get(f"/api/v1/children-at-risk/{flag['flag_id']}", headers=h)
    etag = r.headers["ETag"]
    r = await svc.client.post(f"/api/v1/children-at-risk/{flag['flag_id']}/resolution",
                              json={"basis": "kazakh_citizenship_by_birth"}, headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved" and r.json()["nationality"] == "KAZ"
    r = await svc.client.post(f"/api/v1/children-at-risk/{flag['flag_id']}/resolution",
                              json={"basis": "other_state_nationality", "nationality": "UZB"},
                              headers={**h, "If-Match": r.headers["ETag"]})
    assert r.status_code == 409 and r.json()["rule"] == "child_at_risk_already_resolved"
    [resolved] = await svc.published("statelessness.child.at_risk_resolved.v1")
    assert resolved["data"]["nationality"] == "KAZ"
    assert (await svc.client.get("/api/v1/children-at-risk", params={"open": "true"}, headers=h)).json()["items"] == []


async def test_access_purpose_paging_and_problems(svc):
    for i in range(3):
        await open_case(svc, person_id=f"p-{i}", key=f"key-0000010{i}")
    url = "/api/v1/cases"
    assert (await svc.client.get(url)).status_code == 401
    assert (await svc.client.get(url, headers=svc.headers("border-officer"))).status_code == 403
    assert (await svc.client.get(url, headers=svc.headers("statelessness-officer", purpose=None))).status_code == 422
    h = officer(svc)
    seen, cursor = [], None
    while True:
        page = (await svc.client.get(url, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=h)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 3
    assert (await svc.client.get(url, params={"cursor": "nope"}, headers=h)).status_code == 400
    assert (await svc.client.get(url, params={"limit": 501}, headers=h)).status_code == 422
    r = await svc.client.get("/api/v1/cases/nope", headers=h)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert (await svc.client.get("/api/v1/statistics", params={"as_of": "9999-01-01"}, headers=svc.headers("supervisor"))).status_code == 422


async def test_an_appeal_result_in_the_shared_words_is_published_with_the_determination(svc):
    case, etag = await open_case(svc)
    cid = case["id"]
    case, etag = await step(svc, cid, "interview", {}, etag)
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "KGZ", "reasons": "r"}, etag)
    case, etag = await step(svc, cid, "appeal", {}, etag)
    r = await svc.client.post(f"/api/v1/cases/{cid}/appeal/decision",
                              json={"outcome": "upheld", "result": "allowed", "reasons": "r"},
                              headers={**officer(svc, "officer-b"), "If-Match": etag})
    assert r.status_code == 422, r.text  # `upheld` here is `rejected`: the two words disagree
    r = await svc.client.post(f"/api/v1/cases/{cid}/appeal/decision", json={"reasons": "r"},
                              headers={**officer(svc, "officer-b"), "If-Match": etag})
    assert r.status_code == 422, r.text
    case, etag = await step(svc, cid, "appeal/decision", {"result": "allowed", "reasons": "KGZ record is another person"},
                            etag, subject="officer-b")
    assert case["appeal"]["outcome"] == "overturned" and case["appeal"]["result"] == "allowed"
    first, on_appeal = await svc.published("statelessness.determination.issued.v1")
    assert first["data"].get("appeal_result") is None
    assert on_appeal["data"]["stage"] == "appeal" and on_appeal["data"]["appeal_result"] == "allowed"


async def test_a_rejected_appeal_reads_rejected_in_the_case(svc):
    case, etag = await open_case(svc)
    cid = case["id"]
    case, etag = await step(svc, cid, "interview", {}, etag)
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "KGZ", "reasons": "r"}, etag)
    case, etag = await step(svc, cid, "appeal", {}, etag)
    case, etag = await step(svc, cid, "appeal/decision", {"outcome": "upheld", "reasons": "KGZ confirmed"}, etag,
                            subject="officer-b")
    assert case["appeal"]["result"] == "rejected" and case["status"] == "closed"


async def test_the_appeal_result_in_the_one_vocabulary_old_words_deprecated(svc):
    """Issue 13: `allowed | rejected | remitted` as rsd; the old `outcome` still read for one deprecation period
    (answered with a `Deprecation` header); a remittal refused by name; a rejection published."""
    case, etag = await open_case(svc)
    cid = case["id"]
    case, etag = await step(svc, cid, "interview", {}, etag)
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "KGZ", "reasons": "r"}, etag)
    case, etag = await step(svc, cid, "appeal", {}, etag)
    url, headers = f"/api/v1/cases/{cid}/appeal/decision", {**officer(svc, "officer-b"), "If-Match": etag}
    r = await svc.client.post(url, json={"result": "remitted", "reasons": "r"}, headers=headers)
    assert r.status_code == 422 and r.json()["rule"] == "appeal_result", r.text
    r = await svc.client.post(url, json={"result": "dismissed", "reasons": "r"}, headers=headers)
    assert r.status_code == 422 and "allowed" in r.text, r.text  # names the words it takes
    r = await svc.client.post(url, json={"result": "rejected", "reasons": "KGZ confirmed"}, headers=headers)
    assert r.status_code == 200 and "Deprecation" not in r.headers, r.text
    assert r.json()["appeal"]["result"] == "rejected"
    [decided] = await svc.published("statelessness.appeal.decided.v1")
    assert decided["data"]["result"] == "rejected" and decided["data"]["person_id"] == "p-1"

    case, etag = await open_case(svc, person_id="p-2", key="key-00000002")
    cid = case["id"]
    case, etag = await step(svc, cid, "interview", {}, etag)
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "KGZ", "reasons": "r"}, etag)
    case, etag = await step(svc, cid, "appeal", {}, etag)
    r = await svc.client.post(f"/api/v1/cases/{cid}/appeal/decision", json={"outcome": "overturned", "reasons": "r"},
                              headers={**officer(svc, "officer-b"), "If-Match": etag})
    assert r.status_code == 200 and r.headers["Deprecation"].startswith("@"), r.text
    assert r.json()["appeal"]["result"] == "allowed"
    assert [e["data"]["result"] for e in await svc.published("statelessness.appeal.decided.v1")] == ["rejected", "allowed"]
    schema = (await svc.client.get("/openapi.json")).json()["components"]["schemas"]["DecideAppeal"]["properties"]
    assert schema["outcome"]["deprecated"] is True


async def test_a_persons_death_closes_their_case(svc):
    """registration.person.deceased.v1 (issue 13): the person's case closes (`closed_on_death`); told again it
    changes nothing, and a death of someone without a case is handled."""
    from pana_events.events import registration as reg

    case, _ = await open_case(svc, person_id="p-dead", key="key-00000042")
    died = reg.PersonDeceased(person_id="p-dead", died_on=TODAY)
    assert (await svc.deliver(died, subject="p-dead")).name == "handled"
    r = await svc.client.get(f"/api/v1/cases/{case['id']}", headers=officer(svc))
    assert r.json()["status"] == "closed_on_death", r.text
    await svc.deliver(died, subject="p-dead", event_id="again")
    assert (await svc.deliver(reg.PersonDeceased(person_id="p-none", died_on=TODAY), subject="p-none")).name == "handled"
    r = await svc.client.get("/api/v1/cases", params={"status": "closed_on_death"}, headers=officer(svc))
    assert [c["id"] for c in r.json()["items"]] == [case["id"]]


async def test_the_procedure_going_on_and_ending_is_published_for_lawful_stay(svc):
    """Registration keeps the applicant's lawful-stay paper for the whole procedure (issue 13): it learns when the
    decision date moves, until when a not-stateless determination may be appealed, that it was appealed, and
    that the appeal was rejected (the determination is final)."""
    case, etag = await open_case(svc, opened_on=(TODAY - timedelta(days=10)).isoformat())
    cid = case["id"]
    new_due = (TODAY + timedelta(days=250)).isoformat()
    case, etag = await step(svc, cid, "extension", {"new_due": new_due, "reasons": "waiting for KGZ"}, etag)
    [extended] = await svc.published("statelessness.decision_period.extended.v1")
    assert extended["data"]["decision_due"] == new_due and extended["subject"] == "p-1"
    case, etag = await step(svc, cid, "interview", {}, etag)
    decided = TODAY.isoformat()
    case, etag = await step(svc, cid, "determination", {"outcome": "not_stateless", "nationality": "KGZ",
                                                        "reasons": "r", "decided_on": decided}, etag)
    [first] = await svc.published("statelessness.determination.issued.v1")
    assert first["data"]["appeal_until"] == (TODAY + timedelta(days=30)).isoformat()
    case, etag = await step(svc, cid, "appeal", {}, etag)
    [lodged] = await svc.published("statelessness.appeal.lodged.v1")
    assert lodged["data"]["case_id"] == cid
    await step(svc, cid, "appeal/decision", {"result": "rejected", "reasons": "KGZ confirmed"}, etag,
               subject="officer-b")
    first, final = await svc.published("statelessness.determination.issued.v1")
    assert (final["data"]["outcome"], final["data"]["stage"], final["data"]["appeal_result"],
            final["data"]["nationality"]) == ("not_stateless", "appeal", "rejected", "KGZ")
