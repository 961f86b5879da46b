"""Trace context: the W3C traceparent travels in every event we publish."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject

tracer = trace.get_tracer("pana")


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier.get("traceparent")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


@contextmanager
def continue_trace(traceparent: str | None, span_name: str, **attributes) -> Iterator[None]:
    """Run the block in a span that continues the trace of the event being handled."""
    parent = extract({"traceparent": traceparent}) if traceparent else otel_context.get_current()
    token = otel_context.attach(parent)
    try:
        with tracer.start_as_current_span(span_name, attributes=attributes):
            yield
    finally:
        otel_context.detach(token)
