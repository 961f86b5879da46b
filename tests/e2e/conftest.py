"""What the fuzzing tests share: each service's OpenAPI document, read from the running service."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

sys.path.insert(0, str(Path(__file__).parent))  # fuzz_machine, shared by the fuzzing tests

# No generated input may produce a 5xx; every response must match the schema documented for it.
FUZZ_CHECKS = (not_a_server_error, response_schema_conformance)


def pytest_collection_modifyitems(config, items):
    # The project's 300 s per test also covers the session fixtures a test sets up first: starting a
    # stack (a broker, a database, five processes) and draining a backlog on two busy cores. A bound on
    # a hang, not a pace: a passing test never waits for it.
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.timeout(1800))


@pytest.fixture(scope="session")
def fuzz_checks() -> list:
    return list(FUZZ_CHECKS)


def _openapi_of(service: str, name: str):
    @pytest.fixture(scope="session", name=name)
    def schema(primary_stack):
        return schemathesis.openapi.from_url(primary_stack.url(service) + "/openapi.json")

    return schema


registration_api = _openapi_of("registration", "registration_api")
rsd_api = _openapi_of("rsd", "rsd_api")
statelessness_api = _openapi_of("statelessness", "statelessness_api")
bridge_api = _openapi_of("civil-registry-bridge", "bridge_api")
