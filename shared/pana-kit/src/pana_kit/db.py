"""Async SQLAlchemy engine and sessions; the same code on SQLite and PostgreSQL."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


class Database:
    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # hide_parameters: SQL errors (and so logs) never carry the bound values, which are personal data.
        kwargs: dict = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        # Copied into each new session's `info`: the audit key (pana_kit.audit.SESSION_KEY) lives here, not in
        # the database.
        self.info: dict = {}
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession, info=self.info)
        self._reads: AsyncEngine | None = None
        self._reads_own = False

    @property
    def reads(self) -> AsyncEngine:
        """The engine for one-statement reads on a hot path (`read_one`): autocommit, so no BEGIN and ROLLBACK
        round trips around the statement, and on PostgreSQL its own pool with no ping at each checkout (a
        connection found dead is replaced and the read tried once more). Three round trips of four were these."""
        if self._reads is None:
            if self.is_sqlite:
                self._reads = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            else:
                self._reads = create_async_engine(self.url, hide_parameters=True, pool_size=10, max_overflow=10,
                                                  isolation_level="AUTOCOMMIT")
                self._reads_own = True
        return self._reads

    async def read_one(self, statement, params: dict | None = None):
        """The first row of one read-only Core statement (None when there is none), on `reads`."""
        for attempt in (1, 2):
            try:
                async with self.reads.connect() as conn:
                    return (await conn.execute(statement, params or {})).first()
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        return None  # pragma: no cover - the loop returns or raises

    def use_audit_key(self, key) -> None:
        """Audit entries written through this database's sessions carry a MAC with `key` (pana_kit.audit.AuditKey)."""
        from .audit import SESSION_KEY

        self.info[SESSION_KEY] = key

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits together, or not at all."""
        async with self.sessions() as session:
            async with session.begin():
                yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._reads is not None and self._reads_own:
            await self._reads.dispose()
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the relay read while a request writes; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
