"""Persons, households and births through the API: real app, real SQLite, no broker."""

import pytest

_n = iter(range(10**6))


def officer(reg, **kw):
    return {**reg.headers("registration-officer", **kw), "Idempotency-Key": f"key-{next(_n):08d}"}


def person(**over):
    body = {"given_name": "Мухаммад", "family_name": "Каримов", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": ["AFG"], "country_of_origin": "AFG", "languages": ["prs"]}
    return {**body, **over}


async def register(reg, **over):
    r = await reg.client.post("/api/v1/persons", json=person(**over), headers=officer(reg))
    assert r.status_code == 201, r.text
    return r.json()


async def test_register_read_update_and_history(reg):
    created = await register(reg)
    assert created["registration_number"].startswith("KZR-")
    assert created["family_name_latin"] == "Karimov"
    [event] = await reg.published("registration.person.registered.v1")
    assert event["data"]["person_id"] == created["person_id"] and event["data"]["citizenship"] == ["AFG"]
    # the Latin forms travel with the event (issue 18: rsd's letters print both)
    assert event["data"]["family_name_latin"] == "Karimov" and event["data"]["given_name_latin"] == created["given_name_latin"]
    url = f"/api/v1/persons/{created['person_id']}"
    r = await reg.client.get(url, headers=reg.headers("registration-officer"))
    assert r.status_code == 200 and r.headers["ETag"]
    etag = r.headers["ETag"]
    h = reg.headers("registration-officer")
    assert (await reg.client.patch(url, json={"ethnicity": "Tajik", "reason": "told at interview"}, headers=h)).status_code == 428
    r = await reg.client.patch(url, json={"ethnicity": "Tajik", "reason": "told at interview"}, headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["ethnicity"] == "Tajik" and r.headers["ETag"] != etag
    stale = await reg.client.patch(url, json={"ethnicity": "Uzbek", "reason": "again"}, headers={**h, "If-Match": etag})
    assert stale.status_code == 412
    history = (await reg.client.get(url + "/history", headers=h)).json()["items"]
    assert [e["reason"] for e in history] == ["registration", "told at interview"]


async def test_a_likely_duplicate_is_refused_unless_overridden(reg):
    first = await register(reg)
    r = await reg.client.post("/api/v1/persons", json=person(given_name="Mohammad", family_name="Karimov"), headers=officer(reg))
    assert r.status_code == 409 and r.json()["rule"] == "likely_duplicate"
    assert r.json()["candidates"][0]["person_id"] == first["person_id"]
    r = await reg.client.post("/api/v1/persons", json=person(given_name="Mohammad", override_reason="different person: passports seen"),
                              headers=officer(reg))
    assert r.status_code == 201, r.text
    assert len(await reg.published("registration.person.registered.v1")) == 2


async def test_idempotent_registration(reg):
    headers = officer(reg)
    a = await reg.client.post("/api/v1/persons", json=person(), headers=headers)
    b = await reg.client.post("/api/v1/persons", json=person(), headers=headers)
    assert a.status_code == b.status_code == 201 and a.json() == b.json()
    assert len(await reg.published("registration.person.registered.v1")) == 1


@pytest.mark.parametrize("body", [
    person(unknown_field=1),
    person(given_name="Ali\x00"),
    person(birth_date="2999-01-01"),
    person(birth_date="not-a-date"),
    person(sex="robot"),
    person(citizenship=["afg"]),
    person(citizenship=["ZZZ"]),
    person(given_name="x" * 101),
    person(citizenship_status="none", citizenship=["AFG", "IRN", "PAK", "TJK", "UZB", "KGZ"]),
])
async def test_bad_input_is_refused_and_nothing_stored(reg, body):
    r = await reg.client.post("/api/v1/persons", json=body, headers=officer(reg))
    assert 400 <= r.status_code < 500 and r.headers["content-type"] == "application/problem+json", r.text
    assert await reg.published() == []


async def test_malformed_json_and_auth(reg):
    r = await reg.client.post("/api/v1/persons", content=b"{not json", headers={**officer(reg), "Content-Type": "application/json"})
    assert r.status_code == 422
    assert (await reg.client.post("/api/v1/persons", json=person())).status_code == 401
    assert (await reg.client.post("/api/v1/persons", json=person(), headers=officer(reg) | reg.headers("border-officer"))).status_code == 403
    assert (await reg.client.get("/api/v1/persons/x", headers=reg.headers("registration-officer", purpose=None))).status_code == 422
    assert (await reg.client.get("/api/v1/persons/nope", headers=reg.headers("registration-officer"))).status_code == 404


async def _household(reg):
    mother = await register(reg, given_name="Zarina", family_name="Rahimi", sex="female", birth_date="1992-02-03",
                            citizenship=[], citizenship_status="none")
    father = await register(reg, given_name="Aziz", family_name="Rahimi", birth_date="1988-07-01")
    r = await reg.client.post("/api/v1/households", json={
        "focal_person_id": father["person_id"], "members": [{"person_id": mother["person_id"], "relationship": "spouse"}]},
        headers=officer(reg))
    assert r.status_code == 201, r.text
    return r.json()["household_id"], mother, father


async def test_household_and_birth(reg):
    household_id, mother, father = await _household(reg)
    birth = {"given_name": "Aigerim", "family_name": "Rahimi", "birth_date": "2026-01-05", "sex": "female",
             "born_in_kazakhstan": True, "mother_person_id": mother["person_id"], "father_person_id": father["person_id"],
             "medical_birth_certificate_number": "MBC-2026-1", "place_of_birth": "Almaty"}
    r = await reg.client.post(f"/api/v1/households/{household_id}/births", json=birth, headers=officer(reg))
    assert r.status_code == 201, r.text
    child_id = r.json()["person_id"]
    [event] = await reg.published("registration.birth.recorded.v1")
    data = event["data"]
    assert data["child_person_id"] == child_id and data["mother_status"] == "stateless"
    assert data["father_status"] == "foreign_citizen" and data["mother_given_name"] == "Zarina"
    assert data["mother_birth_date"] == "1992-02-03" and data["medical_birth_certificate_number"] == "MBC-2026-1"
    h = (await reg.client.get(f"/api/v1/households/{household_id}", headers=reg.headers("registration-officer"))).json()
    child = next(m for m in h["members"] if m["person_id"] == child_id)
    assert child["relationship"] == "child"
    read = (await reg.client.get(f"/api/v1/persons/{child_id}", headers=reg.headers("registration-officer"))).json()
    assert read["household_id"] == household_id


async def test_household_rules(reg):
    household_id, mother, father = await _household(reg)
    other = await register(reg, given_name="Olga", family_name="Petrova", sex="female", birth_date="1970-01-01",
                           citizenship=["RUS"])
    r = await reg.client.post("/api/v1/households", json={
        "focal_person_id": other["person_id"], "members": [{"person_id": mother["person_id"], "relationship": "focal"}]},
        headers=officer(reg))
    assert r.status_code == 409 and r.json()["rule"] == "one_focal_person"
    r = await reg.client.post("/api/v1/households", json={"focal_person_id": mother["person_id"]}, headers=officer(reg))
    assert r.status_code == 409 and r.json()["rule"] == "one_household_per_person"
    h = await reg.client.get(f"/api/v1/households/{household_id}", headers=reg.headers("registration-officer"))
    r = await reg.client.post(f"/api/v1/households/{household_id}/arrivals",
                              json={"person_id": other["person_id"], "relationship": "parent", "arrived_on": "2026-01-01"},
                              headers={**reg.headers("registration-officer"), "If-Match": h.headers["ETag"]})
    assert r.status_code == 200, r.text
    changes = [e["data"]["change"] for e in await reg.published("registration.household.changed.v1")]
    assert changes == ["created", "arrival"]


async def test_foundling(reg):
    r = await reg.client.post("/api/v1/persons/foundlings", json={
        "given_name": "Nursultan", "family_name": "Tabylganov", "birth_date": "2026-01-01", "sex": "male"},
        headers=officer(reg))
    assert r.status_code == 201, r.text
    [event] = await reg.published("registration.birth.recorded.v1")
    assert event["data"]["foundling"] is True and event["data"]["mother_person_id"] is None
