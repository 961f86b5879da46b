"""Least privilege for the register's personal data (issue #15): reads scoped by office with a national scope
for the roles that need it, sensitive-need filters for supervisors, searches rate-limited per caller and
audited with the ids they returned."""

import pytest
from pana_kit.tables import AuditEntry
from registration.domain import Reader
from registration.domain.access import NATIONAL_SCOPE, SENSITIVE_SEARCH_SCOPE
from pana_kit.domain import AccessDenied
from pana_kit.roles import ROLE_SCOPES
from sqlalchemy import select

_n = iter(range(10**6))


def officer(reg, office="almaty", subject=None):
    return {**reg.headers("registration-officer", office=office, **({"subject": subject} if subject else {})),
            "Idempotency-Key": f"scope-{next(_n):08d}"}


async def register(reg, given, office="almaty", **over):
    body = {"given_name": given, "family_name": "Rahimi", "birth_date": "1990-01-01", "sex": "female",
            "citizenship": ["AFG"], "country_of_origin": "AFG", **over}
    r = await reg.client.post("/api/v1/persons", json=body, headers=officer(reg, office))
    assert r.status_code == 201, r.text
    return r.json()["person_id"]


async def ids(reg, headers, **params):
    r = await reg.client.get("/api/v1/persons", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return {p["person_id"] for p in r.json()["items"]}


# ----------------------------------------------------------------- the rules, no I/O
def test_reader_rules():
    local = Reader(scopes=frozenset({"registration:read"}), office="almaty")
    assert local.office_filter() == "almaty"
    assert local.may_read("almaty") and not local.may_read("shymkent") and not local.may_read(None)
    national = Reader(scopes=frozenset({"registration:read", NATIONAL_SCOPE}), office=None)
    assert national.office_filter() is None and national.may_read("shymkent") and national.may_read(None)
    with pytest.raises(AccessDenied) as refused:
        Reader(scopes=frozenset({"registration:read"}), office=None).office_filter()
    assert refused.value.rule == "reader_office_required"
    local.check_need_filter("disability")
    for need in ("survivor_of_sgbv", "survivor_of_torture"):
        with pytest.raises(AccessDenied) as refused:
            local.check_need_filter(need)
        assert refused.value.rule == "sensitive_need_filter_needs_supervisor"
        Reader(scopes=frozenset({SENSITIVE_SEARCH_SCOPE}), office="almaty").check_need_filter(need)


def test_the_national_and_sensitive_scopes_go_to_the_roles_that_need_them_only():
    assert {r for r, s in ROLE_SCOPES.items() if NATIONAL_SCOPE in s} == {"statelessness-officer"}
    assert {r for r, s in ROLE_SCOPES.items() if SENSITIVE_SEARCH_SCOPE in s} == {"supervisor"}


# ----------------------------------------------------------------- over HTTP
async def test_a_reader_sees_the_persons_of_their_office_only(reg):
    mine = await register(reg, "Zarina", office="almaty")
    theirs = await register(reg, "Laila", office="shymkent")
    almaty = reg.headers("registration-officer", office="almaty")
    # On main both offices' persons came back to any registration:read holder.
    assert await ids(reg, almaty) == {mine}
    assert await ids(reg, almaty, name="Rahimi") == {mine}
    assert await ids(reg, reg.headers("eligibility-officer", office="shymkent")) == {theirs}
    assert (await reg.client.get(f"/api/v1/persons/{mine}", headers=almaty)).status_code == 200
    for path in (f"/api/v1/persons/{theirs}", f"/api/v1/persons/{theirs}/history",
                 f"/api/v1/persons/{theirs}/documents"):
        r = await reg.client.get(path, headers=almaty)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", (path, r.text)
    async with reg.app.state.db.transaction() as session:
        outcomes = (await session.execute(select(AuditEntry.outcome).where(
            AuditEntry.resource == f"person/{theirs}", AuditEntry.action == "read"))).scalars().all()
    assert outcomes == ["out_of_scope"]


async def test_the_national_scope_reads_every_office(reg):
    a = await register(reg, "Zarina", office="almaty")
    b = await register(reg, "Laila", office="shymkent")
    national = reg.headers("statelessness-officer", office="astana")
    assert await ids(reg, national) == {a, b}
    assert (await reg.client.get(f"/api/v1/persons/{b}", headers=national)).status_code == 200


async def test_a_token_without_office_or_national_scope_reads_nothing(reg):
    await register(reg, "Zarina")
    r = await reg.client.get("/api/v1/persons", headers=reg.headers("registration-officer", office=None))
    assert r.status_code == 403 and r.json()["rule"] == "reader_office_required"


async def test_sensitive_need_filters_need_a_supervisor(reg):
    survivor = await register(reg, "Zarina", specific_needs=["survivor_of_sgbv"])
    for role in ("registration-officer", "eligibility-officer", "statelessness-officer"):
        r = await reg.client.get("/api/v1/persons", params={"specific_need": "survivor_of_sgbv"},
                                 headers=reg.headers(role))
        # On main: 200 and the list of survivors.
        assert r.status_code == 403, (role, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["rule"] == "sensitive_need_filter_needs_supervisor"
    assert await ids(reg, reg.headers("supervisor"), specific_need="survivor_of_sgbv") == {survivor}
    assert await ids(reg, reg.headers("registration-officer"), specific_need="disability") == set()
    async with reg.app.state.db.transaction() as session:
        denied = (await session.execute(select(AuditEntry).where(AuditEntry.action == "search",
                                                                 AuditEntry.outcome == "denied"))).scalars().all()
    assert len(denied) == 3


async def test_a_search_is_audited_with_the_ids_it_returned(reg):
    people = {await register(reg, given, birth_date=f"19{70 + i}-0{i + 1}-1{i}")
              for i, given in enumerate(("Aigerim", "Bolat", "Dariga"))}
    h = reg.headers("registration-officer", subject="officer-x")
    r = await reg.client.get("/api/v1/persons", params={"limit": 2}, headers=h)
    page = {p["person_id"] for p in r.json()["items"]}
    assert len(page) == 2 and page <= people
    async with reg.app.state.db.transaction() as session:
        rows = (await session.execute(select(AuditEntry).where(AuditEntry.subject == "officer-x")
                                      .order_by(AuditEntry.seq))).scalars().all()
    assert [e.action for e in rows] == ["search", "search-result", "search-result"]
    # On main: one entry, "2 found", and no way to tell whom the search showed.
    assert {e.resource for e in rows[1:]} == {f"person/{i}" for i in page}


async def test_searches_are_rate_limited_per_caller(reg):
    reg.app.state.settings.search_rate_per_minute = 3
    a = reg.headers("registration-officer", subject="officer-a")
    for _ in range(3):
        assert (await reg.client.get("/api/v1/persons", headers=a)).status_code == 200
    r = await reg.client.get("/api/v1/persons", headers=a)
    # On main: no limit on searches at all.
    assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) >= 1
    other = reg.headers("registration-officer", subject="officer-b")
    assert (await reg.client.get("/api/v1/persons", headers=other)).status_code == 200


async def test_the_duplicate_queue_is_audited_with_the_persons_it_shows_and_rate_limited(reg):
    first = await register(reg, "Ahmad", family_name="Karimi", birth_date="1990-05-04", sex="male")
    second = await register(reg, "Ахмад", family_name="Карими", birth_date="1990-09-20", sex="male")
    reg.app.state.settings.list_rate_per_minute = 2
    h = reg.headers("registration-officer", subject="officer-q")
    page = await reg.client.get("/api/v1/duplicate-reviews", headers=h)
    assert page.status_code == 200 and page.json()["items"], page.text
    async with reg.app.state.db.transaction() as session:
        shown = (await session.execute(select(AuditEntry.resource).where(
            AuditEntry.subject == "officer-q", AuditEntry.action == "search-result"))).scalars().all()
    # On main: one entry for the whole page and no ids.
    assert set(shown) == {f"person/{first}", f"person/{second}"}
    assert (await reg.client.get("/api/v1/duplicate-reviews", headers=h)).status_code == 200
    limited = await reg.client.get("/api/v1/duplicate-reviews", headers=h)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
