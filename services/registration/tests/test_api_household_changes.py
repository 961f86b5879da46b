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
