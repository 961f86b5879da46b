"""Every service's OpenAPI document drives schemathesis against the running service.

No generated input may produce a 5xx, and every response must match the schema the
service documents for it. The token holds every role, so requests reach the
handlers instead of stopping at 403. `PANA_FUZZ_EXAMPLES` sets examples per operation.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from pana_kit.auth import mint_dev_token
from pana_kit.roles import ROLE_SCOPES, SCOPES
from pana_kit.settings import ServiceSettings

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("PANA_FUZZ_EXAMPLES", "30"))
CHECKS = [not_a_server_error, response_schema_conformance]


def _all_powerful_headers() -> dict[str, str]:
    token = mint_dev_token(ServiceSettings(), role="supervisor", roles=list(ROLE_SCOPES), scope=" ".join(SCOPES),
                           subject="fuzzer")
    return {"Authorization": f"Bearer {token}", "X-Purpose": "audit"}


def _schema(stack, service):
    return schemathesis.openapi.from_url(stack.url(service) + "/openapi.json")


@pytest.fixture(scope="session")
def registration_api(primary_stack):
    return _schema(primary_stack, "registration")


@pytest.fixture(scope="session")
def rsd_api(primary_stack):
    return _schema(primary_stack, "rsd")


@pytest.fixture(scope="session")
def statelessness_api(primary_stack):
    return _schema(primary_stack, "statelessness")


@pytest.fixture(scope="session")
def bridge_api(primary_stack):
    return _schema(primary_stack, "civil-registry-bridge")


_fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
# The bridge has a third of the others' operations: three times the examples each, so every
# service gets about the same number of generated cases (>= 1,000 in CI).
_fuzz_small_api = settings(_fuzz, max_examples=EXAMPLES * 3)


@schemathesis.pytest.from_fixture("registration_api").parametrize()
@_fuzz
def test_registration_survives_generated_input(case):
    case.call_and_validate(headers=_all_powerful_headers(), checks=CHECKS, timeout=30)


@schemathesis.pytest.from_fixture("rsd_api").parametrize()
@_fuzz
def test_rsd_survives_generated_input(case):
    case.call_and_validate(headers=_all_powerful_headers(), checks=CHECKS, timeout=30)


@schemathesis.pytest.from_fixture("statelessness_api").parametrize()
@_fuzz
def test_statelessness_survives_generated_input(case):
    case.call_and_validate(headers=_all_powerful_headers(), checks=CHECKS, timeout=30)


@schemathesis.pytest.from_fixture("bridge_api").parametrize()
@_fuzz_small_api
def test_bridge_survives_generated_input(case):
    case.call_and_validate(headers=_all_powerful_headers(), checks=CHECKS, timeout=30)
