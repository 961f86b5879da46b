"""Issue #15: production is the default. Registration outside dev mode refuses to start without its QR signing
key (a secret), naming the variable; dev mode generates one and is loopback only."""

from __future__ import annotations

import pytest

from pana_kit.crypto import Keyring
from pana_kit.settings import SettingsError
from registration.app import create
from registration.settings import RegistrationSettings


def _keyring(tmp_path):
    path = tmp_path / "keyring.json"
    if not path.exists():
        Keyring.generate_file(path)
    return path


def production(tmp_path, **over) -> RegistrationSettings:
    values = dict(dev_mode=False, database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", otel_enabled=False,
                  keyring_file=str(_keyring(tmp_path)),
                  auth_issuer="https://idp.pana.test/realms/pana", auth_jwks_url="https://idp.pana.test/certs",
                  signing_key_path=str(tmp_path / "signing.pem"), kafka_security_protocol="SASL_SSL",
                  kafka_sasl_username="registration", kafka_sasl_password="a-real-broker-password")
    values.update(over)
    return RegistrationSettings(**values)


def test_production_without_a_signing_key_refuses_naming_it(tmp_path):
    with pytest.raises(SettingsError, match="REGISTRATION_SIGNING_KEY_PATH is not set"):
        create(production(tmp_path, signing_key_path=None))
    assert production(tmp_path).startup_problems() == []


def test_dev_mode_needs_no_secret_but_loopback(tmp_path):
    assert RegistrationSettings(dev_mode=True).startup_problems() == []
    with pytest.raises(SettingsError, match="REGISTRATION_HOST=0.0.0.0"):
        create(RegistrationSettings(dev_mode=True, host="0.0.0.0", otel_enabled=False,
                                    database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"))
