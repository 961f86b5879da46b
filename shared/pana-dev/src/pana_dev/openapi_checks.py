"""Checks that a service's OpenAPI document is one an integrator can trust (issue 17), shared by every service.

- `document_problems(document)`: operationIds are `verbNoun` and unique, every error response references the
  one Problem component, every operation says its security (`security: []` when open), every example (request
  body, parameter, response) is valid against its schema, and every operation has them.
- `examples_schema(app)` + `accept_documented_example(case)`: schemathesis' explicit-examples phase against the
  service in process: every documented example is sent as "Try it out" in /docs sends it, and must be accepted
  as documented (not refused as not matching the schema, a documented status, a body and headers matching
  what the document says for that status).

Imports schemathesis and jsonschema lazily: they are test dependencies (the workspace's dev group).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from fastapi import FastAPI

from pana_kit.auth import mint_dev_token
from pana_kit.openapi import OPERATION_ID, OPERATION_VERBS, PROBLEM_JSON, PROBLEM_REF
from pana_kit.settings import ServiceSettings

#: Headers a route may send that the document must declare for that response.
DOCUMENTED_HEADERS = ("ETag", "Location", "Retry-After")


def _validator(schema: dict, document: dict):
    from jsonschema import Draft202012Validator

    return Draft202012Validator({**schema, "components": document.get("components", {})},
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def document_problems(document: dict) -> list[str]:
    """Everything that keeps `document` from being trusted by an integrator (an empty list when none)."""
    problems: list[str] = []
    seen: dict[str, str] = {}

    def check(value: Any, schema: dict, where: str) -> None:
        for error in list(_validator(schema, document).iter_errors(value))[:3]:
            problems.append(f"{where}: example invalid: {error.message[:200]}")

    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            label = f"{method.upper()} {path}"
            operation_id = operation.get("operationId", "")
            words = re.findall(r"^[a-z]+|[A-Z][a-z0-9]*", operation_id)
            if not OPERATION_ID.match(operation_id) or words[0] not in OPERATION_VERBS:
                problems.append(f"{label}: operationId {operation_id!r} is not verbNoun (a verb of OPERATION_VERBS)")
            if operation_id in seen:
                problems.append(f"{label}: operationId {operation_id!r} is also {seen[operation_id]}")
            seen[operation_id] = label
            if "security" not in operation:
                problems.append(f"{label}: no `security` (an open route says `security: []`)")
            for parameter in operation.get("parameters", []):
                where = f"{label} parameter {parameter.get('name')}"
                if "example" in parameter:
                    check(parameter["example"], parameter.get("schema", {}), where)
                elif parameter.get("required") and "examples" not in parameter:
                    problems.append(f"{where}: required and without an example")
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                if "example" in media:
                    check(media["example"], media.get("schema", {}), f"{label} request body")
                elif "examples" not in media:
                    problems.append(f"{label} request body ({media_type}): no example")
            for status, response in operation["responses"].items():
                for media_type, media in response.get("content", {}).items():
                    where = f"{label} response {status} ({media_type})"
                    if status[:1] in "45":
                        if media_type != PROBLEM_JSON or media.get("schema") != {"$ref": PROBLEM_REF}:
                            problems.append(f"{where}: an error answers with the Problem component")
                        continue
                    if "example" in media:
                        check(media["example"], media.get("schema", {}), where)
                    elif "examples" not in media and media.get("schema") and "json" in media_type:
                        problems.append(f"{where}: no example")
    return problems


# -- schemathesis' explicit-examples phase, in process ----------------------------------------------------


def openapi_app(create: Callable[[ServiceSettings], FastAPI], settings_cls: type[ServiceSettings], directory: Path,
                **overrides: Any) -> FastAPI:
    """The service's app in dev mode on SQLite under `directory`, no broker, no background loops, its example
    world seeded (pana_kit.sandbox) so the documented examples name records that exist."""
    settings = settings_cls(**{
        "database_url": f"sqlite+aiosqlite:///{directory / 'service.db'}", "dev_mode": True, "run_consumers": False,
        "sandbox_examples": True,
        "run_outbox_relay": False, "otel_enabled": False, "kafka_bootstrap": "127.0.0.1:1", **overrides})
    return create(settings)


def examples_schema(app: FastAPI):
    """schemathesis' view of the app's /openapi.json with only the explicit-examples phase enabled."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    # Only what is documented: no generated value fills an optional parameter the examples leave out.
    config = SchemathesisConfig.from_dict({"phases": {"examples": {"enabled": True, "fill-missing": False},
                                                      "coverage": {"enabled": False},
                                                      "fuzzing": {"enabled": False},
                                                      "stateful": {"enabled": False}}})
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


def cases_without_input(schema) -> list:
    """A case for every operation that needs no input (no required parameter, no body): the explicit phase has
    no example to send for those; "Try it out" sends them as they are."""
    cases = []
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        if not any(p.get("required") for p in raw.get("parameters", [])) and "requestBody" not in raw:
            cases.append(operation.Case())
    return cases


def stop_apps() -> None:
    """End the lifespans schemathesis started for in-process apps (their databases, their tasks)."""
    from schemathesis.python import asgi

    asgi.shutdown_lifespans()


def explicit_settings():
    """Hypothesis settings for the explicit phase only: the documented examples, nothing generated."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(phases=[Phase.explicit], deadline=None, suppress_health_check=list(HealthCheck),
                    database=None)


def all_powerful_headers(app: FastAPI) -> dict[str, str]:
    """Every role and scope, so an example reaches its handler instead of stopping at 403."""
    from pana_kit.roles import ROLE_SCOPES, SCOPES

    sandbox = getattr(app.state.definition, "sandbox", None)
    token = mint_dev_token(app.state.settings, role="supervisor", roles=list(ROLE_SCOPES), scope=" ".join(SCOPES),
                           subject=sandbox.subject if sandbox is not None else "openapi-examples")
    return {"Authorization": f"Bearer {token}"}


def _seeded(app: FastAPI) -> bool:
    return getattr(app.state.definition, "sandbox", None) is not None and app.state.settings.sandbox_examples


def _only_documented(app: FastAPI, case) -> bool:
    example = app.state.definition.sandbox.all_examples.get(case.operation.definition.raw.get("operationId"))
    return example is not None and example.only_documented is not None


def _as_try_it_out_sends(case) -> bool:
    documented = {p["name"]: p.get("example") for p in case.operation.definition.raw.get("parameters", [])
                  if p.get("in") == "path"}
    return all(documented.get(name) == value for name, value in (case.path_parameters or {}).items())


def _sent_before(case, app: FastAPI) -> bool:
    import json

    sent = app.state.__dict__.setdefault("documented_examples_sent", set())
    key = json.dumps([case.method, case.path, case.path_parameters, case.query, case.headers,
                      case.body if not callable(case.body) else None], sort_keys=True, default=str)
    if key in sent:
        return True
    sent.add(key)
    return False


def accept_documented_example(case, app: FastAPI) -> int:
    """Send the case (built from the documented examples) and require the service to accept it as documented;
    with its example world seeded, to succeed (2xx), as "Try it out" must. Returns the status answered."""
    from schemathesis.specs.openapi.checks import response_schema_conformance

    if _seeded(app) and (_sent_before(case, app) or not _as_try_it_out_sends(case)):
        return 0  # the same documented request twice (an example both on the body and on its model) is one Try;
        # a path value schemathesis took from a response example is not what "Try it out" sends
    headers = {**(case.headers or {}), **all_powerful_headers(app)}  # the example's own token is a placeholder
    response = case.call(headers=headers)
    label = f"{case.method} {case.path} ({case.operation.definition.raw.get('operationId')})"
    status = response.status_code
    content_type = str(response.headers.get("content-type", ""))  # schemathesis keeps a header's values in a list
    textual = any(t in content_type for t in ("json", "text", "xml"))
    body = response.text if textual else f"<{len(response.content)} bytes of {content_type}>"
    assert status < 500, f"{label}: {status} {body[:500]}"
    if _seeded(app) and not _only_documented(app, case):
        assert status < 300, f"{label}: the documented example does not succeed: {status} {body[:800]}"
    if status in (400, 422) and "validation-error" in body:
        raise AssertionError(f"{label}: the documented example is refused as not matching the schema: {body[:800]}")
    responses = case.operation.definition.raw["responses"]
    documented = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    assert documented is not None, f"{label}: answered {status}, which is not documented ({sorted(responses)}): {body[:300]}"
    for name in DOCUMENTED_HEADERS:
        if name in response.headers:
            assert name in documented.get("headers", {}), f"{label}: sends {name} on {status} but does not document it"
    case.validate_response(response, checks=[response_schema_conformance], headers=headers)
    return status


