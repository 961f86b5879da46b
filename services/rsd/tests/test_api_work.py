"""Deadlines, the missed-deadline job, work queues, decision letters and statistics through the API."""

from datetime import date, timedelta

import pytest
from api_flows import OFFICER, SUPERVISOR, Api, decided, harness, lodged_id
from pana_kit.domain import add_months

from rsd.deadline_watch import flag_missed_deadlines


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        yield Api(h)


def _days_ago(n: int) -> str:
    return (date.today() - timedelta(days=n)).isoformat()


async def _approaching(api: Api, officer="eo-1") -> str:
    registered = add_months(date.today() + timedelta(days=5), -3)
    app_id = await lodged_id(api, lodged_on=registered.isoformat(), arrived_on=registered.isoformat(),
                             register_on=registered.isoformat(), officer_id=officer)
    await api.step(app_id, "fingerprinting", {"fingerprinted_on": registered.isoformat()})
    await api.step(app_id, "interviews", {"member_id": "m1", "scheduled_on": registered.isoformat(),
                                          "interviewer_id": "eo-1", "interviewer_sex": "female",
                                          "interpreter": {"id": "i", "language": "prs"}})
    await api.step(app_id, "interviews/i1/record", {"held_on": registered.isoformat(), "record": "..."})
    return app_id


async def test_deadlines_overdue_and_approaching_by_officer(api):
    overdue_id = await lodged_id(api)  # registered 2026-01-10: fingerprinting and decision long overdue
    soon_id = await _approaching(api, officer="eo-2")
    h = api.headers()
    overdue = (await api.h.client.get("/api/v1/deadlines", params={"status": "overdue"}, headers=h)).json()
    assert [i["application_id"] for i in overdue["items"]] == [overdue_id]
    assert overdue["items"][0]["deadline"] == "fingerprinting" and overdue["items"][0]["status"] == "overdue"
    soon = (await api.h.client.get("/api/v1/deadlines", params={"status": "approaching"}, headers=h)).json()
    assert [i["application_id"] for i in soon["items"]] == [soon_id]
    assert soon["items"][0]["deadline"] in ("decision", "certificate_expiry")  # both fall due that day
    mine = await api.h.client.get("/api/v1/deadlines", params={"status": "approaching", "officer_id": "eo-1"},
                                  headers=h)
    assert mine.json()["items"] == []
    other = await api.h.client.get("/api/v1/deadlines", params={"status": "overdue"},
                                   headers=api.headers(office="astana"))
    assert other.json()["items"] == []
    bad = await api.h.client.get("/api/v1/deadlines", params={"status": "late"}, headers=h)
    assert bad.status_code == 422


async def test_missed_deadlines_are_published_once(api):
    app_id = await lodged_id(api)
    first = await flag_missed_deadlines(api.h.app.state, date.today())
    again = await flag_missed_deadlines(api.h.app.state, date.today())
    missed = await api.h.published("rsd.deadline.missed.v1")
    assert first == len(missed) >= 2 and again == 0
    assert {m["data"]["deadline"] for m in missed} >= {"fingerprinting", "decision"}
    assert all(m["data"]["application_id"] == app_id for m in missed)


async def test_my_queue_puts_priority_first(api):
    plain = await lodged_id(api)
    urgent = await lodged_id(api, principal={"id": "m1", "person_id": "p-2", "relationship": "principal",
                                             "specific_needs": ["torture_survivor"]})
    await lodged_id(api, officer_id="eo-9")
    r = await api.h.client.get("/api/v1/queues/mine", params={"limit": 1}, headers=api.headers())
    assert [i["application_id"] for i in r.json()["items"]] == [urgent]
    r2 = await api.h.client.get("/api/v1/queues/mine", params={"limit": 1, "cursor": r.json()["next_cursor"]},
                                headers=api.headers())
    assert [i["application_id"] for i in r2.json()["items"]] == [plain] and r2.json()["next_cursor"] is None


async def test_decision_letters_in_three_languages(api):
    app_id = await decided(api)
    url = f"/api/v1/applications/{app_id}/decision-letter"
    for lang, phrase in (("en", "rejected"), ("ru", "отказано"), ("kk", "бас тартылды")):
        await _letter(api, url, lang, phrase)


async def _letter(api, url, lang, phrase):
    html = await api.h.client.get(url, params={"lang": lang}, headers=api.headers())
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert phrase in html.text and "detained" not in html.text and "02.04.2026" in html.text
    pdf = await api.h.client.get(url, params={"lang": lang, "format": "pdf"}, headers=api.headers())
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_no_letter_before_a_decision(api):
    app_id = await lodged_id(api)
    r = await api.h.client.get(f"/api/v1/applications/{app_id}/decision-letter", headers=api.headers())
    assert r.status_code == 409 and r.json()["rule"] == "decision_letter"


async def test_statistics_mask_small_cells(api):
    for _ in range(5):
        await lodged_id(api)
    app_id = await decided(api, "recognised")
    stats = await api.h.client.get("/api/v1/statistics", params={"as_of": "2026-06-30"}, headers=api.headers(SUPERVISOR))
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["applications"]["new"] == {"cases": 6, "persons": 6}
    assert body["decisions"]["recognised"] == {"cases": "*", "persons": "*"}
    assert body["pending"] == {"cases": 5, "persons": 5}
    assert body["median_days_registration_to_decision"] is None  # fewer decisions than the threshold
    early = (await api.h.client.get("/api/v1/statistics", params={"as_of": "2026-01-09"},
                                    headers=api.headers(SUPERVISOR))).json()
    assert early["pending"] == {"cases": 6, "persons": 6} and early["decisions"]["recognised"]["cases"] == 0
    denied = await api.h.client.get("/api/v1/statistics", headers=api.headers(OFFICER))
    assert denied.status_code == 403


async def test_list_cursors_keep_the_keys_the_api_has_always_issued(api):
    # Clients hold cursors across releases: the keys of each list's cursor must not change.
    from pana_kit.paging import decode_cursor, encode_cursor

    ids = {await lodged_id(api) for _ in range(2)}
    h = api.headers()
    first = (await api.h.client.get("/api/v1/deadlines", params={"status": "overdue", "limit": 1}, headers=h)).json()
    entry = first["items"][0]
    assert decode_cursor(first["next_cursor"]) == {"due": entry["due_on"], "id": entry["application_id"]}
    old = encode_cursor({"due": entry["due_on"], "id": entry["application_id"]})
    rest = (await api.h.client.get("/api/v1/deadlines", params={"status": "overdue", "cursor": old},
                                   headers=h)).json()
    assert {entry["application_id"], *(i["application_id"] for i in rest["items"])} == ids
    queue = (await api.h.client.get("/api/v1/queues/mine", params={"limit": 1}, headers=h)).json()
    assert set(decode_cursor(queue["next_cursor"])) == {"rank", "due", "id"}
    listed = (await api.h.client.get("/api/v1/applications", params={"limit": 1}, headers=h)).json()
    assert set(decode_cursor(listed["next_cursor"])) == {"created_at", "id"}


async def test_lodging_takes_the_one_needs_list_and_old_codes_as_aliases(api):
    """Issue 13: one specific-needs list; rsd's old codes stay accepted, read as their word, priority kept."""
    for i, need in enumerate(("survivor_of_torture", "unaccompanied_child", "urgent_medical_needs", "disability")):
        r = await api.lodge(principal={"id": "m1", "person_id": f"pn-{i}", "relationship": "principal",
                                       "specific_needs": [need]})
        assert r.status_code == 201, r.text
        assert r.json()["priority"] is True, need
    plain = await api.lodge(principal={"id": "m1", "person_id": "pn-9", "relationship": "principal",
                                       "specific_needs": ["family_unity"]})
    assert plain.status_code == 201 and plain.json()["priority"] is False
    bad = await api.lodge(principal={"id": "m1", "person_id": "pn-8", "relationship": "principal",
                                     "specific_needs": ["torture"]})
    assert bad.status_code == 422
    spec = (await api.h.client.get("/openapi.json")).json()["components"]["schemas"]["MemberIn"]
    needs = spec["properties"]["specific_needs"]
    assert "survivor_of_torture" in needs["items"]["enum"] and "torture_survivor -> survivor_of_torture" in \
        needs["description"]


async def test_a_family_members_new_needs_change_the_applications_priority(api):
    """Issue 13: SpecificNeedsChanged reaches rsd for every member, not only the principal."""
    from pana_events.events import registration as reg

    app_id = await lodged_id(api, family=[{"id": "m2", "person_id": "p-spouse", "relationship": "spouse"}])
    url = f"/api/v1/applications/{app_id}"

    async def priority():
        return (await api.h.client.get(url, headers=api.headers())).json()["priority"]

    assert await priority() is False
    changed = reg.SpecificNeedsChanged(person_id="p-spouse", specific_needs=["survivor_of_sgbv", "woman_at_risk"],
                                       changed_on=date(2026, 1, 20))
    assert (await api.h.deliver(changed, subject="p-spouse")).name == "handled"
    assert await priority() is True
    stranger = reg.SpecificNeedsChanged(person_id="p-nobody", specific_needs=["woman_at_risk"],
                                        changed_on=date(2026, 1, 20))
    assert (await api.h.deliver(stranger, subject="p-nobody")).name == "handled"
