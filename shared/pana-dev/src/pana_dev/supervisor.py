"""`pana run`'s supervisor: a crash is restarted, not a fuse that takes the whole stack down.

- Every child is watched from the moment it starts. A web process (service or simulator) that exits is
  started again after a back-off (0.5 s doubling to 30 s; the count resets once it has stayed up for
  `Backoff.reset_after` seconds), with one line saying so; the others keep serving. During start-up a
  process that exits before it ever answered /healthz is restarted too, and the stack is announced only
  once every part answers; one that cannot come up (`startup_restarts` tries) stops the launcher with its
  log tail.
- The broker and the database are restarted the same way, on the same port and data directory (the
  services reconnect by themselves). If one cannot be started again (`infra_restarts` tries in a row)
  the launcher stops everything and says why.
- Stopping is parallel and bounded, services first, then the broker and database they use
  (`pana_dev.launchers.process.stop_in_order`).
- Children die with the launcher whatever kills it (parent-death signal, `launchers/process.py`), and
  ``var/run/pana-run.json`` records the launcher and each child (pid, process group, start time) so that
  the next `pana run` on the same ``var`` ends what an earlier one left behind before it binds any port.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .launchers.process import ManagedProcess, group_members, proc_cmdline, proc_start_time, stop_in_order

STATE_FILE = Path("run") / "pana-run.json"


class GaveUp(RuntimeError):
    """A part of the stack cannot be (re)started; the launcher stops everything."""


class AlreadyRunning(RuntimeError):
    """Another live `pana run` owns this state directory."""


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    #: Seconds a restarted process must stay up before its restart count starts from zero again.
    reset_after: float = 30.0

    def delay(self, restart: int) -> float:
        """Seconds to wait before restart number ``restart`` (1, 2, ...) in a row."""
        return min(self.initial * self.factor ** max(restart - 1, 0), self.maximum)


@dataclass
class _Child:
    name: str
    proc: ManagedProcess
    infra: bool
    restarts: int = 0  # in a row, since it last stayed up for `reset_after`
    total_restarts: int = 0
    failed_starts: int = 0  # exits before answering, in a row
    up_since: float | None = None  # when it last became healthy
    restart_at: float | None = None  # a restart is due then


def _say(line: str) -> None:
    print(line, flush=True)


class Supervisor:
    def __init__(self, stack, *, backoff: Backoff = Backoff(), say: Callable[[str], None] = _say,
                 tick: float = 0.1, startup_restarts: int = 3, infra_restarts: int = 5,
                 progress: Callable[[str], None] | None = None) -> None:
        self.stack = stack
        #: While starting, one line per part as it becomes ready (`pana run` prints them; None: quiet).
        self.progress = progress
        self.began: float | None = None
        self._broker_wait: threading.Thread | None = None
        self.backoff = backoff
        self.say = say
        self.tick = tick
        self.startup_restarts = startup_restarts
        self.infra_restarts = infra_restarts
        self.children: dict[str, _Child] = {}
        self.state_path = Path(stack.var_dir) / STATE_FILE
        self.owns_state = False
        self.announced = False
        self.killed: list[str] = []

    # -- what an earlier run left behind ------------------------------------------------------

    def clean_up_leftovers(self) -> list[str]:
        """End the children of an earlier `pana run` on this ``var`` whose launcher is gone.

        Raises `AlreadyRunning` when that launcher is alive. A process is ended only when it is the one
        recorded (same pid, same start time) or a member of its process group that started no earlier than
        it; a recorded pid now running with another start time was reused, and its group is left alone
        (`group_members`).
        """
        try:
            state = json.loads(self.state_path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            self.state_path.unlink(missing_ok=True)
            return []
        launcher = state.get("launcher", {})
        lpid = launcher.get("pid")
        if lpid and lpid != os.getpid() and proc_start_time(lpid) == launcher.get("start_time"):
            raise AlreadyRunning(
                f"pana run (pid {lpid}) is already running on {self.stack.var_dir}; stop it first "
                f"(Ctrl-C in its terminal, or kill {lpid})")
        ended: list[str] = []
        doomed: list[tuple[int, int]] = []
        for name, child in state.get("children", {}).items():
            pid, pgid, started = child.get("pid"), child.get("pgid"), child.get("start_time")
            if not (pid and pgid and started):
                continue
            members = group_members(pgid, started)  # none if the pid now belongs to another process
            for member in members:
                doomed.append((member, proc_start_time(member) or 0))
            if members:
                cmd = " ".join(proc_cmdline(members[0])[:3])[:80]
                ended.append(f"{name} (pid {pid}{f' +{len(members) - 1}' if len(members) > 1 else ''}: {cmd})")
        for pid, started in doomed:
            if proc_start_time(pid) == started:  # still that process, a moment later
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while any(proc_start_time(pid) == started for pid, started in doomed) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.state_path.unlink(missing_ok=True)
        if ended:
            self.say(f"cleaned up after an earlier pana run (launcher pid {lpid}, gone): killed {', '.join(ended)}")
        return ended

    def _write_state(self) -> None:
        me = os.getpid()
        state = {
            "launcher": {"pid": me, "start_time": proc_start_time(me), "cmdline": proc_cmdline(me)[:6]},
            "var": str(self.stack.var_dir),
            "children": {c.name: c.proc.describe() for c in self.children.values() if c.proc.is_running},
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_path)
        self.owns_state = True

    # -- start ----------------------------------------------------------------------------------

    def _adopt(self, proc: ManagedProcess, infra: bool) -> None:
        if proc.name not in self.children:
            self.children[proc.name] = _Child(proc.name, proc, infra)

    def add(self, proc: ManagedProcess, *, infra: bool = False) -> None:
        """Supervise ``proc`` too (a web process is started here; infrastructure is expected running)."""
        if self.began is None:
            self.began = time.monotonic()
        self._adopt(proc, infra)
        if not infra:
            proc.start_process()
        self._write_state()

    def _adopt_infra(self) -> None:
        for item in self.stack.infra:
            if isinstance(item, ManagedProcess):
                self._adopt(item, infra=True)
        self._write_state()

    def start(self, services, simulator: bool = True) -> None:
        """Start the broker (without waiting: the services start while its JVM boots, and reach it once it
        listens), the database, then every web process without waiting: `wait_started` watches them come up."""
        stack = self.stack
        self.began = time.monotonic()
        Path(stack.var_dir).mkdir(parents=True, exist_ok=True)
        self._write_state()  # from the first moment: a launcher killed while starting is found again
        if services:
            stack.start_broker(wait=False)
            self._adopt_infra()
            self._broker_wait = threading.Thread(target=self._wait_broker, name="broker-ready", daemon=True)
            self._broker_wait.start()
        procs = [stack.simulator_process()] if simulator else []
        for spec in services:
            procs.append(stack.service_process(spec))  # a PostgreSQL database is created here
            self._adopt_infra()
        for proc in procs:
            self._adopt(proc, infra=False)
            proc.start_process()
            self._write_state()

    def _wait_broker(self) -> None:
        try:
            self.stack.wait_broker()
        except BaseException:  # noqa: BLE001 - the broker was killed: `poll` restarts it (or gives up) as a crash
            pass

    def _infra_ready(self) -> bool:
        """The broker started without waiting serves clients (or is being handled as a crash by `poll`)."""
        return self._broker_wait is None or not self._broker_wait.is_alive()

    def _ready(self, child: _Child) -> None:
        if self.progress is None or self.announced or self.began is None:
            return
        took = time.monotonic() - self.began
        proc = child.proc
        where = getattr(proc, "url", None)
        if where:
            where = f"{where}/docs"
        elif getattr(proc, "bootstrap", None):
            where = f"bootstrap {proc.bootstrap}"
        self.progress(f"  {took:5.1f} s  {child.name:<26} ready{f'  {where}' if where else ''}")

    def wait_started(self, timeout: float | None = None) -> None:
        """Supervise until every part answers (restarting what exits), then return; `GaveUp` if one cannot."""
        deadline = time.monotonic() + (timeout or self.stack.start_timeout)
        while True:
            self.poll(starting=True)
            if all(c.up_since is not None for c in self.children.values()):
                self.announced = True
                return
            if time.monotonic() > deadline:
                late = [c.name for c in self.children.values() if c.up_since is None]
                raise GaveUp(f"{', '.join(late)} did not come up within {timeout or self.stack.start_timeout:.0f} s"
                             + "".join(f"\n--- {n} log:\n{self.children[n].proc.log_tail(20)}" for n in late))
            time.sleep(self.tick)

    def run(self, until: Callable[[], bool] = lambda: False) -> None:
        """Supervise until ``until()`` is true (or forever)."""
        while not until():
            self.poll()
            time.sleep(self.tick)

    # -- one round --------------------------------------------------------------------------------

    def poll(self, starting: bool = False) -> None:
        now = time.monotonic()
        for child in self.children.values():
            proc = child.proc
            if child.restart_at is None and not proc.is_running:
                self._exited(child, now, starting)
            elif child.restart_at is not None and now >= child.restart_at:
                self._restart(child)
            elif proc.is_running and child.up_since is None:
                if self._infra_ready() if child.infra else proc.healthy(timeout=0.5):
                    child.up_since = time.monotonic()
                    child.failed_starts = 0
                    self._ready(child)
                    if child.total_restarts and self.announced:
                        self.say(f"{child.name} is back (restart {child.total_restarts})")
            elif child.up_since is not None and child.restarts and now - child.up_since >= self.backoff.reset_after:
                child.restarts = 0

    def _exited(self, child: _Child, now: float, starting: bool) -> None:
        proc = child.proc
        code = proc.returncode
        if child.up_since is None and not child.infra:
            child.failed_starts += 1
            if starting and child.failed_starts > self.startup_restarts:
                raise GaveUp(f"{child.name} exited with code {code} {child.failed_starts} times while starting; "
                             f"log {proc.log_path}:\n{proc.log_tail(30)}")
        child.restarts += 1
        child.total_restarts += 1
        child.up_since = None
        delay = self.backoff.delay(child.restarts)
        child.restart_at = now + delay
        self.say(f"{child.name} exited with code {code}; restarting in {delay:.1f} s (restart {child.total_restarts})")

    def _restart(self, child: _Child) -> None:
        child.restart_at = None
        proc = child.proc
        proc.end_leftovers()  # it could hold the port or the data directory
        if child.infra:
            try:
                proc.start()  # waits until it serves again (same port, same data directory)
            except Exception as exc:  # noqa: BLE001 - reported, retried, then given up on
                child.failed_starts += 1
                if child.failed_starts >= self.infra_restarts:
                    raise GaveUp(f"{child.name} could not be started again ({child.failed_starts} tries): {exc}; "
                                 f"log {proc.log_path}:\n{proc.log_tail(30)}") from exc
                self.say(f"{child.name} did not start again: {str(exc).splitlines()[0][:200]}")
                if proc.is_running:
                    proc.kill()
                proc._stopped = False  # a crash for `poll`: scheduled again with the next back-off
        else:
            proc.start_process()
        self._write_state()

    # -- stop -------------------------------------------------------------------------------------

    def stop(self, grace: float = 1.5) -> float:
        """Stop the web processes at once, then the infrastructure (broker, database) at once, each stage within
        ``grace``: a service finishes its shutdown while its broker still answers (no "lost the broker" or "relay
        cannot reach the broker" warning on Ctrl-C). Returns the seconds it took. The state file goes with them.
        `killed` names the children that did not stop within ``grace`` and were killed."""
        procs = {id(p): p for p in [*(c.proc for c in self.children.values()), *self.stack.children().values()]}
        infra = {id(c.proc) for c in self.children.values() if c.infra} | \
            ({id(p) for p in self.stack.children().values()} - {id(p) for p in self.stack.processes.values()})
        self.killed: list[str] = []
        took = stop_in_order([[p for k, p in procs.items() if k not in infra],
                              [p for k, p in procs.items() if k in infra]], grace, self.killed)
        self.stack.stop(grace=grace)  # anything else the stack started
        if self.owns_state:
            self.state_path.unlink(missing_ok=True)
        return took


def port_taken(port: int) -> bool:
    from .launchers.ports import LOOPBACK, port_open

    return port_open(LOOPBACK, port, timeout=0.2)

