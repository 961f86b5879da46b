"""rsd's API and event handling in process: real app, real database, no broker."""

from datetime import date, datetime, timezone

import pytest
from pana_events.events import registration as reg
from pana_dev.testing import service_harness
from rsd.app import create
from rsd.settings import RsdSettings


@pytest.fixture
async def rsd(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        yield harness


def _referral(person_id="p-1", referral_id="r-1", when=datetime(2026, 11, 2, 9, tzinfo=timezone.utc)):
    return reg.ReferralRegistered(referral_id=referral_id, person_id=person_id, crossing_point="Dostyk",
                                  referred_at=when, registered_at=when, language="prs", intent="asylum")


def _person(person_id="p-1"):
    return reg.PersonRegistered(person_id=person_id, registration_number="KZR-26-1", given_name="Aziz",
                                family_name="Karimov", birth_date=date(1990, 4, 12), sex="male", citizenship=["AFG"],
                                specific_needs=["survivor_of_torture"], registered_at=datetime.now(timezone.utc))


async def test_a_registered_referral_lodges_one_application(rsd):
    await rsd.deliver(_person(), subject="p-1")
    assert (await rsd.deliver(_referral(), subject="p-1")).name == "handled"
    r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=rsd.headers("eligibility-officer"))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["status"] == "lodged"
    assert item["decision_due"] == "2027-02-02"
    assert item["priority"] is True  # survivor of torture
    lodged = await rsd.published("rsd.application.lodged.v1")
    assert len(lodged) == 1 and lodged[0]["data"]["decision_due"] == "2027-02-02"
    assert await rsd.published("rsd.certificate.requested.v1")


async def test_the_same_event_twice_changes_nothing(rsd):
    event = _referral()
    await rsd.deliver(event, subject="p-1", event_id="evt-1")
    assert (await rsd.deliver(event, subject="p-1", event_id="evt-1")).name == "duplicate"
    # The same referral under a new event id is also one application.
    await rsd.deliver(event, subject="p-1", event_id="evt-2")
    r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=rsd.headers("eligibility-officer"))
    assert len(r.json()["items"]) == 1
    assert len(await rsd.published("rsd.application.lodged.v1")) == 1


async def test_reads_need_a_token_a_scope_and_a_purpose(rsd):
    url = "/api/v1/applications"
    assert (await rsd.client.get(url)).status_code == 401
    assert (await rsd.client.get(url, headers=rsd.headers("border-officer"))).status_code == 403
    r = await rsd.client.get(url, headers=rsd.headers("eligibility-officer", purpose=None))
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_pages_are_bounded_and_cursors_are_checked(rsd):
    for i in range(5):
        await rsd.deliver(_referral(person_id=f"p-{i}", referral_id=f"r-{i}"), subject=f"p-{i}")
    h = rsd.headers("eligibility-officer")
    first = (await rsd.client.get("/api/v1/applications", params={"limit": 2}, headers=h)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [i["id"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (await rsd.client.get("/api/v1/applications", params={"limit": 2, "cursor": cursor}, headers=h)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 5
    bad = await rsd.client.get("/api/v1/applications", params={"cursor": "not-a-cursor"}, headers=h)
    assert bad.status_code == 400
    assert (await rsd.client.get("/api/v1/applications", params={"limit": 100000}, headers=h)).status_code == 422


async def test_unknown_application_is_a_problem_not_a_trace(rsd):
    r = await rsd.client.get("/api/v1/applications/nope", headers=rsd.headers("eligibility-officer"))
    assert r.status_code == 404
    body = r.json()
    assert body["type"].endswith("/not-found") and "Traceback" not in r.text


async def test_a_late_border_referral_is_lodged_late_from_the_real_arrival_day(rsd):
    """Issue 13: late border referrals looked on time in rsd (no `arrived_on`, `late` ignored)."""
    when = datetime(2026, 11, 9, 9, tzinfo=timezone.utc)
    late = _referral(when=when).model_copy(update={"arrived_on": date(2026, 11, 2), "late": True})
    assert (await rsd.deliver(late, subject="p-1")).name == "handled"
    r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=rsd.headers("eligibility-officer"))
    [item] = r.json()["items"]
    assert item["late_lodging"] is True and item["lodged_on"] == "2026-11-09"
    [lodged] = await rsd.published("rsd.application.lodged.v1")
    assert lodged["data"]["late_lodging"] is True


async def test_a_referral_published_before_arrived_on_keeps_registrations_late_finding(rsd):
    old = _referral().model_copy(update={"late": True})  # no arrived_on: an event from before it was carried
    await rsd.deliver(old, subject="p-1")
    r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=rsd.headers("eligibility-officer"))
    assert r.json()["items"][0]["late_lodging"] is True


async def test_an_on_time_referral_is_not_late(rsd):
    await rsd.deliver(_referral().model_copy(update={"arrived_on": date(2026, 11, 1)}), subject="p-1")
    r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=rsd.headers("eligibility-officer"))
    assert r.json()["items"][0]["late_lodging"] is False


async def test_needs_changed_after_registration_change_the_priority(rsd):
    """Issue 13: specific needs changed after registration never reached rsd."""
    await rsd.deliver(_person().model_copy(update={"specific_needs": []}), subject="p-1")
    await rsd.deliver(_referral(), subject="p-1")
    h = rsd.headers("eligibility-officer")

    async def priority():
        r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=h)
        return r.json()["items"][0]["priority"]

    assert await priority() is False
    changed = reg.SpecificNeedsChanged(person_id="p-1", specific_needs=["survivor_of_torture"],
                                       changed_on=date(2026, 11, 5))
    assert (await rsd.deliver(changed, subject="p-1")).name == "handled"
    assert await priority() is True
    none = reg.SpecificNeedsChanged(person_id="p-1", specific_needs=[], changed_on=date(2026, 11, 6))
    await rsd.deliver(none, subject="p-1")
    assert await priority() is False


async def test_needs_of_a_person_with_no_application_are_kept_for_lodging(rsd):
    await rsd.deliver(_person().model_copy(update={"specific_needs": []}), subject="p-1")
    changed = reg.SpecificNeedsChanged(person_id="p-1", specific_needs=["woman_at_risk"], changed_on=date(2026, 11, 1))
    assert (await rsd.deliver(changed, subject="p-1")).name == "handled"
    await rsd.deliver(_referral(), subject="p-1")
    r = await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=rsd.headers("eligibility-officer"))
    assert r.json()["items"][0]["priority"] is True


async def test_a_group_referral_lodges_one_application_for_the_family(rsd):
    """A family referred together at the border (issue 13): ONE application names every member, each with their
    own status; the adults get their own certificate request, the child is on the principal's. The members'
    own registrations may come later (other keys): the referral's `members` carry what lodging needs."""
    await rsd.deliver(_person(), subject="p-1")
    when = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    event = reg.ReferralRegistered(
        referral_id="r-g", person_id="p-1", crossing_point="Dostyk", referred_at=when, registered_at=when,
        language="prs", intent="asylum", arrived_on=date(2026, 11, 1),
        members=[reg.ReferralMember(person_id="p-2", relationship="spouse", birth_date=date(1992, 8, 1),
                                    sex="female", specific_needs=["woman_at_risk"]),
                 reg.ReferralMember(person_id="p-3", relationship="child", birth_date=date(2018, 3, 5), sex="male")])
    assert (await rsd.deliver(event, subject="p-1")).name == "handled"
    await rsd.deliver(event, subject="p-1", event_id="again")  # the same referral again: still one application
    [lodged] = await rsd.published("rsd.application.lodged.v1")
    assert lodged["data"]["member_ids"] == ["p-1", "p-2", "p-3"] and lodged["subject"] == "p-1"
    requests = {e["data"]["person_id"]: e["data"]["member_ids"]
                for e in await rsd.published("rsd.certificate.requested.v1")}
    assert requests == {"p-1": ["p-1", "p-3"], "p-2": ["p-2"]}
    h = rsd.headers("eligibility-officer")
    [item] = (await rsd.client.get("/api/v1/applications", params={"person_id": "p-1"}, headers=h)).json()["items"]
    detail = (await rsd.client.get(f"/api/v1/applications/{item['id']}", headers=h)).json()
    assert [(m["person_id"], m["relationship"], m["status"]) for m in detail["members"]] == [
        ("p-1", "principal", "pending"), ("p-2", "spouse", "pending"), ("p-3", "child", "pending")]


async def test_a_referral_without_members_is_one_person_as_before(rsd):
    await rsd.deliver(_referral(), subject="p-1")
    [lodged] = await rsd.published("rsd.application.lodged.v1")
    assert lodged["data"]["member_ids"] == ["p-1"]
