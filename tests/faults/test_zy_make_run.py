"""The fault suite on the configuration a new user runs: `make run` (`pana run`: Apache Kafka with its log under
var/kafka, SQLite under var/, the supervisor), broken while border referrals keep coming.

One flow, four faults in turn, each mid-flow: rsd and then registration killed with SIGKILL (the supervisor
restarts them), the launcher itself killed with SIGKILL (its children die with it; a new `pana run` on the same
var starts again), and Ctrl-C of the whole stack followed by a second start. Every referral answered 201, or
acknowledged by the broker, before, during or after the faults must end as exactly one rsd application and one
lodged event, counted through rsd's API and the topic.
"""

from __future__ import annotations

import time

import pytest
from faultflow import FAULT_EVENTS, Feeder, applications_by_person, settle_and_count

from pana_dev.launchers.ports import free_port
from pana_dev.running import Launcher
from pana_dev.stack import SERVICES

pytestmark = pytest.mark.e2e


def test_make_run_loses_nothing_through_crashes_a_killed_launcher_and_a_restart(make_run_var):
    var = make_run_var
    ports = {s.name: free_port() for s in SERVICES}
    simulator = free_port()

    def start() -> Launcher:
        launcher = Launcher(var, "--broker", "kafka", "--database", "sqlite", ports=ports, simulator_port=simulator)
        launcher.wait_running()
        return launcher

    launcher = start()
    try:
        bootstrap = launcher.kafka_bootstrap
        baseline = applications_by_person(launcher.url("rsd"))
        feeder = Feeder(bootstrap, launcher.url("registration"), FAULT_EVENTS, duration=60).start()
        notes = []

        feeder.wait_sent(FAULT_EVENTS // 5)
        launcher.kill_child("rsd")
        feeder.wait_sent(2 * FAULT_EVENTS // 5)
        launcher.kill_child("registration")

        feeder.wait_sent(3 * FAULT_EVENTS // 5)
        left = launcher.kill()  # returns once none of its children is alive
        notes.append(f"launcher SIGKILLed with {len(left)} children, none left")
        launcher = start()
        assert launcher.kafka_bootstrap == bootstrap, "the broker moved: var/kafka keeps its address"

        feeder.wait_sent(4 * FAULT_EVENTS // 5)
        took = launcher.interrupt()
        notes.append(f"Ctrl-C stopped the stack in {took:.1f} s")
        assert launcher.proc.returncode == 0, launcher.output[-3000:]
        launcher = start()

        repaired = time.monotonic()
        feeder.join()
        result = settle_and_count(launcher, feeder, name="make-run", repaired_at=repaired, baseline=baseline,
                                  notes="; ".join(notes))
        assert (result.duplicates, result.losses) == (0, 0), result.line()
    finally:
        if launcher.proc.poll() is None:
            launcher.interrupt()
        launcher.ensure_stopped()
