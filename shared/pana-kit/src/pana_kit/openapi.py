"""The OpenAPI document an integrator can trust, finished in one place for every service (issue 17).

`finish_openapi(app)` runs after FastAPI has generated the document and after the OAuth2 scopes are declared
(pana_kit.auth.add_oauth2_to_openapi). It:

- names every operation `verbNoun` (`recordBirth`): a route's explicit `operation_id`, otherwise its function's
  name in camel case (`record_birth` -> `recordBirth`); `OPERATION_VERBS` lists the verbs the test accepts;
- keeps ONE problem+json schema, `#/components/schemas/Problem`, and references it from every error response
  (FastAPI's own 422 `HTTPValidationError`, which this API never answers, becomes a Problem too);
- gives every operation that needs no token `security: []` (health, readiness, metrics, public keys...);
- documents the response headers the routes send: `ETag` (on reads and writes of versioned records), `Location`
  (on 201) and `Retry-After` (on 429, 503 and the 409 of an idempotency key still in use); marks `If-Match`
  required where its absence is 428;
- adds an example to every request body, parameter and 2xx JSON response that lacks one, built from the schema
  (`example_for`): every required field, values matching the patterns (ids), formats and enums, so "Try it out"
  in /docs sends a request the service accepts as documented.

A schema that has its own `examples` (a model's `json_schema_extra`, a field's `examples=`) is used as is; the
kit's tests validate every example of every service against its schema (pana_dev.testing.openapi_example_problems).
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from typing import Any
from .sandbox import apply_examples

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_JSON = "application/problem+json"

#: The problem+json body (RFC 9457) every error answers with.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem: `type` is stable (clients branch on it), `detail` says what to change. "
                   "No stack trace or internal name; quote `trace_id` to an operator.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": ["https://pana.gov.kz/problems/not-found"]},
        "title": {"type": "string", "examples": ["Not found"]},
        "status": {"type": "integer", "minimum": 100, "maximum": 599, "examples": [404]},
        "detail": {"type": "string", "examples": ["no such record"]},
        "instance": {"type": "string", "examples": ["/api/v1/persons/P-0001"]},
        "trace_id": {"type": "string"},
        "rule": {"type": "string", "description": "The domain rule that refused the request (409, 422)"},
        "errors": {"type": "array", "description": "One entry per invalid field (422)",
                   "items": {"type": "object", "properties": {"field": {"type": "string"},
                                                              "message": {"type": "string"},
                                                              "code": {"type": "string"}}}},
    },
    "additionalProperties": True,
}

#: The first word of every operationId is one of these (the test guards it; add a verb here when needed).
OPERATION_VERBS = frozenset({
    "get", "list", "search", "query", "read", "check", "verify", "create", "register", "record", "add", "update",
    "merge", "resolve", "renew", "replace", "form", "refer", "lodge", "schedule", "reschedule", "assess", "decide",
    "notify", "extend", "close", "reopen", "assign", "send", "answer", "hold", "open", "determine", "recommend",
    "receive", "mark", "count", "issue", "set", "start", "end", "respond", "download", "subscribe", "delete",
    "replay", "confirm", "flag", "split",
})
OPERATION_ID = re.compile(r"^[a-z]+(?:[A-Z][a-z0-9]*)+$")

HEADERS = {
    "ETag": {"description": "The version of the record (strong ETag): send it as `If-Match` to change it",
             "schema": {"type": "string", "examples": ['"3-P-0001"']}},
    "Location": {"description": "Where the created resource is read", "schema": {"type": "string", "format": "uri-reference"}},
    "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}},
}


def camel(name: str) -> str:
    head, *rest = [part for part in name.split("_") if part]
    return head.lower() + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_routes(app) -> dict[tuple[str, str], Any]:
    """(method, path) -> the APIRoute serving it, for every documented operation."""
    from fastapi.routing import APIRoute

    try:  # FastAPI >= 0.16x keeps included routers as such; walk through them
        from fastapi.routing import _iter_routes_with_context

        pairs = [(route, ctx.path if ctx is not None and ctx.path else getattr(route, "path", ""))
                 for route, ctx in _iter_routes_with_context(app.routes)]
    except ImportError:
        pairs = [(route, getattr(route, "path", "")) for route in app.routes]
    return {(method.lower(), path): route for route, path in pairs if isinstance(route, APIRoute)
            for method in route.methods}


def _mentions(route, word: str) -> bool:
    try:
        return word in inspect.getsource(route.endpoint)
    except (OSError, TypeError):
        return False


def finish_openapi(app) -> None:
    """Wrap `app.openapi` so the generated document is finished once (see the module's doc)."""
    generate = app.openapi
    done: dict[str, Any] = {}

    def openapi() -> dict:
        if "schema" not in done:
            sandbox = getattr(getattr(app.state, "definition", None), "sandbox", None)
            done["schema"] = finish_document(generate(), operation_routes(app),
                                             sandbox.all_examples if sandbox is not None else {})
        return done["schema"]

    app.openapi = openapi


def finish_document(schema: dict, routes: dict[tuple[str, str], Any],
                    world: dict[str, Any] | None = None) -> dict:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = copy.deepcopy(PROBLEM_SCHEMA)
    for component in list(schemas.values()):  # a model's own examples get every required field
        if isinstance(component, dict) and isinstance(component.get("examples"), list):
            component["examples"] = [complete(example, component, schema) for example in component["examples"]]
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            route = routes.get((method, path))
            if route is not None and route.operation_id is None:
                operation["operationId"] = camel(route.name)
            if "security" not in operation or not any(operation["security"]):
                operation["security"] = []
            _problems(operation)
            _headers(operation, method, route)
            _examples(operation, schema)
            apply_examples(operation, (world or {}).get(operation["operationId"]), schema)
    text = json.dumps(schema)
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 body, which this API never answers
        if f'"#/components/schemas/{name}"' not in text:
            schemas.pop(name, None)
    return schema


def _problems(operation: dict) -> None:
    for status, response in operation["responses"].items():
        if not str(status)[:1] in ("4", "5"):
            continue
        content = response.setdefault("content", {})
        content.pop("application/json", None)  # FastAPI's HTTPValidationError: never answered
        media = content.setdefault(PROBLEM_JSON, {})
        media["schema"] = {"$ref": PROBLEM_REF}
        if status == "422" and response.get("description") == "Validation Error":
            response["description"] = "Invalid request: the body, a parameter or a header does not match the schema"


def _headers(operation: dict, method: str, route) -> None:
    responses = operation["responses"]
    parameters = operation.get("parameters", [])
    if "428" in responses:
        for parameter in parameters:
            if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
                parameter["required"] = True
                parameter["description"] = (parameter.get("description", "") +
                                            " (required: without it the answer is 428, 412 when stale)").strip()
                if isinstance(parameter.get("schema"), dict):
                    parameter["schema"].pop("anyOf", None)
                    parameter["schema"].setdefault("type", "string")
                    parameter["schema"]["minLength"] = 1
                parameter.setdefault("example", '"1-P-0001"')
    sends_etag = route is not None and (_mentions(route, "ETag") or "ETag" in (operation.get("description") or "")
                                        or any(p.get("name") == "If-Match" for p in parameters))
    sends_location = route is not None and _mentions(route, "Location")
    for status, response in responses.items():
        headers = response.get("headers", {})
        if status.startswith("2") and sends_etag:
            headers.setdefault("ETag", copy.deepcopy(HEADERS["ETag"]))
        if status.startswith("2") and sends_location:
            headers.setdefault("Location", copy.deepcopy(HEADERS["Location"]))
        if status in ("429", "503") or (status == "409" and method in ("post", "put", "patch")):
            headers.setdefault("Retry-After", copy.deepcopy(HEADERS["Retry-After"]))
        if headers:
            response["headers"] = headers


# -- examples -----------------------------------------------------------------------------------------


def _examples(operation: dict, document: dict) -> None:
    for parameter in operation.get("parameters", []):
        # Only required parameters: an optional one (a cursor, a time window) is left out, as a client would.
        if "example" in parameter or "examples" in parameter or not parameter.get("required"):
            continue
        value = example_for(parameter.get("schema", {}), document, required_only=True, name=parameter.get("name", ""))
        if value is not _NONE:
            parameter["example"] = value
    body = operation.get("requestBody", {}).get("content", {})
    for media_type, media in body.items():
        if "example" in media or "examples" in media:
            continue
        value = example_for(media.get("schema", {}), document, required_only=True)
        if value is not _NONE:
            media["example"] = value
    for status, response in operation["responses"].items():
        for media_type, media in response.get("content", {}).items():
            if "example" in media or "examples" in media or "json" not in media_type:
                continue
            value = example_for(media.get("schema", {}), document, required_only=False)
            if value is not _NONE:
                media["example"] = value


def _fullmatch(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


def complete(example: Any, schema: dict, document: dict, depth: int = 0) -> Any:
    """`example` with every required property it lacks (built by `example_for`), nested objects included."""
    schema = _resolve(schema, document)
    if not isinstance(example, dict) or not isinstance(schema, dict) or depth > 12:
        return example
    options = [_resolve(o, document) for o in schema.get("anyOf", []) + schema.get("oneOf", [])]
    if options and "properties" not in schema:
        objects = [o for o in options if isinstance(o, dict) and "properties" in o]
        return complete(example, objects[0], document, depth + 1) if len(objects) == 1 else example
    out = dict(example)
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in out and name in properties:
            value = example_for(properties[name], document, required_only=False, name=name)
            if value is not _NONE:
                out[name] = value
    for name, value in list(out.items()):
        if name in properties:
            sub = _resolve(properties[name], document)
            if isinstance(value, dict):
                out[name] = complete(value, sub, document, depth + 1)
            elif isinstance(value, list) and isinstance(sub, dict):
                items = sub.get("items") or next((o.get("items") for o in sub.get("anyOf", []) if "items" in o), None)
                if items:
                    out[name] = [complete(v, items, document, depth + 1) for v in value]
    return out


class _None:
    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return "<no example>"


_NONE = _None()

_FORMATS = {
    "date": "2024-03-15", "date-time": "2024-03-15T09:30:00Z", "uuid": "3f2b8c1e-6a4d-4f0e-9b7a-2c5d8e1f0a3b",
    "email": "officer@example.org", "uri": "https://pana.gov.kz/example", "uri-reference": "/api/v1/example",
    "time": "09:30:00", "duration": "P30D", "binary": "", "byte": "",
}


def _resolve(schema: dict, document: dict) -> dict:
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document.get("components", {}).get("schemas", {}).get(name, {})
        seen += 1
    return schema


def example_for(schema: dict, document: dict, *, required_only: bool, depth: int = 0, name: str = "") -> Any:
    """A value valid against `schema`: its own example when it has one, otherwise built from its type,
    required properties, format, pattern, enum and bounds. `_NONE` when nothing sensible can be built."""
    schema = _resolve(schema, document)
    if not isinstance(schema, dict) or depth > 12:
        return _NONE
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        examples = schema["examples"]
        return examples[0] if isinstance(examples, list) else next(iter(examples.values())).get("value", _NONE)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, document).get("type") != "null"]
            for option in options or schema[key]:
                value = example_for(option, document, required_only=required_only, depth=depth + 1, name=name)
                if value is not _NONE:
                    return value
            return None if not options else _NONE
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            part = _resolve(part, document)
            merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
            merged.setdefault("properties", {}).update(part.get("properties", {}))
            merged["required"] = [*merged.get("required", []), *part.get("required", [])]
        return example_for(merged, document, required_only=required_only, depth=depth + 1, name=name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        out: dict[str, Any] = {}
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            if required_only and name not in required:
                continue
            if not required_only and name not in required and not _has_example(sub, document):
                continue
            value = example_for(sub, document, required_only=required_only, depth=depth + 1, name=name)
            if value is _NONE:
                if name in required:
                    return _NONE
                continue
            out[name] = value
        return out
    if kind == "array":
        item = example_for(schema.get("items", {}), document, required_only=required_only, depth=depth + 1, name=name)
        count = max(1, schema.get("minItems", 0))
        if item is _NONE:
            return [] if not schema.get("minItems") else _NONE
        if schema.get("uniqueItems") and count > 1:
            return _NONE
        return [copy.deepcopy(item) for _ in range(count)]
    if kind == "string":
        return _string(schema, name)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 2) - (1 if "exclusiveMaximum" in schema else 0))
        value = max(low, min(1, high))
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return False
    return _NONE


def _has_example(schema: dict, document: dict) -> bool:
    resolved = _resolve(schema, document)
    if not isinstance(resolved, dict):
        return False
    if "example" in resolved or resolved.get("examples") or resolved.get("enum") or "const" in resolved:
        return True
    return any(_has_example(o, document) for o in resolved.get("anyOf", []) if o.get("type") != "null")


_LATER = re.compile(r"expir|until|valid_to|end|deadline|due")
_ID_CANDIDATES = ("0f8e3a52-7c1d-4b9e-a6f0-2d4c8b1e5a73", "P-00000001", "00000001", "P00000001")
_TEXT_CANDIDATES = ("Example", "example", "EXAMPLE")


def _string(schema: dict, name: str = "") -> Any:
    pattern = schema.get("pattern")
    fmt = schema.get("format")
    if fmt in ("date", "date-time") and not pattern and _LATER.search(name):
        return _FORMATS[fmt].replace("2024", "2030")  # an expiry, an end: after the other dates of the example
    if fmt in _FORMATS and not pattern:
        return _FORMATS[fmt]
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    is_id = name == "id" or name.endswith("_id") or name.endswith("_ids") or name.endswith("Id")
    for candidate in (_ID_CANDIDATES + _TEXT_CANDIDATES) if is_id else (_TEXT_CANDIDATES + _ID_CANDIDATES):
        if lo <= len(candidate) <= (hi or 10_000) and (not pattern or _fullmatch(pattern, candidate)):
            return candidate
    if pattern:
        value = string_matching(pattern, lo, hi)
        return value if value is not None else _NONE
    text = "Example"
    if len(text) < lo:
        text = text + "x" * (lo - len(text))
    return text[:hi] if hi else text


# A small generator for the simple patterns this API uses (character classes, quantifiers, groups with
# alternatives): the first character each class allows, repeated as often as the quantifier needs.
_TOKEN = re.compile(r"\\d|\\w|\\.|\\-|\[(?:\\.|[^\]])+\]|\((?:[^()]|\([^()]*\))*\)|\\.|.")
_QUANT = re.compile(r"\{(\d+)(?:,(\d*))?\}|\+|\*|\?")
_PREFERRED = "P0123456789ABCDEFGHIJKLMNOQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-._:"


def _class_char(token: str) -> str | None:
    if token == r"\d":
        return "1"
    if token == r"\w":
        return "a"
    if token.startswith("\\"):
        return token[1]
    if token == ".":
        return "a"
    if token.startswith("["):
        compiled = re.compile(token)
        for ch in _PREFERRED + " ":
            if compiled.fullmatch(ch):
                return ch
        return None
    return token


def string_matching(pattern: str, min_length: int = 0, max_length: int | None = None) -> str | None:
    """A short string fully matching `pattern` (within the length bounds), or None for a pattern too rich."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    body = body[:-1] if body.endswith("$") and not body.endswith("\\$") else body
    parts: list[tuple[str, int, int]] = []  # (text, min repeat, max repeat)
    i = 0
    while i < len(body):
        match = _TOKEN.match(body, i)
        if not match:
            return None
        token = match.group(0)
        i = match.end()
        if token.startswith("("):
            inner = token[1:-1]
            if inner.startswith("?:"):
                inner = inner[2:]
            alternative = inner.split("|")[0]
            unit = string_matching(alternative)
            if unit is None:
                return None
        else:
            unit = _class_char(token)
            if unit is None:
                return None
        low, high = 1, 1
        quant = _QUANT.match(body, i)
        if quant:
            i = quant.end()
            text = quant.group(0)
            if text == "+":
                low, high = 1, 10_000
            elif text == "*":
                low, high = 0, 10_000
            elif text == "?":
                low, high = 0, 1
            else:
                low = int(quant.group(1))
                high = low if quant.group(2) is None else (int(quant.group(2)) if quant.group(2) else 10_000)
        parts.append((unit, low, high))
    counts = [low for _, low, _ in parts]
    length = sum(len(u) * c for (u, _, _), c in zip(parts, counts))
    # Readable ids: a growable part gets to 8 characters; then meet min_length.
    for index, (unit, low, high) in enumerate(parts):
        if high > low and len(unit) == 1 and unit not in " -._:":
            extra = min(high - counts[index], max(0, 8 - counts[index]))
            if max_length is not None:
                extra = min(extra, max(0, max_length - length))
            counts[index] += extra
            length += extra
    for index, (unit, low, high) in enumerate(parts):
        while length < min_length and counts[index] < high:
            counts[index] += 1
            length += len(unit)
    value = "".join(unit * count for (unit, _, _), count in zip(parts, counts))
    if max_length is not None and len(value) > max_length:
        return None
    try:
        return value if re.fullmatch(pattern, value) and len(value) >= min_length else None
    except re.error:
        return None
