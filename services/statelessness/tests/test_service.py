"""The application layer: lists page with the cursors clients already hold, system commands
(persons merged) run through the same use cases, and a concurrent write is a stale version."""

from datetime import date, timedelta

import pytest
from pana_events.events import registration as reg
from pana_kit.domain import StaleVersion
from pana_kit.paging import decode_cursor, encode_cursor
from pana_dev.testing import service_harness
from statelessness.app import create
from statelessness.settings import StatelessnessSettings
from statelessness.store.repository import Cases

TODAY = date.today()


@pytest.fixture
async def svc(tmp_path):
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json")) as harness:
        yield harness


def birth(child: str) -> reg.BirthRecorded:
    return reg.BirthRecorded(child_person_id=child, given_name="Aruzhan", family_name="Ivanova", birth_date=date(2026, 11, 20),
                             sex="female", born_in_kazakhstan=True, mother_person_id="m-1", mother_status="stateless")


def officer(svc):
    return svc.headers("statelessness-officer", subject="officer-a")


async def open_case(svc, person_id: str) -> tuple[dict, str]:
    body = {"person_id": person_id, "birth_date": "1990-05-01", "opened_on": (TODAY - timedelta(days=400)).isoformat()}
    r = await svc.client.post("/api/v1/cases", json=body, headers={**officer(svc), "Idempotency-Key": f"key-{person_id}-0000"})
    assert r.status_code == 201, r.text
    return r.json(), r.headers["ETag"]


async def all_pages(svc, url: str, params: dict, keys: set[str]) -> list[dict]:
    seen, cursor = [], None
    while True:
        r = await svc.client.get(url, params={**params, "limit": 1, **({"cursor": cursor} if cursor else {})},
                                 headers=officer(svc))
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return seen
        assert set(decode_cursor(cursor)) == keys  # the key names clients' cursors carry


async def test_every_list_pages_with_its_cursor_keys(svc):
    sent = (TODAY - timedelta(days=300)).isoformat()
    for i in range(3):
        case, etag = await open_case(svc, f"p-{i}")
        r = await svc.client.post(f"/api/v1/cases/{case['id']}/inquiries", json={"state": "UZB", "link": "birth", "sent_on": sent},
                                  headers={**officer(svc), "If-Match": etag})
        assert r.status_code == 200, r.text
        await svc.deliver(birth(f"c-{i}"), subject=f"c-{i}")
    cases = await all_pages(svc, "/api/v1/cases", {}, {"created_at", "id"})
    assert len({c["id"] for c in cases}) == len(cases) == 6  # three on application, three ex officio for the children
    flags = await all_pages(svc, "/api/v1/children-at-risk", {}, {"created_at", "id"})
    assert sorted(f["child_person_id"] for f in flags) == ["c-0", "c-1", "c-2"]
    overdue = await all_pages(svc, "/api/v1/inquiries/overdue", {}, {"due", "case", "inq"})
    assert len({i["inquiry_id"] for i in overdue}) == 3
    # a cursor written the way the service wrote them before still reads
    [first, *_] = sorted(overdue, key=lambda i: (i["reply_due"], i["case_id"], i["inquiry_id"]))
    old = encode_cursor({"due": first["reply_due"], "case": first["case_id"], "inq": first["inquiry_id"]})
    r = await svc.client.get("/api/v1/inquiries/overdue", params={"cursor": old}, headers=officer(svc))
    assert first["inquiry_id"] not in {i["inquiry_id"] for i in r.json()["items"]} and len(r.json()["items"]) == 2
    bad = await svc.client.get("/api/v1/inquiries/overdue", params={"cursor": encode_cursor({"due": "x"})},
                               headers=officer(svc))
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-cursor")
    assert bad.json()["detail"] == "the cursor is not one this service issued"


async def test_eligible_tracks_page_by_eligibility(svc):
    for i in range(3):
        case, etag = await open_case(svc, f"p-{i}")
        r = await svc.client.post(f"/api/v1/cases/{case['id']}/interview", json={},
                                  headers={**officer(svc), "If-Match": etag})
        r = await svc.client.post(f"/api/v1/cases/{case['id']}/determination", json={"outcome": "stateless", "reasons": "r"},
                                  headers={**officer(svc), "If-Match": r.headers["ETag"]})
        assert r.status_code == 200, r.text
        r = await svc.client.post("/api/v1/naturalization/tracks", json={"case_id": case["id"], "lawful_residence_from": f"201{i}-01-01"},
                                  headers={**officer(svc), "Idempotency-Key": f"track-{i}-0000000"})
        assert r.status_code == 201, r.text
    tracks = await all_pages(svc, "/api/v1/naturalization/eligible", {"when": "now"}, {"eligible_from", "id"})
    assert [t["eligible_from"] for t in tracks] == ["2015-01-01", "2016-01-01", "2017-01-01"]


async def test_a_merged_person_s_case_and_flag_follow_the_surviving_record(svc):
    await svc.deliver(birth("c-old"), subject="c-old")
    await svc.deliver(reg.PersonsMerged(surviving_person_id="c-new", merged_person_id="c-old", reason="duplicate"),
                      subject="c-new")
    h = officer(svc)
    [case] = (await svc.client.get("/api/v1/cases", params={"person_id": "c-new"}, headers=h)).json()["items"]
    # Opened ex officio: an officer takes the case before reading it (issue #15).
    await svc.client.post(f"/api/v1/cases/{case['id']}/assignment", json={"officer_id": "officer-a"}, headers=h)
    assert (await svc.client.get(f"/api/v1/cases/{case['id']}", headers=h)).json()["person_id"] == "c-new"
    [flag] = (await svc.client.get("/api/v1/children-at-risk", params={"child_person_id": "c-new"}, headers=h)).json()["items"]
    r = await svc.client.get(f"/api/v1/children-at-risk/{flag['flag_id']}", headers=h)
    assert r.json()["child_person_id"] == "c-new"
    assert (await svc.client.get("/api/v1/cases", params={"person_id": "c-old"}, headers=h)).json()["items"] == []


async def test_a_save_over_a_newer_version_is_a_stale_version(svc):
    case, _ = await open_case(svc, "p-1")
    async with svc.app.state.db.transaction() as session:
        cases = Cases(session, svc.app.state.keyring)
        loaded, version = await cases.load(case["id"])
        assert await cases.save(loaded, version) == version + 1
        with pytest.raises(StaleVersion, match="the case changed since it was read"):
            await cases.save(loaded, version)
