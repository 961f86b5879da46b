"""Per-client rate limits: a token bucket per principal, in memory, per instance.

    from pana_kit.ratelimit import rate_limit

    @router.get("/verify/{number}")
    async def verify(number: str, principal: Principal = Depends(rate_limit("verify", per_minute=60,
                                                                            scope="registration:verify"))):
        ...

With `scope=` the limiter checks the token first (401/403 exactly as `require`
does; the route-walking auth test still finds the scope) and answers with the
principal; a request refused for auth does not use up the bucket. Without
`scope=`, list it after the route's `require(...)` dependency; it then keys on
the principal that `require` left in `request.state` (or, lacking one, the peer
address).

Every read (GET or HEAD) of every service is also limited per principal (client and
subject) by `ReadLimiter`, which the kit's `require(...)` calls once the token is
checked, so a refused token never uses up a bucket and a new route is covered without
a line of its own. Settings per service: `<PREFIX>READ_RATE_PER_MINUTE` (0 turns it
off) and `<PREFIX>READ_RATE_BURST`. A route that has its own `rate_limit(...)`
(document verification, registration searches) is limited by that one alone.

Over the limit: 429 `application/problem+json` (type `.../rate-limited`) with
`Retry-After` in whole seconds. Buckets live in this process: with N instances a
client gets up to N times the rate. With several instances, either divide the
setting by the number of instances (the load balancer spreads a client's requests
evenly enough for a ceiling), or put the shared limit in front (the API gateway or
ingress, keyed on the token's `client_id` and `sub`) and keep these as a per-instance
backstop. The number of buckets is bounded; the least recently used is dropped.
Metrics count refusals by limiter name only, never by client.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from fastapi import Request
from prometheus_client import Counter

from .auth import Principal, authorise, bearer_token
from .errors import Problem

RATE_LIMITED = Counter("pana_rate_limited_total", "Requests refused by a rate limit", ["limiter"])


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `take` answers the wait in seconds (0: allowed)."""

    def __init__(self, rate_per_second: float, burst: int, *, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = rate_per_second
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, cost: float = 1.0) -> float:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self.rate

    def reset(self) -> None:
        self._buckets.clear()


def client_key(principal: Principal) -> str:
    """One bucket per client and user: a service provider's machine client, or one officer."""
    return f"{principal.client_id or '-'}|{principal.subject}"


def _refuse(name: str, rate: int, wait: float) -> Problem:
    RATE_LIMITED.labels(name).inc()
    retry_after = max(1, math.ceil(wait))
    return Problem(429, f"too many requests to {name}: at most {rate} a minute; retry after {retry_after} s",
                   type_suffix="rate-limited", headers={"Retry-After": str(retry_after)})


def _has_own_limit(call) -> bool:
    return bool(getattr(call, "own_rate_limit", False))


class ReadLimiter:
    """Reads per principal for one app (`app.state.read_limiter`); called by `require` after the token is checked."""

    def __init__(self, per_minute: int, burst: int | None = None, *, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.bucket = TokenBucket(per_minute / 60.0, burst or max(1, per_minute // 4), clock=clock)
        self._exempt: dict[int, bool] = {}

    @classmethod
    def from_settings(cls, settings) -> "ReadLimiter | None":
        rate = int(getattr(settings, "read_rate_per_minute", 0) or 0)
        return cls(rate, getattr(settings, "read_rate_burst", None)) if rate > 0 else None

    def _route_has_own_limit(self, request: Request) -> bool:
        route = request.scope.get("route")
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            return False
        known = self._exempt.get(id(route))
        if known is None:
            pending, known = [dependant], False
            while pending and not known:
                d = pending.pop()
                known = _has_own_limit(d.call)
                pending.extend(d.dependencies)
            self._exempt[id(route)] = known
        return known

    def check(self, request: Request, principal: Principal) -> None:
        if request.method not in ("GET", "HEAD") or getattr(request.state, "read_counted", False) \
                or self._route_has_own_limit(request):
            return
        request.state.read_counted = True  # a route that checks two scopes counts one read
        wait = self.bucket.take(client_key(principal))
        if wait > 0:
            raise _refuse("reads", self.per_minute, wait)


def rate_limit(name: str, per_minute: int, *, burst: int | None = None, scope: str | None = None,
               setting: str | None = None, key: Callable[[Principal], str] = client_key,
               clock: Callable[[], float] = time.monotonic):
    """A FastAPI dependency limiting each client to `per_minute` requests (bursts up to `burst`, default the same).

    `setting` names a field of the service's settings that overrides `per_minute` (e.g.
    `"verify_rate_per_minute"`, so operators set REGISTRATION_VERIFY_RATE_PER_MINUTE). Buckets belong to the
    app (`app.state`), so two apps in one process (tests) never share them.
    """
    if per_minute < 1:
        raise ValueError("per_minute must be at least 1")

    def bucket_of(request: Request) -> tuple[TokenBucket, int]:
        return bucket_of_app(request.app)

    def bucket_of_app(app) -> tuple[TokenBucket, int]:
        buckets = getattr(app.state, "rate_limits", None)
        if buckets is None:
            buckets = app.state.rate_limits = {}
        found = buckets.get(name)
        if found is None:
            settings = getattr(app.state, "settings", None)
            rate = int(getattr(settings, setting, None) or per_minute) if setting else per_minute
            found = buckets[name] = (TokenBucket(rate / 60.0, burst or rate, clock=clock), rate)
        return found

    def check(request: Request, principal: Principal | None) -> None:
        if principal is not None:
            who = key(principal)
        else:
            who = "peer|" + (request.client.host if request.client else "unknown")
        bucket, rate = bucket_of(request)
        wait = bucket.take(who)
        if wait > 0:
            raise _refuse(name, rate, wait)

    if scope is not None:
        # One dependency authenticates, authorises and limits (no nested dependencies to solve on every request:
        # a verification is a hot path). The scope is named for the route-walking tests and OpenAPI.
        async def limited(request: Request) -> Principal:
            principal = await authorise(request, bearer_token(request), scope)
            check(request, principal)
            return principal

        limited.required_scope = scope
    else:
        async def limited(request: Request) -> Principal | None:
            principal = getattr(request.state, "principal", None)
            check(request, principal)
            return principal

    def admit(app, principal: Principal) -> bool:
        """Take one of the principal's tokens when it has one (a hot route, pana_kit.middleware.HotRoute); False,
        with nothing taken, when the request would be refused: the route's dependency then refuses it."""
        bucket, _ = bucket_of_app(app)
        return bucket.take(key(principal)) == 0.0

    limited.admit = admit
    limited.__name__ = f"rate_limit_{name.replace(':', '_').replace('-', '_')}"
    limited.own_rate_limit = True  # the route's reads are limited by this, not by ReadLimiter
    return limited
