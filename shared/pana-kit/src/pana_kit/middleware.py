"""ASGI middleware every service runs, in one layer (`KitMiddleware`): body size limit, NUL refusal in URLs,
invisible characters refused in text, security headers, metrics, request ids and the access log."""

from __future__ import annotations

import json
import logging
import os
import re
import time
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import problem_response
from .fields import format_character_problem
from .logs import access_record
from .metrics import HTTP_LATENCY, HTTP_REQUESTS, http_method

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


def docs_csp(token_url: str | None) -> bytes:
    """The docs' policy, letting "Authorize" in /docs fetch a token from the identity provider (its origin only)."""
    if not token_url:
        return DOCS_CSP
    from urllib.parse import urlsplit

    parts = urlsplit(token_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return DOCS_CSP
    return DOCS_CSP + f"; connect-src 'self' {parts.scheme}://{parts.netloc}".encode()


def _problem_413(limit: int) -> bytes:
    return json.dumps({
        "type": "https://pana.gov.kz/problems/payload-too-large", "title": "Request too large", "status": 413,
        "detail": f"the request body exceeds {limit} bytes",
    }).encode()


class _TooLarge(Exception):
    pass


access_log = logging.getLogger("pana.access")
# A request id a caller may choose: a UUID or 16-32 hex digits (a W3C trace or span id). Anything else (free text,
# an IIN, a case number) is replaced by our own, so the access log never carries what a client put in a header.
_REQUEST_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{16,32}")
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: the access log's DEBUG level


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _REQUEST_ID.fullmatch(text):
                return text.lower()
            break
    return _new_request_id()


_fresh_ids = iter(())


def _new_request_id() -> str:
    """128 random bits (os.urandom) as 32 hex digits, as uuid4().hex was less its six fixed version bits; drawn 256
    at a time (one getrandom for 256 requests: the UUID object was a tenth of the middleware's own time on a
    verification, issue 16). `next` on the list's iterator is atomic: threads never share an id."""
    global _fresh_ids
    for request_id in _fresh_ids:
        return request_id
    pool = os.urandom(16 * 256).hex()
    fresh = iter([pool[i:i + 32] for i in range(0, len(pool), 32)])
    _fresh_ids = fresh
    return next(fresh)


def _forget_ids_after_fork() -> None:
    global _fresh_ids
    _fresh_ids = iter(())  # a forked worker draws its own: never the parent's (or a sibling's) ids


os.register_at_fork(after_in_child=_forget_ids_after_fork)


def _request_text_problem(scope: Scope):
    """(field, rule, message) of the first refused invisible character in the path or a query parameter.
    ASCII holds no format character (category Cf), so a plain ASCII path and a query with no percent-escape are
    passed without decoding anything: a verification's URL costs two `isascii` calls."""
    path = scope.get("path", "")
    found = None if path.isascii() else _text_problems(path, ["path"])
    if found:
        return found
    raw = scope.get("query_string", b"")
    if raw and not (raw.isascii() and b"%" not in raw):
        for name, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
            found = _text_problems(name, ["query", name]) or _text_problems(value, ["query", name])
            if found:
                return found
    return None


def _text_problems(value, path: list[str]):
    """(field, rule, message) for the first string under `value` holding a refused invisible character."""
    if isinstance(value, str):
        problem = format_character_problem(value)
        if problem is not None:
            return ".".join(path) or "body", problem[0], problem[1]
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _text_problems(key, path + [str(key)]) if isinstance(key, str) else None
            found = found or _text_problems(item, path + [str(key)])
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _text_problems(item, path + [str(index)])
            if found:
                return found
    return None


def _printable(path: str) -> str:
    return "".join(ch for ch in path if format_character_problem(ch) is None)


def _is_json(scope: Scope) -> bool:
    if scope.get("method") not in ("POST", "PUT", "PATCH"):
        return False
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _replay(bodies: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then whatever the client sends next."""
    queue: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if pending is not None:
        queue.append(pending)

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


class HotRoute:
    """One operation served straight from `KitMiddleware` for its well-formed requests, without Starlette's
    routing and FastAPI's dependency solving and validation (a third of a verification's CPU, issue 16).

    The FastAPI route at `template` stays the operation's definition: its OpenAPI entry, and the answer to every
    request the hot handler does not take. `await handle(scope)` returns the body of a 200 answer (of
    `media_type`; the middleware sends it with its length, the security headers and the request id, as the route's
    answer carries them), or None having changed nothing (no token of a rate limit taken, nothing audited), and
    the request goes on to the FastAPI route, which answers it as it always did: so every refusal (401, 403, 422,
    429) and every edge of parsing stays FastAPI's, byte for byte. A hot handler takes only what it knows the
    route would answer the same way. `prefix` selects the requests offered to it (method and path prefix; none
    when the app has a root path, or a JSON body).
    """

    def __init__(self, method: str, template: str, prefix: str, handle, media_type: str = "application/json"):
        self.method = method
        self.template = template
        self.prefix = prefix
        self.handle = handle
        self.media_type = media_type
        # An answer's headers after its length, as the route's answer has them once through the middleware.
        self.headers = [(b"content-type", media_type.encode()), *SECURITY_HEADERS,
                        (b"content-security-policy", API_CSP)]
        self._routes: dict[int, object] = {}

    def route_of(self, app) -> object:
        """The app's APIRoute for `template` (what Starlette's router leaves in scope["route"])."""
        found = self._routes.get(id(app))
        if found is None:
            from .auth import api_routes

            found = next((route for route, path in api_routes(app)
                          if path == self.template and self.method in route.methods), None)
            if found is None:
                raise RuntimeError(f"hot route {self.method} {self.template} has no FastAPI route")
            self._routes[id(app)] = found
        return found


class KitMiddleware:
    """A body limit, security headers and metrics, NUL refusal and the plain-text check, in that order, in one
    ASGI layer: one call and one `send` wrapper per request instead of the four nested middlewares it replaced (every service runs this; the verification is the hot path it was merged for, issue 16).

    - a body over `max_bytes` is refused with 413, announced (Content-Length) or streamed; the 413 carries no
      security headers, as before the merge;
    - security headers, the HTTP metrics, the request id (`X-Request-ID`: the caller's when it is a UUID or hex id,
      else a new one) and the access log (route template, never the path as sent, the query, a body or a header);
    - NUL in the path or query: 422; invisible characters in the path, a query parameter or a JSON body: 422.
    """

    def __init__(self, app: ASGIApp, service: str, *, max_bytes: int, docs_policy: bytes = DOCS_CSP,
                 access_log: bool = True, signed_body_paths: tuple[str, ...] = (),
                 hot_routes: tuple[HotRoute, ...] = ()):
        self.app = app
        self.hot_routes = tuple(hot_routes)
        self.service = service
        self.max_bytes = max_bytes
        self.docs_policy = docs_policy
        self.access_log = access_log
        self.signed_body_paths = frozenset(signed_body_paths)
        self._counters: dict[tuple, object] = {}
        self._latencies: dict[tuple, object] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_big = int(value) > max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await _refuse_413(send, max_bytes)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self._secured(scope, limited_receive, send)
        except _TooLarge:
            await _refuse_413(send, max_bytes)

    async def _secured(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status = 500
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                own = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in own)
                if b"content-security-policy" not in own:
                    docs = scope.get("path", "").startswith(("/docs", "/redoc", "/_docs"))
                    headers.append((b"content-security-policy", self.docs_policy if docs else API_CSP))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            hot = self._hot_route(scope) if self.hot_routes else None
            if hot is not None:
                previous = scope.get("route")
                scope["route"] = hot.route_of(scope["app"])  # the access log's and metrics' template
                body = await hot.handle(scope)
                if body is not None:
                    # The route's answer as it leaves this middleware, its headers in the same order.
                    status = 200
                    await send({"type": "http.response.start", "status": 200,
                                "headers": [(b"content-length", b"%d" % len(body)), *hot.headers,
                                            (b"x-request-id", request_id.encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
                if previous is None:
                    del scope["route"]
                else:
                    scope["route"] = previous
            await self._checked(scope, receive, send_with_headers)
        finally:
            self._observe(scope, status, time.perf_counter() - started, request_id)

    def _hot_route(self, scope: Scope) -> HotRoute | None:
        """The hot route offered this request: its method and path prefix, no root path, and nothing that the
        checks before the app (`_checked`) would refuse or read (NUL, invisible characters, a JSON body)."""
        path = scope.get("path", "")
        method = scope["method"]
        for hot in self.hot_routes:
            if method == hot.method and path.startswith(hot.prefix):
                query = scope.get("query_string", b"")
                if (scope.get("root_path") or "\x00" in path or b"%00" in query or b"\x00" in query
                        or _request_text_problem(scope) or _is_json(scope)):
                    return None
                return hot
        return None

    def _observe(self, scope: Scope, status: int, elapsed: float, request_id: str) -> None:
        """The request's metrics and access-log line."""
        template = getattr(scope.get("route"), "path", "unmatched")
        method = http_method(scope["method"])
        counter = self._counters.get((method, template, status))
        if counter is None:
            counter = self._counters[(method, template, status)] = HTTP_REQUESTS.labels(
                self.service, method, template, str(status))
        latency = self._latencies.get((method, template))
        if latency is None:
            latency = self._latencies[(method, template)] = HTTP_LATENCY.labels(self.service, method, template)
        counter.inc()
        latency.observe(elapsed)
        if self.access_log:
            level = logging.DEBUG if template in QUIET_ROUTES and status < 500 else logging.INFO
            if access_log.isEnabledFor(level):
                # The record made here, not by `Logger.log`: that walks the stack for the caller's file and
                # line (`findCaller`) on every request, a quarter of the access log's cost (issue 16); and without
                # LogRecord's per-record set-up (`access_record`: the same attributes).
                access_log.handle(access_record(access_log, level, method, template, status,
                                                round(elapsed * 1000, 3), request_id, pathname=__file__,
                                                func="_secured"))

    async def _checked(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        if "\x00" in path or b"%00" in query or b"\x00" in query:
            await _nul_refusal(scope, receive, send)
            return
        found = _request_text_problem(scope)
        if not found and _is_json(scope) and path not in self.signed_body_paths:
            body, pending = await _read_body(receive)
            if pending is not None:
                await self.app(scope, _replay([], pending, receive), send)
                return
            try:
                found = _text_problems(json.loads(body), []) if body else None
            except (ValueError, UnicodeDecodeError, RecursionError):
                found = None
            if not found:
                await self.app(scope, _replay([body], None, receive), send)
                return
        if found:
            await _text_refusal(scope, receive, send, found)
            return
        await self.app(scope, receive, send)


async def _refuse_413(send: Send, limit: int) -> None:
    body = _problem_413(limit)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


async def _nul_refusal(scope: Scope, receive: Receive, send: Send) -> None:
    response = problem_response(
        422, "The URL holds a NUL character, which no parameter accepts",
        instance=scope.get("path", "").replace("\x00", ""),
        errors=[{"field": "url", "message": "NUL character", "code": "nul_character"}])
    await response(scope, receive, send)


async def _text_refusal(scope: Scope, receive: Receive, send: Send, found: tuple[str, str, str]) -> None:
    field, rule, message = found
    response = problem_response(
        422, f"{field}: {message}; invisible and direction-changing characters are refused",
        instance=_printable(scope.get("path", "")),
        errors=[{"field": field, "message": message, "code": rule}])
    await response(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, or (what was read, the message that was not a body part: a disconnect)."""
    chunks = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    return b"".join(chunks), None
