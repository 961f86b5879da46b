"""Issue 15 (known gap): the bridge stored each birth request's details in clear (the child's and parents' names,
birth dates, IINs, nationality and legal status, the certificate numbers) and an unkeyed SHA-256 of them. Now the
details are sealed, each bound to (civil-registry-bridge, birth_request, id, field); plain text and moved
ciphertexts are refused on read; the fingerprint is keyed; requests stored before are sealed at start-up."""

from __future__ import annotations

import json

import pytest
from bridge_support import Simulator, bridge, settled
from sqlalchemy import text
from test_api import body, key

from civil_registry_bridge.domain.request import BirthRequest
from civil_registry_bridge.store.repository import BirthRequests, upgrade_sealed
from civil_registry_bridge.store.tables import BirthRequestRow
from pana_kit.crypto import DecryptionError

pytestmark = pytest.mark.asyncio


async def _raw(h, request_id: str) -> tuple[dict, str]:
    async with h.app.state.db.session() as session:
        doc, fingerprint = (await session.execute(text("SELECT document, fingerprint FROM birth_requests WHERE id = :i"),
                                                  {"i": request_id})).one()
    return (json.loads(doc) if isinstance(doc, str) else doc), fingerprint


async def _write_raw(h, request_id: str, doc: dict, fingerprint: str | None = None) -> None:
    async with h.app.state.db.transaction() as session:
        await session.execute(text("UPDATE birth_requests SET document = :d WHERE id = :i"),
                              {"d": json.dumps(doc), "i": request_id})
        if fingerprint is not None:
            await session.execute(text("UPDATE birth_requests SET fingerprint = :f WHERE id = :i"),
                                  {"f": fingerprint, "i": request_id})


def _personal(doc: dict, answer: dict) -> list[str]:
    return [doc["child"]["surname"], doc["mother"]["surname"], doc["child"]["birth_date"],
            doc["medical_birth_certificate_number"], answer["certificate_number"], answer["iin"], "undocumented"]


async def test_details_are_sealed_and_the_fingerprint_keyed(tmp_path):
    async with bridge(tmp_path, Simulator()) as h:
        doc, headers = body(), {**h.headers("registration-officer"), "Idempotency-Key": key()}
        first = await h.client.post("/api/v1/birth-verifications", json=doc, headers=headers)
        assert first.status_code == 202, first.text
        request_id = first.json()["id"]
        done = await settled(h, doc["child_person_id"], "registered")
        stored, fingerprint = await _raw(h, request_id)
        assert not [value for value in _personal(doc, done) if value in json.dumps(stored)]
        async with h.app.state.db.session() as session:
            request, _ = await BirthRequests(session).load(request_id)
        assert request.child.surname == doc["child"]["surname"] and request.certificate_number == done["certificate_number"]
        assert fingerprint != request.fingerprint()  # not the unkeyed hash of the details
        # The same key with the same content is still the same request; with another content it is refused.
        again = await h.client.post("/api/v1/birth-verifications", json=doc, headers=headers)
        assert again.status_code == 200 and again.json()["id"] == request_id
        other = await h.client.post("/api/v1/birth-verifications", json=body(), headers=headers)
        assert other.status_code == 409


async def test_plain_text_and_moved_ciphertexts_are_refused(tmp_path):
    async with bridge(tmp_path, Simulator()) as h:
        ids = []
        for _ in range(2):
            doc = body()
            r = await h.client.post("/api/v1/birth-verifications", json=doc,
                                    headers={**h.headers("registration-officer"), "Idempotency-Key": key()})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
            await settled(h, doc["child_person_id"])
        (sealed, _), (other, _) = await _raw(h, ids[0]), await _raw(h, ids[1])
        async with h.app.state.db.session() as session:
            clear = (await session.get(BirthRequestRow, ids[0])).document
        for tampered in ({**clear, "_sealed": 1},  # every field in clear under the mark
                         {**sealed, "child": json.dumps(clear["child"])},  # one field in clear
                         {**sealed, "mother": sealed["child"]},  # another field's ciphertext
                         {**sealed, "child": other["child"]}):  # another request's ciphertext
            await _write_raw(h, ids[0], tampered)
            async with h.app.state.db.session() as session:
                with pytest.raises(DecryptionError):
                    await session.get(BirthRequestRow, ids[0], populate_existing=True)


async def test_requests_stored_before_are_sealed_at_start_up(tmp_path):
    sim = Simulator()
    doc, headers_key = body(), key()
    async with bridge(tmp_path, sim) as h:
        r = await h.client.post("/api/v1/birth-verifications", json=doc,
                                headers={**h.headers("registration-officer"), "Idempotency-Key": headers_key})
        request_id = r.json()["id"]
        done = await settled(h, doc["child_person_id"], "registered")
        async with h.app.state.db.session() as session:
            clear = dict((await session.get(BirthRequestRow, request_id)).document)
        # As a request was stored before sealing: the document in clear, the fingerprint an unkeyed SHA-256.
        await _write_raw(h, request_id, clear, BirthRequest.from_document(clear).fingerprint())
    async with bridge(tmp_path, sim) as h:  # same database and keyring: the start-up seals it
        stored, fingerprint = await _raw(h, request_id)
        assert stored.get("_sealed") == 1
        assert not [value for value in _personal(doc, done) if value in json.dumps(stored)]
        assert fingerprint != BirthRequest.from_document(clear).fingerprint()
        async with h.app.state.db.transaction() as session:
            assert await upgrade_sealed(session) == 0  # idempotent
        assert (await _raw(h, request_id)) == (stored, fingerprint)
        again = await h.client.post("/api/v1/birth-verifications", json=doc,
                                    headers={**h.headers("registration-officer"), "Idempotency-Key": headers_key})
        assert again.status_code == 200 and again.json()["id"] == request_id  # the keyed fingerprint still matches
        one = await h.client.get(f"/api/v1/birth-verifications/{request_id}", headers=h.headers("civil-registrar"))
        assert one.status_code == 200 and one.json()["certificate_number"] == done["certificate_number"]
