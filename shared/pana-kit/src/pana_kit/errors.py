"""RFC 9457 problem+json for every error, mapped in one place.

The `type` URIs are stable: clients branch on them. No stack trace, SQL or
internal name ever reaches a client; the trace id lets an operator find it.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from .domain import DomainError
from .tracing import current_trace_id

log = logging.getLogger("pana.errors")

PROBLEM_BASE = "https://pana.gov.kz/problems/"
PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 412: "Precondition failed",
    413: "Request too large", 415: "Unsupported media type", 422: "Invalid request",
    428: "Precondition required", 429: "Too many requests", 500: "Internal error", 503: "Service unavailable",
}
_TYPES = {
    400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
    406: "not-acceptable", 409: "conflict", 412: "precondition-failed", 413: "payload-too-large",
    415: "unsupported-media-type", 422: "validation-error", 428: "precondition-required",
    429: "rate-limited", 500: "internal-error", 503: "unavailable",
}


class Problem(Exception):
    """An HTTP-level error raised by the API layer (not by the domain)."""

    def __init__(self, status: int, detail: str, *, type_suffix: str | None = None, title: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type_suffix = type_suffix or _TYPES.get(status, "error")
        self.title = title or _TITLES.get(status, "Error")
        self.headers = headers
        self.extra = extra


def problem_response(status: int, detail: str, *, type_suffix: str | None = None, title: str | None = None,
                     instance: str | None = None, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (type_suffix or _TYPES.get(status, "error")),
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    trace_id = current_trace_id()
    if trace_id:
        body["trace_id"] = trace_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)] or ["body"]
        errors.append({"field": ".".join(loc), "message": err.get("msg", "invalid"), "code": err.get("type", "invalid")})
    return errors


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc.status, exc.detail, type_suffix=exc.type_suffix, title=exc.title,
                                instance=request.url.path, headers=exc.headers, **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        title = "The procedure does not allow this step" if exc.status == 409 else None
        return problem_response(exc.status, exc.detail, type_suffix=exc.type_suffix, title=title,
                                instance=request.url.path, rule=exc.rule, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = _field_errors(exc)
        fields = ", ".join(sorted({e["field"] for e in errors}))
        return problem_response(422, f"The request does not match the schema: {fields}", instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
        return problem_response(exc.status_code, detail, instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # The route template, never the raw path (ids in paths) nor the query string or body.
        route = getattr(request.scope.get("route"), "path", "unmatched route")
        log.exception("unhandled error on %s %s", request.method, route)
        return problem_response(500, "An internal error occurred; quote the trace id to an operator.", instance=request.url.path)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the problem+json errors of a route."""
    schema = {"$ref": "#/components/schemas/Problem"}  # one component (pana_kit.openapi.PROBLEM_SCHEMA)
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        out[status] = {
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
    return out
