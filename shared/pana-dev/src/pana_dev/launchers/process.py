"""A child process that cannot outlive the Python process that started it.

Brokers and databases started by tests must never be left behind: a leaked JVM
holds half a gigabyte and a port, a leaked postmaster holds its data directory
lock. So every `ManagedProcess` runs in its own process group (a stop reaches
the JVM's or postmaster's children too, and Ctrl-C in the terminal reaches only
us), and every started process is registered with `atexit`.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Mapping, Sequence

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
        log: IO[bytes] | int = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = log = open(self.log_path, "ab")
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env}
        self._proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
            env=env,
            start_new_session=True,  # own session and process group
            **self._identity(),
        )
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
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc is not None else None

    def _signal_group(self, sig: int) -> None:
        assert self._proc is not None
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, timeout: float = 20.0) -> None:
        """Graceful stop: `stop_signal` (SIGTERM) to the process group, SIGKILL after ``timeout`` seconds."""
        if self._proc is None:
            return
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
