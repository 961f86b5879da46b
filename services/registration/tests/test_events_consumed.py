"""Consumed events: legal status projection, documents issued and revoked, civil registry results."""

from datetime import date

from pana_events.events import civil_registry as civil
from pana_events.events import rsd
from pana_events.events import statelessness as sl


async def register(reg, key, **over):
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": ["AFG"], **over}
    r = await reg.client.post("/api/v1/persons", json=body,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def status_of(reg, pid):
    return (await reg.client.get(f"/api/v1/persons/{pid}", headers=reg.headers("registration-officer"))).json()["legal_status"]


async def test_asylum_then_recognition_issues_and_revokes_documents(reg):
    pid = await register(reg, "person-0001")
    request = rsd.CertificateRequested(application_id="a-1", person_id=pid, member_ids=[pid],
                                       valid_from=date(2026, 11, 2), valid_until=date(2027, 2, 1), reason="registration")
    assert (await reg.deliver(request, subject=pid, event_id="e-1")).name == "handled"
    assert (await reg.deliver(request, subject=pid, event_id="e-1")).name == "duplicate"
    await reg.deliver(request, subject=pid, event_id="e-2")  # same request, new event id
    [issued] = await reg.published("registration.document.issued.v1")
    assert issued["data"]["kind"] == "asylum_seeker_certificate" and issued["data"]["valid_until"] == "2027-02-01"
    assert await status_of(reg, pid) == "asylum_seeker"
    decision = rsd.DecisionIssued(application_id="a-1", person_id=pid, member_ids=[pid], outcome="recognised",
                                  decided_on=date(2026, 11, 20))
    await reg.deliver(decision, subject=pid)
    assert await status_of(reg, pid) == "refugee"
    kinds = [e["data"]["kind"] for e in await reg.published("registration.document.issued.v1")]
    assert kinds == ["asylum_seeker_certificate", "refugee_certificate"]
    [revoked] = await reg.published("registration.document.revoked.v1")
    assert revoked["data"]["kind"] == "asylum_seeker_certificate"
    statuses = [e["data"]["status"] for e in await reg.published("registration.legal_status.changed.v1")]
    assert statuses == ["asylum_seeker", "refugee"]
    ended = rsd.StatusEnded(application_id="a-1", person_id=pid, member_ids=[pid], ending="cessation", ground="x",
                            ended_on=date(2026, 11, 25))
    await reg.deliver(ended, subject=pid)
    assert await status_of(reg, pid) == "former_refugee"
    assert len(await reg.published("registration.document.revoked.v1")) == 2


async def test_rejection_is_final_only_after_appeal(reg):
    pid = await register(reg, "person-0002")
    await reg.deliver(rsd.DecisionIssued(application_id="a-2", person_id=pid, outcome="rejected",
                                         decided_on=date(2026, 11, 1)), subject=pid)
    assert await status_of(reg, pid) == "asylum_seeker"
    await reg.deliver(rsd.AppealDecided(application_id="a-2", person_id=pid, member_ids=[pid], outcome="dismissed",
                                        decided_on=date(2026, 11, 20)), subject=pid)
    assert await status_of(reg, pid) == "rejected_asylum_seeker"


async def test_statelessness_certificate_from_16_and_naturalization(reg):
    adult = await register(reg, "person-0003", citizenship=[], citizenship_status="none")
    child = await register(reg, "person-0004", given_name="Timur", birth_date="2015-01-01", citizenship=[],
                           citizenship_status="none")
    for pid, case in ((adult, "c-1"), (child, "c-2")):
        await reg.deliver(sl.StatelessnessDetermined(case_id=case, person_id=pid, outcome="stateless",
                                                     decided_on=date(2026, 11, 1)), subject=pid)
    [doc] = await reg.published("registration.document.issued.v1")
    assert doc["data"]["person_id"] == adult and doc["data"]["kind"] == "stateless_person_certificate"
    assert await status_of(reg, child) == "stateless"
    await reg.deliver(sl.NaturalizationDecided(person_id=adult, outcome="granted", decided_on=date(2026, 11, 20),
                                               track_id="t-1"), subject=adult)
    assert await status_of(reg, adult) == "citizen_after_naturalization"
    assert len(await reg.published("registration.document.revoked.v1")) == 1


async def test_civil_registry_birth_registration_is_recorded(reg):
    pid = await register(reg, "person-0005", birth_date="2026-01-01")
    event = civil.BirthRegistered(request_id="r-1", child_person_id=pid, certificate_number="I-АЛ 123456",
                                  iin="260101500012")
    await reg.deliver(event, subject=pid)
    await reg.deliver(event, subject=pid)  # new event id, same facts: nothing changes
    r = await reg.client.get(f"/api/v1/persons/{pid}", headers=reg.headers("registration-officer"))
    body = r.json()
    assert body["iin"] == "260101500012" and body["birth_certificate_number"] == "I-АЛ 123456"
    history = (await reg.client.get(f"/api/v1/persons/{pid}/history", headers=reg.headers("registration-officer"))).json()
    assert len(history["items"]) == 2


async def test_events_for_unknown_persons_are_harmless(reg):
    assert (await reg.deliver(rsd.AppealLodged(application_id="a", person_id="ghost", lodged_on=date(2026, 1, 1)),
                              subject="ghost")).name == "handled"
    assert await reg.published() == []


async def test_naturalization_revokes_the_refugee_certificate_and_shows_a_citizen(reg):
    """Acquiring citizenship ends protection: the refugee certificate is revoked by naturalization although
    rsd, whose procedure issued it, published nothing (issue 13: it stayed valid for a citizen)."""
    pid = await register(reg, "person-0006", citizenship=[], citizenship_status="none")
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-6", person_id=pid, outcome="stateless",
                                                 decided_on=date(2026, 1, 5)), subject=pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-6", person_id=pid, member_ids=[pid], outcome="recognised",
                                         decided_on=date(2026, 2, 1)), subject=pid)
    assert await status_of(reg, pid) == "refugee"
    await reg.deliver(sl.NaturalizationDecided(person_id=pid, outcome="granted", decided_on=date(2026, 11, 20),
                                               track_id="t-6"), subject=pid)
    assert await status_of(reg, pid) == "citizen_after_naturalization"
    revoked = {e["data"]["kind"]: e["data"]["reason"] for e in await reg.published("registration.document.revoked.v1")}
    assert revoked == {"refugee_certificate": "naturalized", "stateless_person_certificate": "naturalized"}
    r = await reg.client.get(f"/api/v1/persons/{pid}/documents",
                             headers={**reg.headers("registration-officer"), "X-Purpose": "case-work"})
    assert {d["kind"]: d["status"] for d in r.json()["items"]} == {"refugee_certificate": "revoked",
                                                                   "stateless_person_certificate": "revoked"}


async def test_a_child_confirmed_a_kazakh_citizen_is_shown_as_citizen(reg):
    """The other citizenship fact: statelessness resolves a child at risk as a Kazakh citizen by birth."""
    child = await register(reg, "person-0007", given_name="Timur", birth_date="2026-10-01", citizenship=[],
                           citizenship_status="undetermined")
    await reg.deliver(sl.ChildAtRiskResolved(flag_id="f-1", child_person_id=child, nationality="KAZ",
                                             resolved_on=date(2026, 11, 20), basis="kazakh_citizenship_by_birth"),
                      subject=child)
    assert await status_of(reg, child) == "citizen"
    other = await register(reg, "person-0008", given_name="Zarina", birth_date="2026-10-02", citizenship=[],
                           citizenship_status="undetermined")
    await reg.deliver(sl.ChildAtRiskResolved(flag_id="f-2", child_person_id=other, nationality="UZB",
                                             resolved_on=date(2026, 11, 20), basis="other_state_nationality"),
                      subject=other)
    assert await status_of(reg, other) != "citizen"  # no fact: the register shows none
