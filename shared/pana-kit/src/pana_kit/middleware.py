"""ASGI middleware every service runs: body size limit, NUL refusal in URLs, security headers, metrics."""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem_response
from .metrics import HTTP_LATENCY, HTTP_REQUESTS

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
DOCS_CSP = b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; worker-src 'self' blob:"
API_CSP = b"default-src 'none'; frame-ancestors 'none'"


def _problem_413(limit: int) -> bytes:
    return json.dumps({
        "type": "https://pana.gov.kz/problems/payload-too-large", "title": "Request too large", "status": 413,
        "detail": f"the request body exceeds {limit} bytes",
    }).encode()


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(send)
                    return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _problem_413(self.max_bytes)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class NulRefusalMiddleware:
    """Refuses a NUL character in the path or the query with 422 problem+json.

    PostgreSQL can neither store nor compare text holding NUL, so one that reached a query
    would be a 500 from the database (fuzzing found it in the audit and bridge filters;
    SQLite never minded). Bodies are left to their fields' own patterns, whose 422 names
    the field.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                response = problem_response(
                    422, "The URL holds a NUL character, which no parameter accepts",
                    instance=scope.get("path", "").replace("\x00", ""),
                    errors=[{"field": "url", "message": "NUL character", "code": "nul_character"}])
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityAndMetricsMiddleware:
    def __init__(self, app: ASGIApp, service: str):
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_holder = {"status": 500}
        path = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(("/docs", "/redoc", "/_docs")) else API_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"content-security-policy", csp))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("route")
            # The route template, never the raw path: ids in paths are personal data.
            template = getattr(route, "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, scope["method"], template, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], template).observe(time.perf_counter() - started)
