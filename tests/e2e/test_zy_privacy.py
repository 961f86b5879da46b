"""No personal data in logs, traces or metrics: searched after the flows have run.

The services export their spans to their log files in the test stack
(`*_OTEL_CONSOLE_EXPORT`), so one scan covers log lines and span attributes.
Named to run after the flows and before the broker outage test.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from support import HTTP_TIMEOUT, wait_for

from pana_dev.testing import assert_no_personal_data

pytestmark = pytest.mark.e2e

# Names and birth dates the flows in this folder send (see support.referral_body and test_flow_b_birth).
USED = ["Karimov1", "Azizb", "Gulnara", "Sultanova", "Rustam", "Aruzhan", "1990-04-12", "1994-02-03", "1990-07-21",
        "Dostyk"]


def _spans_written(stack, name: str) -> None:
    """Spans leave in batches, seconds after their request: send one more request under a trace id of
    ours and wait until its span is in the log; spans leave first in, first out, so every earlier one is too."""
    trace_id = uuid.uuid4().hex
    httpx.get(stack.url(name) + "/asyncapi.json", headers={"traceparent": f"00-{trace_id}-{'0' * 15}1-01"},
              timeout=HTTP_TIMEOUT)
    log = stack.var_dir / "logs" / f"{name}.log"
    wait_for(lambda: trace_id in log.read_text(errors="replace"), timeout=120, what=f"{name}'s spans in its log")


# Personal data in a URL's path and query: each service's spans must hold the route template only.
IN_URLS = ["Privacyova", "RF9900112233", "900101300999", "1977-03-04"]


def _urls_with_personal_data(stack) -> None:
    """A search by name and a verification by number and birth date (refused without a token: the server
    span exists all the same), and a path that matches no route."""
    calls = {"registration": ["/api/v1/persons?name=Privacyova&iin=900101300999",
                              "/api/v1/verify/RF9900112233?birth_date=1977-03-04"],
             "rsd": ["/api/v1/cases?applicant_name=Privacyova"],
             "statelessness": ["/api/v1/cases?name=Privacyova"],
             "civil-registry-bridge": ["/api/v1/iin/900101300999"]}
    for name, paths in calls.items():
        for path in paths + ["/no-such-route/Privacyova?birth_date=1977-03-04"]:
            httpx.get(stack.url(name) + path, timeout=HTTP_TIMEOUT)


def test_no_names_or_birth_dates_in_logs_spans_or_metrics(stack):
    _urls_with_personal_data(stack)
    for name in ("registration", "rsd", "statelessness", "civil-registry-bridge"):
        _spans_written(stack, name)
    logs = sorted((stack.var_dir / "logs").glob("*.log"))
    assert logs, "the stack wrote no logs"
    text = "\n".join(p.read_text(errors="replace") for p in logs if p.stem != "civil-registry-simulator")
    assert '"trace_id"' in text or "trace_id" in text, "spans were not exported, the scan would prove nothing"
    assert_no_personal_data(text, [v for v in USED if v != "Dostyk"] + IN_URLS)
    for name in ("registration", "rsd", "statelessness", "civil-registry-bridge"):
        metrics = httpx.get(stack.url(name) + "/metrics", timeout=HTTP_TIMEOUT).text
        assert_no_personal_data(metrics, USED + IN_URLS)
