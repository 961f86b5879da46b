"""Search, identity documents (MRZ), overdue border referrals and population statistics through the API."""

from datetime import date, datetime, timedelta, timezone

from registration.domain import BorderReferral, BorderStatement, RegistrationRules
from pana_kit.outbox import UnitOfWork
from registration.domain import FactKind
from registration.service import add_status_fact
from registration.store.repository import Referrals
from registration.store.tables import PersonRow
from sqlalchemy import update

_n = iter(range(10**6))
TD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"


def officer(reg):
    return {**reg.headers("registration-officer"), "Idempotency-Key": f"srch-{next(_n):08d}"}


async def register(reg, given, family, birth, sex="male", **over):
    body = {"given_name": given, "family_name": family, "birth_date": birth, "sex": sex, "citizenship": ["AFG"],
            "country_of_origin": "AFG", **over}
    r = await reg.client.post("/api/v1/persons", json=body, headers=officer(reg))
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def search(reg, **params):
    r = await reg.client.get("/api/v1/persons", params=params, headers=reg.headers("registration-officer"))
    assert r.status_code == 200, r.text
    return r.json()


async def test_search_by_name_number_and_filters(reg):
    m = await register(reg, "Мухаммад", "Нұрлыбеков", "1990-05-04", specific_needs=["survivor_of_torture"])
    z = await register(reg, "Zarina", "Rahimi", "1992-02-03", sex="female")
    k = await register(reg, "Karim", "Rahimi", "1960-02-03")
    assert [p["person_id"] for p in (await search(reg, name="Mohammad Nurlybekov"))["items"]] == [m]
    assert [p["person_id"] for p in (await search(reg, name="нурлыбеков"))["items"]] == [m]
    assert {p["person_id"] for p in (await search(reg, name="Рахими"))["items"]} == {z, k}
    assert (await search(reg, name="Saparova"))["items"] == []
    # A sensitive need is searched by a supervisor only (issue #15; see test_access_scoping.py).
    by_need = await reg.client.get("/api/v1/persons", params={"specific_need": "survivor_of_torture"},
                                   headers=reg.headers("supervisor"))
    assert [p["person_id"] for p in by_need.json()["items"]] == [m]
    number = (await reg.client.get(f"/api/v1/persons/{z}", headers=reg.headers("registration-officer"))).json()
    assert [p["person_id"] for p in (await search(reg, registration_number=number["registration_number"]))["items"]] == [z]
    async with reg.app.state.db.transaction() as session:
        await session.execute(update(PersonRow).where(PersonRow.person_id == k).values(legal_status="refugee",
                                                                                        iin="600203300123"))
    assert [p["person_id"] for p in (await search(reg, legal_status="refugee"))["items"]] == [k]
    assert [p["person_id"] for p in (await search(reg, iin="600203300123"))["items"]] == [k]
    # cursor pagination without and with a name
    first = await search(reg, limit=2)
    second = await search(reg, limit=2, cursor=first["next_cursor"])
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert {p["person_id"] for p in first["items"] + second["items"]} == {m, z, k}
    page = await search(reg, name="Rahimi", limit=1)
    rest = await search(reg, name="Rahimi", limit=1, cursor=page["next_cursor"])
    assert {page["items"][0]["person_id"], rest["items"][0]["person_id"]} == {z, k} and rest["next_cursor"] is None
    h = reg.headers("registration-officer")
    for bad in ({"cursor": "!!"}, {"limit": 501}, {"iin": "12"}, {"specific_need": "x"}, {"name": "a\x00"}):
        r = await reg.client.get("/api/v1/persons", params=bad, headers=h)
        assert 400 <= r.status_code < 500, (bad, r.text)
    assert (await reg.client.get("/api/v1/persons", headers=reg.headers("registration-officer", purpose=None))).status_code == 422


async def test_identity_document_from_mrz_and_fields(reg):
    anna = await register(reg, "Anna Maria", "Eriksson", "1974-08-12", sex="female")
    h = reg.headers("registration-officer")
    url = f"/api/v1/persons/{anna}"
    etag = (await reg.client.get(url, headers=h)).headers["ETag"]
    bad_digit = TD3.replace("7408122F", "7408123F")
    r = await reg.client.post(url + "/identity-documents", json={"mrz": bad_digit}, headers={**h, "If-Match": etag})
    assert r.status_code == 422 and r.json()["rule"] == "mrz_check_digit" and r.json()["field"] == "birth_date", r.text
    r = await reg.client.post(url + "/identity-documents", json={"mrz": TD3, "issued_on": "1970-01-01"},
                              headers={**h, "If-Match": etag})
    assert r.status_code == 422 and r.json()["rule"] == "birth_date_not_after_document_issue", r.text
    r = await reg.client.post(url + "/identity-documents",
                              json={"kind": "birth_certificate", "number": "BC-1", "issued_on": "1970-01-01"},
                              headers={**h, "If-Match": etag})
    assert r.status_code == 422 and r.json()["rule"] == "birth_date_not_after_document_issue", r.text
    assert (await reg.client.post(url + "/identity-documents", json={"mrz": TD3, "number": "X"},
                                  headers={**h, "If-Match": etag})).status_code == 422
    assert (await reg.client.get(url, headers=h)).headers["ETag"] == etag  # nothing stored
    assert (await reg.client.post(url + "/identity-documents", json={"mrz": TD3}, headers=h)).status_code == 428
    r = await reg.client.post(url + "/identity-documents", json={"mrz": TD3, "issued_on": "2002-04-16"},
                              headers={**h, "If-Match": etag})
    assert r.status_code == 200, r.text
    [doc] = r.json()["identity_documents"]
    assert (doc["number"], doc["kind"], doc["expires_on"]) == ("L898902C3", "passport", "2012-04-15")
    again = await reg.client.post(url + "/identity-documents", json={"mrz": TD3}, headers={**h, "If-Match": r.headers["ETag"]})
    assert again.status_code == 409 and again.json()["rule"] == "identity_document_recorded_once"
    assert [p["person_id"] for p in (await search(reg, document_number="l898902c3"))["items"]] == [anna]
    check = await reg.client.post("/api/v1/persons/duplicate-check", headers=h, json={
        "given_name": "Someone", "family_name": "Else", "document_numbers": ["L898902C3"]})
    assert [c["person_id"] for c in check.json()["candidates"]] == [anna]


async def test_overdue_border_referrals(reg):
    r = await reg.client.post("/api/v1/border-referrals", headers={**reg.headers("border-officer"), "Idempotency-Key": "border-0001"},
                              json={"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12",
                                    "sex": "male", "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs",
                                    "intent": "asylum"})
    assert r.status_code == 201, r.text
    now = datetime.now(timezone.utc)
    waiting = BorderReferral.refer(referral_id="ref-waiting", crossing_point="Khorgos", referred_at=now - timedelta(days=9),
                                   referred_by="border", statement=BorderStatement("fear of return"),
                                   rules=RegistrationRules())
    async with reg.app.state.db.transaction() as session:
        await Referrals(session).add(waiting)
    h = reg.headers("registration-officer")
    [item] = (await reg.client.get("/api/v1/border-referrals", params={"overdue": "true"}, headers=h)).json()["items"]
    assert item["referral_id"] == "ref-waiting" and item["overdue"] and item["days_overdue"] == 4
    assert item["person_id"] is None and item["time_to_registration_hours"] is None
    everything = (await reg.client.get("/api/v1/border-referrals", headers=h)).json()["items"]
    registered = next(i for i in everything if i["person_id"])
    assert registered["time_to_registration_hours"] == 0 and registered["late"] is False
    page = (await reg.client.get("/api/v1/border-referrals", params={"limit": 1}, headers=h)).json()
    assert page["next_cursor"] and len(page["items"]) == 1
    assert (await reg.client.get("/api/v1/border-referrals", params={"cursor": "eyJkdWUiOiJ4In0"}, headers=h)).status_code == 400
    assert (await reg.client.get("/api/v1/border-referrals", headers=reg.headers("border-officer"))).status_code == 403


async def test_a_referral_takes_every_specific_need_a_person_can_have(reg):
    """The referral's vocabulary is the register's: a need the API takes is one the person can hold."""
    from registration.domain.person import SpecificNeed

    h = reg.headers("border-officer")
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
            "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs", "intent": "asylum"}
    r = await reg.client.post("/api/v1/border-referrals", headers={**h, "Idempotency-Key": "needs-0001"},
                              json={**body, "specific_needs": [n.value for n in SpecificNeed]})
    assert r.status_code == 201, r.text
    before = (await reg.client.get("/api/v1/border-referrals", headers=reg.headers("registration-officer"))).json()
    for unknown in ("single_parent", "other"):
        bad = await reg.client.post("/api/v1/border-referrals", headers={**h, "Idempotency-Key": f"needs-{unknown}"},
                                    json={**body, "given_name": "Omid", "specific_needs": [unknown]})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json", bad.text
    after = (await reg.client.get("/api/v1/border-referrals", headers=reg.headers("registration-officer"))).json()
    assert after == before


async def test_a_referral_refuses_a_sex_the_register_would_refuse(reg):
    """Issue 13: a referral took `sex: "other"` that registration then refused; one Sex list, refused at once."""
    h = {**reg.headers("border-officer"), "Idempotency-Key": "sex-other-01"}
    body = {"given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "other",
            "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs", "intent": "asylum"}
    bad = await reg.client.post("/api/v1/border-referrals", headers=h, json=body)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json", bad.text
    ok = await reg.client.post("/api/v1/border-referrals", headers={**h, "Idempotency-Key": "sex-unknown-1"},
                               json={**body, "sex": "unknown"})
    assert ok.status_code == 201, ok.text


async def test_referral_and_person_share_one_sex_and_needs_list_in_the_openapi(reg):
    from pana_events.vocabulary import Sex, SpecificNeed

    schemas = (await reg.client.get("/openapi.json")).json()["components"]["schemas"]
    referral, person = schemas["BorderReferralIn"], schemas["PersonIn"]
    for body in (referral, person):
        assert body["properties"]["sex"]["enum"] == [s.value for s in Sex]
    assert referral["properties"]["specific_needs"]["items"]["enum"] == [n.value for n in SpecificNeed]


async def test_legal_status_in_the_openapi_is_the_contracts_list(reg):
    from pana_events.vocabulary import LegalStatus

    schemas = (await reg.client.get("/openapi.json")).json()["components"]["schemas"]
    person = schemas["PersonOut"]["properties"]["legal_status"]
    enums = [s["enum"] for s in person.get("anyOf", [person]) if "enum" in s]
    assert enums == [[s.value for s in LegalStatus]]


async def test_population_statistics(reg):
    ids = [await register(reg, given, "Rahimi", "1990-01-01", country_of_origin="AFG", sex="female")
           for given in ("Zarina", "Laila", "Mariam", "Parisa", "Farida", "Shirin")]
    child = await register(reg, "Omid", "Sultani", "2020-06-01", country_of_origin="IRN")
    for pid in ids + [child]:  # the facts as the consumed events add them (the summary counts move with them)
        async with UnitOfWork(reg.app.state.db, "test") as uow:
            await add_status_fact(uow, pid, FactKind.ASYLUM_APPLICATION_REGISTERED, date(2024, 1, 1), f"app-{pid}")
    h = reg.headers("registration-officer")
    r = await reg.client.get("/api/v1/statistics/population", headers=h)
    assert r.status_code == 200, r.text
    cells = {(c["legal_status"], c["sex"], c["age_bracket"], c["country_of_origin"]): c["count"] for c in r.json()["cells"]}
    assert cells == {("asylum_seeker", "female", "18-59", "AFG"): 6, ("asylum_seeker", "male", "5-11", "IRN"): "*"}
    csv = await reg.client.get("/api/v1/statistics/population", params={"format": "csv"}, headers=h)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "legal_status,sex,age_bracket,country_of_origin,count"
    before = await reg.client.get("/api/v1/statistics/population", params={"as_of": "2023-12-31"}, headers=h)
    assert before.json()["cells"] == []
    assert (await reg.client.get("/api/v1/statistics/population", params={"as_of": "soon"}, headers=h)).status_code == 422
    assert (await reg.client.get("/api/v1/statistics/population", headers=reg.headers("service-provider"))).status_code == 403
