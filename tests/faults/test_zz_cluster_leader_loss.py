"""A three-broker cluster loses the leader of a registration.events partition mid-stream, then gets it back.

Replication factor 3 and min.insync.replicas 2: with one node gone, acks=all
writes still succeed on the other two, a new leader is elected, and the clients
(the outbox relay, the consumers, our producer) fail over. Named to run last:
it stops the single-broker stack first, since the machine has two cores.
"""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from faultflow import FAULT_EVENTS, Feeder, applications_by_person, settle_and_count

pytestmark = pytest.mark.e2e

DOWN_S = float(os.environ.get("PANA_FAULT_LEADER_DOWN_S", "15"))
PARTITION = 0


def test_partition_leader_lost_and_regained_mid_stream(cluster_stack):
    stack = cluster_stack
    cluster = stack.cluster
    replicas, isr = asyncio.run(cluster.replicas_of("registration.events", PARTITION))
    assert len(replicas) == 3, f"registration.events/{PARTITION} has replicas {replicas}"
    baseline = applications_by_person(stack.url("rsd"))
    feeder = Feeder(stack.kafka_bootstrap, stack.url("registration"), FAULT_EVENTS, duration=DOWN_S + 25).start()
    feeder.wait_sent(FAULT_EVENTS // 4)
    leader = asyncio.run(cluster.leader_of("registration.events", PARTITION))
    assert leader is not None
    cluster.kill_node(leader)  # SIGKILL: no controlled shutdown, the cluster notices by timeout
    killed_at = time.monotonic()
    new_leader = None
    while time.monotonic() - killed_at < 60:
        try:
            new_leader = asyncio.run(cluster.leader_of("registration.events", PARTITION))
        except Exception:  # noqa: BLE001 - metadata through a dying node
            new_leader = None
        if new_leader not in (None, leader):
            break
        time.sleep(0.5)
    failover_s = time.monotonic() - killed_at
    time.sleep(max(0.0, DOWN_S - failover_s))  # the fault's length, a window on purpose
    cluster.start_node(leader)
    repaired = time.monotonic()
    feeder.join()
    # Back in sync: the returning node catches up and rejoins the ISR.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        _, isr = asyncio.run(cluster.replicas_of("registration.events", PARTITION))
        if leader in isr:
            break
        time.sleep(1)
    result = settle_and_count(stack, feeder, name="cluster-leader-loss", repaired_at=repaired, baseline=baseline,
                              notes=f"leader={leader} new_leader={new_leader} failover={failover_s:.1f}s "
                                    f"isr_after={sorted(isr)}")
    assert new_leader not in (None, leader), "no new leader was elected"
    assert leader in isr, f"node {leader} did not rejoin the ISR: {isr}"
    assert (result.duplicates, result.losses) == (0, 0), result.line()
