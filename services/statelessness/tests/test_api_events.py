"""statelessness consuming events in process: real app, real database, no broker."""

from datetime import date, datetime, timezone

import pytest
from pana_events.events import registration as reg
from pana_events.events import rsd
from pana_dev.testing import service_harness
from statelessness.app import create
from statelessness.settings import StatelessnessSettings


@pytest.fixture
async def svc(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        yield harness


def birth(child="c-1", **kw):
    values = dict(child_person_id=child, given_name="Aruzhan", family_name="Ivanova", birth_date=date(2026, 11, 20),
                  sex="female", born_in_kazakhstan=True, mother_person_id="m-1", mother_status="stateless",
                  father_status=None)
    values.update(kw)
    return reg.BirthRecorded(**values)


def person(pid="p-1", **kw):
    values = dict(person_id=pid, registration_number="KZR-26-1", given_name="Timur", family_name="Aliev",
                  birth_date=date(1990, 4, 12), sex="male", registered_at=datetime(2026, 11, 2, 9, tzinfo=timezone.utc))
    values.update(kw)
    return reg.PersonRegistered(**values)


async def test_a_child_of_a_stateless_mother_is_flagged_and_a_case_opened(svc):
    assert (await svc.deliver(birth(), subject="c-1")).name == "handled"
    h = svc.headers("statelessness-officer")
    r = await svc.client.get("/api/v1/children-at-risk", params={"child_person_id": "c-1", "open": "true"}, headers=h)
    assert r.status_code == 200, r.text
    [flag] = r.json()["items"]
    assert flag["rule"] == "stateless_parents" and flag["status"] == "open"
    assert flag["presumed_kazakh_citizen"] is False  # parents do not reside permanently
    r = await svc.client.get("/api/v1/cases", params={"person_id": "c-1"}, headers=h)
    [case] = r.json()["items"]
    assert case["reason"] == "child_at_risk" and case["status"] == "open" and case["ex_officio"] is True
    flagged = await svc.published("statelessness.child.flagged_at_risk.v1")
    opened = await svc.published("statelessness.case.opened.v1")
    assert len(flagged) == len(opened) == 1
    assert flagged[0]["data"]["child_person_id"] == "c-1" and flagged[0]["subject"] == "c-1"
    assert opened[0]["data"]["reason"] == "child_at_risk" and opened[0]["data"]["ex_officio"] is True
    # Opened ex officio, the case has no statelessness officer: one takes it before reading it (issue #15).
    assert (await svc.client.get(f"/api/v1/cases/{case['id']}", headers=h)).status_code == 403
    taken = await svc.client.post(f"/api/v1/cases/{case['id']}/assignment", json={"officer_id": "statelessness-officer-dev"},
                                  headers=h)
    assert taken.status_code == 200, taken.text
    one = await svc.client.get(f"/api/v1/cases/{case['id']}", headers=h)
    assert one.status_code == 200 and one.headers["ETag"]


async def test_births_not_at_risk_open_nothing_and_redelivery_changes_nothing(svc):
    await svc.deliver(birth("c-2", mother_status="citizen"), subject="c-2")
    await svc.deliver(birth("c-3", born_in_kazakhstan=False), subject="c-3")
    await svc.deliver(birth("c-4", mother_status="stateless", father_status="citizen"), subject="c-4")
    assert await svc.published() == []
    event = birth("c-5", mother_status=None, mother_person_id=None, foundling=True)
    await svc.deliver(event, subject="c-5", event_id="e-1")
    assert (await svc.deliver(event, subject="c-5", event_id="e-1")).name == "duplicate"
    await svc.deliver(event, subject="c-5", event_id="e-2")  # same birth, new event id
    assert len(await svc.published("statelessness.child.flagged_at_risk.v1")) == 1
    flags = (await svc.client.get("/api/v1/children-at-risk", headers=svc.headers("statelessness-officer"))).json()
    assert [f["rule"] for f in flags["items"]] == ["foundling"]


async def test_undetermined_parents_via_the_person_projection(svc):
    await svc.deliver(person("m-9", sex="female", citizenship=[], citizenship_status="undetermined"), subject="m-9")
    await svc.deliver(birth("c-9", mother_person_id="m-9", mother_status=None), subject="c-9")
    flags = (await svc.client.get("/api/v1/children-at-risk", params={"child_person_id": "c-9"},
                                  headers=svc.headers("statelessness-officer"))).json()["items"]
    assert flags[0]["rule"] == "parents_of_undetermined_nationality"


async def test_a_person_registered_without_citizenship_gets_a_case_once(svc):
    await svc.deliver(person(citizenship=[], citizenship_status="none"), subject="p-1")
    await svc.deliver(person(citizenship=["XXA"]), subject="p-1", event_id="again")
    await svc.deliver(person("p-2", citizenship=["UZB"]), subject="p-2")
    opened = await svc.published("statelessness.case.opened.v1")
    assert [e["data"]["reason"] for e in opened] == ["registered_without_citizenship"]
    assert opened[0]["data"]["person_id"] == "p-1"


async def test_an_asylum_seeker_rejected_without_nationality_gets_a_case(svc):
    await svc.deliver(person("p-3", citizenship=[], citizenship_status="known", country_of_origin="AFG"), subject="p-3")
    await svc.deliver(person("p-4", citizenship=["AFG"]), subject="p-4")
    for pid in ("p-3", "p-4"):
        await svc.deliver(rsd.ApplicationLodged(application_id=f"a-{pid}", person_id=pid, lodged_on=date(2026, 1, 5),
                                                registered_on=date(2026, 1, 5), decision_due=date(2026, 4, 5)), subject=pid)
        await svc.deliver(rsd.DecisionIssued(application_id=f"a-{pid}", person_id=pid, outcome="rejected",
                                             decided_on=date(2026, 3, 1)), subject=pid)
    assert (await svc.published("statelessness.case.opened.v1")) == []  # p-3 'known' with no list: not enough
    await svc.deliver(person("p-5", citizenship=[], citizenship_status="known"), subject="p-5")
    await svc.deliver(reg.PersonRegistered(**{**person("p-6").model_dump(), "citizenship": ["XXA"], "citizenship_status": "known",
                                              "country_of_origin": "AFG"}), subject="p-6")
    # p-6 was already opened on registration; a rejection does not open a second case
    await svc.deliver(rsd.DecisionIssued(application_id="a-6", person_id="p-6", outcome="rejected",
                                         decided_on=date(2026, 3, 1)), subject="p-6")
    opened = await svc.published("statelessness.case.opened.v1")
    assert [(e["data"]["person_id"], e["data"]["reason"]) for e in opened] == [("p-6", "registered_without_citizenship")]


async def test_rejection_opens_a_case_for_someone_known_without_nationality(svc):
    from statelessness.store.repository import Persons

    # A person registered before this service listened (projection written directly).
    async with svc.app.state.db.transaction() as session:
        await Persons(session).upsert("p-8", sex="female", birth_date=date(1980, 1, 1), citizenship=[],
                                      citizenship_status="undetermined", country_of_origin="AFG")
    await svc.deliver(rsd.DecisionIssued(application_id="a-8", person_id="p-8", member_ids=["p-8"], outcome="rejected",
                                         decided_on=date(2026, 3, 1)), subject="p-8")
    [opened] = await svc.published("statelessness.case.opened.v1")
    assert opened["data"]["reason"] == "rsd_rejected_without_nationality" and opened["data"]["opened_on"] == "2026-03-01"


async def test_a_newborn_registered_then_recorded_gets_one_child_at_risk_case(svc):
    """Registration publishes person.registered (citizenship undetermined) before birth.recorded."""
    born = date(2026, 11, 20)
    await svc.deliver(person("c-7", birth_date=born, citizenship=[], citizenship_status="undetermined",
                             registered_at=datetime(2026, 11, 22, tzinfo=timezone.utc)), subject="c-7")
    await svc.deliver(birth("c-7", birth_date=born), subject="c-7")
    opened = await svc.published("statelessness.case.opened.v1")
    assert [(e["data"]["person_id"], e["data"]["reason"]) for e in opened] == [("c-7", "child_at_risk")]
    # a newborn of citizens registered the same way gets nothing
    await svc.deliver(person("c-8", birth_date=born, citizenship=[], citizenship_status="undetermined",
                             registered_at=datetime(2026, 11, 22, tzinfo=timezone.utc)), subject="c-8")
    await svc.deliver(birth("c-8", birth_date=born, mother_status="citizen"), subject="c-8")
    assert len(await svc.published("statelessness.case.opened.v1")) == 1


async def test_a_mother_found_not_stateless_does_not_put_the_child_at_risk(svc):
    # before: any status containing "stateless" counted, so this child was flagged as a child of stateless parents
    await svc.deliver(birth("c-10", mother_status="not_stateless", mother_person_id=None), subject="c-10")
    assert await svc.published() == []
    await svc.deliver(birth("c-11", mother_status="stateless_applicant", mother_person_id=None), subject="c-11")
    [flag] = (await svc.client.get("/api/v1/children-at-risk", params={"child_person_id": "c-11"},
                                   headers=svc.headers("statelessness-officer"))).json()["items"]
    assert flag["rule"] == "parents_of_undetermined_nationality" and flag["presumed_kazakh_citizen"] is False


async def _claims(svc, person_id):
    from sqlalchemy import select

    from statelessness.store.tables import AsylumClaimRow

    async with svc.app.state.db.transaction() as session:
        rows = (await session.execute(select(AsylumClaimRow).where(AsylumClaimRow.person_id == person_id))).scalars()
        return {r.application_id: r.status for r in rows}


async def test_an_appeal_against_an_ending_is_not_an_asylum_rejection(svc):
    await svc.deliver(rsd.DecisionIssued(application_id="a-20", person_id="p-20", member_ids=["p-20", "p-21"],
                                         outcome="recognised", decided_on=date(2026, 3, 1)), subject="p-20")
    # the spouse's status ended; her appeal is rejected: the principal's claim does not become "rejected"
    await svc.deliver(rsd.AppealDecided(application_id="a-20", person_id="p-20", member_ids=[], outcome="dismissed",
                                        result="rejected", against="ending", decided_on=date(2027, 3, 1)),
                      subject="p-20")
    assert await _claims(svc, "p-20") == {"a-20": "refugee"}
    await svc.deliver(rsd.AppealDecided(application_id="a-20", person_id="p-20", member_ids=["p-21"],
                                        outcome="upheld", result="allowed", against="ending",
                                        decided_on=date(2027, 3, 2)), subject="p-20", event_id="e-21")
    assert await _claims(svc, "p-21") == {"a-20": "refugee"}
    assert await svc.published("statelessness.case.opened.v1") == []


async def test_an_appeal_decided_v2_records_each_member_it_concerns(svc):
    """rsd.appeal.decided.v2 names every member: a rejection reaches the spouse too (v1 named nobody), an allowed
    appeal recognises those it was allowed for and leaves the others rejected, a remittal makes them asylum-seekers."""
    await svc.deliver(rsd.ApplicationLodged(application_id="a-30", person_id="p-30", member_ids=["p-30", "p-31"],
                                            lodged_on=date(2026, 1, 5), registered_on=date(2026, 1, 5),
                                            decision_due=date(2026, 7, 5)), subject="p-30")
    await svc.deliver(rsd.AppealDecidedV2(application_id="a-30", person_id="p-30", appeal_id="ap-1",
                                          against="decision", result="remitted", member_ids=["p-30", "p-31"],
                                          decided_on=date(2026, 9, 1)), subject="p-30")
    assert await _claims(svc, "p-31") == {"a-30": "asylum_seeker"}
    await svc.deliver(rsd.AppealDecidedV2(application_id="a-30", person_id="p-30", appeal_id="ap-2",
                                          against="decision", result="allowed", member_ids=["p-30", "p-31"],
                                          allowed_member_ids=["p-30"], decided_on=date(2027, 3, 1)), subject="p-30")
    assert await _claims(svc, "p-30") == {"a-30": "refugee"} and await _claims(svc, "p-31") == {"a-30": "rejected"}
    await svc.deliver(rsd.AppealDecidedV2(application_id="a-40", person_id="p-40", appeal_id="ap-3",
                                          against="decision", result="rejected", member_ids=["p-40", "p-41"],
                                          decided_on=date(2027, 3, 1)), subject="p-40")
    assert await _claims(svc, "p-41") == {"a-40": "rejected"}
