"""PostgreSQL (every service's database) is restarted under load.

HTTP requests fail meanwhile and the client retries them under the same
Idempotency-Key; consumers and outbox relays must wait for the database, not
give up on the events they hold.
"""

from __future__ import annotations

import time

import pytest
from faultflow import FAULT_EVENTS, Feeder, applications_by_person, settle_and_count

pytestmark = pytest.mark.e2e

DOWN_S = 5.0


def test_postgres_restarted_under_load(fault_stack):
    stack = fault_stack
    postgres = stack.postgres
    baseline = applications_by_person(stack.url("rsd"))
    feeder = Feeder(stack.kafka_bootstrap, stack.url("registration"), FAULT_EVENTS, duration=30).start()
    feeder.wait_sent(FAULT_EVENTS // 3)
    postgres.stop()
    time.sleep(DOWN_S)  # the fault's length, a window on purpose: the feeder keeps sending meanwhile
    postgres.start()
    repaired = time.monotonic()
    feeder.join()
    result = settle_and_count(stack, feeder, name="postgres-restart", repaired_at=repaired, baseline=baseline)
    assert (result.duplicates, result.losses) == (0, 0), result.line()
