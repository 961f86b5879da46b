"""Papers and lawful stay during the statelessness procedure (issue 13): registration issues the statelessness
procedure certificate when the case opens, renews it while the procedure goes on, runs it to the end of the
appeal window after a first not-stateless determination and ends it when the procedure ends."""

from datetime import date, timedelta

from pana_events.events import statelessness as sl

TODAY = date.today()  # a document's status is today's: the dates are set around it


async def register(reg, key, **over):
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": [], "citizenship_status": "none", **over}
    r = await reg.client.post("/api/v1/persons", json=body,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": f"person-{key}"})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def documents(reg, pid):
    r = await reg.client.get(f"/api/v1/persons/{pid}/documents",
                             headers={**reg.headers("registration-officer"), "X-Purpose": "case-work"})
    return sorted(r.json()["items"], key=lambda d: (d["issued_on"], d["expires_on"]))


async def status_of(reg, pid):
    return (await reg.client.get(f"/api/v1/persons/{pid}", headers=reg.headers("registration-officer"))).json()[
        "legal_status"]


async def verify(reg, doc, birth_date="1990-04-12"):
    r = await reg.client.get(f"/api/v1/verify/{doc['number']}", params={"birth_date": birth_date},
                             headers=reg.headers("service-provider", purpose=None))
    assert r.status_code == 200, r.text
    return r.json()


async def opened(reg, pid, case="c-1", on=None):
    await reg.deliver(sl.CaseOpened(case_id=case, person_id=pid, reason="application", ex_officio=False,
                                    opened_on=on or TODAY - timedelta(days=20)), subject=pid)


async def test_the_applicant_gets_a_lawful_stay_paper_when_the_case_opens(reg):
    pid = await register(reg, "sd-0001")
    await opened(reg, pid)
    await opened(reg, pid)  # the same case again: one paper
    [paper] = await documents(reg, pid)
    assert paper["kind"] == "statelessness_procedure_certificate" and paper["number"].startswith("SD")
    assert paper["issued_on"] == (TODAY - timedelta(days=20)).isoformat() and paper["status"] == "valid"
    answer = await verify(reg, paper)
    assert answer["result"] == "valid" and answer["status_category"] == "stateless_applicant"
    assert await status_of(reg, pid) == "stateless_applicant"


async def test_recognition_replaces_it_with_the_stateless_persons_certificate(reg):
    pid = await register(reg, "sd-0002")
    await opened(reg, pid)
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-1", person_id=pid, outcome="stateless",
                                                 decided_on=TODAY - timedelta(days=2)), subject=pid)
    docs = {d["kind"]: d for d in await documents(reg, pid)}
    assert docs["statelessness_procedure_certificate"]["status"] == "revoked"
    assert docs["stateless_person_certificate"]["status"] == "valid"
    assert (await verify(reg, docs["statelessness_procedure_certificate"]))["result"] == "revoked"


async def test_extension_renews_it_and_a_first_rejection_runs_it_to_the_end_of_the_appeal_window(reg):
    pid = await register(reg, "sd-0003")
    await opened(reg, pid, on=TODAY - timedelta(days=170))
    await reg.deliver(sl.DecisionPeriodExtended(case_id="c-1", person_id=pid, decision_due=TODAY + timedelta(days=90),
                                                extended_on=TODAY - timedelta(days=30)), subject=pid)
    first, renewed = await documents(reg, pid)
    assert renewed["issued_on"] == (TODAY - timedelta(days=30)).isoformat() and renewed["status"] == "valid"
    appeal_until = TODAY + timedelta(days=25)
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-1", person_id=pid, outcome="not_stateless",
                                                 nationality="UZB", decided_on=TODAY - timedelta(days=5),
                                                 stage="first_instance", appeal_until=appeal_until), subject=pid)
    assert await status_of(reg, pid) == "not_stateless"
    docs = await documents(reg, pid)
    window = docs[-1]
    assert window["expires_on"] == appeal_until.isoformat() and window["status"] == "valid"
    assert [d["status"] for d in docs if d is not window] == ["valid", "revoked"]  # the longer one is superseded
    assert (await verify(reg, window))["result"] == "valid"


async def test_an_appeal_renews_it_and_a_rejected_appeal_ends_it(reg):
    pid = await register(reg, "sd-0004")
    await opened(reg, pid, on=TODAY - timedelta(days=60))
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-1", person_id=pid, outcome="not_stateless",
                                                 nationality="UZB", decided_on=TODAY - timedelta(days=20),
                                                 stage="first_instance", appeal_until=TODAY + timedelta(days=10)),
                      subject=pid)
    await reg.deliver(sl.AppealLodged(case_id="c-1", person_id=pid, lodged_on=TODAY - timedelta(days=10)), subject=pid)
    assert await status_of(reg, pid) == "stateless_applicant"
    during_appeal = (await documents(reg, pid))[-1]
    assert during_appeal["issued_on"] == (TODAY - timedelta(days=10)).isoformat()
    assert during_appeal["status"] == "valid" and during_appeal["expires_on"] > (TODAY + timedelta(days=100)).isoformat()
    await reg.deliver(sl.StatelessnessDetermined(case_id="c-1", person_id=pid, outcome="not_stateless",
                                                 nationality="UZB", decided_on=TODAY - timedelta(days=1),
                                                 stage="appeal", appeal_result="rejected"), subject=pid)
    assert await status_of(reg, pid) == "not_stateless"
    assert {d["status"] for d in await documents(reg, pid)} <= {"revoked", "expired"}
    assert (await verify(reg, during_appeal))["result"] == "revoked"


async def test_an_asylum_claim_does_not_end_it_and_naturalization_does(reg):
    from pana_events.events import rsd

    pid = await register(reg, "sd-0005")
    await opened(reg, pid)
    await reg.deliver(rsd.DecisionIssued(application_id="a-1", person_id=pid, member_ids=[pid], outcome="rejected",
                                         decided_on=TODAY - timedelta(days=10)), subject=pid)
    await reg.deliver(rsd.ApplicationClosed(application_id="a-1", person_id=pid, member_ids=[pid], reason="no_appeal",
                                            closed_on=TODAY - timedelta(days=5)), subject=pid)
    [paper] = await documents(reg, pid)
    assert paper["status"] == "valid"  # another procedure's facts never end it
    await reg.deliver(sl.NaturalizationDecided(person_id=pid, outcome="granted", decided_on=TODAY, track_id="t-1"),
                      subject=pid)
    [paper] = await documents(reg, pid)
    assert paper["status"] == "revoked" and await status_of(reg, pid) == "citizen_after_naturalization"
