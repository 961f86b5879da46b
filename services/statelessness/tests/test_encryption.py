"""Evidence text and interview notes at rest: the kit's keyring, earlier values still readable."""

import base64
import json
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pana_kit.crypto import Keyring, KeyringError
from statelessness.app import create
from statelessness.settings import StatelessnessSettings
from statelessness.store.repository import _open_document, _seal_document


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
    with pytest.raises(KeyringError, match="no keyring configured"):
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
    assert _seal_document(_doc("", ""), keyring) == _doc("", "")
