"""OpenTelemetry set-up: FastAPI, httpx, SQLAlchemy and aiokafka instrumented once.

Spans carry route templates, never what was in the URL. The instrumentations record the
full URL (`http.url` with the query, `http.target` with ids in the path: `/verify/RF…?
birth_date=…`, `/persons?name=…`, the registry's `/persons/<IIN>`); every span passes
through `redacted` on its way to any exporter, which keeps `http.route` (the template),
sets `url.path` to it, drops the raw target, query and full URL, keeps only scheme and
host of an outgoing call's URL, and cuts any query from a span's name (the FastAPI
instrumentation names server spans by template, or by method alone when no route matched).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind

log = logging.getLogger("pana.telemetry")
_configured = False
_exporting = False  # an exporter was configured in this process

# Attributes that hold what the caller put in the URL (old and new HTTP semantic conventions).
RAW_URL_ATTRIBUTES = frozenset({"http.target", "url.query", "http.request.query", "url.original"})
FULL_URL_ATTRIBUTES = frozenset({"http.url", "url.full"})
PATH_ATTRIBUTES = frozenset({"url.path", "http.path"})


def _origin(url: object) -> str | None:
    try:
        parts = urlsplit(str(url))
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def redacted_attributes(attributes: dict, *, kind: SpanKind) -> dict:
    """The span's attributes without the raw URL: the route template stays (`http.route`, `url.path`)."""
    route = attributes.get("http.route")
    out: dict = {}
    for key, value in attributes.items():
        if key in RAW_URL_ATTRIBUTES or key in PATH_ATTRIBUTES:
            continue
        if key in FULL_URL_ATTRIBUTES:
            # A call we made (httpx) keeps where it went; never the path or query it carried.
            origin = _origin(value) if kind == SpanKind.CLIENT else None
            if origin:
                out[key] = origin
            continue
        out[key] = value
    if isinstance(route, str) and route:
        out["url.path"] = route
    return out


def redacted_name(span: ReadableSpan) -> str:
    """The instrumentation names server spans by route template (`GET /api/v1/verify/{number}`, and its
    `… http send` children) or by method alone when no route matched; a query never stays in a name."""
    return (span.name or "").split("?", 1)[0]


def redacted(span: ReadableSpan) -> ReadableSpan:
    return ReadableSpan(
        name=redacted_name(span), context=span.context, parent=span.parent, resource=span.resource,
        attributes=redacted_attributes(dict(span.attributes or {}), kind=span.kind), events=span.events,
        links=span.links, kind=span.kind, status=span.status, start_time=span.start_time, end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Hands the exporter each span with its URL reduced to the route template (see the module's doc)."""

    def __init__(self, inner: SpanExporter):
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def span_pipeline(exporter: SpanExporter, *, batch: bool = True) -> SpanProcessor:
    """The only way spans reach an exporter: through `RedactingSpanExporter`."""
    redacting = RedactingSpanExporter(exporter)
    return BatchSpanProcessor(redacting) if batch else SimpleSpanProcessor(redacting)


def exports_spans(settings) -> bool:
    """Whether this service has anywhere to send spans: tracing on and an exporter (the console one, or one
    handed to `configure_tracing`, as tests do). Without one the app is not instrumented: no span is built for a
    request (they cost a few per cent of a verification), and logs and audit entries carry no trace id."""
    return bool(settings.otel_enabled and (settings.otel_console_export or _exporting))


def configure_tracing(service: str, *, console: bool = False, exporter: SpanExporter | None = None,
                      batch: bool = True) -> None:
    global _configured, _exporting
    if exporter is not None or console:
        _exporting = True
    if _configured:
        if exporter is not None:
            trace.get_tracer_provider().add_span_processor(span_pipeline(exporter, batch=batch))
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        provider.add_span_processor(span_pipeline(exporter, batch=batch))
    elif console:
        provider.add_span_processor(span_pipeline(ConsoleSpanExporter()))
    trace.set_tracer_provider(provider)
    try:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor().instrument()
    except Exception as exc:  # instrumentation is best effort; the service runs without it
        log.info("httpx instrumentation unavailable: %s", exc)
    _configured = True


def instrument_app(app, engine) -> None:
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    except Exception as exc:
        log.info("FastAPI instrumentation unavailable: %s", exc)
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    except Exception as exc:
        log.info("SQLAlchemy instrumentation unavailable: %s", exc)
