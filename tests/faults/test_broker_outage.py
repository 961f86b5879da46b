"""The single Apache Kafka broker stops mid-stream and comes back: nothing lost, nothing done twice.

While it is down, border referrals are still accepted (their events wait in
registration's outbox) and the producer writing straight into
registration.events retries the same records.
"""

from __future__ import annotations

import os
import time

import pytest
from faultflow import FAULT_EVENTS, Feeder, applications_by_person, settle_and_count

pytestmark = pytest.mark.e2e

DOWN_S = float(os.environ.get("PANA_FAULT_BROKER_DOWN_S", "20"))


def test_single_broker_stopped_and_restarted_mid_stream(fault_stack):
    stack = fault_stack
    kafka = stack.infra[0]
    baseline = applications_by_person(stack.url("rsd"))
    feeder = Feeder(stack.kafka_bootstrap, stack.url("registration"), FAULT_EVENTS, duration=DOWN_S + 20).start()
    feeder.wait_sent(FAULT_EVENTS // 4)
    kafka.stop()
    time.sleep(DOWN_S)  # the fault's length, a window on purpose: the feeder keeps sending meanwhile
    kafka.start()
    repaired = time.monotonic()
    feeder.join()
    result = settle_and_count(stack, feeder, name=f"broker-down-{DOWN_S:g}s", repaired_at=repaired, baseline=baseline)
    assert (result.duplicates, result.losses) == (0, 0), result.line()
