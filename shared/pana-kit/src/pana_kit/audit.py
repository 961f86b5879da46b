"""Append-only, tamper-evident audit log: who did what to which record, why, and when.

Three layers, each catching what the one before cannot:

1. A hash chain: each entry's `hash` covers its content and the previous entry's hash, so
   changing or deleting a row breaks the chain at that point.
2. A keyed MAC per entry: `mac` = HMAC-SHA256 over (seq, hash) with the audit key, which comes
   from the service's key provider (`Keyring.secret("audit-chain")`) and is never in the
   database. Whoever can write the database can recompute plain hashes ("re-chain" after
   deleting rows) but not the MACs. Keyed entries have contiguous seqs (seq = previous + 1,
   taken under the append lock), so a removed row shows even where its neighbours were
   re-chained. Entries written before the MAC existed (`mac` NULL) are accepted only as a
   prefix: an unkeyed entry after a keyed one is a break.
   The audit key rotates (`pana keys rotate-audit`): each entry's `mac` names the key it was made with
   (`<key id>.<HMAC truncated to 192 bits>`; a bare 64-hex MAC is the original key, derived from the MAC
   root), and `verify_chain` checks each entry with its own key. Keys only move forward along the chain: an
   entry with an older key after a newer one is a break (a leaked old key cannot add entries), and an
   instance never writes with a key older than the last entry's (it refuses when it lacks that key).
3. Signed checkpoints outside the database: `write_checkpoint` appends (seq, head hash) signed
   with an Ed25519 key derived from the same provider to a JSON-lines file (the
   `<PREFIX>AUDIT_CHECKPOINT_FILE`, by default under the state directory). `verify_chain` checks
   the log against every checkpoint, which catches a removed tail (or a log rewritten from the
   start) that the chain alone cannot show.

PostgreSQL refuses UPDATE, DELETE and TRUNCATE on audit_log (a trigger, migration_ops
`upgrade_audit_log_keyed`); SQLite refuses UPDATE and DELETE the same way.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sqlalchemy import select, text

from .auth import Principal
from .metrics import AUDIT_ENTRIES
from .tables import AuditEntry
from .tracing import current_trace_id

log = logging.getLogger("pana.audit")
GENESIS = "0" * 64
_AUDIT_LOCK_ID = 7_261_003
SESSION_KEY = "pana_audit_key"  # session.info[SESSION_KEY]: the AuditKey entries are written with


class AuditKeyError(RuntimeError):
    """The audit log's last entry was written with an audit key this instance does not hold."""


def mac_key_id(mac: str | None) -> str:
    """The id of the audit key an entry's MAC was made with ("" : the original key, a bare 64-hex MAC)."""
    return mac.split(".", 1)[0] if mac and "." in mac else ""


@dataclass(frozen=True)
class AuditKey:
    """The audit chain's secrets, from the key provider (`AuditKey.of(keyring)`), never from the database.

    `key_id` names it in the entries' MACs ("" : the original key, derived from the MAC root); `ring` holds every
    audit key the provider has, oldest first, to verify entries and checkpoints made with any of them."""

    mac_key: bytes
    signing_seed: bytes
    key_id: str = ""
    ring: tuple["AuditKey", ...] = ()

    @classmethod
    def of(cls, keyring) -> "AuditKey":
        ids = getattr(keyring, "audit_key_ids", ("",))
        ring = tuple(cls(keyring.audit_secret(i, "audit-chain"), keyring.audit_secret(i, "audit-checkpoint"), i)
                     if i else cls(keyring.secret("audit-chain"), keyring.secret("audit-checkpoint")) for i in ids)
        active = getattr(keyring, "audit_active", "")
        return replace(next(k for k in ring if k.key_id == active), ring=ring)

    def _ids(self) -> list[str]:
        return [k.key_id for k in self.ring] if self.ring else [self.key_id]

    def for_id(self, key_id: str) -> "AuditKey | None":
        """The key called `key_id`, when the provider holds it."""
        for k in self.ring or (self,):
            if k.key_id == key_id:
                return replace(k, ring=self.ring)
        return None

    def generation(self, key_id: str) -> int | None:
        """The place of `key_id` in the order the keys were added (None: not held)."""
        ids = self._ids()
        return ids.index(key_id) if key_id in ids else None

    def for_append(self, head_mac: str | None) -> "AuditKey":
        """The key to write the next entry with: this one, or the last entry's when that is newer (during a staged
        rotation another instance may have moved on already). Refuses when the last entry's key is not held."""
        head = mac_key_id(head_mac)
        head_generation = self.generation(head)
        if head_generation is None:
            raise AuditKeyError(f"the audit log's last entry was written with audit key {head!r}, which this instance "
                                "does not hold: give it the keyring with that key before it writes")
        return self if self.generation(self.key_id) >= head_generation else self.for_id(head)

    def mac(self, seq: int, entry_hash_: str) -> str:
        if not self.key_id:  # the original key: as every entry before rotation has it
            return hmac.new(self.mac_key, f"{seq}:{entry_hash_}".encode(), hashlib.sha256).hexdigest()
        tag = hmac.new(self.mac_key, f"{self.key_id}:{seq}:{entry_hash_}".encode(), hashlib.sha256).hexdigest()
        return f"{self.key_id}.{tag[:48]}"  # within the column's 64 characters

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed)

    @property
    def public_key_b64(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return base64.b64encode(self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _session_key(session) -> AuditKey | None:
    return session.info.get(SESSION_KEY)


def entry_hash(prev_hash: str, *, at: datetime, subject: str, client_id: str | None, role: str | None, action: str,
               resource: str, purpose: str | None, outcome: str, trace_id: str | None) -> str:
    content = json.dumps([prev_hash, at.astimezone(timezone.utc).isoformat(), subject, client_id, role, action, resource,
                          purpose, outcome, trace_id], separators=(",", ":"))
    return hashlib.sha256(content.encode()).hexdigest()


def _fields(principal: Principal | None, action: str, resource: str, purpose: str | None, outcome: str) -> dict:
    return dict(
        at=datetime.now(timezone.utc),
        subject=principal.subject if principal else "system",
        client_id=principal.client_id if principal else None,
        role=principal.role if principal else None,
        action=action,
        resource=resource,
        purpose=purpose,
        outcome=outcome,
        trace_id=current_trace_id(),
    )


async def _head(session) -> tuple[int, str, AuditKey | None]:
    """Take the append lock (PostgreSQL: one line even with several instances) and read the chain's head: its
    seq, its hash and the key to append with (never back to an older audit key than the head's)."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK_ID})"))
    else:
        # SQLite: take the write lock before reading the head (a statement that writes no row still begins the
        # transaction and holds the lock), so two appenders never read the same head.
        await session.execute(text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))
    last = (await session.execute(select(AuditEntry.seq, AuditEntry.hash, AuditEntry.mac)
                                  .order_by(AuditEntry.seq.desc()).limit(1))).first()
    key = _session_key(session)
    if key is not None:
        key = key.for_append(last.mac if last else None)
    return (last.seq, last.hash, key) if last else (0, GENESIS, key)


def _chained(seq: int, prev: str, fields: dict, key: AuditKey | None) -> dict:
    digest = entry_hash(prev, **fields)
    return dict(seq=seq, **fields, prev_hash=prev, hash=digest, mac=key.mac(seq, digest) if key else None)


async def record(session, principal: Principal | None, action: str, resource: str, *, purpose: str | None = None,
                 outcome: str = "ok", service: str = "") -> AuditEntry:
    """Append an entry in the caller's transaction (so it commits with the effect)."""
    last_seq, prev, key = await _head(session)
    # seq contiguous: not the database sequence, which skips on rollback
    entry = AuditEntry(**_chained(last_seq + 1, prev, _fields(principal, action, resource, purpose, outcome), key))
    session.add(entry)
    await session.flush()
    AUDIT_ENTRIES.labels(service, action).inc()
    return entry


class AuditWriter:
    """Group commit for audit entries that need not commit with a change (a read, a verification): `submit`
    only queues the entry (taking its time and trace id then); one task per process appends what is queued in
    batches, each batch one transaction that takes the append lock once, chains every entry (contiguous seqs,
    keyed MACs, exactly as `record`) and inserts them in one statement. No request waits for the lock.

    With a `journal_dir`, `submit` also appends the entry to a journal segment (one `write`, no fsync: it
    survives the process, not the host); a committed batch deletes its segments, and `start` appends what a
    dead process's segments hold that its last batch did not commit (a batch is all or nothing, so one entry of
    a segment tells). `stop` (the app's shutdown) writes everything queued before it returns; a batch that fails
    is kept and tried again. What a crash can lose is in docs/SECURITY.md."""

    def __init__(self, db, service: str = "", *, max_batch: int = 1000, retry_seconds: float = 0.5,
                 linger_seconds: float = 0.02, journal_dir: Path | str | None = None):
        self.db = db
        self.service = service
        self.max_batch = max_batch  # a queue this long is written at once, without lingering
        self.retry_seconds = retry_seconds
        # After the first entry of a batch, wait this long for more: one transaction, lock and round trips for
        # all of them.
        self.linger_seconds = linger_seconds
        self.journal = _Journal(Path(journal_dir)) if journal_dir else None
        self._queue: list[dict] = []
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.written = 0
        self.recovered = 0

    def submit(self, principal: Principal | None, action: str, resource: str, *, purpose: str | None = None,
               outcome: str = "ok") -> None:
        fields = _fields(principal, action, resource, purpose, outcome)
        if self.journal is not None:
            self.journal.append(fields)
        self._queue.append(fields)
        if self._wake is not None:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def recover(self) -> int:
        """Queue, ahead of anything new, the entries of journal segments left by a process that died before
        their batch committed (segments another live process holds are left alone)."""
        if self.journal is None:
            return 0
        found: list[dict] = []
        for entries in self.journal.orphans():
            if entries and not await self._committed(entries[0]):
                found.extend(entries)
        self._queue[:0] = found
        self.recovered += len(found)
        if found:
            log.warning("audit: %d entries of an unclean stop recovered from the journal", len(found))
        return len(found)

    async def _committed(self, fields: dict) -> bool:
        stmt = (select(AuditEntry.seq).where(AuditEntry.resource == fields["resource"], AuditEntry.at == fields["at"],
                                             AuditEntry.subject == fields["subject"],
                                             AuditEntry.action == fields["action"]).limit(1))
        async with self.db.session() as session:
            return (await session.execute(stmt)).first() is not None

    def start(self) -> asyncio.Task:
        self._wake, self._idle = asyncio.Event(), asyncio.Event()
        self._idle.set()
        self._task = asyncio.create_task(self._run(), name="audit-writer")
        return self._task

    async def _run(self) -> None:
        try:
            await self.recover()
        except Exception:
            log.exception("audit journal not recovered; its segments are kept for the next start")
        while True:
            if not self._queue:
                self._idle.set()
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            self._idle.clear()
            if self.linger_seconds and not self._stopping and len(self._queue) < self.max_batch:
                await asyncio.sleep(self.linger_seconds)
            try:
                await self.write_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audit batch not written; kept and tried again")
                await asyncio.sleep(self.retry_seconds)

    async def write_batch(self) -> int:
        """Append everything queued in one transaction; entries leave the queue (and the journal) only once
        committed."""
        batch = list(self._queue)
        if not batch:
            return 0
        if self.journal is not None:
            self.journal.rotate()  # the segments written so far hold exactly this batch
        async with self.db.transaction() as session:
            last_seq, prev, key = await _head(session)
            rows = []
            for offset, fields in enumerate(batch, start=1):
                row = _chained(last_seq + offset, prev, fields, key)
                prev = row["hash"]
                rows.append(row)
            await session.execute(AuditEntry.__table__.insert(), rows)
        del self._queue[:len(batch)]
        if self.journal is not None:
            self.journal.committed()
        self.written += len(batch)
        for fields in batch:
            AUDIT_ENTRIES.labels(self.service, fields["action"]).inc()
        return len(batch)

    async def flush(self) -> None:
        """Until everything queued so far is committed (tests; shutdown)."""
        if self._task is None or self._task.done():
            while self._queue:
                await self.write_batch()
            return
        while self._queue:
            self._wake.set()
            await self._idle.wait()
            if self._queue:
                await asyncio.sleep(0)

    async def stop(self, timeout: float = 30.0) -> None:
        """Write everything queued, then end the task. A database that stays away for `timeout` seconds leaves
        the entries in the journal (recovered at the next start) or, without one, loses them (logged)."""
        self._stopping = True
        if self._task is not None and not self._task.done():
            self._wake.set()
            try:
                await asyncio.wait_for(self._task, timeout)
            except asyncio.TimeoutError:
                log.error("audit writer stopped with %d entries not written (the database did not answer)%s",
                          len(self._queue), "; they stay in the journal" if self.journal else "")
                if self.journal is not None:
                    self.journal.close()
                return
            except Exception:
                log.exception("audit writer failed on stop")
        while self._queue:  # the task never ran, or failed: write what is left here
            await self.write_batch()
        if self.journal is not None:
            self.journal.close()


class _Journal:
    """Segments of JSON lines in one directory per database; each held with an exclusive `flock` while its
    process lives, so a live process's segments are never taken for orphans."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._current = None  # (path, file) being appended to
        self._sealed: list = []  # (path, file) rotated, waiting for their batch to commit
        self._count = 0

    def _open(self):
        import fcntl

        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._count += 1
        path = self.directory / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{os.getpid()}-{self._count}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return path, fd

    def append(self, fields: dict) -> None:
        if self._current is None:
            self._current = self._open()
        line = json.dumps({**fields, "at": fields["at"].isoformat()}, separators=(",", ":")) + "\n"
        os.write(self._current[1], line.encode())

    def rotate(self) -> None:
        if self._current is not None:
            self._sealed.append(self._current)
            self._current = None

    def committed(self) -> None:
        for path, fd in self._sealed:
            path.unlink(missing_ok=True)
            os.close(fd)
        self._sealed.clear()

    def close(self) -> None:
        """Release the segments (kept on disk when they still hold entries not committed)."""
        self.rotate()
        for _path, fd in self._sealed:
            os.close(fd)
        self._sealed.clear()
        try:
            self.directory.rmdir()  # only when empty
        except OSError:
            pass

    def orphans(self):
        """The entries of each segment no live process holds (oldest first); each is then ours until committed."""
        import fcntl

        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob("*.jsonl")):
            fd = os.open(path, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            entries = []
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                        entry["at"] = datetime.fromisoformat(entry["at"])
                        entries.append(entry)
                    except (ValueError, KeyError, TypeError):
                        continue  # a line torn by the crash: its request never got an answer
            self._sealed.append((path, fd))  # deleted with the next committed batch
            yield entries


def journal_path(settings) -> Path | None:
    """Where a service's audit journal lives: one directory per database in the state directory."""
    try:
        state = settings.state_path()
    except Exception:  # no writable state directory: no journal (a crash then loses the queued entries)
        return None
    digest = hashlib.sha256(settings.resolved_database_url().encode()).hexdigest()[:12]
    return Path(state) / f"{settings.service_name}-{digest}-audit-journal"


_CHAIN_COLUMNS = ("seq", "at", "subject", "client_id", "role", "action", "resource", "purpose", "outcome", "trace_id",
                  "prev_hash", "hash", "mac")


@dataclass(frozen=True)
class ChainReport:
    entries: int
    intact: bool
    first_broken_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None  # the last entry, when intact: anchor it outside the database
    head_hash: str | None = None
    unkeyed: int = 0  # entries from before the keyed MAC (a prefix)
    checkpoints: int = 0  # signed checkpoints the log was checked against


def _broken(count: int, seq: int | None, reason: str, unkeyed: int = 0) -> ChainReport:
    return ChainReport(count, False, seq, reason, unkeyed=unkeyed)


async def verify_chain(session, *, batch_size: int = 5000, key: AuditKey | None = None,
                       checkpoints: list[dict] | None = None) -> ChainReport:
    """Walk the chain in seq order, a batch at a time (the log can be long).

    `key` (else the session's) checks each keyed entry's MAC; without a key a keyed log does not verify.
    `checkpoints` (`read_checkpoints`) must each name an entry the log still has, with that hash."""
    key = key or _session_key(session)
    pinned: dict[int, str] = {}
    for cp in checkpoints or []:
        if key is None or not checkpoint_signature_ok(cp, key):
            return _broken(0, cp.get("seq"), "a checkpoint's signature does not verify with the audit key")
        pinned[int(cp["seq"])] = cp["hash"]
    prev = GENESIS
    count = 0
    unkeyed = 0
    keyed_seen = False
    generation = 0  # of the newest audit key met so far: keys only move forward along the chain
    last_seq: int | None = None
    while True:
        # Plain rows, not ORM objects: nothing piles up in the caller's session.
        stmt = select(*(getattr(AuditEntry, c) for c in _CHAIN_COLUMNS)).order_by(AuditEntry.seq).limit(batch_size)
        if last_seq is not None:
            stmt = stmt.where(AuditEntry.seq > last_seq)
        batch = list((await session.execute(stmt)).all())
        if not batch:
            break
        for entry in batch:
            count += 1
            if entry.prev_hash != prev:
                return ChainReport(count, False, entry.seq, "previous hash does not match: a row was removed or reordered")
            expected = entry_hash(prev, at=entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc),
                                  subject=entry.subject, client_id=entry.client_id, role=entry.role, action=entry.action,
                                  resource=entry.resource, purpose=entry.purpose, outcome=entry.outcome,
                                  trace_id=entry.trace_id)
            if entry.hash != expected:
                return ChainReport(count, False, entry.seq, "content does not match its hash: the row was changed")
            if entry.mac is None:
                if keyed_seen:
                    return _broken(count, entry.seq, "an entry without its MAC after keyed entries: the log was rewritten")
                unkeyed += 1
            else:
                if key is None:
                    return _broken(count, entry.seq, "keyed entries, but no audit key to check them with")
                if keyed_seen and entry.seq != last_seq + 1:
                    return _broken(count, entry.seq, f"entries {last_seq + 1}..{entry.seq - 1} are missing")
                entry_key_id = mac_key_id(entry.mac)
                entry_key, entry_generation = key.for_id(entry_key_id), key.generation(entry_key_id)
                if entry_key is None:
                    return _broken(count, entry.seq, f"the entry names audit key {entry_key_id!r}, which the key "
                                                     "provider does not hold")
                if entry_generation < generation:
                    return _broken(count, entry.seq, f"the entry was made with audit key {entry_key_id!r}, older than "
                                                     "an earlier entry's: keys only move forward (a retired key forged it)")
                generation = entry_generation
                if not hmac.compare_digest(entry.mac, entry_key.mac(entry.seq, entry.hash)):
                    return _broken(count, entry.seq, "the entry's MAC does not match: the row was changed, or the "
                                                     "chain was recomputed without the audit key")
                keyed_seen = True
            if entry.seq in pinned and pinned.pop(entry.seq) != entry.hash:
                return _broken(count, entry.seq, "the entry differs from the signed checkpoint kept outside the database")
            prev = entry.hash
            last_seq = entry.seq
        if len(batch) < batch_size:
            break
    if pinned:
        missing = min(pinned)
        return _broken(count, missing, f"a signed checkpoint names entry {missing}, which the log no longer has "
                                       "(entries were removed)", unkeyed)
    return ChainReport(count, True, head_seq=last_seq, head_hash=prev if last_seq is not None else None,
                       unkeyed=unkeyed, checkpoints=len(checkpoints or []))


# -- signed checkpoints, kept outside the database -------------------------------------------------

def _checkpoint_message(service: str, seq: int, head_hash: str, at: str) -> bytes:
    return json.dumps(["pana-audit-checkpoint-v1", service, seq, head_hash, at], separators=(",", ":")).encode()


def checkpoint_signature_ok(cp: dict, key: AuditKey) -> bool:
    """Whether the checkpoint is signed by the audit key it names (`key_id`; none: the original key)."""
    key = key.for_id(str(cp.get("key_id") or ""))
    if key is None:
        return False
    try:
        signature = base64.b64decode(cp["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key_b64)).verify(
            signature, _checkpoint_message(cp["service"], int(cp["seq"]), cp["hash"], cp["at"]))
        return True
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False


def read_checkpoints(path: Path | str) -> list[dict]:
    """The checkpoints in the file (none when it does not exist); a line that is not JSON fails verification."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"seq": None, "signature": ""})
    return out


def write_checkpoint(path: Path | str, *, service: str, report: ChainReport, key: AuditKey) -> dict | None:
    """Append a signed (seq, head hash) of an intact chain to the file (JSON lines, mode 0600)."""
    if not report.intact or report.head_seq is None:
        return None
    at = datetime.now(timezone.utc).isoformat()
    signature = key.signing_key.sign(_checkpoint_message(service, report.head_seq, report.head_hash, at))
    cp = {"service": service, "seq": report.head_seq, "hash": report.head_hash, "at": at,
          "public_key": key.public_key_b64, "signature": base64.b64encode(signature).decode()}
    if key.key_id:
        cp["key_id"] = key.key_id
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(json.dumps(cp) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return cp


def checkpoint_path(settings) -> Path:
    """Where a service's checkpoints are kept: `<PREFIX>AUDIT_CHECKPOINT_FILE`, else one file per database in the
    state directory (a checkpoint is about one database's log)."""
    configured = getattr(settings, "audit_checkpoint_file", None)
    if configured:
        return Path(configured)
    state = settings.state_path() if hasattr(settings, "state_path") else None
    if state is None:
        from .settings import repo_root

        state = repo_root() / "var"
    digest = hashlib.sha256(settings.resolved_database_url().encode()).hexdigest()[:12]
    return Path(state) / f"{settings.service_name}-{digest}-audit-checkpoints.jsonl"
