"""Prometheus metrics every service exposes at /metrics. Labels never carry personal data, and every label takes
values from a bounded set: route templates (never paths), known HTTP methods, the contract's event types, fixed
outcomes; anything else is counted as `other`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from pana_events import EVENT_TYPES

HTTP_REQUESTS = Counter("pana_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "pana_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("pana_events_published_total", "Events published from the outbox", ["service", "topic"])
BROKER_UP = Gauge("pana_broker_up", "1 when the outbox relay or the consumer is connected to the broker, else 0 "
                  "(readiness does not depend on it)", ["service"])
OUTBOX_PENDING = Gauge("pana_outbox_pending", "Events waiting in the outbox", ["service"])
OUTBOX_OLDEST_AGE = Gauge("pana_outbox_oldest_age_seconds",
                          "Age of the oldest event waiting in the outbox (0 when none waits)", ["service"])
EVENTS_CONSUMED = Counter("pana_events_consumed_total", "Events consumed", ["service", "type", "outcome"])
DEAD_LETTERS = Counter("pana_dead_letters_total", "Messages sent to the dead-letter topic", ["service", "topic"])
DEAD_LETTER_BACKLOG = Gauge("pana_dead_letter_messages",
                            "Messages held in a consumer group's dead-letter topic (end minus start offsets)",
                            ["service", "group"])
CONSUMER_LAG = Gauge("pana_consumer_lag",
                     "Records of a partition not yet committed by the consumer group (end offset minus committed)",
                     ["service", "group", "topic", "partition"])
BREAKER_STATE = Gauge("pana_circuit_breaker_state",
                      "Circuit breaker state: 0 closed, 1 half-open, 2 open", ["service", "breaker"])
AUDIT_CHAIN_INTACT = Gauge("pana_audit_chain_intact",
                           "1 when the last verification of the audit chain found it intact, 0 when broken",
                           ["service"])
AUDIT_VERIFICATIONS = Counter("pana_audit_verifications_total", "Verifications of the audit chain by result",
                              ["service", "result"])
AUDIT_ENTRIES = Counter("pana_audit_entries_total", "Audit entries written", ["service", "action"])
OUTBOX_PURGED = Counter("pana_outbox_purged_total", "Published outbox rows purged after the retention period", ["service"])
RECONCILE_MISSING = Gauge(
    "pana_reconcile_missing", "Events a producer published that a subscribed consumer has not received (last reconcile pass)",
    ["producer", "topic", "consumer"])
DOMAIN_FINDINGS = Gauge("pana_reconcile_domain_findings", "Records the services disagree on (last `pana reconcile --domain`)", ["check"])

# Webhook deliveries (names reserved for the kit's webhook subscriptions; they report through the functions below).
WEBHOOK_DELIVERIES = Counter("pana_webhook_deliveries_total", "Webhook delivery attempts by outcome",
                             ["service", "outcome"])
WEBHOOK_DELIVERY_SECONDS = Histogram("pana_webhook_delivery_seconds", "Time a subscriber took to answer a delivery",
                                     ["service"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
WEBHOOK_PENDING = Gauge("pana_webhook_pending", "Webhook deliveries waiting for their next attempt", ["service"])
WEBHOOK_PARKED = Gauge("pana_webhook_parked", "Webhook deliveries parked after their last retry (replayable)",
                       ["service"])

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
WEBHOOK_OUTCOMES = frozenset({"delivered", "failed", "parked", "replayed", "refused"})
BREAKER_STATES = {"closed": 0, "half_open": 1, "half-open": 1, "open": 2}
OTHER = "other"


def http_method(method: str) -> str:
    """The method as a label: the standard ones as they are, anything a client invents as `other`."""
    return method if method in HTTP_METHODS else OTHER


def event_type_label(event_type: str | None) -> str:
    """An event type as a label: one the contract knows, `unreadable` when none could be read, else `other` (a
    header from the broker is the sender's to choose: unbounded)."""
    if event_type is None:
        return "unreadable"
    return event_type if event_type in EVENT_TYPES else OTHER


def webhook_delivered(service: str, outcome: str, seconds: float | None = None) -> None:
    """Count one webhook delivery attempt: `delivered` (2xx), `failed` (to be retried), `parked` (retries spent),
    `replayed` (an operator sent a parked one again), `refused` (the subscriber's scopes do not allow the event);
    `seconds` is how long the subscriber took to answer, when it answered."""
    WEBHOOK_DELIVERIES.labels(service, outcome if outcome in WEBHOOK_OUTCOMES else OTHER).inc()
    if seconds is not None:
        WEBHOOK_DELIVERY_SECONDS.labels(service).observe(seconds)


def webhook_backlog(service: str, *, pending: int, parked: int) -> None:
    """Set the webhook backlog: deliveries waiting for a retry, and parked ones."""
    WEBHOOK_PENDING.labels(service).set(pending)
    WEBHOOK_PARKED.labels(service).set(parked)


def audit_verified(service: str, intact: bool) -> None:
    """Record a verification of the audit chain (the alert `PanaAuditChainBroken` watches it)."""
    AUDIT_CHAIN_INTACT.labels(service).set(1 if intact else 0)
    AUDIT_VERIFICATIONS.labels(service, "intact" if intact else "broken").inc()


def breaker_state(service: str, breaker: str, state: str) -> None:
    """Set a circuit breaker's state (`closed`, `half_open`, `open`)."""
    if state not in BREAKER_STATES:
        raise ValueError(f"unknown circuit-breaker state {state!r}")
    BREAKER_STATE.labels(service, breaker).set(BREAKER_STATES[state])
