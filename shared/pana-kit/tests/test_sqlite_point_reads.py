"""SQLite point reads on the event loop's thread (pana_kit.db.SqlitePointReads, Database.point_read): fresh at
every read, never waiting on a lock, read only; the async path is the fallback."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import make_url, text

from pana_kit.db import Database, SqlitePointReads


async def _database(tmp_path) -> Database:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'kit.db'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE entries (key TEXT PRIMARY KEY, state TEXT NOT NULL)"))
        await session.execute(text("INSERT INTO entries VALUES ('a', 'issued')"))
    return db


async def test_each_point_read_sees_what_was_committed_before_it(tmp_path):
    db = await _database(tmp_path)
    try:
        sql = "SELECT state FROM entries WHERE key = ?"
        assert db.point_read(sql, ("a",)) == [("issued",)]
        assert db.point_read(sql, ("b",)) == []
        # a write committed on another connection (the service's engine) after a read: the next read sees it
        async with db.transaction() as session:
            await session.execute(text("UPDATE entries SET state = 'revoked' WHERE key = 'a'"))
            await session.execute(text("INSERT INTO entries VALUES ('b', 'issued')"))
        assert db.point_read(sql, ("a",)) == [("revoked",)]
        assert db.point_read(sql, ("b",)) == [("issued",)]
        # and one in progress, not yet committed, is not seen; nor does the read wait for it
        async with db.sessions() as session:
            await session.execute(text("UPDATE entries SET state = 'expired' WHERE key = 'a'"))
            assert db.point_read(sql, ("a",)) == [("revoked",)]
            await session.rollback()
    finally:
        await db.dispose()


async def test_a_point_read_writes_nothing(tmp_path):
    db = await _database(tmp_path)
    try:
        with pytest.raises(sqlite3.OperationalError):
            db.point_read("DELETE FROM entries")
        assert db.point_read("SELECT count(*) FROM entries") == [(1,)]
    finally:
        await db.dispose()


def test_a_locked_file_or_an_in_memory_database_is_not_read_here(tmp_path):
    # A database not in WAL mode, write-locked by another connection: no wait on the loop's thread, None (the
    # caller reads through the async path, which waits off the loop).
    path = tmp_path / "rollback.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE entries (key TEXT PRIMARY KEY)")
    writer.execute("INSERT INTO entries VALUES ('a')")
    reads = SqlitePointReads(make_url(f"sqlite+aiosqlite:///{path}"))
    assert reads.read("SELECT key FROM entries") == [("a",)]
    writer.execute("BEGIN EXCLUSIVE")
    try:
        assert reads.read("SELECT key FROM entries") is None
    finally:
        writer.execute("ROLLBACK")
    assert reads.read("SELECT key FROM entries") == [("a",)]
    reads.close()
    writer.close()
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        assert SqlitePointReads(make_url(url)).read("SELECT 1") is None


def test_point_reads_are_sqlites():
    with pytest.raises(RuntimeError):
        Database("postgresql+asyncpg://u:p@127.0.0.1:1/x").point_read("SELECT 1")
