"""Everything in front of /registry: call counting, fault injection, authentication.

A plain ASGI middleware (not BaseHTTPMiddleware) so it costs little when measuring
the simulator's own ceiling.
"""

from __future__ import annotations

import asyncio
import hmac
import random
from collections import defaultdict

from starlette.responses import JSONResponse

from .models import FaultSettings

REGISTRY_PREFIX = "/registry/"


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.registrations = {"created": 0, "replayed": 0, "registered": 0, "rejected": 0}
        self.callbacks = {"attempts": 0, "delivered": 0, "failed": 0}

    def record(self, endpoint: str, outcome: str) -> None:
        self.calls[endpoint][outcome] += 1

    def snapshot(self) -> dict:
        by_endpoint = {
            ep: {"total": sum(outcomes.values()), "by_outcome": dict(outcomes)} for ep, outcomes in self.calls.items()
        }
        return {
            "calls": {"total": sum(e["total"] for e in by_endpoint.values()), "by_endpoint": by_endpoint},
            "registrations": dict(self.registrations),
            "callbacks": dict(self.callbacks),
        }


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


class RegistryGate:
    def __init__(self, app, sim) -> None:
        self.app = app
        self.sim = sim  # SimState: .faults, .stats, .rng, .api_key, .endpoints

    def _endpoint(self, scope) -> str:
        method, path = scope["method"], scope["path"]
        for m, template, regex in self.sim.endpoints:
            if m == method and regex.match(path):
                return f"{method} {template}"
        return f"{method} <unmatched>"

    def _authorized(self, scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                return scheme.lower() == "bearer" and hmac.compare_digest(
                    token.strip().encode(), self.sim.api_key.encode()
                )
        return False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(REGISTRY_PREFIX):
            await self.app(scope, receive, send)
            return
        sim = self.sim
        f: FaultSettings = sim.faults
        endpoint = self._endpoint(scope)
        outcome = "cancelled"
        try:
            if f.latency_ms:
                await asyncio.sleep(f.latency_ms / 1000)
            if f.outage:
                outcome = "outage"
                await _error(503, "service_unavailable", "the civil registry is temporarily unavailable",
                             {"Retry-After": "30"})(scope, receive, send)
                return
            if f.timeout_rate and sim.rng.random() < f.timeout_rate:
                outcome = "injected_timeout"
                await asyncio.sleep(f.timeout_s)
                await _error(504, "gateway_timeout", "the civil registry did not answer in time")(scope, receive, send)
                return
            if f.error_rate and sim.rng.random() < f.error_rate:
                outcome = "injected_error"
                await _error(500, "internal_error", "internal error in the civil registry")(scope, receive, send)
                return
            if not self._authorized(scope):
                outcome = "401"
                await _error(401, "unauthorized", "a valid 'Authorization: Bearer <api key>' header is required",
                             {"WWW-Authenticate": 'Bearer realm="civil-registry"'})(scope, receive, send)
                return
            lost = bool(f.lost_response_rate) and sim.rng.random() < f.lost_response_rate
            status: list[int] = []
            delayed = [False]

            async def send_wrapper(message):
                if message["type"] == "http.response.start":
                    status.append(message["status"])
                    if f.post_latency_ms and not delayed[0]:
                        delayed[0] = True
                        await asyncio.sleep(f.post_latency_ms / 1000)
                if not lost:
                    await send(message)

            await self.app(scope, receive, send_wrapper)
            if lost:
                outcome = "lost_response"
                await _error(502, "bad_gateway", "upstream connection reset")(scope, receive, send)
                return
            outcome = str(status[0]) if status else "no_response"
        finally:
            sim.stats.record(endpoint, outcome)
