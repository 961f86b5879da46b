"""The civil-registry-bridge service: app factory, background work and what it consumes and publishes."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import FastAPI

from pana_events import topics_consumed_by
from pana_kit.crypto import sealing_at_startup
from pana_kit.metrics import breaker_state
from pana_kit.migrations import packaged_migrations
from pana_kit.service import ServiceDefinition, create_app
from pana_kit.settings import load_settings

from .adapters.registry_http import RegistryHttp
from .api import birth_verifications, callbacks, iin
from .domain.circuit import CircuitBreaker
from .handlers import BridgeHandlers
from .sandbox import SANDBOX
from .settings import BridgeSettings
from .store.repository import SEALED_AT_REST
from .worker import RegistryWork

MIGRATIONS = packaged_migrations(__package__)  # package data: found in a wheel as in a checkout

DESCRIPTION = """
The bridge between Pana and Kazakhstan's civil registry: it verifies births, submits the
ones that are missing (basis: the medical birth certificate; **every child is registered
irrespective of the parents' legal status**, 2019 amendments), follows each submission to
registered or rejected, and checks IINs.

Every request is stored before the registry is called; an outage queues work that resumes
by itself; a reconciler picks up requests stuck longer than a configured time; the same
request twice (same `Idempotency-Key`, or the same child from registration) is one request.
Outcomes are published on `civil-registry.events`.
"""


def create(settings: BridgeSettings | None = None, *, registry_transport=None) -> FastAPI:
    """`registry_transport` (an httpx transport) lets tests put the simulator in process."""
    settings = settings or load_settings(BridgeSettings)
    rules = settings.rules()  # every open rule from BRIDGE_* (docs/domain.md); an invalid one refuses start
    holder: dict = {}

    def wake() -> None:
        work = holder.get("work")
        if work is not None:
            work.wake.set()

    def callback_url(request_id: str) -> str | None:
        if not settings.callback_enabled:
            return None
        base = (settings.callback_base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        query = urlencode({"request_id": request_id})  # routing only: each delivery is signed (api/callbacks.py)
        return f"{base}/api/v1/registry-callbacks/birth-registrations?{query}"

    async def start_work(app: FastAPI) -> None:
        registry = RegistryHttp(
            settings.registry_url, settings.registry_api_key,
            timeout_s=settings.registry_timeout_s, connect_timeout_s=settings.registry_connect_timeout_s,
            retries=settings.registry_retries, retry_base_s=settings.registry_retry_base_s,
            concurrency=settings.registry_concurrency,
            breaker=CircuitBreaker(failure_threshold=settings.breaker_failure_threshold,
                                   reset_timeout=settings.breaker_reset_timeout_s,
                                   half_open_max_calls=settings.breaker_half_open_calls),
            callback_url=callback_url, transport=registry_transport,
        )
        work = RegistryWork(
            app.state.db, app.state.source, app.state.signal, registry, rules,
            lease=timedelta(seconds=settings.worker_lease_s), poll_interval_s=settings.worker_poll_interval_s,
            batch_size=settings.worker_batch_size, max_tasks=max(settings.registry_concurrency * 2, 4),
        )
        app.state.registry = registry
        app.state.work = work
        holder["work"] = work

    async def stop_work(app: FastAPI) -> None:
        work = getattr(app.state, "work", None)
        if work is not None:
            await work.stop()
        registry = getattr(app.state, "registry", None)
        if registry is not None:
            await registry.close()

    async def registry_worker(app: FastAPI) -> None:
        if settings.run_worker:
            await app.state.work.run()

    async def reconciler(app: FastAPI) -> None:
        if settings.run_worker:
            await app.state.work.run_reconciler(settings.reconciler_interval_s, rules.stuck_after)

    def breaker_gauge(app: FastAPI) -> None:
        """`pana_circuit_breaker_state{breaker="civil-registry"}` at every scrape (alert: breaker open)."""
        registry = getattr(app.state, "registry", None)
        if registry is not None:
            breaker_state("civil-registry-bridge", "civil-registry", registry.breaker.state)

    handlers = BridgeHandlers(rules, wake)
    definition = ServiceDefinition(
        name="civil-registry-bridge",
        title="Pana — civil-registry bridge",
        description=DESCRIPTION,
        migrations_dir=MIGRATIONS,
        routers=[birth_verifications.router, iin.router, callbacks.router],
        produces=["civil-registry.events"],
        consumes=topics_consumed_by("civil-registry-bridge"),
        handlers=handlers.table(),
        tags=[
            {"name": "birth-verifications", "description": "Verify births and register the missing ones"},
            {"name": "iin", "description": "Check an IIN's format and check digit"},
            {"name": "registry-callbacks", "description": "Called by the civil registry, not by people"},
        ],
        background=[registry_worker, reconciler],
        signed_body_paths=("/api/v1/registry-callbacks/birth-registrations",),
        encrypts=True,
        on_startup=[sealing_at_startup("civil-registry-bridge", *SEALED_AT_REST), start_work],
        on_shutdown=[stop_work],
        metrics=[breaker_gauge],
        sandbox=SANDBOX,
    )
    app = create_app(definition, settings)
    app.state.rules = rules
    return app
