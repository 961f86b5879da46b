"""The bridge's example world for /docs (pana_kit.sandbox): the birth verification its documented examples read.

The civil registry's callback is the one operation no static example can make succeed: it is signed over a fresh
timestamp (a replay window), so a documented signature is stale by design; its example answers 401 as documented.
"""

from __future__ import annotations

from pana_kit.sandbox import OperationExample, Sandbox, SandboxClient, example_person, sandbox_id

PATH = "/api/v1/birth-verifications"


def _id(label: str) -> str:
    return sandbox_id(f"civil-registry-bridge:{label}")


def _request(child_label: str, mother: str) -> dict:
    # The child is a person registration's world registers (pana_kit.sandbox.EXAMPLE_PERSONS): the registry's
    # answer reaches a person in the register.
    child = example_person(child_label)
    return {"kind": "verification", "child_person_id": child.id,
            "medical_birth_certificate_number": "MBC-2025-ALA-000777",
            "child": {"given_name": child.given_name, "surname": child.family_name, "sex": child.sex,
                      "birth_date": child.birth_date,
                      "place_of_birth": {"in_kazakhstan": True, "region": "Almaty", "locality": "Almaty"}},
            "mother": {"given_name": mother, "surname": "Omarova", "birth_date": "1998-06-12",
                       "nationality": "stateless", "legal_status": "stateless"}}


EXAMPLES = {
    "getBirthVerification": OperationExample({"request_id": _id("request:read")}),
    "receiveBirthRegistration": OperationExample(
        {"request_id": _id("request:read")},
        only_documented="signed by the registry over a fresh timestamp: a static signature is stale by design"),
}


class _RegistryWithoutTheRecord:
    """The example world's civil registry: it holds no birth record (and takes no submission now). It stands in
    for the registry adapter while the world is seeded, so the bridge's own worker step records an answer and
    publishes its event (`civil-registry.birth.not-found`): the event the kit's example world parks a webhook
    delivery of (pana_kit.sandbox.park_example_delivery). The bridge publishes only what the registry answers."""

    async def verify_birth(self, query):
        from pana_kit.domain import utcnow

        from .domain.ports import BirthRecordNotFound

        return BirthRecordNotFound(searched_at=utcnow())

    async def _unavailable(self, *args, **kwargs):
        from .domain.ports import RegistryUnavailable

        raise RegistryUnavailable("the example world's registry takes no submission")

    submit_birth_registration = submission_status = person_by_iin = _unavailable


async def seed(client: SandboxClient) -> None:
    # The registry answers the request through the bridge's own worker (claim, call, record, event), from a
    # registry that holds no record. Swapped on the worker itself before the request exists: its own loop may
    # take the request first, and then calls the same stand-in.
    work = client.app.state.work
    registry, work.registry = work.registry, _RegistryWithoutTheRecord()
    try:
        await client.call("POST", PATH, ids=["civil-registry-bridge:request:read"],
                          json=_request("civil-registry-bridge:person:Nurlan", "Aigerim"),
                          headers={"Idempotency-Key": f"sandbox-{_id('request:read')}"})
        await work.drain()
    finally:
        work.registry = registry
    answered = (await client.call("GET", f"{PATH}/{_id('request:read')}")).json()
    if answered["status"] == "received":
        from pana_kit.sandbox import SandboxError

        raise SandboxError("the example world's birth verification was not answered")


SANDBOX = Sandbox(examples=EXAMPLES, seed=seed, marker=f"{PATH}/{_id('request:read')}")
