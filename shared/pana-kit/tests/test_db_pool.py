"""PostgreSQL's pool pings a connection only when it idled (`pana_kit.db.PING_AFTER_IDLE_S`): a dead idle
connection is still replaced before a unit of work uses it, and a connection returned a moment ago is not
pinged again (the ping was BEGIN + ROLLBACK, two round trips before every transaction)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from pana_kit import db as db_module
from pana_kit.db import Database


def _count_pings(database: Database, monkeypatch) -> list:
    dialect = database.engine.sync_engine.dialect
    pings: list = []
    real = dialect._do_ping_w_event

    def counted(dbapi_connection):
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "_do_ping_w_event", counted)
    return pings


def test_a_dead_idle_connection_is_replaced_before_use(pg_url, monkeypatch):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # every returned connection counts as idle

    async def scenario():
        database = Database(pg_url)
        pings = _count_pings(database, monkeypatch)
        try:
            async with database.transaction() as session:
                pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            killer = Database(pg_url)  # another pool kills the idle pooled connection
            try:
                async with killer.transaction() as session:
                    await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            finally:
                await killer.dispose()
            async with database.transaction() as session:
                assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
            return pings
        finally:
            await database.dispose()

    assert asyncio.run(scenario())  # it was pinged, found dead and replaced


def test_a_connection_just_returned_is_not_pinged(pg_url, monkeypatch):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 3600.0)

    async def scenario():
        database = Database(pg_url)
        pings = _count_pings(database, monkeypatch)
        try:
            for _ in range(3):
                async with database.transaction() as session:
                    await session.execute(text("SELECT 1"))
            return pings
        finally:
            await database.dispose()

    assert asyncio.run(scenario()) == []


def test_held_connections_run_overlapping_reads_side_by_side(pg_url):
    """`Database.held(name, size)`: reads that overlap go to different held connections (a duplicate check does not
    wait behind another's statement), the set is one per name, and its server settings apply."""
    async def scenario():
        database = Database(pg_url)
        try:
            held = database.held("overlap", 3, settings={"plan_cache_mode": "force_generic_plan"})
            assert database.held("overlap", 3) is held
            assert (await held.fetch("SHOW plan_cache_mode"))[0][0] == "force_generic_plan"
            # each read is given its connection when called: three started together go to three connections
            pids = await asyncio.gather(*(held.fetch("SELECT pg_backend_pid()") for _ in range(3)))
            assert len({rows[0][0] for rows in pids}) == 3
            assert len({(await held.fetch("SELECT pg_backend_pid()"))[0][0] for _ in range(3)}) == 1  # one at a time
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_a_held_connection_reads_and_replaces_a_killed_backend(pg_url):
    """`Database.held` (a hot read's own asyncpg connection): it reads what the last commit wrote, and a backend
    killed between two reads (a database restart, an idle kill) is replaced on the next read, not reported."""
    async def scenario():
        database = Database(pg_url)
        try:
            async with database.transaction() as session:
                await session.execute(text("CREATE TABLE IF NOT EXISTS held_test (k varchar(10) PRIMARY KEY, v text)"))
                await session.execute(text("DELETE FROM held_test"))
                await session.execute(text("INSERT INTO held_test VALUES ('a', 'one')"))
            held = database.held("test")
            assert database.held("test") is held
            read = "SELECT k, v FROM held_test WHERE k = ANY($1::varchar[])"
            assert [tuple(r) for r in await held.fetch(read, ["a", "b"])] == [("a", "one")]
            async with database.transaction() as session:
                await session.execute(text("UPDATE held_test SET v = 'two'"))
            assert [tuple(r) for r in await held.fetch(read, ["a"])] == [("a", "two")]  # autocommit: no stale view
            pid = (await held.fetch("SELECT pg_backend_pid()"))[0][0]
            async with database.transaction() as session:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert [tuple(r) for r in await held.fetch(read, ["a"])] == [("a", "two")]
            assert (await held.fetch("SELECT pg_backend_pid()"))[0][0] != pid
            import asyncpg
            import pytest

            with pytest.raises(asyncpg.PostgresError):
                await held.fetch("SELECT 1/0")
            assert [tuple(r) for r in await held.fetch(read, ["a"])] == [("a", "two")]  # still usable
        finally:
            await database.dispose()

    asyncio.run(scenario())


def test_a_hung_statement_on_the_held_connection_fails_and_frees_it(pg_url, monkeypatch):
    """Every read of a held connection waits behind the one in flight, so a statement that hangs (here: sleeps far
    beyond the bound) fails with a timeout, and the next read gets a new connection instead of waiting behind it."""
    from pana_kit import db as kit_db

    monkeypatch.setattr(kit_db, "HELD_COMMAND_TIMEOUT_S", 0.5)

    async def scenario():
        database = Database(pg_url)
        try:
            held = database.held("hung")
            pid = (await held.fetch("SELECT pg_backend_pid()"))[0][0]
            import pytest

            with pytest.raises(asyncio.TimeoutError):
                await held.fetch("SELECT pg_sleep(60)")
            assert (await held.fetch("SELECT pg_backend_pid()"))[0][0] != pid
        finally:
            await database.dispose()

    asyncio.run(scenario())
