"""Two rsd instances share the consumer group; one leaves (SIGTERM) and rejoins mid-stream.

Each rebalance hands partitions from one member to the other; what the leaver
had handled but not committed is delivered again to its successor (the inbox
makes that change nothing), and nothing it held is lost.
"""

from __future__ import annotations

import re
import sys
import time

import httpx
import pytest
from faultflow import FAULT_EVENTS, Feeder, applications_by_person, settle_and_count
from support import HTTP_TIMEOUT, wait_for

from pana_dev.launchers.ports import free_port
from pana_dev.stack import HttpProcess, spec

pytestmark = pytest.mark.e2e


def handled(process: HttpProcess) -> int:
    """Referrals this instance handled, from its own /metrics."""
    text = httpx.get(process.url + "/metrics", timeout=HTTP_TIMEOUT).text
    pattern = (r'pana_events_consumed_total\{(?=[^}]*type="registration\.referral\.registered\.v1")'
               r'(?=[^}]*outcome="handled")[^}]*\} ([0-9.e+]+)')
    found = re.findall(pattern, text)
    return int(sum(float(v) for v in found))


def test_rsd_member_leaves_and_rejoins_the_group_mid_stream(fault_stack):
    stack = fault_stack
    rsd_spec = spec("rsd")
    port = free_port()
    # Same consumer group (rsd) and database as the first instance, another port.
    second = HttpProcess("rsd-2", [sys.executable, "-m", rsd_spec.module], port,
                         env=stack.service_environment(rsd_spec, port), log_path=stack.var_dir / "logs" / "rsd-2.log")
    second.start(timeout=stack.start_timeout)
    try:
        baseline = applications_by_person(stack.url("rsd"))
        feeder = Feeder(stack.kafka_bootstrap, stack.url("registration"), FAULT_EVENTS, duration=70).start()
        feeder.wait_sent(FAULT_EVENTS // 5)
        # Wait until the second member has really taken a share of the partitions.
        before_leaving = wait_for(lambda: handled(second), timeout=120, interval=0.5,
                                  what="the second rsd handling referrals (it got a partition)")
        second.stop()  # SIGTERM: leaves the group, partitions move to the first instance
        time.sleep(5)  # out of the group for a while on purpose: the first instance takes its partitions
        second.start(timeout=stack.start_timeout)  # rejoins: partitions move back
        repaired = time.monotonic()
        feeder.join()
        result = settle_and_count(stack, feeder, name="rsd-rebalance", repaired_at=repaired, baseline=baseline,
                                  notes=f"second_member_handled_before_leaving={before_leaving} after_rejoin={handled(second)}")
        assert (result.duplicates, result.losses) == (0, 0), result.line()
    finally:
        second.stop()
