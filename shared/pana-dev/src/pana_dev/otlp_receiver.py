"""A minimal OTLP/HTTP receiver (http/protobuf) of traces and metrics, for tests of what the kit exports: each
export is decoded with the OTLP protobuf types, so a test sees exactly what a collector would."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


class OtlpReceiver:
    """A minimal OTLP/HTTP receiver (http/protobuf) of traces and metrics: decodes each export with the OTLP
    protobuf types."""

    def __init__(self):
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (ExportMetricsServiceRequest,
                                                                                  ExportMetricsServiceResponse)
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                              ExportTraceServiceResponse)

        self.spans: list[dict] = []
        self.points: list[dict] = []  # one per metric data point: name, kind, attributes, value or buckets, resource
        self.paths: list[str] = []
        receiver = self

        def attrs(attributes) -> dict:
            return {a.key: (a.value.string_value or a.value.int_value) for a in attributes}

        def items(batches, scopes: str, kind: str):
            """(resource attributes, span or metric) of each item of an export request."""
            for batch in batches:
                resource = attrs(batch.resource.attributes)
                for scope in getattr(batch, scopes):
                    for item in getattr(scope, kind):
                        yield resource, item

        def traces(body: bytes) -> bytes:
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource, span in items(request.resource_spans, "scope_spans", "spans"):
                receiver.spans.append({"name": span.name, "attributes": attrs(span.attributes), "resource": resource})
            return ExportTraceServiceResponse().SerializeToString()

        def metrics(body: bytes) -> bytes:
            request = ExportMetricsServiceRequest()
            request.ParseFromString(body)
            for resource, metric in items(request.resource_metrics, "scope_metrics", "metrics"):
                kind = metric.WhichOneof("data")
                for point in getattr(metric, kind).data_points:
                    entry = {"name": metric.name, "kind": kind, "attributes": attrs(point.attributes),
                             "resource": resource}
                    if kind == "histogram":
                        entry.update(count=point.count, sum=point.sum, buckets=list(point.bucket_counts),
                                     bounds=list(point.explicit_bounds))
                    else:
                        entry["value"] = point.as_double if point.HasField("as_double") else point.as_int
                        if kind == "sum":
                            entry["monotonic"] = metric.sum.is_monotonic
                    receiver.points.append(entry)
            return ExportMetricsServiceResponse().SerializeToString()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.paths.append(self.path)
                answer = (metrics if self.path == "/v1/metrics" else traces)(body)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        # One request at a time, on the server's own thread: an exporter posts one export at a time and HTTP/1.0
        # closes each connection. With a thread a request (ThreadingHTTPServer) the server hung on a loaded machine
        # in Thread.start, waiting for a handler thread that never reported itself started (2 of 8 runs; CPython
        # gh-140746: a thread that dies in its bootstrap leaves Thread.start waiting for ever).
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def point(receiver: OtlpReceiver, name: str, **attributes) -> dict | None:
    """The latest data point of `name` whose attributes include `attributes`."""
    found = [p for p in list(receiver.points)
             if p["name"] == name and all(p["attributes"].get(k) == v for k, v in attributes.items())]
    return found[-1] if found else None
