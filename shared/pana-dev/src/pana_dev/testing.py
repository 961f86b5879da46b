"""In-process test harness for one service: real app, real SQLite or PostgreSQL, no broker.

Service tests drive the HTTP API through httpx's ASGI transport, hand events
straight to the service's consumer (`deliver`), and read what the service wrote
to its outbox (`published`). Cross-service flows with a real broker live in the
root `tests/` folder instead.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from pana_events import Envelope, Event, to_kafka
from pana_events.topics import TOPIC_OF_EVENT

from pana_kit.auth import mint_dev_token
from pana_kit.consumer import Outcome
from pana_kit.settings import ServiceSettings
from pana_kit.tables import OutboxMessage


class ServiceHarness:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient):
        self.app = app
        self.client = client

    @property
    def settings(self) -> ServiceSettings:
        return self.app.state.settings

    def token(self, role: str, **claims) -> str:
        return mint_dev_token(self.settings, role=role, **claims)

    def headers(self, role: str, *, purpose: str | None = "case-work", **claims) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(role, **claims)}"}
        if purpose:
            headers["X-Purpose"] = purpose
        return headers

    async def deliver(self, event: Event, *, subject: str, source: str = "/pana/test", event_id: str | None = None) -> Outcome:
        """Hand an event to the service's consumer as if it came from Kafka (inbox and all)."""
        consumer = self.app.state.consumer
        envelope = Envelope(source=source, type=event.event_type, subject=subject, data=event.model_dump(mode="json"),
                            **({"id": event_id} if event_id else {}))
        handler = consumer.handlers.get(envelope.type)
        if handler is None:
            return Outcome("skipped")
        return await consumer.deliver(type(event).model_validate(envelope.data), envelope, handler)

    async def published(self, event_type: str | None = None) -> list[dict]:
        """Events the service wrote to its outbox, oldest first: {"type", "subject", "data", "attributes"}."""
        async with self.app.state.db.session() as session:
            stmt = select(OutboxMessage).order_by(OutboxMessage.seq)
            if event_type:
                stmt = stmt.where(OutboxMessage.event_type == event_type)
            rows = (await session.execute(stmt)).scalars().all()
        return [{"type": r.event_type, "subject": r.key, "data": json.loads(r.payload), "attributes": r.attributes,
                 "topic": r.topic} for r in rows]


@asynccontextmanager
async def service_harness(create: Callable[[ServiceSettings], FastAPI], settings_cls: type[ServiceSettings],
                          tmp_path: Path, database_url: str | None = None, **overrides) -> AsyncIterator[ServiceHarness]:
    """Start the service's app in process (lifespan included) with the relay and consumer loops off."""
    defaults = dict(
        database_url=database_url or f"sqlite+aiosqlite:///{tmp_path / 'service.db'}",
        dev_mode=True, run_consumers=False, run_outbox_relay=False, run_webhooks=False, otel_enabled=False,
        kafka_bootstrap="127.0.0.1:1",
    )
    settings = settings_cls(**{**defaults, **overrides})
    app = create(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
            yield ServiceHarness(app, client)


@contextmanager
def module_postgres(label: str):
    """An embedded PostgreSQL for one test module (`with module_postgres("rsd") as pg: ... pg.create_database(...)`).

    Its data is under the system's temp directory, not pytest's basetemp: PostgreSQL runs as another user, and a
    pytest session that starts meanwhile resets basetemp's mode. Stopped and removed afterwards."""
    import shutil
    import tempfile

    from .launchers.postgres import EmbeddedPostgres

    data = Path(tempfile.gettempdir()) / f"pana-{label}-tests" / "postgres"
    shutil.rmtree(data, ignore_errors=True)
    pg = EmbeddedPostgres(data, start_timeout=180).start()  # initdb on a busy machine: a bound on a hang only
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(data.parent, ignore_errors=True)


# -- waiting for an effect ----------------------------------------------------------------------
# A test waits on the condition it needs, never for a fixed time: the deadline only bounds a failure
# (generous, for a busy two-core machine), the interval is the pace of the polling.


def wait_for(probe: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition",
             retry_on: tuple[type[BaseException], ...] = (httpx.HTTPError,)) -> Any:
    """Poll `probe` until it returns something truthy and return that; fail with its last value otherwise.

    Exceptions of `retry_on` (by default a failed HTTP call: the server may be busy or restarting) count as
    "not yet"; any other exception, an assertion included, fails at once.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
        except retry_on as exc:
            last = exc
        if last and not isinstance(last, BaseException):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


async def eventually(probe: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.02,
                     what: str = "condition", retry_on: tuple[type[BaseException], ...] = ()) -> Any:
    """`wait_for` inside an event loop: `probe` may be a plain or an async function; the loop keeps running."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = probe()
            if inspect.isawaitable(last):
                last = await last
        except retry_on as exc:
            last = exc
        if last and not isinstance(last, BaseException):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


@dataclass
class Record:
    """A consumer record as aiokafka hands it to `EventConsumer` (topic, key, headers, value, partition, offset),
    for driving the consumer's own code without a broker."""

    topic: str
    key: bytes
    headers: list
    value: bytes
    partition: int = 0
    offset: int = 0

    @classmethod
    def of(cls, topic: str, envelope: Envelope, *, offset: int = 0, partition: int = 0) -> "Record":
        """The record the outbox relay would publish for `envelope` on `topic`."""
        key, headers, value = to_kafka(envelope)
        return cls(topic, key, headers, value, partition=partition, offset=offset)


@dataclass
class DeadLetterProducer:
    """Stands in for the consumer's broker producer (`EventConsumer.producer`), which only sends dead letters:
    `sent` holds (topic, key, headers) of each. The consumer's own code runs as is."""

    sent: list = field(default_factory=list)

    async def send_and_wait(self, topic, value, key=None, headers=None):
        self.sent.append((topic, key, dict(headers)))


def event_topic(event: type[Event] | Event) -> str:
    return TOPIC_OF_EVENT[event.event_type]


OPERATIONAL_PATHS = {"/healthz", "/readyz", "/metrics", "/asyncapi.json", "/openapi.json", "/docs", "/redoc"}


def route_scopes(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(method, path) -> the scope its `require(...)` dependency demands (None: no auth at all)."""
    from pana_kit.auth import api_routes, route_scopes as all_route_scopes

    # public routes outside the document (a page and its assets), also inside included routers
    schema_paths = {(method, path) for route, path in api_routes(app) if not route.include_in_schema
                    for method in route.methods}
    return {key: scope for key, scope in all_route_scopes(app).items()
            if key[1] not in OPERATIONAL_PATHS and key not in schema_paths}


async def assert_every_route_is_guarded(harness: ServiceHarness, callback_paths: frozenset[str] = frozenset()) -> int:
    """Every route needs a scope; no token -> 401, a token without the scope -> 403, before any lookup.

    `callback_paths` are routes authenticated otherwise (e.g. the registry's callback with a shared secret).
    Returns how many routes were walked.
    """
    import re

    from pana_kit.roles import ROLE_SCOPES

    walked = 0
    for (method, path), scope in sorted(route_scopes(harness.app).items()):
        if path in callback_paths:
            continue
        assert scope, f"{method} {path} has no require(scope) dependency"
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        anonymous = await harness.client.request(method, url, json={})
        assert anonymous.status_code == 401, f"{method} {path} without a token gave {anonymous.status_code}"
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        outsider = next(role for role, scopes in ROLE_SCOPES.items() if scope not in scopes)
        forbidden = await harness.client.request(method, url, json={}, headers=harness.headers(outsider))
        assert forbidden.status_code == 403, f"{method} {path} with role {outsider} gave {forbidden.status_code}"
        walked += 1
    return walked


async def assert_links_resolve(harness: ServiceHarness) -> int:
    """Every OpenAPI link names an operation of the document, a parameter it takes and a field of the
    answer it reads (a wrong one is not an error anywhere else: the link is just never followed).
    Returns how many links there are."""
    doc = (await harness.client.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    count = 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    where = f"{method.upper()} {path} -> {status} link {name}"
                    target_path, target_method = link["operationRef"].removeprefix("#/paths/").rsplit("/", 1)
                    target = doc["paths"].get(target_path.replace("~1", "/").replace("~0", "~"), {}).get(target_method)
                    assert target, f"{where}: no operation {link['operationRef']}"
                    body = schemas[response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
                    for parameter, expression in link["parameters"].items():
                        assert parameter in {p["name"] for p in target.get("parameters", [])}, f"{where}: {parameter}?"
                        assert expression.removeprefix("$response.body#/") in body["properties"], f"{where}: {expression}?"
                    count += 1
    return count


# -- privacy of logs and traces ---------------------------------------------------------------------

def _variants(value: str) -> set[str]:
    """How a value may appear in a log: as is, any case, JSON-escaped, and (for dates) in local formats."""
    import re

    out = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if match:
        y, m, d = match.groups()
        out |= {f"{d}.{m}.{y}", f"{d}/{m}/{y}", f"{m}/{d}/{y}", f"{y}{m}{d}", f"{d}{m}{y}"}
    return {v for v in out if v}


def assert_no_personal_data(log_text: str, values: list[str]) -> None:
    """Fail when any of `values` (names, birth dates, document numbers used by a test) shows in `log_text`.

    Case-insensitive; also finds JSON-escaped forms and other spellings of ISO dates. Values shorter than
    3 characters are refused (they would match by chance). The failure names the value and line number,
    not the whole log.
    """
    haystack = log_text.casefold()
    for value in values:
        if len(value) < 3:
            raise ValueError(f"{value!r} is too short to search for reliably")
        for variant in _variants(value):
            at = haystack.find(variant.casefold())
            if at >= 0:
                line_no = log_text.count("\n", 0, at) + 1
                line = log_text.splitlines()[line_no - 1] if log_text.splitlines() else ""
                raise AssertionError(f"personal data {value!r} appears in the log at line {line_no}: {line[:300]}")


class CapturedLogs:
    def __init__(self, stream):
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    @property
    def records(self) -> list[dict]:
        """Every captured line, parsed (each is one JSON object, as production writes them)."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@contextmanager
def capture_json_logs(service: str = "test", level: int | str = "DEBUG"):
    """Capture everything logged (root logger, DEBUG and up) as the JSON lines production writes.

        with capture_json_logs("rsd") as logs:
            async with service_harness(...) as h: ...
        assert_no_personal_data(logs.text, ["Aliya", "1990-05-17"])

    The handler survives `configure_logging` (create_app), so the app may be built inside the block.
    """
    import io
    import logging

    from pana_kit.logs import JsonFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(service))
    handler.pana_capture = True
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def assert_rules_documented(rules_type: type, settings_type: type, *, renamed: dict[str, str] | None = None) -> None:
    """Every field of a service's rules dataclass is a setting whose environment variable `docs/domain.md`
    names, and every variable of that service the page names is a setting (the docs and the code agree)."""
    import re
    from dataclasses import fields

    from pana_kit.settings import env_name

    doc = (Path(__file__).resolve().parents[4] / "docs" / "domain.md").read_text()
    renamed = renamed or {}
    for rule in fields(rules_type):
        setting = renamed.get(rule.name, rule.name)
        assert setting in settings_type.model_fields, f"{rule.name} is not a setting of {settings_type.__name__}"
        assert env_name(settings_type, setting) in doc, f"docs/domain.md does not name {env_name(settings_type, setting)}"
    prefix = (settings_type.model_config.get("env_prefix") or "").upper()
    for variable in set(re.findall(rf"\b{re.escape(prefix)}[A-Z0-9_]+", doc)):
        assert variable[len(prefix):].lower() in settings_type.model_fields, f"docs/domain.md names unknown {variable}"


async def assert_openapi_declares_scopes(harness: ServiceHarness) -> int:
    """/openapi.json declares OAuth2 (client credentials and authorization code, the identity provider's URLs)
    and every operation guarded by `require(scope)` names that scope in its security requirement, so an
    operator can authorize in /docs. Returns how many operations were checked."""
    from pana_kit.auth import OAUTH2_SCHEME, oauth2_urls
    from pana_kit.roles import SCOPES

    response = await harness.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    schema = response.json()
    scheme = schema["components"]["securitySchemes"][OAUTH2_SCHEME]
    authorization_url, token_url = oauth2_urls(harness.settings)
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["clientCredentials"]["tokenUrl"] == token_url
    assert scheme["flows"]["authorizationCode"] == {"authorizationUrl": authorization_url, "tokenUrl": token_url,
                                                     "scopes": dict(SCOPES)}
    checked = 0
    for (method, path), scope in sorted(route_scopes(harness.app).items()):
        if scope is None:
            continue
        operation = schema["paths"][path][method.lower()]
        assert {OAUTH2_SCHEME: [scope]} in operation.get("security", []), (method, path, operation.get("security"))
        assert scope in scheme["flows"]["clientCredentials"]["scopes"], scope
        checked += 1
    return checked
