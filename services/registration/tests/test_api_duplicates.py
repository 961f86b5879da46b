"""Duplicates through the API: the check across scripts and spellings, the review queue, merging."""

from datetime import datetime


_n = iter(range(10**6))


def officer(reg):
    return {**reg.headers("registration-officer"), "Idempotency-Key": f"dup-{next(_n):08d}"}


def person(**over):
    body = {"given_name": "Мухаммад", "family_name": "Нұрлыбеков", "birth_date": "1990-05-04", "sex": "male",
            "citizenship": ["AFG"], "country_of_origin": "AFG"}
    return {**body, **over}


async def register(reg, **over):
    r = await reg.client.post("/api/v1/persons", json=person(**over), headers=officer(reg))
    assert r.status_code == 201, r.text
    return r.json()


async def check(reg, **over):
    r = await reg.client.post("/api/v1/persons/duplicate-check", json=person(**over),
                              headers=reg.headers("registration-officer"))
    assert r.status_code == 200, r.text
    from registration.api.duplicates import DuplicateCheckOut

    # the route builds its JSON itself: it must be what the documented schema says
    assert DuplicateCheckOut.model_validate(r.json()).model_dump(mode="json") == r.json()
    return r.json()["candidates"]


async def test_check_across_scripts_spellings_and_dates(reg):
    first = await register(reg)
    await register(reg, given_name="Aigerim", family_name="Saparova", sex="female", birth_date="1985-01-02")
    cases = [
        ({"given_name": "Mohammad", "family_name": "Nurlybekov"}, "birth_date_equal"),
        ({"given_name": "Muhammad", "family_name": "Nurlybekov", "birth_date": "1990-04-05"},
         "birth_date_day_month_swapped"),
        ({"given_name": "MUKHAMMAD", "family_name": "Nūrlybekov", "birth_date": "1990-01-01",
          "birth_date_precision": "year"}, "birth_year_equal"),
        ({"given_name": "Muhammed", "family_name": "Nurlybekov", "given_name_latin": "Mukhammed"}, "birth_date_equal"),
    ]
    for over, reason in cases:
        found = await check(reg, **over)
        assert [c["person_id"] for c in found] == [first["person_id"]], over
        assert found[0]["verdict"] == "likely_duplicate" and reason in found[0]["reasons"], found
        assert set(found[0]) >= {"person_id", "score", "reasons"}
    assert await check(reg, given_name="Yusuf", family_name="Ahmadi") == []
    r = await reg.client.post("/api/v1/persons/duplicate-check", json=person(given_name=""),
                              headers=reg.headers("registration-officer"))
    assert r.status_code == 422
    assert (await reg.client.post("/api/v1/persons/duplicate-check", json=person())).status_code == 401
    # registering the variant is refused with the candidates, naming the rule
    r = await reg.client.post("/api/v1/persons", json=person(given_name="Mohammad", family_name="Nurlybekov"),
                              headers=officer(reg))
    assert r.status_code == 409 and r.json()["rule"] == "likely_duplicate"


async def test_a_son_named_after_his_father_is_not_a_duplicate(reg):
    father = await register(reg, family_name="Нурлыбеков", birth_date="1962-03-01", patronymic="Алиевич")
    son = dict(given_name="Mukhammad", family_name="Nurlybekov", birth_date="1990-03-01", patronymic="Mukhammadovich")
    assert [c for c in await check(reg, **son) if c["verdict"] == "likely_duplicate"] == []
    created = await register(reg, **son)
    assert created["person_id"] != father["person_id"]


async def _open_review(reg):
    a = await register(reg, given_name="Ahmad", family_name="Karimi", birth_date="1990-05-04")
    b = await register(reg, given_name="Ахмад", family_name="Карими", birth_date="1990-09-20")
    assert [c["person_id"] for c in b["possible_duplicates"]] == [a["person_id"]]
    r = await reg.client.get("/api/v1/duplicate-reviews", params={"person_id": b["person_id"]},
                             headers=reg.headers("registration-officer"))
    assert r.status_code == 200, r.text
    [review] = r.json()["items"]
    assert (review["person_id"], review["candidate_person_id"]) == (b["person_id"], a["person_id"])
    # A date-time with its offset, as documented, though SQLite gives the stored time back without one.
    assert datetime.fromisoformat(review["created_at"]).tzinfo
    return a, b, review


async def test_review_queue_not_a_duplicate(reg):
    a, b, review = await _open_review(reg)
    url = f"/api/v1/duplicate-reviews/{review['review_id']}/resolution"
    body = {"outcome": "not_duplicate", "reason": "different passports seen"}
    h = reg.headers("registration-officer")
    assert (await reg.client.post(url, json=body, headers=h)).status_code == 428
    r = await reg.client.post(url, json=body, headers={**h, "If-Match": review["etag"]})
    assert r.status_code == 200 and r.json()["state"] == "not_duplicate", r.text
    assert (await reg.client.post(url, json=body, headers={**h, "If-Match": review["etag"]})).status_code == 412
    r = await reg.client.post(url, json=body, headers={**h, "If-Match": r.json()["etag"]})
    assert r.status_code == 409 and r.json()["rule"] == "review_resolved_once"
    assert (await reg.client.get("/api/v1/duplicate-reviews", headers=h)).json()["items"] == []
    assert (await reg.client.get("/api/v1/duplicate-reviews", params={"cursor": "xx"}, headers=h)).status_code == 400
    assert (await reg.client.get("/api/v1/duplicate-reviews", headers=reg.headers("border-officer"))).status_code == 403
    assert await reg.published("registration.persons.merged.v1") == []


async def test_review_resolved_by_merge(reg):
    a, b, review = await _open_review(reg)
    h = reg.headers("registration-officer")
    r = await reg.client.post(f"/api/v1/duplicate-reviews/{review['review_id']}/resolution",
                              json={"outcome": "merge", "reason": "same person, two offices"},
                              headers={**h, "If-Match": review["etag"]})
    assert r.status_code == 200 and r.json()["state"] == "merged", r.text
    [event] = await reg.published("registration.persons.merged.v1")
    assert event["data"]["surviving_person_id"] == a["person_id"]
    assert event["data"]["merged_person_id"] == b["person_id"] and event["subject"] == b["person_id"]


async def test_merge_endpoint(reg):
    a = await register(reg)
    b = await register(reg, given_name="Mohammad", family_name="Nurlybekov", override_reason="checked later")
    h = reg.headers("registration-officer")
    url = f"/api/v1/persons/{a['person_id']}"
    etag = (await reg.client.get(url, headers=h)).headers["ETag"]
    body = {"duplicate_person_id": b["person_id"], "reason": "same passport"}
    assert (await reg.client.post(url + "/merge", json=body, headers=h)).status_code == 428
    assert (await reg.client.post(url + "/merge", json=body, headers=reg.headers("border-officer"))).status_code == 403
    r = await reg.client.post(url + "/merge", json=body, headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] != etag
    [event] = await reg.published("registration.persons.merged.v1")
    assert event["data"] == {"surviving_person_id": a["person_id"], "merged_person_id": b["person_id"],
                             "reason": "same passport"}
    merged = (await reg.client.get(f"/api/v1/persons/{b['person_id']}", headers=h)).json()
    assert merged["merged_into"] == a["person_id"]
    # the merged record left the index; a second merge and a self-merge are refused
    assert [c["person_id"] for c in await check(reg, given_name="Mohammad")] == [a["person_id"]]
    again = await reg.client.post(url + "/merge", json=body, headers={**h, "If-Match": r.headers["ETag"]})
    assert again.status_code == 409 and again.json()["rule"] == "merged_record_is_closed"
    self_merge = await reg.client.post(url + "/merge", json={**body, "duplicate_person_id": a["person_id"]},
                                       headers={**h, "If-Match": r.headers["ETag"]})
    assert self_merge.status_code == 409
    missing = await reg.client.post(url + "/merge", json={**body, "duplicate_person_id": "nope"},
                                    headers={**h, "If-Match": r.headers["ETag"]})
    assert missing.status_code == 404
    assert len(await reg.published("registration.persons.merged.v1")) == 1


async def test_a_check_says_when_the_candidate_limit_cut_it_short(reg):
    from dataclasses import replace

    # Holders of one key within a generation of the check (the engine never reads namesakes a generation apart:
    # the relative cap keeps them below review, so none of them is a candidate cut short).
    for given in ("Ahmad", "Yusuf", "Ibrahim"):
        await register(reg, given_name=given, family_name="Karimi", birth_date="1984-01-02")
    r = await reg.client.post("/api/v1/persons/duplicate-check", json=person(given_name="Hasan", family_name="Karimi"),
                              headers=reg.headers("registration-officer"))
    assert r.status_code == 200 and r.json()["candidate_limit_reached"] is False
    reg.app.state.matching = replace(reg.app.state.matching, candidate_limit=2)
    r = await reg.client.post("/api/v1/persons/duplicate-check", json=person(given_name="Hasan", family_name="Karimi"),
                              headers=reg.headers("registration-officer"))
    assert r.status_code == 200 and r.json()["candidate_limit_reached"] is True
    reg.app.state.matching = replace(reg.app.state.matching, candidate_limit=200)
    for given in ("Ahmad", "Yusuf", "Ibrahim"):  # a generation apart: not read, no limit reached
        await register(reg, given_name=given, family_name="Karimi", birth_date="1960-01-02")
    reg.app.state.matching = replace(reg.app.state.matching, candidate_limit=3)
    r = await reg.client.post("/api/v1/persons/duplicate-check", json=person(given_name="Hasan", family_name="Karimi"),
                              headers=reg.headers("registration-officer"))
    assert r.status_code == 200 and r.json()["candidate_limit_reached"] is False
