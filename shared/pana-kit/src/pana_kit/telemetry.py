"""OpenTelemetry set-up: FastAPI, httpx, SQLAlchemy and aiokafka instrumented once.

Spans carry route templates, never what was in the URL. The instrumentations record the
full URL (`http.url` with the query, `http.target` with ids in the path: `/verify/RF…?
birth_date=…`, `/persons?name=…`, the registry's `/persons/<IIN>`); every span passes
through `redacted` on its way to any exporter, which keeps `http.route` (the template),
sets `url.path` to it, drops the raw target, query and full URL, keeps only scheme and
host of an outgoing call's URL, and cuts any query from a span's name (the FastAPI
instrumentation names server spans by template, or by method alone when no route matched).

Where spans go is configured by OpenTelemetry's standard variables, as any collector or vendor documents them:
`OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`, or a list), `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`, the default, or `grpc`),
`OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION`, `…_CERTIFICATE`, `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER(_ARG)`, `OTEL_BSP_*` and `OTEL_SDK_DISABLED`. Unlike the SDK's
own default, naming no exporter (no `OTEL_TRACES_EXPORTER` and no OTLP endpoint) exports nothing, and then no span
is built at all (`exports_spans`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
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


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def named_exporters(variable: str, known: frozenset[str] | set[str], environ: Mapping[str, str] | None = None
                    ) -> list[str] | None:
    """The exporters an `OTEL_<SIGNAL>S_EXPORTER` variable lists, in order (`none` empties the list; one not in
    `known` is refused, naming the variable); [] when `OTEL_SDK_DISABLED` is true; None when the variable is unset."""
    env = os.environ if environ is None else environ
    if _truthy(env.get("OTEL_SDK_DISABLED")):
        return []
    named = [name.strip().lower() for name in env.get(variable, "").split(",") if name.strip()]
    if not named:
        return None
    if "none" in named:
        return []
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise ValueError(f"{variable} names exporters this service does not have: {', '.join(unknown)} "
                         f"({', '.join(sorted(known))} or none)")
    return list(dict.fromkeys(named))


def otlp_protocol(signal: str, environ: Mapping[str, str] | None = None) -> str:
    """`OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` (the default) or
    `grpc`; anything else is refused."""
    env = os.environ if environ is None else environ
    protocol = (env.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip().lower()
    if protocol not in ("http/protobuf", "grpc"):
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL {protocol!r} is not supported (http/protobuf or grpc)")
    return protocol


def env_trace_exporters(environ: Mapping[str, str] | None = None) -> list[str]:
    """The exporters the `OTEL_*` variables name: `OTEL_TRACES_EXPORTER`'s list (`none` empties it), or `otlp` when
    only an OTLP endpoint is given; nothing when `OTEL_SDK_DISABLED` is true or neither is set."""
    env = os.environ if environ is None else environ
    named = named_exporters("OTEL_TRACES_EXPORTER", {"otlp", "console"}, env)
    if named is not None:
        return named
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return ["otlp"]
    return []


def otlp_exporter(environ: Mapping[str, str] | None = None) -> SpanExporter:
    """The OTLP span exporter of `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` (http/protobuf unless grpc); it reads its
    endpoint, headers, timeout, compression and certificate from the `OTEL_EXPORTER_OTLP_*` variables itself."""
    if otlp_protocol("TRACES", environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter()


def exports_spans(settings, environ: Mapping[str, str] | None = None) -> bool:
    """Whether this service has anywhere to send spans: tracing on and an exporter (one the `OTEL_*` variables
    name, the console one of `otel_console_export`, or one handed to `configure_tracing`, as tests do). Without one
    the app is not instrumented: no span is built for a request (they cost a few per cent of a verification), and
    logs and audit entries carry no trace id."""
    return bool(settings.otel_enabled and (settings.otel_console_export or _exporting or env_trace_exporters(environ)))


def service_resource(service: str, environ: Mapping[str, str] | None = None) -> Resource:
    """`service.name` is the service's own unless `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) names one;
    the other resource attributes come from `OTEL_RESOURCE_ATTRIBUTES`."""
    env = os.environ if environ is None else environ
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return Resource.create({} if named else {"service.name": service})


def configure_tracing(service: str, *, console: bool = False, exporter: SpanExporter | None = None,
                      batch: bool = True, environ: Mapping[str, str] | None = None) -> None:
    """Set up the tracer provider once per process, with the exporters the `OTEL_*` variables name (see the
    module's doc), the console one when `console`, and `exporter` when given."""
    global _configured, _exporting
    exporters: list[SpanExporter] = [] if exporter is None else [exporter]
    if not _configured:
        for name in env_trace_exporters(environ):
            exporters.append(otlp_exporter(environ) if name == "otlp" else ConsoleSpanExporter())
        if console and not any(isinstance(e, ConsoleSpanExporter) for e in exporters):
            exporters.append(ConsoleSpanExporter())
    if exporters:
        _exporting = True
    if _configured:
        for added in exporters:
            trace.get_tracer_provider().add_span_processor(span_pipeline(added, batch=batch))
        return
    provider = TracerProvider(resource=service_resource(service, environ))
    for added in exporters:
        provider.add_span_processor(span_pipeline(added, batch=batch if added is exporter else True))
        log.info("spans of %s are exported by %s", service, type(added).__name__)
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
