"""Issue #15: production is the default. Outside dev mode the bridge refuses to start while a secret is missing
or still the repository's default, naming each variable; dev mode is loopback only and says so."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from civil_registry_bridge.app import create
from civil_registry_bridge.settings import BridgeSettings
from pana_kit.crypto import Keyring
from pana_kit.settings import SettingsError


def _keyring(tmp_path):
    path = tmp_path / "keyring.json"
    if not path.exists():
        Keyring.generate_file(path)
    return path


def production(tmp_path, **over) -> BridgeSettings:
    values = dict(dev_mode=False, database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", otel_enabled=False,
                  keyring_file=str(_keyring(tmp_path)),
                  auth_issuer="https://idp.pana.test/realms/pana", auth_jwks_url="https://idp.pana.test/certs",
                  registry_api_key="a-real-registry-key-0001", callback_secret="a-real-callback-secret-0001",
                  kafka_security_protocol="SASL_SSL", kafka_sasl_username="civil-registry-bridge",
                  kafka_sasl_password="a-real-broker-password")
    values.update(over)
    return BridgeSettings(**values)


def test_production_with_its_own_secrets_starts(tmp_path):
    assert production(tmp_path).startup_problems() == []
    create(production(tmp_path))  # with the keyring production needs (the audit chain, sealed requests)


@pytest.mark.parametrize("field,value,variable", [
    ("callback_secret", "pana-registry-callback-secret-change-me", "BRIDGE_CALLBACK_SECRET"),
    ("registry_api_key", "sim-registry-key", "BRIDGE_REGISTRY_API_KEY"),
    ("registry_api_key", "", "BRIDGE_REGISTRY_API_KEY"),
    ("auth_issuer", "pana-dev", "BRIDGE_AUTH_ISSUER"),
    ("auth_jwks_url", None, "BRIDGE_AUTH_JWKS_URL"),
    ("keyring_file", None, "BRIDGE_KEYRING_FILE"),
])
def test_a_default_or_missing_secret_refuses_the_start_naming_it(tmp_path, field, value, variable):
    with pytest.raises(SettingsError, match=variable):
        create(production(tmp_path, **{field: value}))


def test_the_defaults_are_dev_only(tmp_path):
    """Settings as shipped (nothing set) are production settings, and they name every default secret."""
    problems = " ".join(BridgeSettings(_env_file=None).startup_problems())
    for variable in ("BRIDGE_CALLBACK_SECRET", "BRIDGE_REGISTRY_API_KEY", "BRIDGE_AUTH_JWKS_URL", "BRIDGE_KEYRING_FILE"):
        assert variable in problems
    assert BridgeSettings(dev_mode=True).startup_problems() == []


def test_dev_mode_binds_loopback_only(tmp_path):
    with pytest.raises(SettingsError, match="BRIDGE_HOST=0.0.0.0: dev mode binds loopback only"):
        create(BridgeSettings(dev_mode=True, host="0.0.0.0", database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
                              otel_enabled=False))
    for host in ("127.0.0.1", "localhost", "::1"):
        assert BridgeSettings(dev_mode=True, host=host).startup_problems() == []


def _run(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    return subprocess.run([sys.executable, "-m", "civil_registry_bridge"], env={**clean, **env}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_python_m_refuses_with_default_secrets_and_names_them(tmp_path):
    """As shipped (no variable set) the service is in production mode and exits naming what is missing."""
    done = _run({"BRIDGE_PORT": "1"}, tmp_path)  # port 1: it must never get as far as binding
    assert done.returncode == 2, done.stderr[-2000:]
    assert "production mode" in done.stderr
    for variable in ("BRIDGE_CALLBACK_SECRET", "BRIDGE_REGISTRY_API_KEY", "BRIDGE_AUTH_JWKS_URL", "BRIDGE_KEYRING_FILE"):
        assert variable in done.stderr
