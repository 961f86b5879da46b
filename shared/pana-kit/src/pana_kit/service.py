"""The app factory every service uses: one shape, infrastructure written once.

A service declares what is its own (routers, event handlers, migrations, topics)
in a `ServiceDefinition`; `create_app` adds what all services share: problem+json
errors, auth, health and readiness, metrics, offline docs, AsyncAPI, telemetry,
the outbox relay and the event consumer.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pana_events.asyncapi import asyncapi_document

from .auth import TokenVerifier, add_oauth2_to_openapi, docs_oauth_settings, oauth2_urls
from .audit_api import router as audit_router
from .consumer import EventConsumer, Handler
from .audit_archive import partition_job
from .audit import AuditChainer, AuditKey, AuditWriter, journal_path
from .crypto import attach_keyring, keyring_from_settings
from .db import Database
from .heap import freeze_after_startup, unfreeze_after_stop
from .errors import install_problem_handlers, problem_response, problem_responses
from .logs import configure_logging
from .ratelimit import ReadLimiter
from .middleware import KitMiddleware, docs_csp
from .migrations import upgrade
from .openapi import finish_openapi
from .sandbox import Sandbox, seed_sandbox
from .outbox import OutboxRelay, OutboxSignal, UnitOfWork
from .retention import retention_job
from .dead_letters import replay_job
from .settings import ServiceSettings
from .otlp_metrics import metrics_pusher
from .telemetry import configure_tracing, exports_spans, instrument_app
from .webhook_api import document_webhooks, router as webhook_router
from .webhooks import WebhookWorker

log = logging.getLogger("pana.service")
_DOCS_STATIC = Path(fastapi_offline.__file__).parent / "static"


@dataclass
class ServiceDefinition:
    name: str  # as in the topic registry: registration, rsd, statelessness, civil-registry-bridge
    title: str
    description: str
    migrations_dir: Path
    routers: list[APIRouter]
    produces: list[str]
    consumes: list[str] = field(default_factory=list)
    handlers: dict[str, Handler] = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)
    version: str = "1.0.0"
    # Extra background work (reconcilers, deadline watchers): coroutines taking the app.
    background: list[Callable[[FastAPI], Any]] = field(default_factory=list)
    on_startup: list[Callable[[FastAPI], Any]] = field(default_factory=list)
    on_shutdown: list[Callable[[FastAPI], Any]] = field(default_factory=list)
    # Encrypts fields at rest. Every service loads its keyring (pana_kit.crypto) at start-up into app.state.keyring
    # (the audit chain is keyed from it) and refuses to start without one outside dev mode.
    encrypts: bool = False
    # Routes whose body is signed and authenticated by the route before anything reads it (the civil registry's
    # callback): the kit's text checks leave those bodies alone.
    signed_body_paths: tuple[str, ...] = ()
    # Gauges of the service's own (a circuit breaker's state): each is called with the app when /metrics is
    # scraped, before the registry is rendered (sync or async; one that fails is logged, not fatal to the scrape).
    metrics: list[Callable[[FastAPI], Any]] = field(default_factory=list)
    # The example world of /docs (pana_kit.sandbox): seeded in dev mode when <PREFIX>SANDBOX_EXAMPLES is on.
    sandbox: Sandbox | None = None
    # Webhook subscriptions to this service's events (routes and delivery worker); off on an instance that serves
    # only some routes (registration's verify instances).
    webhooks: bool = True
    # Operations served straight from the kit's middleware for their well-formed requests (pana_kit.middleware.
    # HotRoute; registration's verification); their FastAPI routes stay the definition and answer the rest.
    hot_routes: tuple = ()


def create_app(definition: ServiceDefinition, settings: ServiceSettings) -> FastAPI:
    # Production is the default: a default or missing secret, the dev issuer, no token keys refuse the start
    # (naming the variable); dev mode must be asked for and binds loopback only.
    settings.refuse_insecure()
    configure_logging(definition.name, settings.log_level)
    if exports_spans(settings):
        configure_tracing(definition.name, console=settings.otel_console_export)
    source = f"/pana/{definition.name}"

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        db = Database(settings.resolved_database_url(), pool_size=settings.database_pool_size)
        # Audit entries carry a MAC with a key from the key provider, never stored in the database.
        db.use_audit_key(AuditKey.of(app.state.keyring))
        attach_keyring(db.engine, app.state.keyring)  # sealed document columns (pana_kit.crypto.SealedDocument)
        upgrade(definition.migrations_dir, settings.resolved_database_url())
        signal = OutboxSignal()
        app.state.db = db
        app.state.signal = signal
        app.state.source = source
        relay = OutboxRelay(db, settings, signal, definition.produces)
        consumer = EventConsumer(db, settings, signal, definition.consumes, definition.handlers, source)
        app.state.relay = relay
        app.state.consumer = consumer
        webhooks = WebhookWorker(db, settings, definition.name, app.state.keyring)
        signal.listeners.append(webhooks.wake)
        app.state.webhooks = webhooks
        # Audit entries that need not commit with a change (verifications) are appended in batches by one task.
        audit_writer = AuditWriter(db, definition.name, journal_dir=journal_path(settings),
                                   linger_seconds=settings.audit_batch_linger_seconds)
        app.state.audit_writer = audit_writer
        audit_writer.start()
        # Commands record audit intents without the chain's lock; one chainer per process links them in batches.
        audit_chainer = AuditChainer(db, definition.name, wait=settings.audit_wait_for_chain)
        app.state.audit_chainer = audit_chainer
        db.use_audit_chainer(audit_chainer)
        audit_chainer.start()  # first: intents a killed process committed but never chained
        if exports_spans(settings):
            instrument_app(app, db.engine)
        tasks: list[asyncio.Task] = []
        for hook in definition.on_startup:
            await hook(app)
        if settings.run_outbox_relay:
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
            # Published outbox rows, inbox rows and Idempotency-Key answers are kept for their periods, then pruned.
            tasks.append(asyncio.create_task(retention_job()(app), name="retention"))
        # PostgreSQL: the audit log's partitions for the coming months, made ahead (pana_kit.audit_archive).
        tasks.append(asyncio.create_task(partition_job()(app), name="audit-partitions"))
        for job in definition.background:
            tasks.append(asyncio.create_task(job(app), name=getattr(job, "__name__", "background")))
        if definition.sandbox is not None and settings.sandbox_examples:
            await seed_sandbox(app, definition.sandbox)
        # The consumer after the example world: another service's events about its people (an rsd applicant in
        # registration's register) find them registered (pana_kit.sandbox.EXAMPLE_PERSONS).
        if settings.run_consumers and definition.consumes and definition.handlers:
            tasks.append(asyncio.create_task(consumer.run(), name="event-consumer"))
            # Dead letters an operator marked for replay (`pana dlq replay`) go through the consumer again.
            tasks.append(asyncio.create_task(replay_job()(app), name="dead-letter-replay"))
        if settings.run_webhooks and definition.webhooks and definition.produces:
            # Committed outbox rows to subscribers' callback URLs, signed, retried, parked (pana_kit.webhooks).
            # After the example world is seeded: the seed fans out and parks its documented delivery itself.
            tasks.append(asyncio.create_task(webhooks.run(), name="webhook-delivery"))
        # The same metrics pushed over OTLP when the OTEL_* variables ask for it (pana_kit.otlp_metrics); else None.
        pusher = metrics_pusher(definition.name, refresh=lambda: refresh_gauges(app, definition)) \
            if settings.otel_enabled else None
        if pusher is not None:
            pusher.start()
        if settings.dev_mode:
            log.warning("%s started in DEV MODE: dev tokens (issuer pana-dev, HS256 key in the repository) are "
                        "accepted; loopback only, never in production", definition.name)
        else:
            log.info("%s started", definition.name)
        # What start-up built lives as long as the process: out of the collector's full passes (pana_kit.heap).
        freeze_after_startup()
        try:
            yield
        finally:
            unfreeze_after_stop()
            if pusher is not None:
                await pusher.stop()  # the last values, while the database and the broker are still there
            await consumer.stop()
            await relay.stop()
            await webhooks.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await audit_writer.stop()  # nothing queued is lost on a clean stop
            await audit_chainer.stop()
            for hook in definition.on_shutdown:
                await hook(app)
            await db.dispose()
            log.info("%s stopped", definition.name)

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_tags=definition.tags or None,
        servers=[{"url": "/", "description": "this service"}],
    )
    app.state.settings = settings
    app.state.definition = definition
    app.state.verifier = TokenVerifier(settings)
    app.state.read_limiter = ReadLimiter.from_settings(settings)  # reads per principal, checked by `require`
    # Every service loads its keyring: the audit chain's key comes from it even where no field is encrypted.
    app.state.keyring = keyring_from_settings(settings)
    install_problem_handlers(app)
    # Body limit, security headers, metrics, request id, access log, NUL and invisible-character refusals: one
    # pure-ASGI layer (pana_kit.middleware.KitMiddleware).
    app.add_middleware(KitMiddleware, service=definition.name, max_bytes=settings.max_body_bytes,
                       docs_policy=docs_csp(oauth2_urls(settings)[1]), access_log=settings.access_log,
                       signed_body_paths=definition.signed_body_paths,
                       # Spans exported: every request through FastAPI's instrumented routes, as before.
                       hot_routes=() if exports_spans(settings) else tuple(
                           hot for hot in definition.hot_routes if _routed(definition, hot)))
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Purpose",
                                          "X-Request-ID"], expose_headers=["X-Request-ID"])
    for router in definition.routers:
        app.include_router(router)
    _add_operational_routes(app, definition, settings)
    add_oauth2_to_openapi(app, settings)
    if app.state.read_limiter is not None:
        _document_read_limit(app)
    finish_openapi(app)  # operationIds, the one Problem, open routes, headers, examples (last: sees it all)
    document_webhooks(app)  # the webhook examples name this service's own event types
    return app


def _routed(definition: ServiceDefinition, hot) -> bool:
    """Whether one of the app's routers has the hot route's operation (an instance may serve only some groups)."""
    return any(getattr(route, "path", None) == hot.template and hot.method in getattr(route, "methods", ())
               for router in definition.routers for route in router.routes)


def _document_read_limit(app: FastAPI) -> None:
    """Every guarded read may answer 429 (the per-principal read limit): say so in its OpenAPI operation
    (a GET that documents 401 is guarded; the route-walking auth tests prove every route is)."""
    generate = app.openapi
    done = {"schema": None}

    def openapi() -> dict:
        if done["schema"] is not None:
            return done["schema"]
        schema = generate()
        too_many = problem_responses(429)[429]
        for item in schema.get("paths", {}).values():
            get = item.get("get")
            if get and "401" in get.get("responses", {}) and "429" not in get["responses"]:
                get["responses"]["429"] = {**too_many, "description": "Too many reads by this principal; "
                                                                       "see Retry-After"}
        done["schema"] = schema
        return schema

    app.openapi = openapi


def _add_operational_routes(app: FastAPI, definition: ServiceDefinition, settings: ServiceSettings) -> None:
    # The auditor's query and chain-verification API, the same on every service (scope audit:read).
    app.include_router(audit_router)
    # Webhook subscriptions to this service's own events (scope webhooks:manage).
    if definition.webhooks:
        app.include_router(webhook_router)
    app.mount("/_docs-static", StaticFiles(directory=_DOCS_STATIC), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        # "Authorize" offers the identity provider's OAuth2 flows (pana_kit.auth.add_oauth2_to_openapi).
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{definition.title} — API",
                                   swagger_js_url="/_docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/_docs-static/swagger-ui.css",
                                   swagger_favicon_url="/_docs-static/favicon.png",
                                   oauth2_redirect_url="/docs/oauth2-redirect",
                                   init_oauth=docs_oauth_settings(settings))

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return get_redoc_html(openapi_url="/openapi.json", title=f"{definition.title} — reference",
                              redoc_js_url="/_docs-static/redoc.standalone.js",
                              redoc_favicon_url="/_docs-static/favicon.png", with_google_fonts=False)

    @app.get("/healthz", tags=["operations"], operation_id="getHealth", summary="Liveness", description="The process is up.")
    async def healthz():
        return {"status": "ok", "service": definition.name}

    @app.get("/readyz", tags=["operations"], operation_id="getReadiness", summary="Readiness",
             description="Ready when the database answers. The broker's state is a detail of the answer (`broker`) "
                         "and the metric `pana_broker_up`, never a reason to be taken out of service: while the "
                         "broker is away, commands still succeed and their events wait in the outbox.",
             responses={503: {"description": "Not ready: the database does not answer"}})
    async def readyz(request: Request):
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(request.app.state.db.ping(), 3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable ({type(exc).__name__})"
        broker_ok = broker_connected(request.app)
        details = {"broker": "ok" if broker_ok else "unavailable"}
        if checks["database"] == "ok":
            return {"status": "ready", "checks": checks, "details": details}
        return problem_response(503, f"not ready: database {checks['database']}", checks=checks, details=details)

    @app.get("/metrics", tags=["operations"], operation_id="getMetrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request):
        await refresh_gauges(request.app, definition)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/asyncapi.json", tags=["operations"], operation_id="getAsyncApi", summary="AsyncAPI 3.0 document of the events",
             description="Topics, keys and event schemas this service publishes and consumes.")
    async def asyncapi():
        return JSONResponse(asyncapi_document(definition.name))


async def refresh_gauges(app: FastAPI, definition: ServiceDefinition) -> None:
    """Set the gauges read from the database and the broker at scrape time: broker up, outbox backlog and its
    oldest age, consumer lag and dead letters, and the service's own (`ServiceDefinition.metrics`). Each is
    bounded by a timeout; metrics answer even when the database or the broker does not."""
    import inspect

    from .metrics import BROKER_UP, OUTBOX_OLDEST_AGE, OUTBOX_PENDING, webhook_backlog

    name = definition.name
    BROKER_UP.labels(name).set(1 if broker_connected(app) else 0)
    try:
        pending, oldest = await asyncio.wait_for(app.state.relay.backlog(), 5)
        OUTBOX_PENDING.labels(name).set(pending)
        OUTBOX_OLDEST_AGE.labels(name).set(oldest)
    except Exception as exc:  # noqa: BLE001 - the database is away: the last values stand
        log.debug("outbox backlog not measured: %s", type(exc).__name__)
    consumer = getattr(app.state, "consumer", None)
    if consumer is not None:
        try:
            await asyncio.wait_for(consumer.measure_lag(), 5)
        except Exception as exc:  # noqa: BLE001 - the broker is away
            log.debug("consumer lag not measured: %s", type(exc).__name__)
    webhooks = getattr(app.state, "webhooks", None)
    if webhooks is not None:
        try:
            waiting = await asyncio.wait_for(webhooks.waiting(), 5)
            webhook_backlog(name, pending=waiting.get("pending", 0), parked=waiting.get("parked", 0))
        except Exception as exc:  # noqa: BLE001 - the database is away: the last values stand
            log.debug("webhook backlog not measured: %s", type(exc).__name__)
    for gauge in definition.metrics:
        try:
            result = gauge(app)
            if inspect.isawaitable(result):
                await asyncio.wait_for(result, 5)
        except Exception as exc:  # noqa: BLE001
            log.warning("gauge %s failed: %s", getattr(gauge, "__name__", gauge), type(exc).__name__)


def broker_connected(app: FastAPI) -> bool:
    """Whether the outbox relay or the consumer holds a broker connection now (a health detail, not readiness)."""
    relay: OutboxRelay | None = getattr(app.state, "relay", None)
    consumer: EventConsumer | None = getattr(app.state, "consumer", None)
    return bool((relay and relay.connected) or (consumer and consumer.connected))


def unit_of_work(request: Request) -> UnitOfWork:
    """A unit of work for an HTTP command: `async with unit_of_work(request) as uow:`."""
    return UnitOfWork(request.app.state.db, request.app.state.source, signal=request.app.state.signal)
