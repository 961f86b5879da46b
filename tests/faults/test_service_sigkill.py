"""rsd is killed with SIGKILL in the middle of a batch and started again while events keep coming.

Whatever it had handled but not yet committed the offset of is delivered again
(the inbox makes that change nothing); whatever it had written to its outbox
but not marked sent is published again under the same event id.
"""

from __future__ import annotations

import time

import pytest
from faultflow import FAULT_EVENTS, Feeder, applications_by_person, group_committed, settle_and_count

pytestmark = pytest.mark.e2e

DOWN_S = 5.0


def test_rsd_killed_mid_batch_and_restarted(fault_stack):
    stack = fault_stack
    rsd = stack.processes["rsd"]
    baseline = applications_by_person(stack.url("rsd"))
    committed = group_committed(stack.kafka_bootstrap, "rsd", ["registration.events"])
    feeder = Feeder(stack.kafka_bootstrap, stack.url("registration"), FAULT_EVENTS, duration=30).start()
    feeder.wait_sent(FAULT_EVENTS // 3)
    # Mid-batch: rsd is lodging this stream's applications right now (a sixth of the referrals,
    # two records each, committed). Its offsets, not its applications: paging 10,000s of those
    # to find out loads rsd and slows the very thing we wait for.
    deadline = time.monotonic() + 120 + FAULT_EVENTS / 10
    while group_committed(stack.kafka_bootstrap, "rsd", ["registration.events"]) - committed < FAULT_EVENTS // 3:
        assert time.monotonic() < deadline, "rsd did not start lodging"
        time.sleep(0.2)
    rsd.kill()
    time.sleep(DOWN_S)  # the fault's length, a window on purpose: events pile up for the restarted rsd
    rsd.start(timeout=stack.start_timeout)
    repaired = time.monotonic()
    feeder.join()
    result = settle_and_count(stack, feeder, name="rsd-sigkill", repaired_at=repaired, baseline=baseline)
    assert (result.duplicates, result.losses) == (0, 0), result.line()
