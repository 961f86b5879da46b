"""The audit log is tamper-evident against someone who can write the database (issue 15).

Each of deletion, edit and re-chaining (delete entries, recompute every later hash) is detected by
`pana audit verify`, on SQLite and on PostgreSQL with the service's own migrations (which also make the
log append-only: UPDATE and DELETE are refused until the attacker drops the triggers). A plain SHA-256
chain, as before, verified the re-chained log as intact.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from pana_kit import audit
from pana_kit.auth import Principal
from pana_kit.cli import main as pana
from pana_kit.crypto import Keyring
from pana_kit.db import Database
from pana_kit.migrations import upgrade

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
OFFICER = Principal(subject="officer-17", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())


@pytest.fixture
def keyring(tmp_path) -> Keyring:
    return Keyring.generate_file(tmp_path / "keyring.json", key_id="k1")


async def seeded(url: str, keyring: Keyring, n: int = 10) -> Database:
    upgrade(MIGRATIONS, url)
    db = Database(url)
    db.use_audit_key(audit.AuditKey.of(keyring))
    async with db.transaction() as session:
        for i in range(n):
            await audit.record(session, OFFICER, "read", f"application/{i:04d}", purpose="case-work", service="rsd")
    return db


async def as_attacker(db: Database, *statements: str) -> None:
    """Run statements as the database's owner would: first drop what makes the log append-only."""
    async with db.transaction() as session:
        if db.is_sqlite:
            await session.execute(text("DROP TRIGGER audit_log_no_update"))
            await session.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            await session.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        for statement in statements:
            await session.execute(text(statement))


async def rechain(db: Database, *, renumber: bool) -> None:
    """Recompute every hash from genesis (what defeated the plain SHA-256 chain); optionally close the seq gap."""
    async with db.transaction() as session:
        rows = (await session.execute(text("SELECT * FROM audit_log ORDER BY seq"))).mappings().all()
        await session.execute(text("DELETE FROM audit_log"))
        prev = audit.GENESIS
        for i, row in enumerate(rows, start=1):
            at = row["at"] if not isinstance(row["at"], str) else __import__("datetime").datetime.fromisoformat(row["at"])
            at = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
            fields = {k: row[k] for k in ("subject", "client_id", "role", "action", "resource", "purpose", "outcome",
                                          "trace_id")}
            digest = audit.entry_hash(prev, at=at, **fields)
            await session.execute(text("INSERT INTO audit_log (seq, at, subject, client_id, role, action, resource, "
                                       "purpose, outcome, trace_id, prev_hash, hash, mac) VALUES (:seq, :at, :subject, "
                                       ":client_id, :role, :action, :resource, :purpose, :outcome, :trace_id, :prev, "
                                       ":hash, :mac)"),
                                  {**fields, "seq": i if renumber else row["seq"], "at": at, "prev": prev,
                                   "hash": digest, "mac": row["mac"]})
            prev = digest


async def verify(db: Database, keyring: Keyring, checkpoints=None) -> audit.ChainReport:
    async with db.session() as session:
        return await audit.verify_chain(session, key=audit.AuditKey.of(keyring), checkpoints=checkpoints)


async def test_an_intact_keyed_log_verifies_with_contiguous_seqs(url, keyring):
    db = await seeded(url, keyring)
    report = await verify(db, keyring)
    assert report.intact and report.entries == 10 and report.unkeyed == 0 and report.head_seq == 10
    async with db.session() as session:
        seqs = (await session.execute(text("SELECT seq FROM audit_log ORDER BY seq"))).scalars().all()
        macs = (await session.execute(text("SELECT mac FROM audit_log"))).scalars().all()
    assert seqs == list(range(1, 11)) and all(m and len(m) == 64 for m in macs)
    # Without the audit key (which the database does not hold) a keyed log does not verify.
    keyless = Database(url)
    async with keyless.session() as session:
        assert not (await audit.verify_chain(session)).intact
    await keyless.dispose()
    await db.dispose()


async def test_the_database_refuses_update_and_delete_on_the_log(url, keyring):
    db = await seeded(url, keyring, 3)
    for statement in ("UPDATE audit_log SET resource = 'x' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text(statement))
    if not db.is_sqlite:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.transaction() as session:
                await session.execute(text("TRUNCATE audit_log"))
    assert (await verify(db, keyring)).intact
    await db.dispose()


async def test_an_edit_is_detected_even_with_its_hash_recomputed(url, keyring):
    db = await seeded(url, keyring)
    await as_attacker(db, "UPDATE audit_log SET resource = 'application/9999' WHERE seq = 4")
    report = await verify(db, keyring)
    assert not report.intact and report.first_broken_seq == 4 and "changed" in report.reason
    await rechain(db, renumber=False)  # the edit with every hash recomputed
    report = await verify(db, keyring)
    assert not report.intact and report.first_broken_seq == 4 and "MAC" in report.reason
    await db.dispose()


async def test_a_deletion_is_detected(url, keyring):
    db = await seeded(url, keyring)
    await as_attacker(db, "DELETE FROM audit_log WHERE seq = 5")
    report = await verify(db, keyring)
    assert not report.intact and report.first_broken_seq == 6 and "removed" in report.reason
    await db.dispose()


@pytest.mark.parametrize("renumber", [False, True], ids=["gap", "renumbered"])
async def test_deleting_three_entries_and_rechaining_the_rest_does_not_verify(url, keyring, renumber):
    db = await seeded(url, keyring)
    await as_attacker(db, "DELETE FROM audit_log WHERE seq IN (4, 5, 6)")
    await rechain(db, renumber=renumber)
    async with db.session() as session:  # the plain chain now holds: the check that used to pass
        rows = (await session.execute(text("SELECT prev_hash, hash FROM audit_log ORDER BY seq"))).all()
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, len(rows)))
    report = await verify(db, keyring)
    assert not report.intact and report.first_broken_seq == (4 if renumber else 7)
    assert ("missing" if not renumber else "MAC") in report.reason
    await db.dispose()


async def test_a_removed_tail_shows_against_the_signed_checkpoint(url, keyring, tmp_path):
    db = await seeded(url, keyring)
    key = audit.AuditKey.of(keyring)
    cp_file = tmp_path / "checkpoints.jsonl"
    audit.write_checkpoint(cp_file, service="rsd", report=await verify(db, keyring), key=key)
    [cp] = audit.read_checkpoints(cp_file)
    assert (cp["seq"], cp["hash"]) == ((await verify(db, keyring)).head_seq, (await verify(db, keyring)).head_hash)
    assert (await verify(db, keyring, audit.read_checkpoints(cp_file))).intact

    await as_attacker(db, "DELETE FROM audit_log WHERE seq IN (8, 9, 10)")  # a tail: the chain alone still holds
    assert (await verify(db, keyring)).intact
    report = await verify(db, keyring, audit.read_checkpoints(cp_file))
    assert not report.intact and report.first_broken_seq == 10 and "checkpoint" in report.reason

    forged = {**cp, "seq": 7}  # a checkpoint edited to match the shortened log: its signature fails
    cp_file.write_text(json.dumps(forged) + "\n")
    assert not (await verify(db, keyring, audit.read_checkpoints(cp_file))).intact
    await db.dispose()


async def test_pana_audit_verify_reports_each_tampering(tmp_path, keyring, capsys):
    """The operator's command: intact (and a checkpoint written), then broken by a re-chained deletion."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    db = await seeded(url, keyring)
    args = ["audit", "verify", "--service", "rsd", "--database-url", url, "--keyring-file", str(tmp_path / "keyring.json"),
            "--checkpoint-file", str(tmp_path / "cp.jsonl")]
    assert await asyncio.to_thread(pana, args) == 0
    assert "intact: 10 entries" in capsys.readouterr().out and len(audit.read_checkpoints(tmp_path / "cp.jsonl")) == 1
    await as_attacker(db, "DELETE FROM audit_log WHERE seq IN (4, 5, 6)")
    await rechain(db, renumber=True)
    assert await asyncio.to_thread(pana, args) == 1
    assert "BROKEN at entry 4" in capsys.readouterr().out
    await db.dispose()


async def test_entries_written_before_keying_are_accepted_only_as_a_prefix(tmp_path, keyring):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url)
    db = Database(url)  # no key: entries as written before this change (mac NULL)
    async with db.transaction() as session:
        for i in range(3):
            await audit.record(session, OFFICER, "read", f"application/{i}", service="rsd")
    db.use_audit_key(audit.AuditKey.of(keyring))
    db2 = Database(url)
    db2.use_audit_key(audit.AuditKey.of(keyring))
    async with db2.transaction() as session:
        await audit.record(session, OFFICER, "read", "application/keyed", service="rsd")
    report = await verify(db2, keyring)
    assert report.intact and report.unkeyed == 3 and report.entries == 4
    async with Database(url).transaction() as session:  # an unkeyed entry after a keyed one: rewritten
        await audit.record(session, OFFICER, "read", "application/unkeyed", service="rsd")
    report = await verify(db2, keyring)
    assert not report.intact and report.first_broken_seq == 5
    await db.dispose()
    await db2.dispose()


# -- group commit: the audit writer ------------------------------------------------------------------

async def test_entries_written_in_batches_keep_the_keyed_chain(url, keyring):
    """Verifications queued with the writer, interleaved with entries appended in command transactions,
    make one intact keyed chain with contiguous seqs; nothing queued is lost on stop."""
    db = await seeded(url, keyring, n=3)
    writer = audit.AuditWriter(db, "rsd", max_batch=7)
    writer.start()
    for i in range(40):
        writer.submit(OFFICER, "verify", f"document/{i:04d}", purpose="verification", outcome="valid")
        if i % 9 == 0:
            async with db.transaction() as session:
                await audit.record(session, OFFICER, "update", f"application/{i:04d}", service="rsd")
    await writer.flush()
    assert writer.pending == 0
    for i in range(25):  # queued and never waited for: stop writes them
        writer.submit(OFFICER, "verify", f"document/late-{i}", purpose="verification")
    await writer.stop()
    report = await verify(db, keyring)
    assert report.intact, report
    assert report.entries == 3 + 40 + 5 + 25 and report.head_seq == report.entries and report.unkeyed == 0
    async with db.session() as session:
        resources = (await session.execute(text("SELECT resource FROM audit_log WHERE action = 'verify' "
                                                "ORDER BY seq"))).scalars().all()
    assert resources == [f"document/{i:04d}" for i in range(40)] + [f"document/late-{i}" for i in range(25)]
    await db.dispose()


async def test_the_writers_sqlite_batch_stores_what_the_core_insert_stored(tmp_path, keyring):
    """On SQLite the writer's batch is one executemany of the driver's statement: every column of every row, the
    time's text included, is what SQLAlchemy's Core insert of the same chained rows stores, and the chain verifies."""
    from sqlalchemy import select

    from pana_kit.tables import AuditEntry

    db = await seeded(f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}", keyring, n=2)
    writer = audit.AuditWriter(db, "rsd")
    for i in range(30):
        writer.submit(OFFICER if i % 3 else None, "verify", f"document/{i:04d}", purpose=None if i % 4 else "x",
                      outcome="valid")
    await writer.stop()
    assert (await verify(db, keyring)).intact
    raw = "SELECT * FROM audit_log ORDER BY seq"
    async with db.session() as session:
        written = (await session.execute(text(raw))).all()
        entries = (await session.execute(select(AuditEntry).order_by(AuditEntry.seq))).scalars().all()
    assert len(written) == 32 and written[2][1] != written[1][1]
    # the same rows inserted through SQLAlchemy's Core insert, as the writer did before, into an empty copy
    copy = Database(f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}")
    async with copy.engine.begin() as connection:
        await connection.run_sync(lambda sync: AuditEntry.__table__.create(sync))
        await connection.execute(AuditEntry.__table__.insert(), [
            {column: getattr(entry, column) for column in audit._CHAIN_COLUMNS} for entry in entries])
        assert (await connection.execute(text(raw))).all() == written
    await copy.dispose()
    await db.dispose()


async def test_a_tampered_batch_entry_is_detected(url, keyring):
    db = await seeded(url, keyring, n=2)
    writer = audit.AuditWriter(db, "rsd")
    for i in range(5):
        writer.submit(OFFICER, "verify", f"document/{i}", purpose="verification")
    await writer.stop()  # never started: stop writes the queue itself
    assert (await verify(db, keyring)).intact
    await as_attacker(db, "UPDATE audit_log SET outcome = 'unknown' WHERE seq = 5")
    report = await verify(db, keyring)
    assert not report.intact and report.first_broken_seq == 5
    await db.dispose()


async def test_a_crashed_writers_journal_is_appended_once_at_the_next_start(url, keyring, tmp_path):
    """With a journal, an entry queued but not committed when the process died is appended by the next start;
    a batch that committed before the crash (its segment not yet deleted) is not appended twice; a segment a
    live writer holds is left alone."""
    db = await seeded(url, keyring, n=2)
    journal = tmp_path / "journal"
    crashed = audit.AuditWriter(db, "rsd", journal_dir=journal)
    for i in range(3):
        crashed.submit(OFFICER, "verify", f"document/committed-{i}", purpose="verification")
    crashed.journal.committed = lambda: None  # dies after the commit, before deleting the segment
    await crashed.write_batch()
    for i in range(4):
        crashed.submit(OFFICER, "verify", f"document/lost-{i}", purpose="verification")
    crashed.journal.close()  # the process is gone: its segments stay, their locks are released
    assert len(list(journal.glob("*.jsonl"))) == 2

    alive = audit.AuditWriter(db, "rsd", journal_dir=journal)
    alive.submit(OFFICER, "verify", "document/live", purpose="verification")  # its segment is held
    restarted = audit.AuditWriter(db, "rsd", journal_dir=journal)
    assert await restarted.recover() == 4
    await restarted.stop()
    await alive.stop()
    report = await verify(db, keyring)
    assert report.intact and report.entries == 2 + 3 + 4 + 1
    async with db.session() as session:
        resources = (await session.execute(text("SELECT resource FROM audit_log WHERE action = 'verify' "
                                                "ORDER BY seq"))).scalars().all()
    assert resources == [f"document/committed-{i}" for i in range(3)] + [f"document/lost-{i}" for i in range(4)] + [
        "document/live"]
    assert not journal.exists()  # every segment committed and deleted, the directory removed
    await db.dispose()


async def test_a_batch_whose_commit_went_unanswered_is_not_written_twice(url, keyring):
    """The connection drops after COMMIT reached the database: the batch stays queued (nothing acknowledged is
    lost) and the next attempt finds it committed instead of appending it again."""
    from contextlib import asynccontextmanager

    db = await seeded(url, keyring, n=2)
    writer = audit.AuditWriter(db, "rsd")
    for i in range(3):
        writer.submit(OFFICER, "verify", f"document/{i}", purpose="verification")
    if db.is_sqlite:
        transaction = db.transaction

        @asynccontextmanager
        async def committed_then_dropped():
            async with transaction() as session:
                yield session
            raise ConnectionError("the answer to COMMIT never came")

        db.transaction = committed_then_dropped
    else:
        held = db.held("audit")
        run = held.run

        async def committed_then_dropped(work):
            await run(work)
            raise ConnectionError("the answer to COMMIT never came")

        held.run = committed_then_dropped
    with pytest.raises(ConnectionError):
        await writer.write_batch()
    assert writer.pending == 3
    writer.submit(OFFICER, "verify", "document/after", purpose="verification")  # queued while the writer waited
    if db.is_sqlite:
        db.transaction = transaction
    else:
        held.run = run
    assert await writer.write_batch() == 4 and writer.pending == 0
    report = await verify(db, keyring)
    assert report.intact and report.entries == 2 + 4
    async with db.session() as session:
        resources = (await session.execute(text("SELECT resource FROM audit_log WHERE action = 'verify' "
                                                "ORDER BY seq"))).scalars().all()
    assert resources == [f"document/{i}" for i in range(3)] + ["document/after"]
    await db.dispose()
