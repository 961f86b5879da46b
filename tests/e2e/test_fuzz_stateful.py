"""Chains of operations, fuzzed: schemathesis follows each service's OpenAPI links.

Links are inferred from response schemas and path parameters, plus explicit ones on the
creates of registration and statelessness, so generated input reaches records that exist
instead of stopping at 404. Same token and checks as test_fuzz.py. `PANA_FUZZ_STATEFUL_EXAMPLES` sets the
scenarios per service, `PANA_FUZZ_STATEFUL_STEPS` the steps in each.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import Bundle, initialize
from schemathesis.generation.stateful.state_machine import StepInput
from support import all_powerful_headers, referral_body

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("PANA_FUZZ_STATEFUL_EXAMPLES", "20"))
STEPS = int(os.environ.get("PANA_FUZZ_STATEFUL_STEPS", "6"))

_chains = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                   suppress_health_check=list(HealthCheck), derandomize=True,
                   # Shrinking would replay steps against a database that has moved on.
                   phases=[Phase.generate])


def fuzz_chains(schema, checks, *, seed: str | None = None, body: Callable[[], dict] | None = None) -> Counter:
    """Run the schema's state machine; return the calls made per (operation, status).

    `seed` ("METHOD /path") with `body` starts every scenario with a realistic record, and what
    follows it is fuzzed. Otherwise chains start only from generated creates, which mostly fail
    validation (dates outside 1900-2200, a principal whose relationship is not "principal"), or
    never run: schemathesis starts no scenario at a create whose body names another service's
    record (a person_id).
    """
    machine = schema.as_state_machine()
    # Without links each scenario is a single random call, and the test would pass having chained nothing.
    assert machine.bundles, "schemathesis found no OpenAPI links to follow"
    if seed:
        method, path = seed.split(" ", 1)
        operation = schema[path][method]
        seeds = st.builds(lambda: StepInput.initial(operation.Case(body=body(), headers={"Idempotency-Key": str(uuid.uuid4())})))
    calls: Counter = Counter()
    tally: Counter = Counter()
    failures: list[Exception] = []

    class Chains(machine):
        if seed:
            @initialize(target=Bundle("seeded"), input=seeds)
            def create_first(self, input):
                self.recorder.record_case(case=input.case)  # steps taking its id look their parent up here
                output = self.step(input)
                assert output.response.status_code == 201, f"the seed was refused: {output.response.text}"
                return output

        def before_call(self, case):
            headers = case.headers or {}
            # Hypothesis repeats its simplest keys across scenarios; a reused key with another body
            # is a 422 and the chain would lose its record. Key reuse is fuzzed by test_fuzz.py.
            if "Idempotency-Key" in headers:
                headers["Idempotency-Key"] = str(uuid.uuid4())
            # Without If-Match every command stops at 428; "*" (any version) lets the chain reach the
            # procedure's rules. Generated values still exercise 412.
            if "If-Match" in case.operation.headers and not headers.get("If-Match"):
                headers["If-Match"] = "*"
            if headers:
                case.headers = headers

        def get_call_kwargs(self, case):
            return {"headers": all_powerful_headers(), "timeout": 30}

        def after_call(self, response, case):
            super().after_call(response, case)
            calls[case.operation.label, response.status_code] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            try:
                case.validate_response(response, checks=checks, additional_checks=additional_checks,
                                       transport_kwargs=kwargs, recorder=self.recorder)
            except Exception as exc:
                failures.append(exc)
                raise

        def teardown(self):
            tally["scenarios"] += 1
            tally["along links"] += sum(1 for node in self.recorder.cases.values()
                                        if node.transition is not None and node.is_transition_applied)
            super().teardown()

    stopped = ""
    try:
        Chains.run(settings=_chains)
    except Flaky as exc:
        # Records outlive their scenario, so a replayed choice sequence can meet other answers and
        # hypothesis stops (schemathesis' own runner does the same); failures seen before still count.
        if failures:
            raise failures[0] from None
        stopped = f" (hypothesis stopped early: {type(exc).__name__})"
    print(f"\n{schema.raw_schema['info']['title']}: {tally['scenarios']} scenarios, {calls.total()} calls, "
          f"{tally['along links']} along links{stopped}")
    assert tally["along links"], "no step took its input from an earlier response"
    return calls


def test_registration_chains(registration_api, fuzz_checks):
    # A referral registers the person whatever their likeness to others (no 409), unlike POST /persons.
    fuzz_chains(registration_api, fuzz_checks, seed="POST /api/v1/border-referrals", body=referral_body)


def test_rsd_chains(rsd_api, fuzz_checks):
    def lodging():
        today = date.today().isoformat()
        return {"principal": {"id": "m1", "person_id": str(uuid.uuid4()), "relationship": "principal",
                              "sex": "female", "birth_date": "1990-05-01"},
                "lodged_on": today, "arrived_on": today, "register_on": today, "manner_of_arrival": "regular",
                "narrative": "I was detained for my writing."}

    fuzz_chains(rsd_api, fuzz_checks, seed="POST /api/v1/applications", body=lodging)


def test_statelessness_chains(statelessness_api, fuzz_checks):
    # A new person each time: one case per person at a time.
    fuzz_chains(statelessness_api, fuzz_checks, seed="POST /api/v1/cases",
                body=lambda: {"person_id": str(uuid.uuid4()), "birth_date": "1990-05-01"})


def test_bridge_chains(bridge_api, fuzz_checks):
    # Generated birth verifications are accepted (202) often enough to start chains.
    fuzz_chains(bridge_api, fuzz_checks)
