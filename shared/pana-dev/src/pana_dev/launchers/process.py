"""A child process that cannot outlive the Python process that started it.

Brokers and databases started by tests must never be left behind: a leaked JVM
holds half a gigabyte and a port, a leaked postmaster holds its data directory
lock. So every `ManagedProcess` runs in its own process group (a stop reaches
the JVM's or postmaster's children too, and Ctrl-C in the terminal reaches only
us), every started process is registered with `atexit`, and on Linux every
process started from the main thread gets a parent-death signal (SIGKILL when
the starting process dies, however it dies: `atexit` does not run on SIGKILL).

The parent-death signal reaches the direct child only, which is the server
itself for everything here (Tansu, the Kafka JVM, the postmaster, uvicorn);
postgres backends exit by themselves when their postmaster dies.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Iterable, Mapping, Sequence

# Strong references: a process whose handle was dropped must still be stopped at exit.
_live: "set[ManagedProcess]" = set()
_live_lock = threading.Lock()


def _stop_all_at_exit() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        try:
            p.stop(timeout=5.0)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            p.kill()


atexit.register(_stop_all_at_exit)


# -- parent-death signal ------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_libc = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: the child only calls it
    except OSError:  # pragma: no cover - no libc handle
        _libc = None


def _die_with(parent: int) -> None:
    """In the forked child, before exec: SIGKILL me when my parent dies (and at once if it already has).

    Runs after Popen's setsid and setreuid (a credential change would clear the setting), and survives exec.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died between fork and prctl
        os.kill(os.getpid(), signal.SIGKILL)


def parent_death_preexec():
    """A ``preexec_fn`` tying the child's life to ours, or None where that cannot be done.

    Linux sends the signal when the *thread* that forked the child exits, so it is set only for children
    started from the main thread (a helper thread that starts a broker and returns would kill it).
    """
    if _libc is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()
    return lambda: _die_with(parent)


# -- identity of a process over time --------------------------------------------------


def proc_start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, /proc/<pid>/stat field 22), None if it is gone.

    A pid with the same start time is the same process; a reused pid has a later one.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    if fields[0] == "Z":  # a zombie is dead for our purposes
        return None
    return int(fields[19])


def proc_group(pid: int) -> int | None:
    """The process group of ``pid`` (None if gone)."""
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def group_members(pgid: int, started_at_or_after: int) -> list[int]:
    """Live processes in the process group ``pgid`` of a leader that started at ``started_at_or_after``.

    Nothing when a process with the leader's pid runs now with another start time: the pid, and so the
    group number, were reused. Otherwise only members that started no earlier than the leader, since
    anything older cannot descend from it.
    """
    leader = proc_start_time(pgid)
    if leader is not None and leader != started_at_or_after:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if proc_group(pid) != pgid:
            continue
        start = proc_start_time(pid)
        if start is not None and start >= started_at_or_after:
            found.append(pid)
    return found


class ManagedProcess:
    """One external server process: start, stop (SIGTERM, then SIGKILL), kill.

    Subclasses build the command line; this class owns the lifecycle. Output
    (stdout and stderr) goes to ``log_path`` so a failure can be diagnosed
    after the fact (`log_tail`).
    """

    #: Human-readable name used in errors.
    name: str = "process"
    #: Signal for a graceful stop (PostgreSQL wants SIGINT, "fast shutdown").
    stop_signal: int = signal.SIGTERM
    #: SIGKILL the child when this process dies (Linux, children started from the main thread).
    die_with_parent: bool = True
    #: `proc_start_time` of the running child (tells it apart from a later process with the same pid).
    start_time: int | None = None

    def __init__(
        self,
        argv: Sequence[str] | None = None,
        *,
        log_path: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        user: str | int | None = None,
    ) -> None:
        self.argv = list(argv) if argv is not None else None
        self.log_path = Path(log_path) if log_path is not None else None
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.user = user
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._stopped = False  # stopped or killed on purpose, as opposed to crashed

    # -- lifecycle -----------------------------------------------------------------

    def command(self) -> list[str]:
        """The command line; subclasses override or pass ``argv``."""
        if self.argv is None:
            raise NotImplementedError(f"{type(self).__name__} has no command")
        return self.argv

    def start_process(self) -> None:
        """Spawn the command in a new process group. Does not wait for readiness."""
        if self.is_running:
            return
        if self._proc is not None:  # it ran before and exited: end what is left of its group, close its log
            self.end_leftovers()
            self._reap()
        log: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = log = open(self.log_path, "ab")
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env}
        self._stopped = False
        self.started_argv = self.command()
        self._proc = subprocess.Popen(
            self.started_argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            start_new_session=True,  # own session and process group
            preexec_fn=parent_death_preexec() if self.die_with_parent else None,
            **self._identity(),
        )
        self.start_time = proc_start_time(self._proc.pid)
        with _live_lock:
            _live.add(self)

    def _identity(self) -> dict:
        """Popen arguments to drop root for ``user`` (uid, primary gid, no extra groups)."""
        if self.user is None:
            return {}
        import pwd

        pw = pwd.getpwnam(self.user) if isinstance(self.user, str) else pwd.getpwuid(self.user)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def crashed(self) -> bool:
        """Started, exited, and not because `stop` or `kill` was called."""
        return self._proc is not None and not self._stopped and self._proc.poll() is not None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def _signal_group(self, sig: int) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the child's process group (no-op when never started)."""
        if self._proc is not None:
            self._signal_group(sig)

    def reap(self) -> None:
        """After the child has exited: collect it, close its log, forget it."""
        if self._proc is not None:
            self._proc.poll()
            self._reap()

    def end_leftovers(self, wait: float = 5.0) -> None:
        """SIGKILL what is left in the group of an exited child (`group_members`: never a group whose number
        was reused since) and wait up to ``wait`` seconds for them to go."""
        if self.pid is None or self.start_time is None:
            return
        deadline = time.monotonic() + wait
        while True:
            members = group_members(self.pid, self.start_time)
            if not members or time.monotonic() > deadline:
                return
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.02)

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful stop: `stop_signal` (SIGTERM) to the process group, SIGKILL after ``timeout`` seconds."""
        if self._proc is None:
            return
        self._stopped = True
        if self._proc.poll() is None:
            self._signal_group(self.stop_signal)
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self._proc.wait()
        # Stray children in the group (if any) must not survive the leader.
        self._signal_group(signal.SIGKILL)
        self._reap()

    def kill(self) -> None:
        """Immediate SIGKILL of the whole process group (crash simulation)."""
        if self._proc is None:
            return
        self._stopped = True
        self._signal_group(signal.SIGKILL)
        self._proc.wait()
        self._reap()

    def _reap(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        with _live_lock:
            _live.discard(self)

    def log_tail(self, n: int = 40) -> str:
        """Last ``n`` lines of the process log, for error messages."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        lines = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(lines[-n:])

    def check_alive(self) -> None:
        """Raise `RuntimeError` with the log tail if the process has exited."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with code {self._proc.returncode}; log {self.log_path}:\n{self.log_tail()}"
            )

    def describe(self) -> dict:
        """What a later run needs to find this child again: pid, process group, start time, command line."""
        return {"pid": self.pid, "pgid": self.pid, "start_time": self.start_time,
                "cmdline": list(getattr(self, "started_argv", []))[:4]}

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self):  # pragma: no cover - overridden
        """Start and wait for readiness; subclasses override."""
        self.start_process()
        return self

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<{type(self).__name__} {self.name} pid={self.pid} {state}>"


def stop_all(processes: Iterable[ManagedProcess], grace: float = 2.0, killed: list[str] | None = None) -> float:
    """Stop many children at once: each one's stop signal to every group, ``grace`` seconds for all of them
    together, then SIGKILL to the groups still there (their names are appended to ``killed``). Returns the
    seconds it took.

    In parallel, so a stop takes at most ``grace`` plus a moment however many children there are and
    however slowly each shuts down (uvicorn waits for open connections; a JVM flushes its log).
    """
    began = time.monotonic()
    procs = [p for p in processes if p.is_running]  # an earlier exit was handled then (its pid may be reused)
    for p in procs:
        p._stopped = True
        p.signal_group(p.stop_signal)
    deadline = began + grace
    while any(p.is_running for p in procs) and time.monotonic() < deadline:
        time.sleep(0.02)
    for p in procs:
        if killed is not None and p.is_running:
            killed.append(p.name)
        p.signal_group(signal.SIGKILL)  # the stragglers, and anything left in an exited leader's group
    for p in procs:
        if p._proc is not None:
            p._proc.wait()
        p.reap()
    return time.monotonic() - began


def stop_in_order(stages: Iterable[Iterable[ManagedProcess]], grace: float = 2.0,
                  killed: list[str] | None = None) -> float:
    """`stop_all` for each stage in turn (each with ``grace``): the services, then the broker and the database
    they use, so no service logs a lost broker while it shuts down. Returns the seconds it took."""
    began = time.monotonic()
    for stage in stages:
        stop_all(stage, grace, killed)
    return time.monotonic() - began
