"""docker-compose.yml cannot run here (no Docker engine); this keeps it honest.

Every variable it sets for a service must be a setting that service reads, so a
renamed setting cannot silently leave the compose file configuring nothing. It is
production mode: no dev mode, no secret with a value or a default in the file, Keycloak,
Kafka over SASL_SSL and PostgreSQL behind the compose network; the images install wheels
read-only, run unprivileged with a state volume and a healthcheck, from a build context
that .dockerignore keeps free of local state and keys.
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "registration": ("registration.settings", "RegistrationSettings"),
    "rsd": ("rsd.settings", "RsdSettings"),
    "statelessness": ("statelessness.settings", "StatelessnessSettings"),
    "civil-registry-bridge": ("civil_registry_bridge.settings", "BridgeSettings"),
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


# Compose's "required" interpolation: `${NAME:?message}`; the file refuses to start until NAME is set.
REQUIRED = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}$")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN|DATABASE_URL|CREDENTIAL")


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_variable_is_a_setting_of_the_service(service):
    module, name = SETTINGS[service]
    settings_cls = getattr(importlib.import_module(module), name)
    prefix = settings_cls.model_config["env_prefix"]
    fields = {f.upper() for f in settings_cls.model_fields}
    env = compose()["services"][service]["environment"]
    assert env, f"{service} sets no environment"
    for variable in env:
        assert variable.startswith(prefix), f"{variable} lacks the {prefix} prefix of {service}"
        assert variable[len(prefix):] in fields, f"{variable}: {service} has no setting {variable[len(prefix):].lower()}"
    # And the values parse: the service could start with exactly this environment.
    settings_cls(**{k[len(prefix):].lower(): v for k, v in env.items()})


def _environments() -> dict[str, dict[str, str]]:
    return {name: {k: str(v) for k, v in (spec.get("environment") or {}).items()}
            for name, spec in compose()["services"].items()}


def test_no_service_runs_in_dev_mode():
    for name, env in _environments().items():
        for variable, value in env.items():
            if variable.endswith("DEV_MODE"):
                assert value.strip().lower() in ("false", "0", "no", "off"), f"{name}: {variable}={value}"
    for service in SETTINGS:
        prefix = _prefix(service)
        assert _environments()[service].get(f"{prefix}DEV_MODE") == "false", f"{service}: say DEV_MODE=false"


def test_no_secret_has_a_value_or_a_default_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"\$\{[A-Za-z0-9_]+:?-", text), "a ${VAR:-default} would ship a default"
    for name, env in _environments().items():
        for variable, value in env.items():
            if SECRET_NAME.search(variable) and not variable.endswith("_FILE"):
                assert REQUIRED.match(value), f"{name}: {variable} must be ${{{variable}:?...}}, not {value!r}"
    # Key material is read from secret files, not from values.
    for service in SETTINGS:
        env = _environments()[service]
        keyring = env.get(f"{_prefix(service)}KEYRING_FILE", "")
        assert keyring.startswith("/run/secrets/"), f"{service}: keyring from a secret file"
        for variable, value in env.items():
            assert "pana-dev-secret" not in value and "change-me" not in value and "sim-registry-key" not in value


def test_services_sit_behind_the_compose_network():
    spec = compose()["services"]
    for infra in ("postgres", "kafka"):
        assert not spec[infra].get("ports"), f"{infra} is reachable from outside the compose network"
    for name, service in spec.items():
        for published in service.get("ports") or []:
            assert str(published).startswith("127.0.0.1:"), f"{name} publishes {published} beyond the host's loopback"
    for name, env in _environments().items():
        dev = any(k.endswith("DEV_MODE") and v.lower() == "true" for k, v in env.items())
        binds_all = any(k.endswith("_HOST") and v == "0.0.0.0" for k, v in env.items())
        assert not (dev and binds_all), f"{name}: dev mode on 0.0.0.0"


def test_identity_provider_broker_and_database():
    spec = compose()["services"]
    assert {"keycloak", "kafka", "postgres"} <= set(spec)
    assert "start" in spec["keycloak"]["command"] and "start-dev" not in spec["keycloak"]["command"]
    for service in SETTINGS:
        env, prefix = _environments()[service], _prefix(service)
        assert env[f"{prefix}KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env[f"{prefix}KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env[f"{prefix}KAFKA_SASL_USERNAME"]
        assert env[f"{prefix}AUTH_JWKS_URL"].startswith("http://keycloak:8080/realms/")
        assert env[f"{prefix}DATABASE_URL"].startswith("${"), "the database URL carries a password"
        assert env[f"{prefix}STATE_DIR"] == "/var/lib/pana"
        assert "depends_on" in spec[service] and "keycloak" in spec[service]["depends_on"]
    properties = (ROOT / "deploy/kafka/compose/server.properties").read_text()
    assert "listeners=SASL_SSL://" in properties and "PLAINTEXT://" not in properties.replace("CONTROLLER:PLAINTEXT", "")
    assert "allow.everyone.if.no.acl.found=false" in properties


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_image_runs_unprivileged_from_a_read_only_install_with_a_healthcheck():
    text = _dockerfile()
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0", "nobody"), "a user of its own, not root"
    assert "--uid 10001" in text and "--gid 10001" in text
    assert "HEALTHCHECK" in text and "/readyz" in text
    assert 'VOLUME ["/var/lib/pana"]' in text and "install -d -o pana -g pana -m 0700 /var/lib/pana" in text
    assert "uv sync" not in text, "an editable sync would run from the sources"
    assert "--no-dev" in text and "uv build --wheel" in text and "COPY --from=build /opt/pana" in text
    assert re.findall(r"^CMD\s+(.+)$", text, re.M)[-1] == '["pana-service"]'


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_the_launcher_gives_the_image_defaults_under_the_services_prefix(service, tmp_path):
    """The image's only per-service difference the Dockerfile cannot spell: the prefix of the service's variables."""
    from pana_kit.container import write_launcher

    prefix = _prefix(service)
    module = SETTINGS[service][0].split(".")[0]
    stub = tmp_path / "python"  # stands in for the image's python: shows what it was given
    stub.write_text('#!/bin/sh\necho "ARGS $*"\nenv\n')
    stub.chmod(0o755)
    path = write_launcher(service, tmp_path / "pana-service", python=str(stub))
    text = path.read_text()
    for variable, value in ((f"{prefix}STATE_DIR", "/var/lib/pana"), (f"{prefix}HOST", "0.0.0.0"),
                            (f"{prefix}PORT", "8000")):
        assert f'"${{{variable}:={value}}}"; export {variable}' in text
    # Run it: it execs the service's module with the image's defaults, and a variable set wins.
    env = {"PATH": "/usr/bin:/bin", f"{prefix}PORT": "9000"}
    out = subprocess.run(["sh", str(path), "--flag"], env=env, capture_output=True, text=True, check=True).stdout
    assert f"ARGS -m {module} --flag" in out.splitlines()
    assert {f"{prefix}PORT=9000", f"{prefix}HOST=0.0.0.0", f"{prefix}STATE_DIR=/var/lib/pana"} <= set(out.splitlines())


def test_dockerignore_keeps_local_state_and_keys_out_of_the_build_context():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for pattern in ("**/.venv", "var", "**/var", ".git", "**/__pycache__", "**/*.db", "**/*.pem",
                    "**/*keyring*.json", "**/secrets", "**/.env"):
        assert pattern in ignored, f".dockerignore lacks {pattern}"


def _prefix(service: str) -> str:
    module, name = SETTINGS[service]
    return getattr(importlib.import_module(module), name).model_config["env_prefix"]


def test_simulator_variables_are_knobs_it_reads():
    source = inspect.getsource(importlib.import_module("civil_registry_simulator.config"))
    known = set(re.findall(r'"(SIM_[A-Z_]+)"', source))
    for variable in compose()["services"]["civil-registry-simulator"]["environment"]:
        assert variable in known, f"the simulator does not read {variable}"


def test_one_dockerfile_builds_every_service():
    """One Dockerfile with ARG SERVICE (the four near-copies went): compose builds each service from it."""
    assert not list((ROOT / "services").glob("*/Dockerfile")), "one Dockerfile at the root builds every service"
    text = _dockerfile()
    assert text.count("ARG SERVICE") >= 2  # declared, and taken into the stages that use it
    assert '--package "$SERVICE"' in text and "write-launcher \"$SERVICE\"" in text
    for service in SETTINGS:
        build = compose()["services"][service]["build"]
        assert build == {"context": ".", "dockerfile": "Dockerfile", "args": {"SERVICE": service}}
