"""Infrastructure for the cross-service tests, started once per session.

The broker is Apache Kafka when Java 17+ and Maven are present (as in CI), else
the embedded broker; the database PostgreSQL with Apache Kafka, else SQLite.
`PANA_TEST_BROKER` / `PANA_TEST_DATABASE` override. The flows also run on the
embedded broker with SQLite unless `PANA_TEST_SECOND_STACK=0`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import chosen_broker, chosen_database  # noqa: E402

from pana_dev.stack import Stack  # noqa: E402


def pytest_report_header(config):
    return [f"pana: cross-service tests on broker={chosen_broker()} database={chosen_database()}"]


def stack_configs() -> list[tuple[str, str]]:
    primary = (chosen_broker(), chosen_database())
    configs = [primary]
    if os.environ.get("PANA_TEST_SECOND_STACK", "1") != "0" and primary != ("embedded", "sqlite"):
        configs.append(("embedded", "sqlite"))
    return configs


_stacks: dict[tuple[str, str], Stack] = {}


def _start(config: tuple[str, str], tmp_root: Path) -> Stack:
    broker, database = config
    from pana_dev.stack import SERVICES

    # Spans go to the log files too, so the privacy test can search span attributes.
    spans = {s.name: {f"{s.env_prefix}OTEL_CONSOLE_EXPORT": "true"} for s in SERVICES}
    stack = Stack(var_dir=tmp_root / f"{broker}-{database}", broker=broker, database=database,
                  simulator_env={"SIM_REGISTRATION_DELAY_S": "0.3", "SIM_RECORDS": "200"}, service_env=spans)
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    return stack


@pytest.fixture(scope="session")
def tmp_root(request) -> Path:
    """Our own directory, not under pytest's basetemp.

    PostgreSQL runs as an unprivileged user (we are root in CI) and reaches its data
    by absolute path; any pytest session that starts meanwhile resets
    /tmp/pytest-of-<user> to 0700, and the server would PANIC at its next checkpoint.
    Kept with the services' logs when a test failed or PANA_TEST_KEEP is set.
    """
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="pana-e2e-"))
    yield root
    for stack in _stacks.values():
        stack.stop()
    _stacks.clear()
    _stop_keycloak()
    if request.session.testsfailed or os.environ.get("PANA_TEST_KEEP"):
        print(f"\n[pana] logs and data kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session", params=stack_configs(), ids=lambda c: f"{c[0]}+{c[1]}")
def stack(request, tmp_root) -> Stack:
    """All four services, the simulator, a broker and a database; one per configuration.

    Stacks live until the session ends: fixtures hand out the same object, so a
    test can never be given a stack another fixture has stopped.
    """
    return _stack_for(request.param, tmp_root)


@pytest.fixture(scope="session")
def primary_stack(tmp_root) -> Stack:
    """The primary configuration (fuzzing, privacy, the broker outage)."""
    return _stack_for(stack_configs()[0], tmp_root)


def _stack_for(config: tuple[str, str], tmp_root: Path) -> Stack:
    if config not in _stacks:
        _stacks[config] = _start(config, tmp_root)
        _stacks[config].config = config
    return _stacks[config]


def pytest_sessionfinish(session, exitstatus):
    for stack in _stacks.values():
        stack.stop()
    _stacks.clear()
    _stop_keycloak()


# -- the identity provider (issue #15): one Keycloak a session, and the services in production mode ---------

#: Timings worth a line in the summary (the slow infrastructure: CI must stay within its budget).
TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.write_sep("-", "pana infrastructure timings")
        for what, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{what}: {seconds:.1f}s")


_keycloak: list = []


@pytest.fixture(scope="session")
def keycloak(tmp_root):
    """Keycloak 26 with deploy/keycloak/pana-realm.json, started once a session (fetched and built once per cache).

    Needs Java 17+ and Maven, as Apache Kafka does; without them the test is skipped, except in CI (CI=true),
    where that is a failure.
    """
    import shutil
    import time

    if not (shutil.which("java") and shutil.which("mvn")):
        if os.environ.get("CI"):
            pytest.fail("CI needs java and mvn for Keycloak")
        pytest.skip("Keycloak needs java and mvn")
    from pana_dev.launchers.keycloak import Keycloak, ensure_keycloak

    if not _keycloak:
        started = time.monotonic()
        ensure_keycloak()
        TIMINGS["keycloak fetch and build (once per cache)"] = time.monotonic() - started
        kc = Keycloak(tmp_root / "keycloak")
        _keycloak.append(kc)
        kc.start()
        TIMINGS["keycloak start (realm imported, serving)"] = kc.started_in
        print(f"\n[pana] keycloak started in {kc.started_in:.1f}s: {kc.issuer}", flush=True)
    return _keycloak[0]


def _stop_keycloak() -> None:
    while _keycloak:
        _keycloak.pop().stop()


@pytest.fixture(scope="module")
def production_stack(tmp_root, keycloak):
    """The four services in production mode (dev mode off) trusting only Keycloak's issuer and JWKS, with
    their own secrets and keyrings, on the embedded broker and SQLite (what is tested here is the tokens).
    Stopped after the module that uses it, so its pollers do not weigh on the tests after it."""
    import time

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pana_dev.stack import SERVICES
    from pana_kit.crypto import rotate_file

    import tempfile

    var = Path(tempfile.mkdtemp(prefix="production-", dir=tmp_root))
    secrets_dir = var / "secrets"
    secrets_dir.mkdir(parents=True)
    registry_key = "registry-key-" + os.urandom(8).hex()
    service_env: dict[str, dict[str, str]] = {}
    for spec in SERVICES:
        p = spec.env_prefix
        keyring = secrets_dir / f"{spec.name}-keyring.json"
        rotate_file(keyring)
        service_env[spec.name] = {
            f"{p}DEV_MODE": "false", f"{p}AUTH_ISSUER": keycloak.issuer, f"{p}AUTH_JWKS_URL": keycloak.jwks_url,
            f"{p}KEYRING_FILE": str(keyring), f"{p}OTEL_ENABLED": "false",
            f"{p}AUTH_JWKS_MIN_REFRESH_SECONDS": "2",  # the rotation test waits for at most this
            # The embedded broker speaks plaintext only: allowed here by name, as on a private network (the secured
            # bus has its own tests: shared/pana-kit/tests/test_kafka_sasl.py, the deploy smoke test).
            f"{p}KAFKA_ALLOW_PLAINTEXT": "true",
        }
    signing_key = secrets_dir / "registration-signing-key.pem"
    signing_key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    service_env["registration"]["REGISTRATION_SIGNING_KEY_PATH"] = str(signing_key)
    service_env["civil-registry-bridge"].update({
        "BRIDGE_REGISTRY_API_KEY": registry_key, "BRIDGE_CALLBACK_SECRET": "callback-" + os.urandom(16).hex()})
    stack = Stack(var_dir=var, broker="embedded", database="sqlite", service_env=service_env,
                  simulator_env={"SIM_API_KEY": registry_key, "SIM_REGISTRATION_DELAY_S": "0.3", "SIM_RECORDS": "50",
                                 "SIM_CALLBACK_SECRET": service_env["civil-registry-bridge"]["BRIDGE_CALLBACK_SECRET"]})
    started = time.monotonic()
    try:
        stack.start()
    except Exception:
        stack.stop()
        raise
    TIMINGS["production-mode stack start (embedded broker, four services)"] = time.monotonic() - started
    yield stack
    stack.stop()
