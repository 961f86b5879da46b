"""Every membership change publishes registration.household.changed.v1 about the person it concerns."""


_n = iter(range(10**6))


def officer(reg, **extra):
    return {**reg.headers("registration-officer"), "Idempotency-Key": f"hh-{next(_n):08d}", **extra}


async def register(reg, given, birth="1980-01-01", sex="male"):
    r = await reg.client.post("/api/v1/persons", headers=officer(reg), json={
        "given_name": given, "family_name": f"Family{next(_n)}", "birth_date": birth, "sex": sex,
        "citizenship": ["AFG"], "country_of_origin": "AFG", "override_reason": "distinct people in a test"})
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def change(reg, household_id, what, body):
    h = await reg.client.get(f"/api/v1/households/{household_id}", headers=reg.headers("registration-officer"))
    r = await reg.client.post(f"/api/v1/households/{household_id}/{what}", json=body,
                              headers={**reg.headers("registration-officer"), "If-Match": h.headers["ETag"]})
    assert r.status_code == 200, r.text
    return r


async def test_each_change_is_published_about_its_person(reg):
    focal, spouse, son, daughter, uncle, bride = [await register(reg, n) for n in
                                                  ("Aziz", "Zarina", "Bahrom", "Dilnoza", "Farhod", "Gulnora")]
    r = await reg.client.post("/api/v1/households", headers=officer(reg), json={
        "focal_person_id": focal, "members": [{"person_id": spouse, "relationship": "spouse"},
                                              {"person_id": son, "relationship": "child"},
                                              {"person_id": daughter, "relationship": "child"}]})
    assert r.status_code == 201, r.text
    household = r.json()["household_id"]
    await change(reg, household, "arrivals", {"person_id": uncle, "relationship": "other_relative",
                                              "arrived_on": "2026-01-02"})
    await change(reg, household, "departures", {"person_id": uncle, "departed_on": "2026-01-03", "reason": "moved"})
    await change(reg, household, "marriages", {"person_id": son, "spouse_person_id": bride, "married_on": "2026-01-04"})
    await change(reg, household, "splits", {"person_ids": [son, bride], "new_focal_person_id": son,
                                            "split_on": "2026-01-05"})
    await change(reg, household, "deaths", {"person_id": daughter, "died_on": "2026-01-06"})
    published = [(e["data"]["change"], e["data"]["person_id"], e["subject"], bool(e["data"].get("new_household_id")))
                 for e in await reg.published("registration.household.changed.v1")]
    assert published == [("created", focal, focal, False), ("arrival", uncle, uncle, False),
                         ("departure", uncle, uncle, False), ("marriage", son, son, False),
                         ("split", son, son, True), ("death", daughter, daughter, False)]
    person = await reg.client.get(f"/api/v1/persons/{daughter}", headers=reg.headers("registration-officer"))
    assert person.json()["date_of_death"] == "2026-01-06"


async def test_a_death_recorded_here_makes_the_person_deceased_and_tells_the_others_once(reg):
    """Issue 13: a death recorded in the household reaches the legal status (`deceased`), ends the person's
    documents and is published once as registration.person.deceased.v1 (rsd and statelessness close the
    person's part); rsd's closure on the same death afterwards changes nothing more."""
    from datetime import date

    from pana_events.events import rsd

    focal, son = await register(reg, "Aziz"), await register(reg, "Bahrom", birth="2000-02-02")
    await reg.deliver(rsd.DecisionIssued(application_id="a-d", person_id=focal, member_ids=[focal, son],
                                         outcome="recognised", decided_on=date(2025, 12, 1)), subject=focal)
    r = await reg.client.post("/api/v1/households", headers=officer(reg), json={
        "focal_person_id": focal, "members": [{"person_id": son, "relationship": "child"}]})
    assert r.status_code == 201, r.text
    await change(reg, r.json()["household_id"], "deaths", {"person_id": son, "died_on": "2026-01-06"})
    person = (await reg.client.get(f"/api/v1/persons/{son}", headers=reg.headers("registration-officer"))).json()
    assert person["legal_status"] == "deceased"
    focal_status = (await reg.client.get(f"/api/v1/persons/{focal}", headers=reg.headers("registration-officer")))
    assert focal_status.json()["legal_status"] == "refugee"
    [deceased] = await reg.published("registration.person.deceased.v1")
    assert deceased["data"] == {"person_id": son, "died_on": "2026-01-06"} and deceased["subject"] == son
    revoked = [e["data"]["person_id"] for e in await reg.published("registration.document.revoked.v1")]
    assert revoked == [son]
    await reg.deliver(rsd.ApplicationClosed(application_id="a-d", person_id=focal, member_ids=[son], reason="death",
                                            closed_on=date(2026, 1, 8)), subject=focal)
    assert len(await reg.published("registration.person.deceased.v1")) == 1


async def test_a_death_rsd_records_first_is_told_by_registration_too(reg):
    from datetime import date

    from pana_events.events import rsd

    pid = await register(reg, "Farhod")
    await reg.deliver(rsd.ApplicationClosed(application_id="a-e", person_id=pid, member_ids=[pid], reason="death",
                                            closed_on=date(2026, 2, 1)), subject=pid)
    [deceased] = await reg.published("registration.person.deceased.v1")
    assert deceased["data"] == {"person_id": pid, "died_on": "2026-02-01"}
