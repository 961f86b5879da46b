"""Async SQLAlchemy engine and sessions; the same code on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

from sqlalchemy import bindparam, event, text
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

def insert_on_conflict(table, columns, on_conflict: str, *, returning: str | None = None):
    """`INSERT INTO table (columns) VALUES (...) ON CONFLICT <on_conflict> [RETURNING ...]`, one row per parameter
    set, as text with the columns' own types binding the values (as the ORM would). Textual so SQLAlchemy compiles
    it once: its `insert().on_conflict_do_*()` constructs have no cache key and were compiled again for every
    request or event. PostgreSQL and SQLite both take this form."""
    columns = tuple(columns)
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
           f"ON CONFLICT {on_conflict}" + (f" RETURNING {returning}" if returning else ""))
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in columns))


# session.info[UNIT_OF_WORK_KEY]: the `pana_kit.outbox.UnitOfWork` a session belongs to, on PostgreSQL (what the
# audit intents and idempotency answers recorded through the session hand to its commit statement).
UNIT_OF_WORK_KEY = "pana_unit_of_work"


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # hide_parameters: SQL errors (and so logs) never carry the bound values, which are personal data.
        kwargs: dict = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30}
        else:
            # LIFO: the connection just returned is the one handed out next, so a steady load keeps a few
            # connections hot and lets the rest idle (and be pinged when next taken). `pool_size` connections stay
            # open; overflow ones are closed when returned to a full pool, so a load that keeps more than
            # `pool_size` transactions open opens and closes a connection per request (a connect, its type
            # introspection and every statement prepared again on it: py-spy under 16 registration clients).
            kwargs.update(pool_size=pool_size, max_overflow=10, pool_use_lifo=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            _ping_idle_connections(self.engine)
        # Copied into each new session's `info`: the audit key (pana_kit.audit.SESSION_KEY) lives here, not in
        # the database.
        self.info: dict = {}
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession, info=self.info)
        self._reads: AsyncEngine | None = None
        self._reads_own = False
        self._coalesced: dict[str, "Coalesced"] = {}
        self._held: dict[str, "HeldConnection"] = {}
        self._point_reads: "SqlitePointReads | None" = None

    def coalesced(self, name: str, fetch) -> "Coalesced":
        """This database's `Coalesced` lookups called `name` (made with `fetch` the first time)."""
        found = self._coalesced.get(name)
        if found is None:
            found = self._coalesced[name] = Coalesced(fetch)
        return found

    def point_read(self, sql: str, params: tuple = ()) -> list[tuple] | None:
        """SQLite only: the rows of one read-only statement that reads a few rows by key, run now on the caller's
        (the event loop's) thread, on a connection of its own (`SqlitePointReads`); None when it cannot be read
        that way now (no database file, or the file is locked): the caller then reads through `read_all`.
        Raises on PostgreSQL, whose reads go through `held` or `read_all`."""
        if not self.is_sqlite:
            raise RuntimeError("point reads are SQLite's (PostgreSQL reads go through held or read_all)")
        if self._point_reads is None:
            self._point_reads = SqlitePointReads(self.engine.url)
        return self._point_reads.read(sql, params)

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
        rows = await self.read_all(statement, params)
        return rows[0] if rows else None

    async def read_all(self, statement, params: dict | None = None) -> list:
        """The rows of one read-only Core statement, on `reads`."""
        for attempt in (1, 2):
            try:
                async with self.reads.connect() as conn:
                    return list((await conn.execute(statement, params or {})).all())
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
        return []  # pragma: no cover - the loop returns or raises

    def held(self, name: str, size: int = 1, *, settings: dict[str, str] | None = None
             ) -> "HeldConnection | HeldConnections":
        """PostgreSQL only: this database's `HeldConnection` called `name` (one asyncpg connection kept open); with
        `size` > 1, `HeldConnections`: that many, a read going to one that is free (reads that are not coalesced
        and may overlap, such as duplicate checks). `settings`: the connections' server settings (e.g.
        `plan_cache_mode`), applied when a connection is opened (the first call for a name decides)."""
        if size > 1:
            found = self._held.get(name)
            if found is None:
                found = self._held[name] = HeldConnections([self.held(f"{name}#{i}", settings=settings)
                                                            for i in range(size)])
            return found
        found = self._held.get(name)
        if found is None:
            if self.is_sqlite:
                raise RuntimeError("a held connection is PostgreSQL's (SQLite reads go through read_all)")
            args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
            # Bounded: every read of this name waits behind the one in flight, so a statement that hangs (a
            # stalled server) must fail and give its place to a new connection, not hold every reader.
            kwargs = {"timeout": 30, "command_timeout": HELD_COMMAND_TIMEOUT_S, **kwargs}
            if settings:
                kwargs["server_settings"] = {**kwargs.get("server_settings", {}), **settings}
            found = self._held[name] = HeldConnection(*args, **kwargs)
        return found

    def use_audit_key(self, key) -> None:
        """Audit entries written through this database's sessions carry a MAC with `key` (pana_kit.audit.AuditKey)."""
        from .audit import SESSION_KEY

        self.info[SESSION_KEY] = key

    def use_audit_chainer(self, chainer) -> None:
        """Audit entries recorded through this database's sessions are intents, chained by `chainer` after the
        commit (pana_kit.audit.AuditChainer): no writer holds the chain's lock."""
        from .audit import CHAINER_KEY

        self.info[CHAINER_KEY] = chainer

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
            from .audit import after_commit

            await after_commit(session)  # its audit intents chained before the caller goes on

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._point_reads is not None:
            self._point_reads.close()
        for held in self._held.values():
            await held.close()
        if self._reads is not None and self._reads_own:
            await self._reads.dispose()
        await self.engine.dispose()


class InTransaction:
    """PostgreSQL: statements sent on the asyncpg connection under a session's transaction, without SQLAlchemy's
    execution context (a text statement through it cost 123 µs of client CPU, on asyncpg directly 23 µs; issue 16).
    They are part of the session's transaction (the same connection, begun here when nothing ran on it yet) and
    fail as the session's statements do: a driver error is raised as SQLAlchemy's (`IntegrityError`, ...), and a
    lost connection invalidates the session's. Positional `$n` parameters; asyncpg prepares each text once per
    connection. Only for a hot path whose statements are fixed text: everything else goes through the session."""

    __slots__ = ("session", "_connection", "_adapted")

    def __init__(self, session: AsyncSession):
        self.session = session
        self._connection = None
        self._adapted = None

    async def _begun(self):
        if self._adapted is None:
            self._connection = await self.session.connection()
            self._adapted = (await self._connection.get_raw_connection()).dbapi_connection
        adapted = self._adapted
        # SQLAlchemy's asyncpg adapter begins the transaction at the first statement it runs; one sent here first
        # must begin it the same way (the adapter then commits or rolls it back with the session).
        if not adapted._started:
            await adapted._start_transaction()
        return adapted

    async def fetch(self, sql: str, *args) -> list:
        adapted = await self._begun()
        try:
            return await adapted._connection.fetch(sql, *args)
        except Exception as exc:
            raise await self._translated(exc, sql, args) from exc

    async def fetch_core(self, statement: "CoreStatement", values: dict) -> list:
        """`fetch` of a Core statement (`CoreStatement`: compiled once for this session's dialect, its values bound
        through their columns' types as SQLAlchemy would: JSON, sealed documents, dates ...)."""
        sql, args = statement.bound(self.session.bind.dialect, values)
        return await self.fetch(sql, *args)

    async def _translated(self, exc: Exception, sql: str, args) -> Exception:
        adapted = self._adapted
        try:
            adapted._handle_exception(exc)  # raises the DBAPI error the adapter would have raised
        except adapted.dbapi.Error as dbapi_error:
            dialect = self.session.bind.dialect
            lost = dialect.is_disconnect(dbapi_error, adapted, None)
            if lost:
                await self._connection.invalidate()
            return DBAPIError.instance(sql, args, dbapi_error, adapted.dbapi.Error, hide_parameters=True,
                                       connection_invalidated=lost, dialect=dialect)
        except Exception as other:  # noqa: BLE001 - not the driver's (cancelled, ...): as it is
            return other
        return exc  # pragma: no cover - _handle_exception always raises


class CoreStatement:
    """A SQLAlchemy Core statement for `InTransaction.fetch_core`: compiled once per dialect (its text as asyncpg
    takes it, `$n` parameters with their casts) and its values bound through the same type processors SQLAlchemy's
    execution would run (a sealed document is sealed with the keyring attached to the dialect, JSON is serialised,
    ...), without SQLAlchemy's execution context per call. Only bound parameters (no literal values compiled in
    that vary), none expanding (`IN` lists: use arrays)."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement):
        self.statement = statement
        self._compiled: tuple | None = None  # (dialect, text, [(name, processor or None)])

    def bound(self, dialect, values: dict) -> tuple[str, list]:
        compiled = self._compiled
        if compiled is None or compiled[0] is not dialect:
            done = self.statement.compile(dialect=dialect)
            if done.positiontup is None or any(b.expanding for b in done.binds.values()):
                raise ValueError("CoreStatement: only positional, non-expanding parameters")
            processors = done._bind_processors
            compiled = self._compiled = (dialect, done.string,
                                         [(name, processors.get(name)) for name in done.positiontup])
        return compiled[1], [values[name] if process is None else process(values[name])
                             for name, process in compiled[2]]


def in_transaction(session: AsyncSession) -> InTransaction:
    """PostgreSQL: the `InTransaction` of `session`'s transaction, the unit of work's own when the session belongs to
    one (`pana_kit.outbox.UnitOfWork.raw`: its connection looked up once per transaction), else a new one."""
    unit_of_work = session.info.get(UNIT_OF_WORK_KEY)
    return unit_of_work.raw if unit_of_work is not None else InTransaction(session)


HELD_COMMAND_TIMEOUT_S = 10.0


class HeldConnection:
    """One asyncpg connection kept open for one hot read, in autocommit, its statements prepared once (asyncpg's
    statement cache): no pool checkout, no reset on return, no SQLAlchemy execution context. A pooled read
    (`Database.read_all`) cost 0.38 ms of client CPU per lookup, asyncpg's own pool 0.19 ms (its release resets
    the session, one more round trip); a held connection 0.05 ms (issue 16). Statements run one at a time (a
    lock), so it suits a read already coalesced (`Coalesced`: one statement in flight). A connection found
    closed (a database restart, an idle kill) is replaced and the read tried once more."""

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs = args, kwargs
        self._connection = None
        self._lock = None

    async def fetch(self, sql: str, *params) -> list:
        import asyncio

        import asyncpg

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            for attempt in (1, 2):
                if self._connection is None or self._connection.is_closed():
                    self._connection = await asyncpg.connect(*self._args, **self._kwargs)
                try:
                    return await self._connection.fetch(sql, *params)
                # A backend killed between two reads shows as any of these, depending on whether its goodbye
                # reached the client before the next statement (InternalClientError: "another operation in
                # progress", the half-read goodbye); each means "this connection is gone", never a wrong answer.
                except (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.InterfaceError,
                        asyncpg.exceptions.InternalClientError, asyncpg.exceptions.AdminShutdownError,
                        ConnectionError) as exc:
                    await self._discard()
                    if attempt == 2:
                        raise DBAPIError(sql, None, exc, connection_invalidated=True) from exc
                except asyncpg.PostgresError:
                    raise  # the statement failed; the connection is fine
                except BaseException:
                    await self._discard()  # cancelled mid-statement: never handed to the next read half-done
                    raise
        return []  # pragma: no cover - the loop returns or raises

    async def run(self, work):
        """`await work(connection)` in one transaction on the held connection, after any statement in flight.
        Not tried again here (a commit whose answer was lost may have happened: the caller knows how to tell);
        a connection found gone is replaced at the next call and the error raised as an invalidated DBAPIError."""
        import asyncio

        import asyncpg

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._connection is None or self._connection.is_closed():
                self._connection = await asyncpg.connect(*self._args, **self._kwargs)
            try:
                async with self._connection.transaction():
                    return await work(self._connection)
            except (asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.InterfaceError,
                    asyncpg.exceptions.InternalClientError, asyncpg.exceptions.AdminShutdownError,
                    ConnectionError) as exc:
                await self._discard()
                raise DBAPIError("transaction", None, exc, connection_invalidated=True) from exc
            except asyncpg.PostgresError:
                raise  # the statement failed and the transaction rolled back; the connection is fine
            except BaseException:
                await self._discard()
                raise

    async def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.terminate()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=5)
            except Exception:  # noqa: BLE001 - closing at shutdown: a dead connection is fine
                connection.terminate()


class HeldConnections:
    """A few `HeldConnection`s for one hot read whose calls overlap: each read goes to a connection with no
    statement in flight, else to the one with the fewest reads waiting. Each keeps its own prepared statements."""

    def __init__(self, connections: list[HeldConnection]):
        self.connections = connections
        self._waiting = [0] * len(connections)

    async def fetch(self, sql: str, *params) -> list:
        i = min(range(len(self.connections)), key=self._waiting.__getitem__)
        self._waiting[i] += 1
        try:
            return await self.connections[i].fetch(sql, *params)
        finally:
            self._waiting[i] -= 1

    async def close(self) -> None:
        return None  # each connection is held (and closed) by the database under its own name


class SqlitePointReads:
    """SQLite: one `sqlite3` connection of this process for point reads (a few rows by primary key), each run at
    once on the calling thread, the event loop's, with no thread hop. Through aiosqlite and SQLAlchemy a read was
    a checkout that set the isolation level, the statement and the return, each a hop to aiosqlite's thread and
    back: most of an in-process verification's time (issue 16). A point read on a page in memory takes
    microseconds, less than one hop.

    - Fresh: the connection is in autocommit (`isolation_level=None`) and every read is stepped to its end, so
      each statement is its own read transaction, begun when it starts: it sees every transaction committed
      before it, and holds no snapshot afterwards.
    - Never waits on a lock on the loop's thread: no busy timeout. In WAL mode (`_sqlite_pragmas`) a reader is not
      blocked by a writer; when SQLite answers BUSY or LOCKED all the same (a checkpoint's reset of the WAL, a
      database not in WAL mode), `read` returns None and the caller reads through the async path.
    - Read only (`PRAGMA query_only`). Not for in-memory databases (another connection sees another database):
      `read` returns None for them."""

    def __init__(self, url):
        database = url.database
        self.path = database if database and database != ":memory:" and not database.startswith("file:") \
            and not url.query else None
        self._connection = None

    def _open(self):
        import sqlite3

        connection = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA query_only = ON")
        return connection

    def read(self, sql: str, params: tuple = ()) -> list[tuple] | None:
        import sqlite3

        if self.path is None:
            return None
        try:
            if self._connection is None:
                self._connection = self._open()
            return self._connection.execute(sql, params).fetchall()  # stepped to the end: no snapshot is kept
        except sqlite3.OperationalError as exc:
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code of an extended one
            if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc):
                return None  # the async path waits for it, off the loop's thread
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class Coalesced:
    """Lookups by key that arrive together share one statement: `await coalesced.get(key)`.

    While a query is in flight, the keys asked for meanwhile wait and go together in the next one
    (`fetch(keys) -> {key: value}`; a key it leaves out answers None). At low load a lookup runs at once, alone;
    at high load N concurrent lookups cost one round trip instead of N. An error fails the lookups of that query
    only."""

    def __init__(self, fetch, *, max_keys: int = 500):
        self.fetch = fetch
        self.max_keys = max_keys
        self._waiting: dict = {}  # key -> [futures]
        self._running = False
        # Statements run and the keys they asked for (keys / queries: the mean batch; about 4 under wrk's 8
        # connections at 1,000,000 documents on PostgreSQL, issue 16).
        self.queries = 0
        self.keys = 0

    async def get(self, key):
        import asyncio

        loop = asyncio.get_running_loop()  # once: each call is a getpid()
        future = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if not self._running:
            self._running = True
            loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[:self.max_keys]
                self.queries += 1
                self.keys += len(keys)
                waiting = {key: self._waiting.pop(key) for key in keys}
                try:
                    found = await self.fetch(keys)
                except BaseException as exc:  # noqa: BLE001 - handed to every caller of this query
                    for futures in waiting.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for key, futures in waiting.items():
                    value = found.get(key)
                    for future in futures:
                        if not future.done():
                            future.set_result(value)
        finally:
            self._running = False


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the relay read while a request writes; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: A pooled connection idle at least this long is pinged when checked out (see `_ping_idle_connections`).
PING_AFTER_IDLE_S = 1.0
_CHECKED_IN_AT = "pana_checked_in_at"


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """SQLAlchemy's `pool_pre_ping`, but only for a connection that sat in the pool `PING_AFTER_IDLE_S` or longer.

    The ping (BEGIN and ROLLBACK on asyncpg: two round trips) was a tenth of rsd's time per consumed event
    and ran before every unit of work on a connection returned milliseconds earlier. A connection that idled
    (the database restarted, a firewall or server timeout dropped it) is still pinged first and, when dead,
    the whole pool is invalidated and a fresh connection taken, exactly as pre-ping does; one that just
    served a transaction is not. A connection that dies in use is invalidated by SQLAlchemy as before."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        if record is not None and dbapi_connection is not None:
            record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        since = record.info.pop(_CHECKED_IN_AT, None)  # None: a fresh connection, never returned yet
        if since is not None and time.monotonic() - since >= PING_AFTER_IDLE_S and not dialect._do_ping_w_event(dbapi_connection):
            raise InvalidatePoolError()  # what pre-ping raises: the pool is invalidated and a new connection tried

