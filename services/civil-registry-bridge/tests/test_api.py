"""The bridge's HTTP API in process: requests from other systems, IIN checks, bad input, reconciler."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from bridge_support import Simulator, bridge, settled

from pana_events.identifiers import make_iin
from pana_kit.paging import decode_cursor

pytestmark = pytest.mark.asyncio


def body(**overrides) -> dict:
    tag = uuid.uuid4().hex[:8]
    doc = {
        "child_person_id": str(uuid.uuid4()),
        "child": {"surname": f"Omarov{tag}", "given_name": "Alikhan", "birth_date": (date.today() - timedelta(days=3)).isoformat(),
                  "sex": "male", "place_of_birth": {"in_kazakhstan": True, "region": "Almaty", "locality": "Almaty"}},
        "mother": {"surname": f"Omarova{tag}", "given_name": "Aigerim", "birth_date": "1998-06-12",
                   "nationality": "unknown", "legal_status": "undocumented"},
        "medical_birth_certificate_number": f"MBC-{tag}",
    }
    doc.update(overrides)
    return doc


def key() -> str:
    return str(uuid.uuid4())


async def test_post_is_idempotent_and_followed_to_registration(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim) as h:
        headers = {**h.headers("registration-officer"), "Idempotency-Key": key()}
        doc = body()
        first = await h.client.post("/api/v1/birth-verifications", json=doc, headers=headers)
        assert first.status_code == 202, first.text
        second = await h.client.post("/api/v1/birth-verifications", json=doc, headers=headers)
        assert second.status_code == 200 and second.headers["Idempotent-Replayed"] == "true"
        assert second.json()["id"] == first.json()["id"]
        other = await h.client.post("/api/v1/birth-verifications", json=body(), headers=headers)
        assert other.status_code == 409
        done = await settled(h, doc["child_person_id"])
        assert done["status"] == "registered"
        one = await h.client.get(f"/api/v1/birth-verifications/{first.json()['id']}", headers=h.headers("civil-registrar"))
        assert one.status_code == 200 and one.json()["certificate_number"] == done["certificate_number"]
        assert (await sim.stats())["registrations"]["created"] == 1


@pytest.mark.parametrize("change, status", [
    (lambda d: d["child"].update(birth_date="2999-01-01"), 422),  # born in the future
    (lambda d: d["child"].update(birth_date="2023-02-30"), 422),  # no such date
    (lambda d: d["mother"].update(birth_date=d["child"]["birth_date"]), 422),  # child not born after mother
    (lambda d: d["child"].update(iin="123456789012"), 422),  # malformed IIN (check digit)
    (lambda d: d.update(kind="submission", medical_birth_certificate_number=None), 422),  # no basis
    (lambda d: d.update(unexpected=1), 422),
    (lambda d: d["child"].update(surname="x" * 500), 422),
    (lambda d: d.update(kind="submission", child={**d["child"], "place_of_birth": {"in_kazakhstan": False, "country": "UZ"}}), 409),
])
async def test_bad_requests_are_refused_and_nothing_is_stored(tmp_path, change, status):
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        doc = body()
        change(doc)
        r = await h.client.post("/api/v1/birth-verifications", json=doc,
                                headers={**h.headers("civil-registrar"), "Idempotency-Key": key()})
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        listed = await h.client.get("/api/v1/birth-verifications", headers=h.headers("civil-registrar"))
        assert listed.json()["items"] == []


async def test_auth_and_scopes(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        assert (await h.client.get("/api/v1/birth-verifications")).status_code == 401
        assert (await h.client.get("/api/v1/birth-verifications", headers=h.headers("auditor"))).status_code == 403
        r = await h.client.post("/api/v1/birth-verifications", json=body(kind="submission"),
                                headers={**h.headers("registration-officer"), "Idempotency-Key": key()})
        assert r.status_code == 403  # a direct submission needs civil-registry:submit
        r = await h.client.post("/api/v1/birth-verifications", json=body(), headers=h.headers("civil-registrar"))
        assert r.status_code == 422  # no Idempotency-Key
        assert (await h.client.get("/api/v1/iin/940917498078")).status_code == 401


async def ask_three_times(h) -> None:
    for _ in range(3):
        r = await h.client.post("/api/v1/birth-verifications", json=body(),
                                headers={**h.headers("civil-registrar"), "Idempotency-Key": key()})
        assert r.status_code == 202


async def test_list_pages_with_a_cursor(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        await ask_three_times(h)
        seen, cursor = [], None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await h.client.get("/api/v1/birth-verifications", params=params, headers=h.headers("civil-registrar"))).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) == 3
        bad = await h.client.get("/api/v1/birth-verifications", params={"cursor": "!!"}, headers=h.headers("civil-registrar"))
        assert bad.status_code == 400
        missing = await h.client.get("/api/v1/birth-verifications/nope", headers=h.headers("civil-registrar"))
        assert missing.status_code == 404


@pytest.mark.parametrize("value, valid", [
    (make_iin(date(1994, 9, 17), "female", 7), True),
    ("123456789012", False), ("12345", False), ("abcdefghijkl", False), ("%20", False), ("ИИН", False),
    ("1" * 64, False),
])
async def test_iin_answers_any_string(tmp_path, value, valid):
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        r = await h.client.get(f"/api/v1/iin/{value}", headers=h.headers("civil-registrar"))
        assert r.status_code == 200, r.text
        assert r.json()["valid"] is valid
        assert set(r.json()) == {"valid", "reason", "hints"}


async def test_iin_longer_than_64_is_422(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        r = await h.client.get("/api/v1/iin/" + "1" * 65, headers=h.headers("civil-registrar"))
        assert r.status_code == 422


async def test_reconciler_resumes_a_parked_request(tmp_path):
    sim = Simulator()
    await sim.faults(outage=True)
    async with bridge(tmp_path, sim, max_attempts=2, stuck_after_s=0.2) as h:
        doc = body()
        r = await h.client.post("/api/v1/birth-verifications", json=doc,
                                headers={**h.headers("civil-registrar"), "Idempotency-Key": key()})
        assert r.status_code == 202
        await settled(h, doc["child_person_id"], "parked")
        [parked] = await h.published("civil_registry.birth_request.parked.v1")
        assert parked["data"]["attempts"] == 2
        await sim.faults(outage=False)
        import asyncio

        await asyncio.sleep(0.3)  # the request stays quiet past stuck_after (a time, not an effect)
        assert await h.app.state.work.reconcile(h.app.state.rules.stuck_after) == 1
        assert (await settled(h, doc["child_person_id"]))["status"] == "registered"


async def test_openapi_documents_every_route(tmp_path):
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        doc = (await h.client.get("/openapi.json")).json()
        for path, methods in doc["paths"].items():
            if not path.startswith("/api/v1"):
                continue
            for method, op in methods.items():
                assert op.get("summary") and op.get("description"), (method, path)
                assert any(code.startswith("4") for code in op["responses"]), (method, path)
        r = await h.client.post("/api/v1/birth-verifications", content=b"{not json",
                                headers={**h.headers("civil-registrar"), "Idempotency-Key": key(),
                                         "content-type": "application/json"})
        assert r.status_code == 422


async def test_cursors_keep_the_keys_clients_hold(tmp_path):
    # Cursors name the last row by {"created_at", "id"}, as before paging moved into the kit.
    sim = Simulator()
    async with bridge(tmp_path, sim, run_worker=False) as h:
        await ask_three_times(h)
        everything = (await h.client.get("/api/v1/birth-verifications", headers=h.headers("civil-registrar"))).json()
        first = (await h.client.get("/api/v1/birth-verifications", params={"limit": 1},
                                    headers=h.headers("civil-registrar"))).json()
        assert set(decode_cursor(first["next_cursor"])) == {"created_at", "id"}
        rest = (await h.client.get("/api/v1/birth-verifications", params={"cursor": first["next_cursor"]},
                                   headers=h.headers("civil-registrar"))).json()
        assert [i["id"] for i in first["items"] + rest["items"]] == [i["id"] for i in everything["items"]]
