"""What one OTLP metrics push costs the service (issue 17), against rendering /metrics. A script, not a test:

    .venv/bin/python tests/bench/bench_otlp_metrics.py [--routes 60] [--rounds 200]

Fills a fresh Prometheus registry with the kit's HTTP series for `--routes` route templates (4 statuses each: a
request counter and a latency histogram of 11 buckets), then times, in the same process:

- anchor: `generate_latest` (what a Prometheus scrape of /metrics costs);
- bridge: `pana_kit.otlp_metrics.metrics_data` (the registry as OpenTelemetry data);
- push: the bridge plus the OTLP protobuf encoding the HTTP exporter does (everything but the network).

Prints microseconds per call and the ratio to the anchor. Nothing of this runs when OTLP metrics are not configured.
"""

from __future__ import annotations

import argparse
import os
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from pana_kit.otlp_metrics import metrics_data, metrics_resource


def registry_with(routes: int) -> CollectorRegistry:
    registry = CollectorRegistry()
    requests = Counter("pana_http_requests_total", "HTTP requests", ["service", "method", "route", "status"],
                       registry=registry)
    latency = Histogram("pana_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=registry)
    for r in range(routes):
        route = f"/api/v1/things{r}/{{thing_id}}"
        for status in ("200", "201", "404", "422"):
            requests.labels("registration", "GET", route, status).inc(r + 1)
        latency.labels("registration", "GET", route).observe(0.01 * (r % 7))
    return registry


def timed(fn, rounds: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routes", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

    registry = registry_with(args.routes)
    resource = metrics_resource("registration", {})
    anchor = timed(lambda: generate_latest(registry), args.rounds)
    bridge = timed(lambda: metrics_data(resource, registry), args.rounds)
    push = timed(lambda: encode_metrics(metrics_data(resource, registry)).SerializeToString(), args.rounds)
    size = len(encode_metrics(metrics_data(resource, registry)).SerializeToString())
    print(f"load {os.getloadavg()[0]:.1f}; {args.routes} routes, {args.routes * 5} series, {args.rounds} rounds")
    print(f"anchor generate_latest   {anchor:9.0f} µs   1.00")
    print(f"bridge metrics_data      {bridge:9.0f} µs   {bridge / anchor:.2f}")
    print(f"push   bridge + encode   {push:9.0f} µs   {push / anchor:.2f}   ({size} bytes of protobuf)")


if __name__ == "__main__":
    main()
