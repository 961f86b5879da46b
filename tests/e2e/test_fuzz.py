"""Every service's OpenAPI document drives schemathesis against the running service.

No generated input may produce a 5xx, and every response must match the schema the
service documents for it. The token holds every role, so requests reach the
handlers instead of stopping at 403. `PANA_FUZZ_EXAMPLES` sets examples per operation.
Chains of operations (OpenAPI links) are fuzzed in test_fuzz_stateful.py.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from support import all_powerful_headers

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("PANA_FUZZ_EXAMPLES", "30"))


_fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
# The bridge has a third of the others' operations: three times the examples each, so every
# service gets about the same number of generated cases (>= 1,000 in CI).
_fuzz_small_api = settings(_fuzz, max_examples=EXAMPLES * 3)


@schemathesis.pytest.from_fixture("registration_api").parametrize()
@_fuzz
def test_registration_survives_generated_input(case, fuzz_checks):
    case.call_and_validate(headers=all_powerful_headers(), checks=fuzz_checks, timeout=30)


@schemathesis.pytest.from_fixture("rsd_api").parametrize()
@_fuzz
def test_rsd_survives_generated_input(case, fuzz_checks):
    case.call_and_validate(headers=all_powerful_headers(), checks=fuzz_checks, timeout=30)


@schemathesis.pytest.from_fixture("statelessness_api").parametrize()
@_fuzz
def test_statelessness_survives_generated_input(case, fuzz_checks):
    case.call_and_validate(headers=all_powerful_headers(), checks=fuzz_checks, timeout=30)


@schemathesis.pytest.from_fixture("bridge_api").parametrize()
@_fuzz_small_api
def test_bridge_survives_generated_input(case, fuzz_checks):
    case.call_and_validate(headers=all_powerful_headers(), checks=fuzz_checks, timeout=30)
