"""Cursors keep the keys each list has always issued (clients hold them), and pages cover a list once."""

import pytest
from pana_kit.paging import decode_cursor, encode_cursor

_n = iter(range(10**6))


async def refer(reg, given):
    r = await reg.client.post("/api/v1/border-referrals",
                              headers={**reg.headers("border-officer"), "Idempotency-Key": f"cur-{next(_n):08d}"},
                              json={"given_name": given, "family_name": "Karimov", "birth_date": "1990-04-12",
                                    "sex": "male", "citizenship": "AFG", "crossing_point": "Dostyk",
                                    "language": "prs", "intent": "asylum"})
    assert r.status_code == 201, r.text
    return r.json()


async def every_page(reg, url, **params):
    h = reg.headers("registration-officer")
    seen, cursors, cursor = [], [], None
    while True:
        r = await reg.client.get(url, params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})}, headers=h)
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return seen, cursors
        cursors.append(decode_cursor(cursor))


async def test_referrals_page_by_due_date_and_id(reg):
    made = {(await refer(reg, name))["referral_id"] for name in ("Aziz", "Bahrom", "Davron")}
    seen, cursors = await every_page(reg, "/api/v1/border-referrals")
    assert {r["referral_id"] for r in seen} == made and len(seen) == 3
    assert all(set(c) == {"due", "id"} for c in cursors)


async def test_search_pages_by_id_and_by_rank(reg):
    made = {(await refer(reg, name))["person_id"] for name in ("Aziz", "Bahrom", "Davron")}
    seen, cursors = await every_page(reg, "/api/v1/persons")
    assert [p["person_id"] for p in seen] == sorted(made)
    assert all(set(c) == {"after"} for c in cursors)
    seen, cursors = await every_page(reg, "/api/v1/persons", name="Karimov")
    assert {p["person_id"] for p in seen} == made and cursors == [{"i": 1}, {"i": 2}]


@pytest.mark.parametrize("url, cursor", [("/api/v1/border-referrals", {"due": 5, "id": "x"}),
                                         ("/api/v1/persons", {"after": "x" * 65}),
                                         ("/api/v1/persons?name=Karimov", {"i": 501}),
                                         ("/api/v1/duplicate-reviews", {"t": "yesterday", "id": "x"})])
async def test_a_cursor_this_service_did_not_issue_is_400(reg, url, cursor):
    r = await reg.client.get(url, params={"cursor": encode_cursor(cursor)},
                             headers=reg.headers("registration-officer"))
    assert r.status_code == 400 and r.json()["type"].endswith("/invalid-cursor"), r.text
