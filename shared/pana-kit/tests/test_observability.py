"""Observability (issue 17): OTLP export by the OTEL_* variables to a real OTLP/HTTP receiver, the access log
(route templates, no personal data), bounded labels, and the gauges read at scrape time with real values
(outbox backlog and age, circuit breaker, webhook deliveries; consumer lag and dead letters on a real broker)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from datetime import date

import pytest
from prometheus_client import REGISTRY

from pana_events import EVENT_TYPES
from pana_events.events.rsd import InterviewScheduled

from pana_dev.otlp_receiver import OtlpReceiver, point
from pana_dev.testing import assert_no_personal_data, capture_json_logs, eventually, service_harness, wait_for
from pana_kit.metrics import HTTP_METHODS, breaker_state, event_type_label, http_method, webhook_backlog, webhook_delivered
from pana_kit.otlp_metrics import (MetricsPusher, env_metric_exporters, export_interval, metrics_pusher,
                                   otlp_metric_exporter)
from pana_kit.telemetry import env_trace_exporters, exports_spans, otlp_exporter
from registration.app import create
from registration.settings import RegistrationSettings

PERSON_ID = "7c9e6679-7425-40de-944b-e07fc1f0d2f1"


def interview(n: int) -> InterviewScheduled:
    return InterviewScheduled(application_id=f"app-{n}", person_id=f"person-{n}", interview_id=f"iv-{n}",
                              scheduled_for=date(2026, 12, 1))


# -- OTLP -------------------------------------------------------------------------------------------------

SERVICE_IN_A_FRESH_PROCESS = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from opentelemetry import trace
    from pana_dev.testing import service_harness
    from registration.app import create
    from registration.settings import RegistrationSettings

    async def main(tmp):
        async with service_harness(create, RegistrationSettings, Path(tmp), otel_enabled=True) as h:
            r = await h.client.get("/api/v1/persons/%s", headers=h.headers("registration-officer"))
            print("status", r.status_code)
        trace.get_tracer_provider().force_flush()

    asyncio.run(main(sys.argv[1]))
""") % PERSON_ID


def test_spans_reach_an_otlp_receiver_named_by_the_otel_variables(tmp_path):
    """A service started with only OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME sends its request's server
    span over OTLP/HTTP, named by the route template, with no id from the path in it."""
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        env.update(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME="registration-under-test",
                   OTEL_BSP_SCHEDULE_DELAY="100")
        done = subprocess.run([sys.executable, "-c", SERVICE_IN_A_FRESH_PROCESS, str(tmp_path)], env=env,
                               capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "status 404" in done.stdout, done.stdout + done.stderr[-2000:]
        wait_for(lambda: any(s["attributes"].get("http.route") == "/api/v1/persons/{person_id}"
                             for s in receiver.spans), timeout=30, what="the request's span at the receiver")
    assert set(receiver.paths) == {"/v1/traces"}
    server = next(s for s in receiver.spans if s["attributes"].get("http.route") == "/api/v1/persons/{person_id}")
    assert server["name"] == "GET /api/v1/persons/{person_id}"
    assert server["resource"]["service.name"] == "registration-under-test"
    assert PERSON_ID not in json.dumps(receiver.spans)


def test_the_otel_variables_name_the_exporters():
    assert env_trace_exporters({}) == []
    assert env_trace_exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == ["otlp"]
    assert env_trace_exporters({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}) == ["otlp"]
    assert env_trace_exporters({"OTEL_TRACES_EXPORTER": "otlp,console"}) == ["otlp", "console"]
    assert env_trace_exporters({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}) == []
    assert env_trace_exporters({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}) == []
    with pytest.raises(ValueError, match="zipkin"):
        env_trace_exporters({"OTEL_TRACES_EXPORTER": "zipkin"})
    grpc = otlp_exporter({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert type(grpc).__module__.startswith("opentelemetry.exporter.otlp.proto.grpc")
    assert type(otlp_exporter({})).__module__.startswith("opentelemetry.exporter.otlp.proto.http")
    with pytest.raises(ValueError, match="http/json"):
        otlp_exporter({"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"})
    on, off = RegistrationSettings(otel_enabled=True), RegistrationSettings(otel_enabled=False)
    named = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert exports_spans(on, named) and not exports_spans(off, named)


async def test_metrics_reach_an_otlp_receiver_when_the_otel_variables_ask(tmp_path, monkeypatch):
    """With OTEL_METRICS_EXPORTER=otlp the registry's metrics are pushed every OTEL_METRIC_EXPORT_INTERVAL to an
    OTLP/HTTP receiver, under the names and bounded labels of /metrics: requests by route template, the latency
    histogram, and the outbox backlog gauge, which is measured before each push as at a scrape."""
    from pana_kit.outbox import UnitOfWork

    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    # The registry is the process's: apps that earlier tests built (other routes) left their series in it, and the
    # push carries them too. This test judges the series this app adds or moves.
    before = _request_counts()
    with OtlpReceiver() as receiver:
        # The metrics endpoint only: a general OTLP endpoint would also turn on this process's tracer.
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", receiver.endpoint + "/v1/metrics")
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "100")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "registration-under-test")
        async with service_harness(create, RegistrationSettings, tmp_path, otel_enabled=True) as h:
            assert (await h.client.get(f"/api/v1/persons/{PERSON_ID}",
                                       headers=h.headers("registration-officer"))).status_code == 404
            async with UnitOfWork(h.app.state.db, "/pana/registration") as uow:
                uow.emit(interview(1), subject="person-1")
            route = "/api/v1/persons/{person_id}"
            await eventually(lambda: point(receiver, "pana_http_requests_total", service="registration", route=route,
                                           method="GET", status="404")
                             and (point(receiver, "pana_outbox_pending", service="registration") or {}).get("value") == 1,
                             timeout=120, what="the request counter and the outbox backlog at the receiver")
            templates = {getattr(r, "path", None) for r in h.app.routes} | set(h.app.openapi()["paths"]) | {"unmatched"}
    assert set(receiver.paths) == {"/v1/metrics"}
    requests = point(receiver, "pana_http_requests_total", service="registration", route=route, status="404")
    assert requests["kind"] == "sum" and requests["monotonic"] and requests["value"] >= 1
    assert requests["resource"]["service.name"] == "registration-under-test"
    assert requests["resource"]["service.instance.id"]
    latency = point(receiver, "pana_http_request_seconds", service="registration", route=route)
    assert latency["kind"] == "histogram" and latency["count"] >= 1 and sum(latency["buckets"]) == latency["count"]
    assert latency["bounds"] == [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    assert point(receiver, "pana_outbox_oldest_age_seconds", service="registration")["kind"] == "gauge"
    # Bounded labels: route templates of this app, known methods; no id from a path anywhere.
    ours = [p for p in receiver.points if p["name"] == "pana_http_requests_total"
            and p["attributes"].get("service") == "registration" and p["value"] != before.get(_series(p["attributes"]))]
    assert {p["attributes"]["route"] for p in ours} >= {route}
    assert {p["attributes"]["route"] for p in ours} <= templates
    assert {p["attributes"]["method"] for p in ours} <= set(HTTP_METHODS) | {"other"}
    assert PERSON_ID not in json.dumps(receiver.points)


def _series(labels: dict) -> tuple:
    return tuple(labels.get(k) for k in ("service", "method", "route", "status"))


def _request_counts() -> dict[tuple, float]:
    """pana_http_requests_total's series in this process's registry now, by labels."""
    return {_series(s.labels): s.value for metric in REGISTRY.collect() for s in metric.samples
            if s.name == "pana_http_requests_total"}


def test_the_otel_variables_name_the_metric_exporters():
    """Metrics are pushed only when asked: OTEL_METRICS_EXPORTER naming otlp (or console), or a metrics endpoint.
    A general OTLP endpoint (for the traces) alone does not start a push; `prometheus` is /metrics, served anyway."""
    assert env_metric_exporters({}) == []
    assert env_metric_exporters({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}) == []
    assert env_metric_exporters({"OTEL_METRICS_EXPORTER": "otlp"}) == ["otlp"]
    assert env_metric_exporters({"OTEL_METRICS_EXPORTER": "prometheus,otlp,console"}) == ["otlp", "console"]
    assert env_metric_exporters({"OTEL_METRICS_EXPORTER": "prometheus"}) == []
    assert env_metric_exporters({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://c:4318/v1/metrics"}) == ["otlp"]
    assert env_metric_exporters({"OTEL_METRICS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "x"}) == []
    assert env_metric_exporters({"OTEL_SDK_DISABLED": "true", "OTEL_METRICS_EXPORTER": "otlp"}) == []
    with pytest.raises(ValueError, match="statsd"):
        env_metric_exporters({"OTEL_METRICS_EXPORTER": "statsd"})
    assert metrics_pusher("registration", environ={}) is None
    assert export_interval({}) == 60 and export_interval({"OTEL_METRIC_EXPORT_INTERVAL": "5000"}) == 5
    with pytest.raises(ValueError, match="OTEL_METRIC_EXPORT_INTERVAL"):
        export_interval({"OTEL_METRIC_EXPORT_INTERVAL": "soon"})
    grpc = otlp_metric_exporter({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "grpc"})
    assert type(grpc).__module__.startswith("opentelemetry.exporter.otlp.proto.grpc")
    monkey_env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    previous = {k: os.environ.get(k) for k in monkey_env}
    os.environ.update(monkey_env)
    try:  # the exporter reads its endpoint from the environment, adding the signal's path to the general one
        assert otlp_metric_exporter({})._endpoint == "http://collector:4318/v1/metrics"
    finally:
        for k, v in previous.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    with pytest.raises(ValueError, match="not supported"):
        otlp_metric_exporter({"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"})


async def test_a_stop_ends_the_pusher_whatever_tick_it_lands_in():
    """`stop` cancels the push loop at every offset of loop ticks from its start, including the tick an export
    completes in (on Python 3.11 asyncio.wait_for swallowed a cancellation there, CPython gh-86296, and the stop then
    waited for ever on a pusher that went on pushing); after it, no push is made."""
    from opentelemetry.sdk.metrics.export import MetricExportResult
    from opentelemetry.sdk.resources import Resource

    class Exporter:  # a collector's stand-in: answers at once from its thread
        def __init__(self):
            self.exports = 0

        def export(self, data, timeout_millis=None):
            self.exports += 1
            return MetricExportResult.SUCCESS

        def shutdown(self):
            pass

    for offset in range(40):
        exporter = Exporter()
        pusher = MetricsPusher([exporter], Resource.create({}), interval=0, timeout=5)
        pusher.start()
        for _ in range(offset):
            await asyncio.sleep(0)
        done, _ = await asyncio.wait({asyncio.ensure_future(pusher.stop())}, timeout=60)
        assert done, f"stop did not end the pusher (offset {offset})"
        stopped = exporter.exports
        for _ in range(20):
            await asyncio.sleep(0)
        assert exporter.exports == stopped and pusher._task is None


async def test_no_metrics_task_when_nothing_asks_for_one(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        monkeypatch.delenv(name)
    async with service_harness(create, RegistrationSettings, tmp_path, otel_enabled=True):
        assert "metrics-push" not in {t.get_name() for t in asyncio.all_tasks()}


# -- access log ---------------------------------------------------------------------------------------------

async def test_the_access_log_has_the_route_template_and_nothing_personal(tmp_path):
    with capture_json_logs("registration") as logs:
        async with service_harness(create, RegistrationSettings, tmp_path) as h:
            officer = h.headers("registration-officer")
            await h.client.get(f"/api/v1/persons/{PERSON_ID}", headers=officer)
            await h.client.get("/api/v1/persons", params={"name": "Karimov Azizbek", "iin": "900412300123"},
                               headers={**officer, "X-Request-ID": "not a uuid: Karimov"})
            chosen = uuid.uuid4()
            answered = await h.client.get("/no-such-route/900412300123", headers={"X-Request-ID": str(chosen)})
    access = [json.loads(line) for line in logs.text.splitlines() if '"logger": "pana.access"' in line]
    by_route = {entry["route"]: entry for entry in access}
    person = by_route["/api/v1/persons/{person_id}"]
    assert person["method"] == "GET" and person["status"] == 404 and person["service"] == "registration"
    assert set(person) >= {"time", "level", "duration_ms", "request_id", "message"}
    assert person["message"] == "GET /api/v1/persons/{person_id} 404"
    assert by_route["/api/v1/persons"]["request_id"] != "not a uuid: Karimov"
    assert by_route["unmatched"]["request_id"] == str(chosen) == answered.headers["x-request-id"]
    assert_no_personal_data("\n".join(json.dumps(e) for e in access),
                            [PERSON_ID, "Karimov", "Azizbek", "900412300123"])


# -- bounded labels -----------------------------------------------------------------------------------------

def test_labels_take_bounded_values():
    known = next(iter(EVENT_TYPES))
    assert event_type_label(known) == known
    assert event_type_label("registration.anything-a-sender-likes." + "x" * 50) == "other"
    assert event_type_label(None) == "unreadable"
    assert http_method("GET") == "GET" and http_method("PROPFIND-Karimov") == "other"


async def test_an_invented_http_method_is_counted_as_other(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path) as h:
        await h.client.request("BREW", "/api/v1/persons")
        metrics = (await h.client.get("/metrics")).text
    assert 'method="other"' in metrics and "BREW" not in metrics


# -- gauges with real values ---------------------------------------------------------------------------------

def sample(name: str, **labels) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_outbox_backlog_and_its_oldest_age(tmp_path):

    async with service_harness(create, RegistrationSettings, tmp_path) as h:
        await h.client.get("/metrics")
        assert sample("pana_outbox_pending", service="registration") == 0
        assert sample("pana_outbox_oldest_age_seconds", service="registration") == 0
        from pana_kit.outbox import UnitOfWork

        async with UnitOfWork(h.app.state.db, "/pana/registration") as uow:
            uow.emit(interview(1), subject="person-1")
        await h.client.get("/metrics")
        assert sample("pana_outbox_pending", service="registration") == 1
        assert sample("pana_outbox_oldest_age_seconds", service="registration") > 0


def test_webhook_delivery_metrics_api():
    before = sample("pana_webhook_deliveries_total", service="kit-test", outcome="delivered") or 0
    webhook_delivered("kit-test", "delivered", 0.12)
    webhook_delivered("kit-test", "something-else")
    webhook_backlog("kit-test", pending=3, parked=1)
    assert sample("pana_webhook_deliveries_total", service="kit-test", outcome="delivered") == before + 1
    assert sample("pana_webhook_deliveries_total", service="kit-test", outcome="other") >= 1
    assert sample("pana_webhook_delivery_seconds_count", service="kit-test") >= 1
    assert sample("pana_webhook_pending", service="kit-test") == 3
    assert sample("pana_webhook_parked", service="kit-test") == 1
    breaker_state("kit-test", "registry", "half_open")
    assert sample("pana_circuit_breaker_state", service="kit-test", breaker="registry") == 1
    with pytest.raises(ValueError):
        breaker_state("kit-test", "registry", "ajar")


# -- consumer lag and dead letters on a real broker ----------------------------------------------------------

async def test_consumer_lag_and_dead_letters_from_a_real_broker(broker, tmp_path):
    """Lag is the end offset minus the group's committed offset, per partition; the dead-letter gauge counts what
    the group's dead-letter topic holds. A handler held back leaves its events as lag; released, lag is 0."""
    from pana_kit.consumer import EventConsumer
    from pana_kit.db import Database
    from pana_kit.kafka import make_producer
    from pana_kit.outbox import OutboxRelay, OutboxSignal, UnitOfWork
    from pana_kit.settings import ServiceSettings
    from pana_kit.tables import KIT_METADATA

    def database(name: str) -> Database:
        return Database(f"sqlite+aiosqlite:///{tmp_path / name}")

    rsd_db, stateless_db = database("rsd.db"), database("statelessness.db")
    for db in (rsd_db, stateless_db):
        async with db.engine.begin() as conn:
            await conn.run_sync(KIT_METADATA.create_all)
    group = f"statelessness-{uuid.uuid4().hex[:8]}"
    common = dict(kafka_bootstrap=broker, otel_enabled=False, outbox_poll_interval_ms=20, consumer_retry_backoff_ms=10)
    producer_settings = ServiceSettings(service_name="rsd", **common)
    consumer_settings = ServiceSettings(service_name="statelessness", consumer_group=group, **common)
    release, entered = asyncio.Event(), asyncio.Event()

    async def held(event, envelope, uow):
        entered.set()
        await release.wait()

    signal = OutboxSignal()
    relay = OutboxRelay(rsd_db, producer_settings, signal, ["rsd.events"])
    consumer = EventConsumer(stateless_db, consumer_settings, OutboxSignal(), ["rsd.events"],
                             {InterviewScheduled.event_type: held}, "/pana/statelessness")
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]

    def lag() -> float:
        return sum(s.value for m in REGISTRY.collect() if m.name == "pana_consumer_lag" for s in m.samples
                   if s.labels["group"] == group)

    try:
        await eventually(lambda: consumer.connected and relay.connected, timeout=120, what="both connected")
        # An unreadable record goes to the group's dead-letter topic.
        garbage = make_producer(producer_settings)
        await garbage.start()
        try:
            await garbage.send_and_wait("rsd.events", b"not an event", key=b"k")
        finally:
            await garbage.stop()

        async def dead_lettered():
            await consumer.measure_lag()
            return sample("pana_dead_letter_messages", service="statelessness", group=group) == 1
        await eventually(dead_lettered, timeout=120, what="the unreadable record in the dead-letter topic")

        for n in range(3):
            async with UnitOfWork(rsd_db, "/pana/rsd", signal=signal) as uow:
                uow.emit(interview(n), subject=f"person-{n}")
        await eventually(entered.is_set, timeout=120, what="the handler holding the first event")

        seen: dict = {}

        async def lagging():
            seen["lags"] = {f"{tp.topic}[{tp.partition}]": n for tp, n in (await consumer.measure_lag()).items()}
            return 1 <= lag() <= 3

        # The held event is fetched, not committed: its partition lags (the others as their events arrive; one
        # run in the loaded quick suite saw 2 of the 3 for a minute, so the exact sum is not asserted).
        await eventually(lagging, timeout=60, what="lag while the handler is held")

        async def lag_is(expected: int):
            await consumer.measure_lag()
            return lag() == expected
        partitions = {s.labels["partition"] for m in REGISTRY.collect() if m.name == "pana_consumer_lag"
                      for s in m.samples if s.labels["group"] == group}
        assert partitions and all(p.isdigit() for p in partitions)
        release.set()
        await eventually(lambda: lag_is(0), timeout=120, what="no lag once the handler is released")
    finally:
        release.set()
        await consumer.stop()
        await relay.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await rsd_db.dispose()
        await stateless_db.dispose()


def test_log_times_and_json_text_are_the_standard_library_s():
    # The access log's time and the hot paths' JSON are built by faster means (issue 16); the text is the same.
    import json
    import random
    from datetime import datetime, timezone

    from pana_kit.jsontext import compact, encoder
    from pana_kit.logs import utc_isoformat

    rng = random.Random(16)
    times = [rng.uniform(0, 4e9) for _ in range(20_000)] + [1.0, 1.5, 1700000000.0, 1700000000.9999996,
                                                             1700000000.0000005, 1700000000.0000015]
    assert [utc_isoformat(t) for t in times] == [datetime.fromtimestamp(t, timezone.utc).isoformat() for t in times]
    values = [{"a": 1, "é": ["x", None, 2.5, True]}, ["ключ", "\u200b", 10**20, -0.0, {}], "plain", 3, None]
    assert [compact(v) for v in values] == [json.dumps(v, separators=(",", ":")) for v in values]
    plain = encoder(ensure_ascii=False)
    assert [plain(v) for v in values] == [json.dumps(v, ensure_ascii=False) for v in values]


def test_the_idempotent_answer_s_text_is_what_json_response_renders():
    # Idempotency.remember stores and sends its own text (issue 16); a replay must carry JSONResponse's bytes,
    # and a NaN must be refused as JSONResponse refuses it, not stored as text no client can parse.
    import math

    import pytest
    from fastapi.responses import JSONResponse

    from pana_kit.idempotency import _as_json_response

    values = [{"name": "Айгерим", "note": "\u200b", "n": 10**20, "x": -0.0, "list": [None, True, 2.5]}, [], "é"]
    assert [_as_json_response(v).encode() for v in values] == [JSONResponse(v).body for v in values]
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            JSONResponse({"v": bad})
        with pytest.raises(ValueError):
            _as_json_response({"v": bad})
