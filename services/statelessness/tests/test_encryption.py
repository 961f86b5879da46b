"""Evidence text and interview notes at rest: the kit's keyring, earlier values still readable."""

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pana_kit.crypto import Keyring, KeyringError
from pana_kit.settings import SettingsError
from statelessness.app import create
from statelessness.settings import StatelessnessSettings
from pana_dev.testing import service_harness
from pana_kit.crypto import DecryptionError
from sqlalchemy import update
from statelessness.store.repository import _open_document, _open_sealed_document, _seal_document, upgrade_sealed_cases
from statelessness.store.tables import CaseRow


def _keyring(tmp_path, key_id="k1", key=None) -> Keyring:
    key = key or AESGCM.generate_key(bit_length=256)
    path = tmp_path / "keyring.json"
    path.write_text(json.dumps({"active": key_id, "keys": {key_id: base64.b64encode(key).decode()}}))
    return Keyring.from_file(path)


def _doc(description: str, notes: str) -> dict:
    return {"case_id": "case-1", "evidence": [{"description": description}], "interviews": [{"notes": notes}]}


def test_without_a_keyring_outside_dev_mode_the_service_refuses_to_start(tmp_path):
    settings = StatelessnessSettings(dev_mode=False, database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}",
                                     otel_enabled=False, auth_jwks_url="https://auth.pana.test/jwks",
                                     kafka_security_protocol="SASL_SSL", kafka_sasl_username="statelessness",
                                     kafka_sasl_password="a-real-broker-password")
    with pytest.raises(SettingsError, match="STATELESSNESS_KEYRING_FILE is not set"):
        create(settings)


def test_sealed_fields_are_bound_to_their_case(tmp_path):
    keyring = _keyring(tmp_path)
    sealed = _seal_document(_doc("born in Shymkent", "lived in Russia"), keyring)
    assert "Shymkent" not in json.dumps(sealed) and sealed["evidence"][0]["description"].startswith("v1.k1.")
    assert _open_document(sealed, keyring) == _doc("born in Shymkent", "lived in Russia")
    with pytest.raises(KeyringError):
        _open_document({**sealed, "case_id": "case-2"}, keyring)


def test_values_of_the_earlier_local_format_and_plain_text_still_read(tmp_path):
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    legacy = "enc:v1:dev-1:" + base64.urlsafe_b64encode(
        nonce + AESGCM(key).encrypt(nonce, b"issued 1988", b"case-1")).decode()
    keyring = _keyring(tmp_path, "dev-1", key)
    assert _open_document(_doc(legacy, "not yet encrypted"), keyring) == _doc("issued 1988", "not yet encrypted")
    # Empty text is sealed too now (it used to stay ""): an empty value in clear where a ciphertext belongs would
    # let anyone who can write the database blank a field unnoticed (issue 15).
    assert _open_sealed_document(_seal_document(_doc("", ""), keyring), keyring) == _doc("", "")


# -- issue 15: every personal field sealed, bound to its field, ciphertext required ------------------------------

def _full_doc() -> dict:
    return {"case_id": "case-1", "reason_note": "applied in person at the Almaty migration service",
            "evidence": [{"evidence_id": "ev-1", "source": "USSR passport", "description": "issued 1988 in Shymkent"},
                         {"evidence_id": "ev-2", "source": "Uzbek embassy letter", "description": "denies nationality"}],
            "interviews": [{"notes": "lived in Russia 2005-2019"}]}


def test_reason_note_and_evidence_source_are_encrypted_at_rest(tmp_path):
    keyring = _keyring(tmp_path)
    sealed = _seal_document(_full_doc(), keyring)
    text = json.dumps(sealed)
    for clear in ("Almaty", "USSR passport", "Uzbek embassy", "Shymkent", "Russia 2005"):
        assert clear not in text
    assert _open_sealed_document(sealed, keyring) == _full_doc()


def test_ciphertexts_cannot_be_swapped_between_fields_or_items(tmp_path):
    keyring = _keyring(tmp_path)
    sealed = _seal_document(_full_doc(), keyring)
    ev1, ev2 = sealed["evidence"]
    swaps = (
        {**sealed, "evidence": [{**ev1, "description": ev1["source"]}, ev2]},  # source into description
        {**sealed, "evidence": [{**ev1, "description": ev2["description"]}, ev2]},  # another item's description
        {**sealed, "reason_note": sealed["interviews"][0]["notes"]},  # interview notes into the reason note
    )
    for swapped in swaps:
        with pytest.raises(DecryptionError):
            _open_sealed_document(swapped, keyring)


def test_plain_text_where_a_ciphertext_belongs_is_refused(tmp_path):
    keyring = _keyring(tmp_path)
    sealed = _seal_document(_full_doc(), keyring)
    for planted in ({**sealed, "reason_note": "planted"},
                    {**sealed, "evidence": [{**sealed["evidence"][0], "source": "forged passport"}, sealed["evidence"][1]]},
                    {**sealed, "interviews": [{"notes": ""}]}):
        with pytest.raises(DecryptionError):
            _open_sealed_document(planted, keyring)
    with pytest.raises(DecryptionError, match="not sealed"):  # a document from before, not yet upgraded
        _open_sealed_document(_full_doc(), keyring)


async def test_cases_stored_before_are_upgraded_at_start_and_read_the_same(tmp_path):
    """A case stored by the earlier version (reason note and source in clear, text bound to the case only) is
    re-sealed by the start-up upgrade and reads as before through the API."""
    keyring_file = tmp_path / "keyring.json"
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(keyring_file)) as svc:
        headers = {**svc.headers("statelessness-officer", subject="officer-a"), "Idempotency-Key": "key-00000001"}
        r = await svc.client.post("/api/v1/cases", headers=headers, json={
            "person_id": "p-1", "birth_date": "1990-05-01", "opened_on": "2026-01-05", "reason_note": "walk-in, Almaty"})
        assert r.status_code == 201, r.text
        case_id = r.json()["id"]
        keyring = svc.app.state.keyring
        async with svc.app.state.db.transaction() as session:
            row = await session.get(CaseRow, case_id)
            assert "Almaty" not in json.dumps(row.document) and row.document["sealed"] == 2
            legacy = {k: v for k, v in _open_sealed_document(row.document, keyring).items()}
            legacy["evidence"] = [{"evidence_id": "ev-1", "kind": "document", "source": "USSR passport", "weight": "medium",
                                   "brought_by": "applicant", "received_on": "2026-01-06",
                                   "description": keyring.encrypt("issued 1988", context=case_id)}]
            await session.execute(update(CaseRow).where(CaseRow.id == case_id).values(document=legacy))
        async with svc.app.state.db.transaction() as session:
            assert await upgrade_sealed_cases(session, keyring) == 1
            assert await upgrade_sealed_cases(session, keyring) == 0  # idempotent
            row = await session.get(CaseRow, case_id)
            await session.refresh(row)
            assert "USSR" not in json.dumps(row.document) and "Almaty" not in json.dumps(row.document)
        r = await svc.client.get(f"/api/v1/cases/{case_id}", headers=svc.headers("statelessness-officer", subject="officer-a"))
        assert r.status_code == 200, r.text
        assert r.json()["reason_note"] == "walk-in, Almaty"
        assert (r.json()["evidence"][0]["source"], r.json()["evidence"][0]["description"]) == ("USSR passport", "issued 1988")
