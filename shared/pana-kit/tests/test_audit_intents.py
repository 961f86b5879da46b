"""Audit intents and the chainer (issue 16): commands commit their audit entry without the chain's lock, and one
chainer per process links committed intents into the keyed chain in batches.

The security properties are the chain's (test_audit_chain.py) plus: nothing committed is lost when the process
dies between its commit and the chaining (a real process, killed), and an intent forged in the database (no
audit key) is never chained and makes verification fail. On SQLite and on PostgreSQL with the service's own
migrations.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from pana_kit import audit
from pana_kit.auth import Principal
from pana_kit.crypto import Keyring
from pana_kit.db import Database
from pana_kit.migrations import upgrade
from pana_kit.tables import AuditEntry, AuditIntent

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
OFFICER = Principal(subject="officer-16", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def keyring(audit_keyring) -> Keyring:
    return audit_keyring


def _db(url: str, keyring: Keyring, *, chainer: bool = True) -> tuple[Database, audit.AuditChainer | None]:
    db = Database(url)
    db.use_audit_key(audit.AuditKey.of(keyring))
    found = None
    if chainer:
        found = audit.AuditChainer(db, "rsd", sweep_seconds=0)
        db.use_audit_chainer(found)
    return db, found


async def _counts(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        entries = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar()
        intents = (await session.execute(select(func.count()).select_from(AuditIntent))).scalar()
    return entries, intents


def test_concurrent_commands_commit_intents_and_are_chained_in_order(url, keyring):
    upgrade(MIGRATIONS, url)

    async def go():
        db, chainer = _db(url, keyring)

        async def command(i: int) -> None:
            async with db.transaction() as session:
                await audit.record(session, OFFICER, "update", f"application/{i:04d}", service="rsd")
                await audit.record(session, OFFICER, "read", f"application/{i:04d}", service="rsd")

        await asyncio.gather(*(command(i) for i in range(40)))
        # Each transaction returned only once its intents were chained: nothing is left waiting.
        assert await _counts(db) == (80, 0)
        assert chainer.started < 80  # group commit: passes took several commands' intents at once
        async with db.session() as session:
            report = await audit.verify_chain(session)
            seqs = [r[0] for r in await session.execute(select(AuditEntry.seq).order_by(AuditEntry.seq))]
        assert report.intact and report.entries == 80 and report.pending == 0
        assert seqs == list(range(1, 81))  # contiguous
        await db.dispose()

    asyncio.run(go())


def test_without_a_chainer_entries_are_appended_at_once(url, keyring):
    upgrade(MIGRATIONS, url)

    async def go():
        db, _ = _db(url, keyring, chainer=False)
        async with db.transaction() as session:
            await audit.record(session, OFFICER, "read", "application/direct", service="rsd")
        assert await _counts(db) == (1, 0)
        await db.dispose()

    asyncio.run(go())


_KILLED_WRITER = textwrap.dedent("""
    import asyncio, os, sys
    from pana_kit import audit
    from pana_kit.auth import Principal
    from pana_kit.crypto import Keyring
    from pana_kit.db import Database

    async def main():
        db = Database(sys.argv[1])
        db.use_audit_key(audit.AuditKey.of(Keyring.from_file(sys.argv[2])))
        db.use_audit_chainer(audit.AuditChainer(db, "rsd", sweep_seconds=0))
        who = Principal(subject="officer-16", client_id="pana-web", roles=(), scopes=frozenset())
        async with db.sessions() as session:
            async with session.begin():
                for i in range(5):
                    await audit.record(session, who, "decide", f"application/killed-{i}", service="rsd")
        print("committed", flush=True)
        os.kill(os.getpid(), 9)  # killed after the commit, before any chaining pass

    asyncio.run(main())
""")


def test_a_process_killed_between_commit_and_chaining_loses_nothing(url, keyring, tmp_path):
    upgrade(MIGRATIONS, url)

    async def before():
        db, _ = _db(url, keyring)
        async with db.transaction() as session:  # an entry chained before the crash
            await audit.record(session, OFFICER, "read", "application/before", service="rsd")
        await db.dispose()

    asyncio.run(before())
    script = tmp_path / "killed_writer.py"
    script.write_text(_KILLED_WRITER)
    done = subprocess.run([sys.executable, str(script), url, str(tmp_path / "keyring.json")], capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())
    assert done.returncode == -9 and "committed" in done.stdout, done.stderr

    async def after():
        db, chainer = _db(url, keyring)
        assert await _counts(db) == (1, 5)  # committed, not chained
        async with db.session() as session:
            waiting = await audit.verify_chain(session)
        assert waiting.intact and waiting.entries == 1 and waiting.pending == 5
        chainer.start()  # what a service does at start-up: catch up
        await chainer.settle()
        assert await _counts(db) == (6, 0)
        async with db.session() as session:
            report = await audit.verify_chain(session)
            resources = [r[0] for r in await session.execute(select(AuditEntry.resource).order_by(AuditEntry.seq))]
        assert report.intact and report.entries == 6 and report.pending == 0
        assert resources == ["application/before"] + [f"application/killed-{i}" for i in range(5)]
        await chainer.stop()
        await db.dispose()

    asyncio.run(after())


def test_an_intent_forged_in_the_database_is_never_chained(url, keyring):
    upgrade(MIGRATIONS, url)

    async def go():
        db, chainer = _db(url, keyring)
        async with db.transaction() as session:
            await audit.record(session, OFFICER, "read", "application/genuine", service="rsd")
        # Someone with write access to the database, but not the audit key, adds an intent (with or without a MAC).
        async with db.engine.begin() as conn:
            for mac in (None, "k1." + "0" * 48):
                await conn.execute(AuditIntent.__table__.insert().values(
                    at=datetime.now(timezone.utc), subject="officer-16", action="decide", resource="application/forged",
                    outcome="ok", mac=mac))
        await chainer.settle()
        async with db.session() as session:
            report = await audit.verify_chain(session)
            resources = [r[0] for r in await session.execute(select(AuditEntry.resource))]
        assert resources == ["application/genuine"]
        assert not report.intact and report.rejected == 2 and "forged" in report.reason
        assert chainer.rejected == 2
        await db.dispose()

    asyncio.run(go())


def test_a_chained_entry_deleted_later_is_detected(url, keyring):
    """The chain's own guarantee holds for entries that came through intents (the trigger dropped first)."""
    upgrade(MIGRATIONS, url)

    async def go():
        db, _ = _db(url, keyring)
        for i in range(3):
            async with db.transaction() as session:
                await audit.record(session, OFFICER, "read", f"application/{i}", service="rsd")
        async with db.engine.begin() as conn:
            if db.is_sqlite:
                await conn.execute(text("DROP TRIGGER audit_log_no_delete"))
            else:
                await conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
            await conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        async with db.session() as session:
            report = await audit.verify_chain(session)
        assert not report.intact and report.first_broken_seq == 3
        await db.dispose()

    asyncio.run(go())
