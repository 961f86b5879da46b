"""deploy/observability (issue 17): the Prometheus alert rules and the Grafana dashboard are well formed and refer
only to metrics the four services serve at /metrics (collected from the running apps, in process).

The rules are checked as `promtool check rules` does (groups, unique alert names, PromQL that parses, durations,
annotation templates) with the `promql-parser` package, and by `promtool` itself when it is on PATH (Debian's
`prometheus` package has it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path

import promql_parser
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from pana_dev.testing import service_harness

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "observability" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "observability" / "grafana-dashboard.json"
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
METRIC = re.compile(r"\b(pana_[a-z0-9_]+)\b")
DASHBOARD_VARIABLES = {"$service": ".*", "${service}": ".*"}


def rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}, "a rule file holds `groups` only"
    found = []
    names = set()
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "limit", "rules"} and group["name"] not in names, group.get("name")
        names.add(group["name"])
        found.extend(group["rules"])
    return found


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            queries.append(target["expr"])
    for variable in board["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query["query"])
            assert match, query
            queries.append(match.group(1))
    return queries


def promql(expr: str) -> str:
    for name, value in DASHBOARD_VARIABLES.items():
        expr = expr.replace(name, value)
    promql_parser.parse(expr)  # raises on a syntax error
    return expr


def test_alert_rules_are_promtool_compatible():
    alerts = rules()
    assert len(alerts) >= 8
    seen = set()
    for rule in alerts:
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}, rule
        name = rule["alert"]
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name not in seen, name
        seen.add(name)
        promql(rule["expr"])
        if "for" in rule:
            assert DURATION.match(rule["for"]), (name, rule["for"])
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"], name
        for text in [*rule["labels"].values(), *rule["annotations"].values()]:
            assert text.count("{{") == text.count("}}"), (name, text)
    wanted = {"PanaConsumerLagGrowing", "PanaOutboxStuck", "PanaDeadLetters", "PanaCircuitBreakerOpen",
              "PanaWebhookParked", "PanaHttp5xxRate", "PanaAuditChainBroken"}
    assert wanted <= seen, wanted - seen


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (Debian: prometheus)")
def test_promtool_checks_the_rules():
    done = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_is_valid_grafana_json():
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] and board["title"] and isinstance(board["schemaVersion"], int)
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in board["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert len({t["refId"] for t in panel["targets"]}) == len(panel["targets"])
    for query in dashboard_queries():
        promql(query)


async def served_metric_names(tmp_path: Path) -> set[str]:
    """Every metric name the four services' /metrics serve (with the suffixes Prometheus stores)."""
    from civil_registry_bridge.app import create as bridge
    from civil_registry_bridge.settings import BridgeSettings
    from registration.app import create as registration
    from registration.settings import RegistrationSettings
    from rsd.app import create as rsd
    from rsd.settings import RsdSettings
    from statelessness.app import create as statelessness
    from statelessness.settings import StatelessnessSettings

    names: set[str] = set()
    async with AsyncExitStack() as stack:
        for create, settings in ((registration, RegistrationSettings), (rsd, RsdSettings),
                                 (statelessness, StatelessnessSettings), (bridge, BridgeSettings)):
            directory = tmp_path / settings.__name__
            directory.mkdir()
            h = await stack.enter_async_context(service_harness(create, settings, directory))
            answer = await h.client.get("/metrics")
            assert answer.status_code == 200
            for family in text_string_to_metric_families(answer.text):
                names.add(family.name)
                names.update(sample.name for sample in family.samples)
                suffixes = {"counter": ["_total", "_created"], "histogram": ["_bucket", "_count", "_sum"],
                            "summary": ["_count", "_sum"]}.get(family.type, [])
                names.update(family.name + suffix for suffix in suffixes)
    return names


async def test_rules_and_dashboard_refer_only_to_served_metrics(tmp_path):
    served = await served_metric_names(tmp_path)
    referred = {name for rule in rules() for name in METRIC.findall(rule["expr"])}
    referred |= {name for query in dashboard_queries() for name in METRIC.findall(query)}
    assert referred, "the rules and dashboard name metrics"
    missing = sorted(referred - served)
    assert not missing, f"not served by any service's /metrics: {missing}"
    for name in ("pana_consumer_lag", "pana_outbox_oldest_age_seconds", "pana_dead_letter_messages",
                 "pana_circuit_breaker_state", "pana_webhook_deliveries_total", "pana_audit_chain_intact"):
        assert name in referred, f"{name} is neither alerted on nor shown"
