"""The audit log by month on PostgreSQL (issue 17): monthly partitions, `pana audit archive --before YYYY-MM`
(export, seal, verify, then drop) and `pana audit verify` across the database and the archive files.

Dropping a month without archiving it (no seal signed with the audit key), or changing an archived entry in its
file, is detected; the archived months and the database verify as one chain. SQLite keeps one table.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from pana_kit import audit
from pana_kit.audit_archive import ensure_partitions, is_partitioned, partitions
from pana_kit.auth import Principal
from pana_kit.cli import main as pana
from pana_kit.crypto import Keyring
from pana_kit.db import Database
from pana_kit.migrations import upgrade
from pana_kit.tables import AuditEntry

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
OFFICER = Principal(subject="officer-17", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())


@pytest.fixture
def keyring(audit_keyring) -> Keyring:
    return audit_keyring


async def _append(db: Database, at: datetime, resource: str) -> None:
    """An entry at a given time (as the chain appends it), for months other than this one."""
    async with db.transaction() as session:
        last_seq, prev, key, floor = await audit._head(session)
        fields = {**audit._fields(OFFICER, "read", resource, "case-work", "ok"), "at": at}
        await session.execute(AuditEntry.__table__.insert(), [audit._chained(last_seq + 1, prev, fields, key, floor)])


def _cli(tmp_path: Path, url: str, *args: str) -> int:
    return pana(["audit", *args, "--service", "rsd", "--database-url", url, "--keyring-file",
                 str(tmp_path / "keyring.json"), "--checkpoint-file", str(tmp_path / "checkpoints.jsonl")])


def _history(url: str, keyring: Keyring) -> None:
    """Entries in January and February 2020 (3 and 2) and one now, through the keyed chain."""
    async def go():
        db = Database(url)
        db.use_audit_key(audit.AuditKey.of(keyring))
        await ensure_partitions(db, today=date(2020, 1, 1), months_ahead=1)
        for day in (3, 14, 30):
            await _append(db, datetime(2020, 1, day, 12, tzinfo=timezone.utc), f"application/jan-{day}")
        for day in (2, 27):
            await _append(db, datetime(2020, 2, day, 12, tzinfo=timezone.utc), f"application/feb-{day}")
        async with db.transaction() as session:
            await audit.record(session, OFFICER, "read", "application/now", service="rsd")
        await db.dispose()

    asyncio.run(go())


def test_archive_then_verify_across_the_database_and_the_archive_files(pg_url, keyring, tmp_path, capsys):
    upgrade(MIGRATIONS, pg_url)
    _history(pg_url, keyring)

    async def state():
        db = Database(pg_url)
        async with db.session() as session:
            found = await is_partitioned(session), [n for _y, _m, n in await partitions(session)]
            count = (await session.execute(select(func.count()).select_from(AuditEntry))).scalar()
        await db.dispose()
        return found, count

    (partitioned, names), count = asyncio.run(state())
    assert partitioned and {"audit_log_2020_01", "audit_log_2020_02"} <= set(names) and count == 6
    assert _cli(tmp_path, pg_url, "verify") == 0  # and a checkpoint of the head, seq 6
    capsys.readouterr()

    assert _cli(tmp_path, pg_url, "archive", "--before", "2020-03", "--out-dir", str(tmp_path / "archive")) == 0
    said = capsys.readouterr().out
    assert "2020-01: 3 entries (seq 1..3)" in said and "2020-02: 2 entries (seq 4..5)" in said
    (_, names), count = asyncio.run(state())
    assert "audit_log_2020_01" not in names and "audit_log_2020_02" not in names and count == 1
    jan = tmp_path / "archive" / "rsd-audit-2020-01.jsonl"
    feb = tmp_path / "archive" / "rsd-audit-2020-02.jsonl"
    lines = jan.read_text().splitlines()
    assert json.loads(lines[0])["entries"] == 3 and json.loads(lines[-1])["sealed_month"] == "2020-01"

    # The database alone begins after February's seal; with the files, the whole history is one chain.
    assert _cli(tmp_path, pg_url, "verify", "--no-checkpoint") == 0
    assert "1 entries" in capsys.readouterr().out
    assert _cli(tmp_path, pg_url, "verify", "--no-checkpoint", "--archive", str(jan), "--archive", str(feb)) == 0
    assert "6 entries (2 archive file(s) and the database)" in capsys.readouterr().out

    # An archived entry changed in its file is caught.
    entry = json.loads(lines[2])
    entry["resource"] = "application/someone-else"
    jan.write_text("\n".join([*lines[:2], json.dumps(entry), *lines[3:]]) + "\n")
    assert _cli(tmp_path, pg_url, "verify", "--no-checkpoint", "--archive", str(jan), "--archive", str(feb)) == 1
    assert "content does not match its hash" in capsys.readouterr().out


def test_a_month_dropped_without_archiving_is_detected(pg_url, keyring, tmp_path, capsys):
    upgrade(MIGRATIONS, pg_url)
    _history(pg_url, keyring)
    assert _cli(tmp_path, pg_url, "archive", "--before", "2020-02", "--out-dir", str(tmp_path / "archive")) == 0
    assert _cli(tmp_path, pg_url, "verify") == 0
    capsys.readouterr()

    async def drop_february():  # someone with the database's owner rights, no audit key
        db = Database(pg_url)
        async with db.engine.begin() as conn:
            await conn.execute(text("ALTER TABLE audit_log DETACH PARTITION audit_log_2020_02"))
            await conn.execute(text("DROP TABLE audit_log_2020_02"))
        await db.dispose()

    asyncio.run(drop_february())
    assert _cli(tmp_path, pg_url, "verify", "--no-checkpoint") == 1
    assert "BROKEN at entry 6" in capsys.readouterr().out


def test_the_newest_month_and_sqlite_are_not_archived(pg_url, keyring, tmp_path, capsys):
    upgrade(MIGRATIONS, pg_url)
    _history(pg_url, keyring)
    far = f"{date.today().year + 1}-01"
    assert _cli(tmp_path, pg_url, "archive", "--before", far, "--out-dir", str(tmp_path / "archive")) == 1
    said = capsys.readouterr().out
    assert "2020-01: 3 entries" in said and "2020-02: 2 entries" in said  # the months before it were archived
    assert "holds the chain's newest entry" in said
    assert _cli(tmp_path, pg_url, "verify", "--no-checkpoint") == 0
    capsys.readouterr()

    sqlite = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, sqlite)
    assert _cli(tmp_path, sqlite, "archive", "--before", "2020-02") == 1
    assert "not partitioned" in capsys.readouterr().out


def test_the_migration_keeps_the_chain_both_ways(pg_url, keyring, tmp_path, capsys):
    """Entries written before the log is partitioned are copied into the months (and back on downgrade)."""
    from alembic import command

    from pana_kit.migrations import alembic_config

    command.upgrade(alembic_config(MIGRATIONS, pg_url), "0010")  # rsd: audit intents, one audit_log table
    asyncio.run(_one_table_history(pg_url, keyring))
    assert _cli(tmp_path, pg_url, "verify") == 0
    upgrade(MIGRATIONS, pg_url)
    assert _cli(tmp_path, pg_url, "verify") == 0
    assert "3 entries" in capsys.readouterr().out

    async def partitioned() -> bool:
        db = Database(pg_url)
        async with db.session() as session:
            found = await is_partitioned(session)
        await db.dispose()
        return found

    assert asyncio.run(partitioned())
    command.downgrade(alembic_config(MIGRATIONS, pg_url), "0010")
    assert not asyncio.run(partitioned())
    assert _cli(tmp_path, pg_url, "verify", "--no-checkpoint") == 0


async def _one_table_history(url: str, keyring: Keyring) -> None:
    db = Database(url)
    db.use_audit_key(audit.AuditKey.of(keyring))
    for i in range(3):
        async with db.transaction() as session:
            await audit.record(session, OFFICER, "read", f"application/{i}", service="rsd")
    await db.dispose()
