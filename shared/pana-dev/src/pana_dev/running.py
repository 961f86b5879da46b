"""`pana run` as a process a test drives: started in its own process group on chosen ports and its own var
directory, read through its output and its state file (`var/run/pana-run.json`), killed or interrupted for real.

The supervisor tests and the fault suite on the `make run` configuration both use it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from pana_kit.settings import ENV_PREFIX

from .launchers.process import proc_start_time
from .supervisor import STATE_FILE
from .testing import wait_for


def alive(pid: int, start_time: float | int | None) -> bool:
    """The process is there and is the one recorded (a reused pid has another start time)."""
    return proc_start_time(pid) is not None and (start_time is None or proc_start_time(pid) == start_time)


class Launcher:
    """One `pana run` (`python -m pana_kit.cli run ...`) in its own session."""

    def __init__(self, var: Path, *args: str, ports: dict[str, int] | None = None, simulator_port: int | None = None):
        self.var = var
        var.mkdir(parents=True, exist_ok=True)
        self.out = var / f"launcher-{time.monotonic_ns()}.out"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for service, port in (ports or {}).items():
            env[f"{ENV_PREFIX[service]}PORT"] = str(port)
        if simulator_port is not None:
            env["SIMULATOR_PORT"] = str(simulator_port)
        self.env = env
        self.ports = dict(ports or {})
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "pana_kit.cli", "run", "--var", str(var), *args],
                                         stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    @property
    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_running(self, timeout: float = 300) -> dict[str, tuple[int, float]]:
        """Wait for the announcement; the children as recorded. A launcher that exits first fails with its output."""
        wait_for(lambda: "Pana is running" in self.output or self.proc.poll() is not None, timeout=timeout,
                 what="the launcher to announce the stack")
        assert self.proc.poll() is None, self.output
        return self.children()

    def children(self) -> dict[str, tuple[int, float]]:
        state = json.loads((self.var / STATE_FILE).read_text())
        return {name: (c["pid"], c["start_time"]) for name, c in state["children"].items()}

    @property
    def kafka_bootstrap(self) -> str | None:
        found = re.findall(r"kafka bootstrap\s+(\S+)", self.output)
        return found[-1] if found else None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def kill_child(self, name: str, timeout: float = 300) -> None:
        """SIGKILL one child and wait until the supervisor says it is back."""
        restarts = self.output.count(f"{name} is back")
        pid, _ = self.children()[name]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self.output.count(f"{name} is back") > restarts, timeout=timeout,
                 what=f"the launcher to restart {name}")

    def kill(self, timeout: float = 60) -> dict[str, tuple[int, float]]:
        """SIGKILL the launcher itself; wait until none of its children is left. The children it had."""
        children = self.children()
        self.proc.kill()
        self.proc.wait()
        wait_for(lambda: not any(alive(*c) for c in children.values()), timeout=timeout,
                 what=f"every child of the killed launcher gone: {children}")
        return children

    def interrupt(self, timeout: float = 120) -> float:
        """Ctrl-C as a terminal sends it (SIGINT to the process group); seconds until the launcher exited."""
        began = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=timeout)
        return time.monotonic() - began

    def ensure_stopped(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
