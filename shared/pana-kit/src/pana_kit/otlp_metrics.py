"""The Prometheus metrics, also pushed over OTLP when the standard `OTEL_*` variables ask for it.

There is one set of metrics: the prometheus_client registry of `pana_kit.metrics`, which `/metrics` renders. This
module bridges that registry to OTLP instead of keeping a second set of OpenTelemetry instruments: every export
interval it sets the scrape-time gauges (outbox backlog and its oldest age, consumer lag, dead letters, webhook
backlog, breaker state: the same `refresh_gauges` a scrape runs), reads the registry, and hands the samples to the
OTLP metric exporter as OpenTelemetry data, under the same names and labels as on `/metrics`:

- a counter is a cumulative monotonic sum named as its `_total` sample (`pana_http_requests_total`), started at its
  `_created` time;
- a gauge is a gauge;
- a histogram is a cumulative explicit-bucket histogram (the `le` bounds, count and sum; Prometheus keeps no
  minimum or maximum, so none is sent);
- summaries and other types are left out (the kit defines none).

Labels are the registry's own, so they stay as bounded as on `/metrics` (route templates, the contract's event
types, fixed outcomes). The resource is the traces' (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`) with a
`service.instance.id` per process, so the cumulative series of two replicas or workers never mix.

The variables, as OpenTelemetry defines them: `OTEL_METRICS_EXPORTER` (`otlp`, `console`, `prometheus`, `none`, or
a list; `prometheus` is `/metrics`, always served), `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_ENDPOINT`, to which `/v1/metrics` is added), `OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL`
(`http/protobuf`, the default, or `grpc`), `…_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION`, `…_CERTIFICATE`,
`OTEL_METRIC_EXPORT_INTERVAL` (milliseconds, 60000 by default), `OTEL_METRIC_EXPORT_TIMEOUT` (30000) and
`OTEL_SDK_DISABLED`. Unlike the traces, a general OTLP endpoint alone does not start a metrics push (a deployment
that sends its traces to a collector and is scraped by Prometheus keeps doing exactly that): `OTEL_METRICS_EXPORTER`
must name `otlp`, or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` be set. When nothing is named, nothing is imported,
no task runs and nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping

from prometheus_client import REGISTRY, CollectorRegistry

log = logging.getLogger("pana.telemetry")

_PROCESS_START_NS = time.time_ns()
FINAL_PUSH_TIMEOUT = 5.0  # seconds the last push on a stop may take


def env_metric_exporters(environ: Mapping[str, str] | None = None) -> list[str]:
    """The push exporters the `OTEL_*` variables name for metrics: `otlp` and/or `console` from
    `OTEL_METRICS_EXPORTER` (`none` empties it; `prometheus` is `/metrics`, served anyway), or `otlp` when only
    `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` is given; nothing when `OTEL_SDK_DISABLED` is true or neither is set."""
    from .telemetry import named_exporters

    env = os.environ if environ is None else environ
    named = named_exporters("OTEL_METRICS_EXPORTER", {"otlp", "console", "prometheus"}, env)
    if named is not None:
        return [name for name in named if name != "prometheus"]
    return ["otlp"] if env.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") else []


def _millis(env: Mapping[str, str], name: str, default: int) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default / 1000
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of milliseconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {value}")
    return value / 1000


def export_interval(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between pushes: `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds, 60000 unless set)."""
    return _millis(os.environ if environ is None else environ, "OTEL_METRIC_EXPORT_INTERVAL", 60000)


def export_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds a push may take: `OTEL_METRIC_EXPORT_TIMEOUT` (milliseconds, 30000 unless set)."""
    return _millis(os.environ if environ is None else environ, "OTEL_METRIC_EXPORT_TIMEOUT", 30000)


def otlp_metric_exporter(environ: Mapping[str, str] | None = None):
    """The OTLP metric exporter of `OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL` (http/protobuf unless grpc); it reads its
    endpoint, headers, timeout, compression and certificate from the `OTEL_EXPORTER_OTLP_*` variables itself."""
    from .telemetry import otlp_protocol

    if otlp_protocol("METRICS", environ) == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcExporter

        return GrpcExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpExporter

    return HttpExporter()


def metrics_resource(service: str, environ: Mapping[str, str] | None = None):
    """The traces' resource (`telemetry.service_resource`) with a `service.instance.id` for this process unless
    `OTEL_RESOURCE_ATTRIBUTES` names one."""
    from opentelemetry.sdk.resources import Resource

    from .telemetry import service_resource

    resource = service_resource(service, environ)
    if "service.instance.id" not in resource.attributes:
        resource = resource.merge(Resource({"service.instance.id": str(uuid.uuid4())}))
    return resource


def _start_ns(created: dict[tuple, float], key: tuple) -> int:
    seconds = created.get(key)
    return int(seconds * 1e9) if seconds is not None else _PROCESS_START_NS


def _metric(family, now_ns: int):
    """One prometheus_client metric family as OpenTelemetry data, or None for a type the bridge leaves out."""
    from opentelemetry.sdk.metrics.export import (AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric,
                                                  NumberDataPoint, Sum)

    def key(labels: dict) -> tuple:
        return tuple(sorted((k, v) for k, v in labels.items() if k != "le"))

    created = {key(s.labels): s.value for s in family.samples if s.name.endswith("_created")}
    if family.type == "counter":
        points = [NumberDataPoint(attributes=dict(s.labels), start_time_unix_nano=_start_ns(created, key(s.labels)),
                                  time_unix_nano=now_ns, value=s.value)
                  for s in family.samples if s.name == family.name + "_total"]
        data = Sum(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE, is_monotonic=True)
        return Metric(name=family.name + "_total", description=family.documentation, unit=family.unit, data=data)
    if family.type in ("gauge", "unknown"):
        points = [NumberDataPoint(attributes=dict(s.labels), start_time_unix_nano=0, time_unix_nano=now_ns,
                                  value=s.value)
                  for s in family.samples if s.name == family.name]
        return Metric(name=family.name, description=family.documentation, unit=family.unit, data=Gauge(data_points=points))
    if family.type == "histogram":
        series: dict[tuple, dict] = {}
        for s in family.samples:
            entry = series.setdefault(key(s.labels), {"buckets": [], "count": 0, "sum": 0.0})
            if s.name == family.name + "_bucket":
                entry["buckets"].append((float(s.labels["le"]), s.value))
            elif s.name == family.name + "_count":
                entry["count"] = int(s.value)
            elif s.name == family.name + "_sum":
                entry["sum"] = s.value
        points = []
        for labels, entry in series.items():
            cumulative = sorted(entry["buckets"])
            counts, previous = [], 0.0
            for _, running in cumulative:  # Prometheus buckets are cumulative; OTLP's are not
                counts.append(int(running - previous))
                previous = running
            points.append(HistogramDataPoint(
                attributes=dict(labels), start_time_unix_nano=_start_ns(created, labels), time_unix_nano=now_ns,
                count=entry["count"], sum=entry["sum"], bucket_counts=counts,
                explicit_bounds=[bound for bound, _ in cumulative if bound != float("inf")], min=None, max=None))
        data = Histogram(data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE)
        return Metric(name=family.name, description=family.documentation, unit=family.unit, data=data)
    return None


def metrics_data(resource, registry: CollectorRegistry = REGISTRY, *, now_ns: int | None = None):
    """The registry's samples now, as the `MetricsData` an OpenTelemetry metric exporter takes."""
    from opentelemetry.sdk.metrics.export import MetricsData, ResourceMetrics, ScopeMetrics
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    now = time.time_ns() if now_ns is None else now_ns
    metrics = [m for m in (_metric(family, now) for family in registry.collect()) if m is not None and m.data.data_points]
    scope = ScopeMetrics(scope=InstrumentationScope("pana_kit.metrics"), metrics=metrics, schema_url="")
    return MetricsData(resource_metrics=[ResourceMetrics(resource=resource, scope_metrics=[scope], schema_url="")])


class MetricsPusher:
    """Pushes the registry to the exporters every `interval` seconds (after `refresh`, which sets the scrape-time
    gauges), and once more on `stop`, so the last values before a shutdown are not lost."""

    def __init__(self, exporters: Iterable, resource, *, interval: float, timeout: float,
                 refresh: Callable[[], Awaitable[None]] | None = None, registry: CollectorRegistry = REGISTRY):
        self.exporters = list(exporters)
        self.resource = resource
        self.interval = interval
        self.timeout = timeout
        self.refresh = refresh
        self.registry = registry
        self.pushes = 0
        self._task: asyncio.Task | None = None
        self._stopping = False

    async def push(self, *, timeout: float | None = None) -> None:
        """Refresh the gauges, then export the registry; a push takes at most `timeout` (the export timeout)."""
        timeout = self.timeout if timeout is None else timeout
        if self.refresh is not None:
            try:
                await self.refresh()
            except Exception as exc:  # noqa: BLE001 - the gauges keep their last values; the push goes on
                log.debug("gauges not refreshed before the metrics push: %s", type(exc).__name__)
        data = metrics_data(self.resource, self.registry)
        for exporter in self.exporters:
            # The exporters block (HTTP or gRPC); the service's loop does not wait on a collector. asyncio.wait, not
            # wait_for: on Python 3.11 wait_for swallows a cancellation that lands in the tick its export completes
            # (CPython gh-86296), and a stop then waited for ever on a pusher that went on pushing.
            export = asyncio.ensure_future(asyncio.to_thread(exporter.export, data, timeout_millis=timeout * 1000))
            try:
                done, _ = await asyncio.wait({export}, timeout=timeout + 1)
                if not done:
                    raise TimeoutError
                result = export.result()
                if getattr(result, "name", "SUCCESS") != "SUCCESS":
                    log.warning("metrics push by %s failed", type(exporter).__name__)
            except Exception as exc:  # noqa: BLE001 - a collector that is away costs one push, not the service
                log.warning("metrics push by %s failed: %s", type(exporter).__name__, type(exc).__name__)
            finally:
                export.cancel()  # a no-op when it is done; else its thread finishes on its own, unawaited
        self.pushes += 1

    async def _run(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.interval)
            if not self._stopping:
                await self.push()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="metrics-push")

    async def stop(self) -> None:
        if self._task is not None:
            # The flag ends the loop even if a cancellation is lost in a library's wait (gh-86296 above).
            self._stopping = True
            self._task.cancel()
            await asyncio.wait({self._task})
            self._task = None
        await self.push(timeout=min(self.timeout, FINAL_PUSH_TIMEOUT))  # a stop is not held up by a collector away
        for exporter in self.exporters:
            try:
                await asyncio.to_thread(exporter.shutdown)
            except Exception as exc:  # noqa: BLE001
                log.debug("metric exporter shutdown: %s", type(exc).__name__)


def metrics_pusher(service: str, *, refresh: Callable[[], Awaitable[None]] | None = None,
                   environ: Mapping[str, str] | None = None) -> MetricsPusher | None:
    """The pusher the `OTEL_*` variables ask for, or None (the usual case: metrics are scraped at `/metrics`)."""
    names = env_metric_exporters(environ)
    if not names:
        return None
    exporters = []
    for name in names:
        if name == "otlp":
            exporters.append(otlp_metric_exporter(environ))
        else:
            from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

            exporters.append(ConsoleMetricExporter())
    interval = export_interval(environ)
    log.info("metrics of %s are pushed by %s every %.1f s", service,
             ", ".join(type(e).__name__ for e in exporters), interval)
    return MetricsPusher(exporters, metrics_resource(service, environ), interval=interval,
                         timeout=export_timeout(environ), refresh=refresh)
