"""Children and the principal's death (issue 13): children under 18 are entered on a parent's asylum-seeker
certificate (registration's document model: `dependant_person_ids`), so the principal's death, which ends the
principal's documents, must leave them on a valid certificate; a recognised child holds their own refugee
certificate, which the principal's death does not touch."""

from datetime import date, timedelta

from pana_events.events import rsd

TODAY = date.today()  # documents' status is today's: the dates are set around it
ON, DIED, UNTIL = TODAY - timedelta(days=40), TODAY - timedelta(days=10), TODAY + timedelta(days=50)


async def register(reg, key, **over):
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": ["AFG"], **over}
    r = await reg.client.post("/api/v1/persons", json=body,
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": key})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def status_of(reg, pid):
    r = await reg.client.get(f"/api/v1/persons/{pid}", headers=reg.headers("registration-officer"))
    return r.json()["legal_status"]


async def family(reg, key):
    p = await register(reg, f"person-{key}-p")
    s = await register(reg, f"person-{key}-s", given_name="Malika", birth_date="1992-08-01", sex="female")
    c = await register(reg, f"person-{key}-c", given_name="Timur", birth_date="2018-03-05")
    return p, s, c


async def documents(reg, pid):
    r = await reg.client.get(f"/api/v1/persons/{pid}/documents",
                             headers={**reg.headers("registration-officer"), "X-Purpose": "case-work"})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_the_child_goes_on_the_new_principals_certificate_when_the_principal_dies(reg):
    p, s, c = await family(reg, "asc")
    await reg.deliver(rsd.ApplicationLodged(application_id="a-1", person_id=p, member_ids=[p, s, c], lodged_on=ON,
                                            registered_on=ON, decision_due=UNTIL), subject=p)
    for holder, members in ((p, [p, c]), (s, [s])):
        await reg.deliver(rsd.CertificateRequested(application_id="a-1", person_id=holder, member_ids=members,
                                                   valid_from=ON, valid_until=UNTIL, reason="registration"), subject=p)
    [principals] = await documents(reg, p)
    # rsd, on the principal's death: the deceased alone closes, then the children go on the new principal's
    await reg.deliver(rsd.ApplicationClosed(application_id="a-1", person_id=p, member_ids=[p], reason="death",
                                            closed_on=DIED), subject=p)
    await reg.deliver(rsd.CertificateRequested(application_id="a-1", person_id=s, member_ids=[s, c], valid_from=DIED,
                                               valid_until=UNTIL, reason="registration"), subject=p)
    assert (await documents(reg, p))[0]["status"] == "revoked" and await status_of(reg, p) == "deceased"
    assert await status_of(reg, c) == "asylum_seeker" and await status_of(reg, s) == "asylum_seeker"
    issued = [e["data"] for e in await reg.published("registration.document.issued.v1")]
    new = issued[-1]
    assert new["person_id"] == s and new["valid_from"] == DIED.isoformat() and new["valid_until"] == UNTIL.isoformat()
    # the child is entered on the spouse's new certificate (the register's document names its dependants)
    from registration.store.repository import IssuedDocuments
    async with reg.app.state.db.session() as session:
        live = await IssuedDocuments(session).live_of(s)
    assert any(c in d.dependant_person_ids and d.document_number == new["number"] for d in live)
    assert principals["status"] == "valid"


async def test_a_childs_own_refugee_certificate_stays_valid_after_the_principals_death(reg):
    p, s, c = await family(reg, "rf")
    await reg.deliver(rsd.DecisionIssued(application_id="a-2", person_id=p, member_ids=[p, s, c], outcome="recognised",
                                         decided_on=ON), subject=p)
    await reg.deliver(rsd.ApplicationClosed(application_id="a-2", person_id=p, member_ids=[p], reason="death",
                                            closed_on=DIED), subject=p)
    assert [d["status"] for d in await documents(reg, p)] == ["revoked"]
    for member in (s, c):
        [own] = await documents(reg, member)
        assert own["kind"] == "refugee_certificate" and own["status"] == "valid"
        assert await status_of(reg, member) == "refugee"
    r = await reg.client.get(f"/api/v1/verify/{(await documents(reg, c))[0]['number']}",
                             params={"birth_date": "2018-03-05"}, headers=reg.headers("service-provider", purpose=None))
    assert r.status_code == 200 and r.json()["result"] == "valid", r.text
