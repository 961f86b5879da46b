"""The audit key rotates without breaking `pana audit verify` (issue 15, a known gap: "rotating the audit MAC key
needs a new chain epoch, which is not built").

Each entry's MAC names the key it was made with; verification checks each entry, and each signed checkpoint, with
its own key. Keys only move forward along the chain, so a retired (perhaps leaked) key cannot add entries after a
newer one, and an instance that lacks the newest key refuses to write rather than go back.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path

import pytest
from sqlalchemy import text

from pana_kit import audit, crypto
from pana_kit.auth import Principal
from pana_kit.cli import main as pana
from pana_kit.crypto import Keyring
from pana_kit.db import Database
from pana_kit.migrations import upgrade

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
OFFICER = Principal(subject="officer-17", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())


async def append(path: Path, url: str, n: int, tag: str) -> None:
    """`n` entries written by an instance that loaded the keyring file as it is now (a service restarted)."""
    db = Database(url)
    db.use_audit_key(audit.AuditKey.of(Keyring.from_file(path)))
    async with db.transaction() as session:
        for i in range(n):
            await audit.record(session, OFFICER, "read", f"application/{tag}-{i}", service="rsd")
    await db.dispose()


async def report(path: Path, url: str, checkpoints=None) -> audit.ChainReport:
    db = Database(url)
    async with db.session() as session:
        found = await audit.verify_chain(session, key=audit.AuditKey.of(Keyring.from_file(path)), checkpoints=checkpoints)
    await db.dispose()
    return found


async def macs(url: str) -> list[str]:
    db = Database(url)
    async with db.session() as session:
        found = list((await session.execute(text("SELECT mac FROM audit_log ORDER BY seq"))).scalars())
    await db.dispose()
    return found


def verify_cli(path: Path, url: str, cp: Path) -> list[str]:
    return ["audit", "verify", "--service", "rsd", "--database-url", url, "--keyring-file", str(path),
            "--checkpoint-file", str(cp)]


async def test_a_rotated_audit_key_keeps_the_log_verifying(tmp_path, capsys):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url)
    path, cp = tmp_path / "keyring.json", tmp_path / "cp.jsonl"
    Keyring.generate_file(path, key_id="k1")
    await append(path, url, 3, "before")
    assert await asyncio.to_thread(pana, verify_cli(path, url, cp)) == 0  # a checkpoint signed with the original key
    capsys.readouterr()

    first = crypto.rotate_audit_in_file(path, key_id="a1")
    await append(path, url, 3, "after")
    crypto.rotate_file(path)  # a data-key rotation keeps the audit keys
    second = crypto.rotate_audit_in_file(path, key_id="a2")
    await append(path, url, 2, "later")

    written = await macs(url)
    assert [audit.mac_key_id(m) for m in written] == ["", "", "", first, first, first, second, second]
    assert all(len(m) <= 64 for m in written)
    found = await report(path, url, audit.read_checkpoints(cp))
    assert found.intact and found.entries == 8, found
    # The operator's command: intact, checked against the old checkpoint, and a new one signed with the active key.
    assert await asyncio.to_thread(pana, verify_cli(path, url, cp)) == 0
    assert "intact: 8 entries, checked against 1 signed checkpoint" in capsys.readouterr().out
    checkpoints = audit.read_checkpoints(cp)
    assert [c.get("key_id", "") for c in checkpoints] == ["", second]
    assert (await report(path, url, checkpoints)).intact
    # `pana keys list` shows them; the audit key cannot move back.
    assert await asyncio.to_thread(pana, ["keys", "list", "--service", "rsd", "--keyring-file", str(path)]) == 0
    assert "audit keys a1, a2 (active a2)" in capsys.readouterr().out
    with pytest.raises(crypto.KeyringError, match="only move forward"):
        crypto.activate_audit_in_file(path, first)


async def test_each_entry_is_checked_with_its_own_key_and_a_retired_key_cannot_add_entries(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url)
    path = tmp_path / "keyring.json"
    Keyring.generate_file(path, key_id="k1")
    await append(path, url, 2, "before")
    old = audit.AuditKey.of(Keyring.from_file(path))
    crypto.rotate_audit_in_file(path, key_id="a1")
    await append(path, url, 2, "after")
    assert (await report(path, url)).intact

    db = Database(url)
    # An entry appended with the old key after entries with the new one (what a leaked, retired key would allow):
    # its hash chain and MAC are right for the old key, and it is still a break.
    async with db.transaction() as session:
        await session.execute(text("DROP TRIGGER audit_log_no_update"))
        await session.execute(text("DROP TRIGGER audit_log_no_delete"))
        head = (await session.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"))).one()
        from datetime import datetime, timezone
        at = datetime.now(timezone.utc)
        fields = dict(subject="intruder", client_id=None, role=None, action="read", resource="application/x",
                      purpose=None, outcome="ok", trace_id=None)
        digest = audit.entry_hash(head.hash, at=at, **fields)
        await session.execute(text("INSERT INTO audit_log (seq, at, subject, client_id, role, action, resource, purpose, "
                                   "outcome, trace_id, prev_hash, hash, mac) VALUES (:seq, :at, :subject, :client_id, "
                                   ":role, :action, :resource, :purpose, :outcome, :trace_id, :prev, :hash, :mac)"),
                              {**fields, "seq": head.seq + 1, "at": at, "prev": head.hash, "hash": digest,
                               "mac": old.mac(head.seq + 1, digest)})
    found = await report(path, url)
    assert not found.intact and found.first_broken_seq == 5 and "older than an earlier entry" in found.reason
    # An entry that names the new key but whose MAC was made with another key: changed.
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM audit_log WHERE seq = 5"))
        mac = (await session.execute(text("SELECT mac FROM audit_log WHERE seq = 4"))).scalar_one()
        forged = "a1." + hmac.new(b"x" * 32, b"4", hashlib.sha256).hexdigest()[:48]
        await session.execute(text("UPDATE audit_log SET mac = :m WHERE seq = 4"), {"m": forged})
    assert not (await report(path, url)).intact
    async with db.transaction() as session:
        await session.execute(text("UPDATE audit_log SET mac = :m WHERE seq = 4"), {"m": mac})
    assert (await report(path, url)).intact
    # A key the provider does not hold: named in the report.
    async with db.transaction() as session:
        await session.execute(text("UPDATE audit_log SET mac = :m WHERE seq = 4"), {"m": "zz." + mac.split(".")[1]})
    found = await report(path, url)
    assert not found.intact and "'zz'" in found.reason
    await db.dispose()


async def test_a_staged_rotation_never_writes_with_an_older_key_and_refuses_without_the_newest(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'rsd.db'}"
    upgrade(MIGRATIONS, url)
    path = tmp_path / "keyring.json"
    Keyring.generate_file(path, key_id="k1")
    lagging = audit.AuditKey.of(Keyring.from_file(path))  # an instance that has not got the new file yet
    crypto.rotate_audit_in_file(path, key_id="a1", activate=False)  # step 1: distributed, not active
    distributed = audit.AuditKey.of(Keyring.from_file(path))
    crypto.activate_audit_in_file(path, "a1")  # step 2: one instance restarts with it active
    await append(path, url, 1, "moved-on")

    db = Database(url)
    db.use_audit_key(distributed)  # holds a1, still has the original active: follows the log forward
    async with db.transaction() as session:
        await audit.record(session, OFFICER, "read", "application/distributed", service="rsd")
    assert [audit.mac_key_id(m) for m in await macs(url)] == ["a1", "a1"]
    db.use_audit_key(lagging)  # never got a1: refuses rather than write an entry the log would reject
    with pytest.raises(audit.AuditKeyError, match="'a1'"):
        async with db.transaction() as session:
            await audit.record(session, OFFICER, "read", "application/lagging", service="rsd")
    await db.dispose()
    assert (await report(path, url)).intact and (await report(path, url)).entries == 2
