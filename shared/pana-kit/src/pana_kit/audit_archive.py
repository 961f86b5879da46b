"""The audit log by month on PostgreSQL: monthly partitions made ahead of time, and archiving old months.

`audit_log` is partitioned by range of `at` (migration_ops `partition_audit_log_by_month`), one partition a month
(`audit_log_YYYY_MM`) and a default one for anything outside them. Each service makes the partitions of the
coming months at start-up and once a day (`ensure_partitions`), so the default one stays empty. Entries' times
never go back along the chain (pana_kit.audit `_chained`), so a month is a run of seqs.

`archive_months` (`pana audit archive --before YYYY-MM`) takes the oldest month, when it is entirely before the
given one and does not hold the chain's head: it verifies the whole chain first, writes the month's entries as
JSON lines to an archive file (a header, the entries in seq order, and the signed seal: a checkpoint of the
month's last entry), reads the file back and verifies it against the audit key, appends the seal to the
checkpoint file, and only then detaches and drops the partition. The log in the database then begins after the
seal, which `verify_chain` accepts (a seal is signed with the audit key, so nobody without it can drop a month
and pretend it was archived); `pana audit verify --archive FILE...` verifies the archived months and the
database as one chain. SQLite keeps one table and has nothing to archive.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import text

from . import audit

_PARTITION = re.compile(r"^audit_log_(\d{4})_(\d{2})$")
_COLUMNS = ("seq", "at", "subject", "client_id", "role", "action", "resource", "purpose", "outcome", "trace_id",
            "prev_hash", "hash", "mac")


def month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def partition_ddl(year: int, month: int) -> list[str]:
    """The statements that make one month's partition (append-only as its parent: TRUNCATE refused too)."""
    name = f"audit_log_{year:04d}_{month:02d}"
    start, end = month_start(year, month), month_start(year, month + 1)
    return [f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF audit_log "
            f"FOR VALUES FROM ('{start.isoformat()} 00:00:00+00') TO ('{end.isoformat()} 00:00:00+00')",
            f"DROP TRIGGER IF EXISTS {name}_no_truncate ON {name}",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            "FOR EACH STATEMENT EXECUTE FUNCTION pana_audit_log_append_only()"]


async def is_partitioned(session) -> bool:
    if session.bind.dialect.name != "postgresql":
        return False
    found = await session.execute(text("SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                       "WHERE c.relname = 'audit_log' AND pg_table_is_visible(c.oid)"))
    return found.first() is not None


async def partitions(session) -> list[tuple[int, int, str]]:
    """(year, month, name) of each monthly partition, oldest first."""
    rows = await session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'audit_log' AND pg_table_is_visible(p.oid)"))
    out = []
    for (name,) in rows:
        if m := _PARTITION.match(name):
            out.append((int(m[1]), int(m[2]), name))
    return sorted(out)


async def ensure_partitions(db, *, months_ahead: int = 3, today: date | None = None) -> list[str]:
    """Make the partitions of this month and the next `months_ahead` (PostgreSQL, partitioned log); the names
    made now."""
    today = today or datetime.now(timezone.utc).date()
    made = []
    async with db.transaction() as session:
        if not await is_partitioned(session):
            return []
        have = {name for _y, _m, name in await partitions(session)}
        for ahead in range(months_ahead + 1):
            start = month_start(today.year, today.month + ahead)
            name = f"audit_log_{start.year:04d}_{start.month:02d}"
            if name not in have:
                for statement in partition_ddl(start.year, start.month):
                    await session.execute(text(statement))
                made.append(name)
    return made


def partition_job(interval_seconds: float = 86_400.0):
    """A background job (ServiceDefinition.background): the coming months' partitions, at start and daily."""
    import asyncio
    import logging

    log = logging.getLogger("pana.audit")

    async def audit_partitions(app) -> None:
        while True:
            try:
                made = await ensure_partitions(app.state.db)
                if made:
                    log.info("audit log partitions made: %s", ", ".join(made))
            except Exception:
                log.exception("audit log partitions not made; tried again later")
            await asyncio.sleep(interval_seconds)

    return audit_partitions


# -- archive files --------------------------------------------------------------------------------------------

def _row_json(row) -> dict:
    out = {c: getattr(row, c) for c in _COLUMNS}
    out["at"] = audit._aware(out["at"]).isoformat()
    return out


def write_archive(path: Path, *, service: str, month: str, rows: list, seal: dict) -> None:
    """Header, entries in seq order, seal; fsynced, mode 0600, refused when the file exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"kind": "pana-audit-archive-v1", "service": service, "month": month,
                             "first_seq": rows[0].seq, "last_seq": rows[-1].seq, "entries": len(rows)}) + "\n")
        for row in rows:
            fh.write(json.dumps(_row_json(row), separators=(",", ":")) + "\n")
        fh.write(json.dumps({"kind": "seal", **seal}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_archive(path: Path | str, key: audit.AuditKey | None) -> list:
    """The entries of an archive file, after checking its seal's signature and that the seal names its last
    entry (ValueError otherwise). The entries' chain is checked by the caller's walk (`verify_chain`)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if len(lines) < 3:
        raise ValueError("not an audit archive (too short)")
    header, *body, seal_line = (json.loads(line) for line in lines)
    if header.get("kind") != "pana-audit-archive-v1":
        raise ValueError("not an audit archive (no header)")
    seal = {k: v for k, v in seal_line.items() if k != "kind"}
    if seal_line.get("kind") != "seal" or key is None or not audit.checkpoint_signature_ok(seal, key):
        raise ValueError("the archive's seal does not verify with the audit key")
    if seal.get("sealed_month") != header["month"]:
        raise ValueError("the seal is not the archive's month")
    entries = []
    for item in body:
        item["at"] = datetime.fromisoformat(item["at"])
        entries.append(SimpleNamespace(**item))
    if len(entries) != header["entries"] or not entries:
        raise ValueError(f"the archive holds {len(entries)} entries, its header says {header['entries']}")
    if entries[-1].seq != seal["seq"] or entries[-1].hash != seal["hash"]:
        raise ValueError("the seal does not name the archive's last entry: entries were removed or changed")
    return entries


@dataclass
class Archived:
    month: str
    path: Path | None
    entries: int
    first_seq: int | None
    last_seq: int | None
    seal: dict | None = None


class ArchiveRefused(RuntimeError):
    """Archiving stopped; `done` holds the months archived before it did."""

    def __init__(self, message: str, done: list | None = None):
        super().__init__(message)
        self.done = done or []


async def archive_months(db, *, before: str, service: str, key: audit.AuditKey, out_dir: Path,
                         checkpoint_file: Path, checkpoints: list[dict]) -> list[Archived]:
    """Archive every month's partition entirely before `before` (YYYY-MM), oldest first (see the module's
    docstring). Refuses (ArchiveRefused) when the log is not partitioned, does not verify, or a month holds the
    chain's head or is not a run of seqs at the start of the log."""
    year, month = (int(part) for part in before.split("-"))
    limit = (year, month)
    done: list[Archived] = []
    async with db.session() as session:
        if not await is_partitioned(session):
            raise ArchiveRefused("the audit log is not partitioned by month (PostgreSQL after the migration only)")
        report = await audit.verify_chain(session, key=key, checkpoints=checkpoints)
        if not report.intact:
            raise ArchiveRefused(f"the audit chain does not verify (entry {report.first_broken_seq}: "
                                 f"{report.reason}); nothing archived")
        months = [(y, m, name) for y, m, name in await partitions(session) if (y, m) < limit]
    out_dir.mkdir(parents=True, exist_ok=True)
    for y, m, name in months:
        try:
            done.append(await _archive_month(db, y, m, name, service=service, key=key, out_dir=out_dir,
                                             checkpoint_file=checkpoint_file, checkpoints=checkpoints))
        except ArchiveRefused as exc:
            raise ArchiveRefused(str(exc), done) from None
        if done[-1].path is not None:
            checkpoints = checkpoints + [done[-1].seal]
    return done


async def _archive_month(db, y: int, m: int, name: str, *, service: str, key: audit.AuditKey, out_dir: Path,
                         checkpoint_file: Path, checkpoints: list[dict]) -> Archived:
    select_cols = ", ".join(_COLUMNS)
    seal = None
    label = f"{y:04d}-{m:02d}"
    async with db.session() as session:
        rows = list((await session.execute(text(f"SELECT {select_cols} FROM {name} ORDER BY seq"))).all())
        first_elsewhere = (await session.execute(text(
            f"SELECT min(seq) FROM audit_log WHERE tableoid <> '{name}'::regclass"))).scalar()
        head = (await session.execute(text("SELECT max(seq) FROM audit_log"))).scalar()
    if rows:
        if rows[-1].seq == head:
            raise ArchiveRefused(f"{label} holds the chain's newest entry; it is archived once a later "
                                 "month has entries")
        if first_elsewhere is not None and first_elsewhere < rows[-1].seq:
            raise ArchiveRefused(f"{label}'s entries are not a run of seqs at the start of the log (entry "
                                 f"{first_elsewhere} is in another partition); nothing more archived")
        seal = audit.signed_checkpoint(service=service, seq=rows[-1].seq, head_hash=rows[-1].hash, key=key,
                                       sealed_month=label)
        path = out_dir / f"{service}-audit-{label}.jsonl"
        write_archive(path, service=service, month=label, rows=rows, seal=seal)
        archived = read_archive(path, key)  # read back: what is dropped must be in the file, sealed
        if [(e.seq, e.hash) for e in archived] != [(r.seq, r.hash) for r in rows]:
            raise ArchiveRefused(f"{path} does not read back as written; {label} kept")
        audit.append_checkpoint(checkpoint_file, seal)
        checkpoints = checkpoints + [seal]
        async with db.session() as session:  # the database and the archives, as one chain
            whole = await audit.verify_chain(session, key=key, checkpoints=checkpoints, archives=[path])
        if not whole.intact:
            raise ArchiveRefused(f"{label}: the archive and the log do not verify as one chain "
                                 f"({whole.reason}); {label} kept")
    else:
        path = None
    async with db.transaction() as session:
        await session.execute(text(f"ALTER TABLE audit_log DETACH PARTITION {name}"))
        await session.execute(text(f"DROP TABLE {name}"))
    return Archived(label, path, len(rows), rows[0].seq if rows else None, rows[-1].seq if rows else None, seal)
