"""Prometheus metrics every service exposes at /metrics. Labels never carry personal data."""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("pana_http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "pana_http_request_seconds", "HTTP request latency", ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("pana_events_published_total", "Events published from the outbox", ["service", "topic"])
BROKER_UP = Gauge("pana_broker_up", "1 when the outbox relay or the consumer is connected to the broker, else 0 "
                  "(readiness does not depend on it)", ["service"])
OUTBOX_PENDING = Gauge("pana_outbox_pending", "Events waiting in the outbox", ["service"])
EVENTS_CONSUMED = Counter("pana_events_consumed_total", "Events consumed", ["service", "type", "outcome"])
DEAD_LETTERS = Counter("pana_dead_letters_total", "Messages sent to the dead-letter topic", ["service", "topic"])
AUDIT_ENTRIES = Counter("pana_audit_entries_total", "Audit entries written", ["service", "action"])
OUTBOX_PURGED = Counter("pana_outbox_purged_total", "Published outbox rows purged after the retention period", ["service"])
RECONCILE_MISSING = Gauge(
    "pana_reconcile_missing", "Events a producer published that a subscribed consumer has not received (last reconcile pass)",
    ["producer", "topic", "consumer"])
DOMAIN_FINDINGS = Gauge("pana_reconcile_domain_findings", "Records the services disagree on (last `pana reconcile --domain`)", ["check"])
WEBHOOK_DELIVERIES = Counter("pana_webhook_deliveries_total", "Webhook delivery attempts by outcome "
                             "(delivered, failed: to be retried, parked)", ["service", "outcome"])
WEBHOOK_BACKLOG = Gauge("pana_webhook_deliveries_waiting", "Webhook deliveries not delivered, by status (pending, "
                        "parked), summed over subscriptions", ["service", "status"])
