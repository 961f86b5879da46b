"""docker-compose.yml cannot run here (no Docker engine); this keeps it honest.

Every variable it sets for a service must be a setting that service reads, so a
renamed setting cannot silently leave the compose file configuring nothing.
"""

from __future__ import annotations

import importlib
import inspect
import re
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


def test_simulator_variables_are_knobs_it_reads():
    source = inspect.getsource(importlib.import_module("civil_registry_simulator.config"))
    known = set(re.findall(r'"(SIM_[A-Z_]+)"', source))
    for variable in compose()["services"]["civil-registry-simulator"]["environment"]:
        assert variable in known, f"the simulator does not read {variable}"


def test_every_service_has_a_dockerfile_that_runs_it():
    for service, (module, _) in SETTINGS.items():
        dockerfile = ROOT / "services" / service / "Dockerfile"
        text = dockerfile.read_text()
        assert f'"{module.split(".")[0]}"' in text and f"--package {service}" in text
        assert compose()["services"][service]["build"]["dockerfile"] == f"services/{service}/Dockerfile"
