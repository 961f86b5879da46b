"""The dev sandbox's example world: records whose ids the OpenAPI examples name, so "Try it out" in /docs
succeeds with the documented example on every operation (issue 17).

A service declares a `Sandbox`:
- `examples`: operationId -> the path parameters, query, headers and body its document shows;
- `seed(client)`: a script of the service's own API calls (and events handed to its own consumer, for records
  only events create) that makes, for each operation, a record in the state that operation accepts: one person
  to read, another to correct, a household for each family event, and so on. A mutation never shares its record
  with another operation, so their order does not matter.

Ids are planned: `client.call(..., ids=["person:get"])` gives the record that call creates the id
`sandbox_id("person:get")` (a uuid5: the same on every install), so the document names it statically; ETags
follow (`etag_of(version, id)`), and `seed_sandbox` checks every example's If-Match against the record's ETag.

The worlds share their people (`EXAMPLE_PERSONS`): the persons rsd's, statelessness's and the bridge's worlds refer
to are registered by registration's world under the same planned ids, so in `make run` their events reach a person
in the register (no warning, a legal status that follows each procedure). Each world still seeds alone (a service
run without the others, tests/test_openapi.py). A service's consumer starts only after its world is seeded.

Dev mode only, asked for with `<PREFIX>SANDBOX_EXAMPLES=true` (`make run` sets it): a production register never
holds made-up people, and a service refuses to start with it outside dev mode. Seeded once per database: when the
`marker` path already answers 200, nothing is done.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable

import httpx
from fastapi import FastAPI

from .domain import Plan, planned
from .tables import WebhookDelivery

log = logging.getLogger("pana.sandbox")

NAMESPACE = uuid.UUID("5b0e7a52-3c1d-4f2e-9a6b-70a4d1c2e3f4")


def sandbox_id(label: str) -> str:
    """The id the sandbox gives the record it creates under `label` (stable across installs)."""
    return str(uuid.uuid5(NAMESPACE, label))


def sandbox_serial(label: str, upper: int = 10**7) -> int:
    """The serial (a document number's) the sandbox gives the record it creates under `label`."""
    return 1 + uuid.uuid5(NAMESPACE, label).int % (upper - 1)


def _plan(ids, serials) -> Plan:
    return Plan(ids=[sandbox_id(label) for label in ids], serials=[sandbox_serial(label) for label in serials])


# -- the people of the example world, shared by the services' worlds ------------------------------------------


@dataclass(frozen=True)
class ExamplePerson:
    """A made-up person another service's world refers to (an applicant in rsd, a case's person in statelessness,
    a child in the bridge's verification). Registration's world registers every one under `id`, so the events the
    other services publish about them reach a person in the register (no "not in the register" warning, a legal
    status that follows rsd's and statelessness's steps); the other worlds take `id`, `birth_date` and `sex` from
    here, never their own."""
    label: str
    given_name: str
    family_name: str
    birth_date: str
    sex: str
    citizenship: tuple[str, ...] = ()
    country_of_origin: str | None = None

    @property
    def id(self) -> str:
        return sandbox_id(self.label)


#: rsd's applications (one per documented step, and its marker): each principal is a person of the shared world.
RSD_APPLICATIONS = ("read", "register", "fingerprint", "mode", "assign", "contact", "member", "schedule",
                    "reschedule", "no-show", "record", "assess", "recommend", "decide", "notify", "extend", "appeal",
                    "appeal-decide", "close", "reopen", "ending-notice", "ending-response", "ending-decide", "marker")
#: statelessness's cases (one per documented step, and its marker): each is a person of the shared world.
STATELESSNESS_CASES = ("read", "evidence", "inquiry", "answer", "interview", "assign", "extend", "determine",
                       "appeal", "appeal-decide", "track-open", "track-read", "track-decide", "unanswered", "marker")
#: statelessness's children at risk (flagged from a birth event registration publishes).
STATELESSNESS_FLAGS = ("flag:read", "flag:resolve")

_APPLICANTS = ("Mariam", "Fatima", "Zahra", "Nadia", "Leila", "Hana", "Soraya", "Parisa", "Shirin", "Yasmin", "Roya",
               "Farida")
_AFGHAN_FAMILIES = ("Ahmadi", "Karimi", "Hosseini", "Sultani", "Noori", "Haidari", "Jafari", "Safi", "Wardak",
                    "Popal", "Amiri")
_STATELESS_GIVEN = ("Viktor", "Olga", "Ruslan", "Elena", "Marat", "Svetlana", "Arman", "Irina")
_STATELESS_FAMILIES = ("Kim", "Tsoi", "Li", "Pak", "Khan", "Ten", "Nam")


def _applicant(n: int, label: str) -> ExamplePerson:
    # rsd's marker application is a man's, the others women's (specific needs: woman at risk).
    if label == "marker":
        return ExamplePerson("rsd:marker:person", "Abdullah", "Rasuli", "1985-01-01", "male", ("AFG",), "AFG")
    return ExamplePerson(f"rsd:{label}:person", _APPLICANTS[n % len(_APPLICANTS)],
                         _AFGHAN_FAMILIES[n % len(_AFGHAN_FAMILIES)], f"1990-05-{n + 1:02d}", "female", ("AFG",),
                         "AFG")


def _case_person(n: int, label: str) -> ExamplePerson:
    born = {"unanswered": "1988-03-03", "marker": "1991-01-01"}.get(label, f"1990-05-{n + 1:02d}")
    given = _STATELESS_GIVEN[n % len(_STATELESS_GIVEN)]
    return ExamplePerson(f"statelessness:case:{label}:person", given, _STATELESS_FAMILIES[n % len(_STATELESS_FAMILIES)],
                         born, "female" if given.endswith("a") else "male")


EXAMPLE_PERSONS: tuple[ExamplePerson, ...] = (
    *(_applicant(n, label) for n, label in enumerate(RSD_APPLICATIONS)),
    # The child "Try it out" adds to rsd's "member" application (addMember): registered too.
    ExamplePerson("rsd:member:child", "Aisha", _AFGHAN_FAMILIES[RSD_APPLICATIONS.index("member")], "2026-02-14",
                  "female", ("AFG",), "AFG"),
    *(_case_person(n, label) for n, label in enumerate(STATELESSNESS_CASES)),
    *(ExamplePerson(f"statelessness:{flag}:child", given, "Zhanuzak", "2026-11-01", "male")
      for flag, given in zip(STATELESSNESS_FLAGS, ("Nursultan", "Alikhan"))),
    ExamplePerson("civil-registry-bridge:person:Nurlan", "Nurlan", "Omarov", "2025-03-01", "male"),
)
_BY_LABEL = {person.label: person for person in EXAMPLE_PERSONS}


def example_person(label: str) -> ExamplePerson:
    """The shared world's person under `label`; a world that refers to anyone else would leave registration with
    events about a person it never registered."""
    try:
        return _BY_LABEL[label]
    except KeyError:
        raise SandboxError(f"{label!r} is not a person of the shared example world (pana_kit.sandbox."
                           f"EXAMPLE_PERSONS): registration would not know them") from None


class SandboxError(RuntimeError):
    """A seeding call was not answered as the example world needs (a bug in the service's seed script)."""


_UNSET: Any = object()


@dataclass(frozen=True)
class OperationExample:
    """What the document shows for one operation: values for its parameters (by name, whatever their `in`)
    and, when the body names a record, the body. `etag_from`: the GET path whose ETag the If-Match names.
    `only_documented`: why no static example can succeed (a signature over a fresh timestamp); its example is
    then held to a documented answer only."""
    parameters: dict[str, Any] = field(default_factory=dict)
    body: Any = _UNSET
    etag_from: str | None = None
    only_documented: str | None = None


@dataclass(frozen=True)
class Sandbox:
    examples: dict[str, OperationExample]
    seed: Callable[["SandboxClient"], Awaitable[None]]
    marker: str  # a GET path that answers 200 once the world is seeded
    # Who seeds (and so may read what only its officer reads): the dev token's subject of the role /docs users
    # take (`pana token <role>` gives "<role>-dev").
    subject: str = "supervisor-dev"

    @property
    def all_examples(self) -> dict[str, OperationExample]:
        """The service's examples and the kit's own routes' (webhook subscriptions, every service)."""
        return {**WEBHOOK_EXAMPLES, **self.examples}


# -- the kit's own routes: webhook subscriptions (pana_kit.webhook_api), the same on every service ---------------

WEBHOOKS = "/api/v1/webhooks/subscriptions"
#: Deliveries to it fail (nothing listens on the discard port): a subscription of the example world never
#: reaches anyone.
SANDBOX_CALLBACK = "http://127.0.0.1:9/pana-sandbox-subscriber"


def _webhook_id(label: str) -> str:
    return sandbox_id(f"kit:webhooks:{label}")


#: The example world's parked delivery: the first event the "parked" subscription receives, attempted once as
#: its last attempt against the unreachable callback (`park_example_delivery`).
PARKED_DELIVERY = _webhook_id("parked:delivery")

WEBHOOK_EXAMPLES: dict[str, OperationExample] = {
    "getWebhookSubscription": OperationExample({"subscription_id": _webhook_id("read")}),
    "listWebhookDeliveries": OperationExample({"subscription_id": _webhook_id("read")}),
    "replayWebhookSubscription": OperationExample({"subscription_id": _webhook_id("read")}),
    "deleteWebhookSubscription": OperationExample({"subscription_id": _webhook_id("delete")}),
    # Pressed again, the replay answers 202 `{"replayed": 0}`: the delivery is queued already (pana_kit.webhook_api).
    "replayWebhookDelivery": OperationExample(
        {"subscription_id": _webhook_id("parked"), "delivery_id": PARKED_DELIVERY}),
}


async def seed_webhooks(client: "SandboxClient") -> None:
    """Three subscriptions of the dev client: one to every event type of the service, whose first delivery is
    parked once the world is seeded (`park_example_delivery`; the one replayWebhookDelivery names), one to read
    (its deliveries, a replay of its parked ones: none) and one to delete. The first is made first: fan-out hands
    out delivery ids in subscription order, so the first delivery of the world is its."""
    types = (await client.call("GET", "/api/v1/webhooks/event-types")).json()["items"]
    await client.call("POST", WEBHOOKS, ids=["kit:webhooks:parked"],
                      json={"event_types": [t["type"] for t in types], "url": SANDBOX_CALLBACK})
    for label in ("read", "delete"):
        await client.call("POST", WEBHOOKS, ids=[f"kit:webhooks:{label}"],
                          json={"event_types": [types[0]["type"]], "url": SANDBOX_CALLBACK})


async def park_example_delivery(app: FastAPI, *, patience_s: float | None = None) -> None:
    """After the service's own seed: fan its events out (the first delivery takes the planned id
    `PARKED_DELIVERY`), then attempt that delivery once as the last attempt of its schedule. Its callback is
    unreachable, so the worker's own failure path parks it: a real attempt, error and outcome, not a made-up row.
    Runs before the worker task starts (pana_kit.service), so no other attempt interleaves."""
    worker = app.state.webhooks
    settings = app.state.settings
    # A seq still missing (a transaction open on PostgreSQL) holds fan-out back until its grace has passed.
    patience = settings.webhook_gap_grace_s + 5 if patience_s is None else patience_s
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    with planned(Plan(ids=[PARKED_DELIVERY])) as plan:
        await worker.fan_out()  # places the cursor on the first pass (before the first subscription's creation)
        while await worker.fan_out() or (plan.unused and loop.time() < deadline):
            if plan.unused:
                await asyncio.sleep(0.2)
    if plan.unused:
        raise SandboxError("the service's seed published no event for the example world's parked delivery")
    async with app.state.db.session() as session:
        delivery = await session.get(WebhookDelivery, PARKED_DELIVERY)
    if delivery is None or delivery.subscription_id != _webhook_id("parked"):
        raise SandboxError("the example world's first delivery is not the parked subscription's (a subscription "
                           "made before the world?)")
    status = await worker.attempt_as_last(PARKED_DELIVERY)
    if status != "parked":
        raise SandboxError(f"the example world's delivery to {SANDBOX_CALLBACK} was not parked ({status})")


class SandboxClient:
    """The service's own API, in process, with a dev token holding every role and scope."""

    def __init__(self, app: FastAPI):
        self.app = app
        self.headers = self.headers_of(app.state.definition.sandbox.subject)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")

    def headers_of(self, subject: str) -> dict[str, str]:
        from .auth import mint_dev_token
        from .roles import ROLE_SCOPES, SCOPES

        token = mint_dev_token(self.app.state.settings, role="supervisor", roles=list(ROLE_SCOPES),
                               scope=" ".join(SCOPES), subject=subject)
        return {"Authorization": f"Bearer {token}", "X-Purpose": "case-work"}

    async def call(self, method: str, path: str, *, ids: list[str] | tuple[str, ...] = (), json: Any = None,
                   headers: dict[str, str] | None = None, params: dict[str, Any] | None = None,
                   subject: str | None = None) -> httpx.Response:
        """Send one request (as `subject` when another officer must act: one who decided cannot hear the appeal);
        the records it creates take the planned ids of `ids` (labels), in order."""
        own = self.headers_of(subject) if subject else self.headers
        with planned(_plan(ids, ())) as plan:
            response = await self.client.request(method, path, json=json, params=params,
                                                 headers={**own, **(headers or {})})
        if response.status_code >= 300:
            raise SandboxError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        if plan.unused and response.headers.get("Idempotent-Replayed") != "true":  # a replay creates nothing
            raise SandboxError(f"{method} {path} created fewer records than planned; unused: {plan.unused}")
        return response

    async def etag(self, path: str) -> str:
        return (await self.call("GET", path)).headers["ETag"]

    async def deliver(self, event: Any, *, subject: str, ids: list[str] | tuple[str, ...] = (),
                      serials: list[str] | tuple[str, ...] = (), source: str = "/pana/sandbox",
                      time: datetime | None = None) -> None:
        """Hand an event to the service's own consumer, as if it came from the bus (inbox and all): for records
        only another service's event creates (a certificate after a decision)."""
        from pana_events.envelope import Envelope

        consumer = self.app.state.consumer
        envelope = Envelope(source=source, type=event.event_type, subject=subject,
                            data=event.model_dump(mode="json"), id=sandbox_id(f"event:{subject}:{event.event_type}"),
                            **({"time": time} if time else {}))
        handler = consumer.handlers[envelope.type]
        with planned(_plan(ids, serials)) as plan:
            outcome = await consumer.deliver(type(event).model_validate(envelope.data), envelope, handler)
        if outcome.name == "dead_lettered" or (plan.unused and outcome.name != "duplicate"):
            raise SandboxError(f"{event.event_type} for {subject} created fewer records than planned ({outcome}); "
                               f"unused: {plan.unused}")

    async def aclose(self) -> None:
        await self.client.aclose()


async def seed_sandbox(app: FastAPI, sandbox: Sandbox) -> bool:
    """Seed the example world once per database; then check each documented If-Match is the record's ETag.
    Returns True when it seeded now."""
    client = SandboxClient(app)
    try:
        marker = await client.client.get(sandbox.marker, headers=client.headers)
        if marker.status_code == 200:
            return False
        if getattr(app.state.definition, "webhooks", False):
            await seed_webhooks(client)
        await sandbox.seed(client)  # its marker last: a world half seeded is seeded again
        if getattr(app.state.definition, "webhooks", False) and app.state.definition.produces:
            await park_example_delivery(app)
        await client.call("GET", sandbox.marker)
        await check_if_match_examples(client, sandbox)
        log.warning("sandbox: seeded the example world of /docs (dev mode; %d operations)", len(sandbox.all_examples))
        return True
    finally:
        await client.aclose()


async def check_if_match_examples(client: SandboxClient, sandbox: Sandbox) -> None:
    """Every documented If-Match must be the ETag the record answers with now, or "Try it out" answers 412."""
    for operation_id, example in sandbox.all_examples.items():
        if "If-Match" not in example.parameters:
            continue
        if example.etag_from is None:  # no read answers this record's ETag: the 2xx test checks it instead
            continue
        current = await client.etag(example.etag_from)
        if current != example.parameters["If-Match"]:
            raise SandboxError(f"{operation_id}: documented If-Match {example.parameters['If-Match']} but "
                               f"{example.etag_from} answers ETag {current}")


def apply_examples(operation: dict, example: OperationExample | None, document: dict) -> None:
    """Put the example world's values into one operation of the document (before the kit fills what is still
    built: pana_kit.openapi). A body's model keeps the example too (it is that operation's body model), and the
    operation's response examples name the same records: tools (schemathesis) also send a parameter's value found
    in the operation's response examples, which must not name records that do not exist."""
    if example is None:
        return
    for parameter in operation.get("parameters", []):
        if parameter.get("name") in example.parameters:
            parameter["example"] = example.parameters[parameter["name"]]
            parameter.pop("examples", None)
            if isinstance(parameter.get("schema"), dict) and "examples" in parameter["schema"]:
                parameter["schema"]["examples"] = [parameter["example"]]  # tools send the schema's own too
    if example.body is not _UNSET:
        for media in operation.get("requestBody", {}).get("content", {}).values():
            media["example"] = example.body
            media.pop("examples", None)
            ref = media.get("schema", {}).get("$ref", "")
            model = document.get("components", {}).get("schemas", {}).get(ref.rsplit("/", 1)[-1]) if ref else None
            if isinstance(model, dict) and "examples" in model:
                model["examples"] = [example.body]
    names = {name: value for name, value in example.parameters.items() if isinstance(value, str)}
    for response in operation.get("responses", {}).values():
        for media in response.get("content", {}).values():
            if "example" in media:
                media["example"] = _renamed(media["example"], names)


def _renamed(value: Any, names: dict[str, str]) -> Any:
    """`value` with every property named like a parameter set to that parameter's example."""
    if isinstance(value, dict):
        return {k: names[k] if k in names and isinstance(v, str) else _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(item, names) for item in value]
    return value
