"""A fresh `make run` (`pana run`: Apache Kafka, SQLite, every service seeding its example world of /docs) logs no
warning and parks no dead letter because of the example world, and registration's read model follows what rsd and
statelessness did to the people of the shared world (pana_kit.sandbox.EXAMPLE_PERSONS).

Before the worlds shared their people, registration logged 125 "not in the register" warnings for rsd's and
statelessness's example persons on every fresh start, and a "birth registration for unknown person" for the
bridge's child. Ctrl-C then stops the services before the broker: no "lost the broker" / "relay cannot reach the
broker" warning while they shut down.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest
from support import HTTP_TIMEOUT, all_powerful_headers, settled, wait_for

from pana_dev.launchers.ports import free_port
from pana_dev.running import Launcher
from pana_dev.stack import SERVICES
from pana_kit.sandbox import EXAMPLE_PERSONS, PARKED_DELIVERY

pytestmark = pytest.mark.e2e

#: What the services log on purpose at WARNING in dev mode: nothing else may be logged at WARNING or above.
INTENDED = (
    re.compile(r"^sandbox: seeded the example world of /docs \(dev mode; \d+ operations\)$"),
    re.compile(r"^\S+ started in DEV MODE: "),
    # Each world parks one delivery on purpose (replayWebhookDelivery's example), through the worker's own path,
    # which says so as it would for any parked delivery.
    re.compile(rf"^webhook delivery {PARKED_DELIVERY} parked after 1 attempts "),
)

#: Registration's legal status of each person of the shared world once every event has been consumed: what the
#: steps rsd and statelessness took on them give (None: rsd's application was not registered at lodging).
EXPECTED_STATUS = {
    **{f"rsd:{label}:person": "asylum_seeker" for label in (
        "fingerprint", "mode", "assign", "contact", "member", "schedule", "reschedule", "no-show", "record", "assess",
        "recommend", "decide", "notify", "extend", "appeal", "appeal-decide", "close")},
    **{f"rsd:{label}:person": "refugee" for label in ("read", "ending-notice", "ending-response", "ending-decide")},
    "rsd:reopen:person": "former_asylum_seeker",
    "rsd:register:person": None,
    "rsd:marker:person": None,
    "rsd:member:child": None,  # added to an application only by "Try it out" (addMember)
    **{f"statelessness:case:{label}:person": "stateless_applicant" for label in (
        "read", "evidence", "inquiry", "answer", "interview", "assign", "extend", "determine", "appeal-decide",
        "unanswered", "marker")},
    **{f"statelessness:case:{label}:person": "stateless" for label in ("track-open", "track-read", "track-decide")},
    "statelessness:case:appeal:person": "not_stateless",
    # A flagged child's case is opened by statelessness; the bridge's child (of a stateless mother) is flagged too.
    "statelessness:flag:read:child": "stateless_applicant",
    "statelessness:flag:resolve:child": "stateless_applicant",
    "civil-registry-bridge:person:Nurlan": "stateless_applicant",
}


def test_a_fresh_make_run_logs_nothing_because_of_the_example_world(tmp_path):
    assert set(EXPECTED_STATUS) == {person.label for person in EXAMPLE_PERSONS}
    var = tmp_path / "var"
    launcher = Launcher(var, "--broker", "kafka", "--database", "sqlite",
                        ports={s.name: free_port() for s in SERVICES}, simulator_port=free_port())
    try:
        launcher.wait_running()
        registration = httpx.Client(base_url=launcher.url("registration"), headers=all_powerful_headers(),
                                    timeout=HTTP_TIMEOUT)

        differ: dict = {}

        def caught_up() -> bool:
            got = {p.label: registration.get(f"/api/v1/persons/{p.id}").json().get("legal_status")
                   for p in EXAMPLE_PERSONS}
            differ.clear()
            differ.update({label: (status, EXPECTED_STATUS[label]) for label, status in got.items()
                           if status != EXPECTED_STATUS[label]})
            return not differ

        try:
            wait_for(caught_up, timeout=180, what="registration's legal status of the shared world's people")
        except AssertionError as exc:
            raise AssertionError(f"(got, expected) by person: {differ}") from exc
        wait_for(lambda: all(settled(launcher.url(s.name)) for s in SERVICES), timeout=60,
                 what="every outbox sent and every consumer caught up")
        took = launcher.interrupt()
        assert launcher.proc.returncode == 0, launcher.output[-3000:]
    finally:
        launcher.ensure_stopped()
    print(f"\nCtrl-C stopped the stack in {took:.1f} s")

    logged = []
    for log in sorted((var / "logs").glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a JVM's or a traceback's own lines: only an error has no JSON
                if re.search(r"Traceback|\bERROR\b", line):
                    logged.append(f"{log.stem}: {line[:300]}")
                continue
            if record.get("level") in ("WARNING", "ERROR", "CRITICAL") and \
                    not any(p.search(record.get("message", "")) for p in INTENDED):
                logged.append(f"{log.stem}: {record['level']} {record.get('logger')}: {record.get('message')}")
    assert logged == []

    # `pana dlq list` of every consumer, at once (each is a Python start of its own).
    listings = {spec.name: subprocess.Popen(
        [sys.executable, "-m", "pana_kit.cli", "dlq", "list", "--service", spec.name, "--json",
         "--database-url", f"sqlite+aiosqlite:///{var / (spec.name + '.db')}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for spec in SERVICES}
    for name, listing in listings.items():
        out, err = listing.communicate(timeout=120)
        assert listing.returncode == 0, err
        assert [line for line in out.splitlines() if line.startswith("{")] == [], f"dead letters of {name}"

