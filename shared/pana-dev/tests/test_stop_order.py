"""Ctrl-C of `pana run` stops the services before the broker (`stop_in_order`): a service finishing its shutdown
still reaches its broker, so it logs no "lost the broker" / "relay cannot reach the broker" warning."""

from __future__ import annotations

import sys
from pathlib import Path

from pana_dev.launchers.process import ManagedProcess, stop_in_order
from pana_dev.testing import wait_for

# Installs its SIGTERM handler, says so, then waits; on SIGTERM it takes a while to shut down, then says so.
SERVICE = """
import signal, sys, time
from pathlib import Path
here = Path(sys.argv[1])
def stop(*_):
    time.sleep(0.3)  # a shutdown that takes a while (a consumer committing, a relay flushing)
    (here / "service-stopped").touch()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(here / "service-ready").touch()
while True:
    time.sleep(1)
"""
# On SIGTERM records whether the service had finished its shutdown.
BROKER = """
import signal, sys, time
from pathlib import Path
here = Path(sys.argv[1])
def stop(*_):
    (here / "broker-saw").write_text(str((here / "service-stopped").exists()))
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
(here / "broker-ready").touch()
while True:
    time.sleep(1)
"""


def test_the_broker_is_stopped_only_after_the_services_have_shut_down(tmp_path: Path) -> None:
    service = ManagedProcess([sys.executable, "-c", SERVICE, str(tmp_path)], log_path=tmp_path / "service.log")
    broker = ManagedProcess([sys.executable, "-c", BROKER, str(tmp_path)], log_path=tmp_path / "broker.log")
    for proc in (broker, service):
        proc.start_process()
    try:
        wait_for(lambda: (tmp_path / "service-ready").exists() and (tmp_path / "broker-ready").exists(),
                 timeout=60, what="both processes to install their SIGTERM handlers")
        killed: list[str] = []
        stop_in_order([[service], [broker]], grace=30, killed=killed)
        assert killed == []
        assert (tmp_path / "broker-saw").read_text() == "True"
    finally:
        for proc in (service, broker):
            if proc.is_running:
                proc.kill()
