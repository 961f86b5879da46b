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

Commands do not hold the chain's lock (which would serialise every writer of a service until its commit): with
a chainer (`AuditChainer`, every service's app has one), `record` inserts an *intent* into `audit_intents` in the
command's transaction, lock-free and carrying a keyed MAC over its content; after the commit one chaining pass
at a time per process (group commit: every intent committed meanwhile goes in the same pass; several processes
serialise on the same lock) moves the intents into the chain. A committed intent is in the database, so a
process killed between its commit and the chaining loses nothing: the next pass (any process's; each chains at
start-up) takes it. An intent whose MAC does not verify (forged in the database) is never chained; it is kept,
marked rejected, and `verify_chain` reports it with the backlog.

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
import weakref
from dataclasses import dataclass, replace
from operator import itemgetter
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sqlalchemy import select, text

from .auth import Principal
from .db import UNIT_OF_WORK_KEY
from .jsontext import compact
from .metrics import AUDIT_ENTRIES
from .tables import AuditEntry, AuditIntent
from .tracing import current_trace_id

log = logging.getLogger("pana.audit")
GENESIS = "0" * 64
_AUDIT_LOCK_ID = 7_261_003
SESSION_KEY = "pana_audit_key"  # session.info[SESSION_KEY]: the AuditKey entries are written with
CHAINER_KEY = "pana_audit_chainer"  # session.info[CHAINER_KEY]: the AuditChainer; `record` then writes intents
WROTE_INTENTS = "pana_audit_wrote_intents"  # session.info flag: this session's commit has intents to chain


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
        # hmac.digest: the one-shot HMAC (OpenSSL's), the same bytes as hmac.new(...).digest(), a third of the cost
        if not self.key_id:  # the original key: as every entry before rotation has it
            return hmac.digest(self.mac_key, f"{seq}:{entry_hash_}".encode(), "sha256").hex()
        tag = hmac.digest(self.mac_key, f"{self.key_id}:{seq}:{entry_hash_}".encode(), "sha256").hex()
        return f"{self.key_id}.{tag[:48]}"  # within the column's 64 characters

    def intent_mac(self, digest: str) -> str:
        """The MAC of an intent's content (`entry_hash("intent", ...)`), named by this key's id as `mac` is."""
        tag = hmac.new(self.mac_key, f"intent:{self.key_id}:{digest}".encode(), hashlib.sha256).hexdigest()
        return f"{self.key_id}.{tag[:48]}" if self.key_id else tag

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_seed)

    @property
    def public_key_b64(self) -> str:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return base64.b64encode(self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _session_key(session) -> AuditKey | None:
    return session.info.get(SESSION_KEY)


# json.dumps(value, separators=(",", ":")), its encoder built once (the same text: the chain's hashes depend on it)
_COMPACT = compact


def entry_hash(prev_hash: str, *, at: datetime, subject: str, client_id: str | None, role: str | None, action: str,
               resource: str, purpose: str | None, outcome: str, trace_id: str | None) -> str:
    content = _COMPACT([prev_hash, at.astimezone(timezone.utc).isoformat(), subject, client_id, role, action, resource,
                        purpose, outcome, trace_id])
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


async def _head(session) -> tuple[int, str, AuditKey | None, datetime | None]:
    """Take the append lock (PostgreSQL: one line even with several instances) and read the chain's head: its
    seq, its hash, the key to append with (never back to an older audit key than the head's) and its time."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK_ID})"))
    else:
        # SQLite: take the write lock before reading the head (a statement that writes no row still begins the
        # transaction and holds the lock), so two appenders never read the same head.
        await session.execute(text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))
    last = (await session.execute(select(AuditEntry.seq, AuditEntry.hash, AuditEntry.mac, AuditEntry.at)
                                  .order_by(AuditEntry.seq.desc()).limit(1))).first()
    key = _session_key(session)
    if key is not None:
        key = key.for_append(last.mac if last else None)
    return (last.seq, last.hash, key, _aware(last.at)) if last else (0, GENESIS, key, None)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def _chained(seq: int, prev: str, fields: dict, key: AuditKey | None, floor: datetime | None = None) -> dict:
    """The chained row. Its time never goes back along the chain: an entry recorded a moment before the one
    chained ahead of it (commits finish out of order) takes that one's time, so a month's entries are a run of
    seqs and the log can be partitioned and archived by month."""
    if floor is not None and _aware(fields["at"]) < floor:
        fields = {**fields, "at": floor}
    digest = entry_hash(prev, **fields)
    return dict(seq=seq, **fields, prev_hash=prev, hash=digest, mac=key.mac(seq, digest) if key else None)


def _intent_digest(fields: dict) -> str:
    return entry_hash("intent", **fields)


async def record(session, principal: Principal | None, action: str, resource: str, *, purpose: str | None = None,
                 outcome: str = "ok", service: str = "") -> AuditEntry | AuditIntent | None:
    """Record an entry in the caller's transaction (so it commits with the effect).

    With a chainer on the database (`Database.use_audit_chainer`, every service's app): an intent, lock-free,
    chained after the commit; in a `UnitOfWork` on PostgreSQL written by its commit statement (None is returned),
    elsewhere added to the session. Without a chainer: appended to the chain at once, under the chain's lock."""
    info = session.info
    if info.get(CHAINER_KEY) is not None:
        fields = _fields(principal, action, resource, purpose, outcome)
        key = _session_key(session)
        mac = key.intent_mac(_intent_digest(fields)) if key else None
        info[WROTE_INTENTS] = True
        AUDIT_ENTRIES.labels(service, action).inc()
        unit_of_work = info.get(UNIT_OF_WORK_KEY)
        if unit_of_work is not None:
            fields["mac"] = mac
            unit_of_work.defer_intent(fields)
            return None
        intent = AuditIntent(**fields, mac=mac)
        session.add(intent)
        return intent
    last_seq, prev, key, floor = await _head(session)
    # seq contiguous: not the database sequence, which skips on rollback
    entry = AuditEntry(**_chained(last_seq + 1, prev, _fields(principal, action, resource, purpose, outcome), key,
                                  floor))
    session.add(entry)
    await session.flush()
    AUDIT_ENTRIES.labels(service, action).inc()
    return entry


def _chain_rows(batch: list[dict], last_seq: int, prev: str, key: AuditKey | None, floor: datetime | None) -> list[dict]:
    """The batch's entries chained after the head (seq, hash), in order."""
    rows = []
    for offset, fields in enumerate(batch, start=1):
        row = _chained(last_seq + offset, prev, fields, key, floor)
        prev, floor = row["hash"], _aware(row["at"])
        rows.append(row)
    return rows


_LOCK_PG = f"SELECT pg_advisory_xact_lock({_AUDIT_LOCK_ID})"
_HEAD_PG = "SELECT seq, hash, mac, at FROM audit_log ORDER BY seq DESC LIMIT 1"
# The chained entries as column arrays ($1-$13): the chainer's move statement ends with it (the writer's batch is a
# binary COPY instead).
_INSERT_PG = ("INSERT INTO audit_log (seq, at, subject, client_id, role, action, resource, purpose, outcome, trace_id, "
              "prev_hash, hash, mac) SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], "
              "$5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], "
              "$13::text[])")


# The chainer's pass on PostgreSQL (`AuditChainer._chain_batch_pg`): after the lock, the oldest intents with the
# chain's head beside each (NULL for an empty log); then the chained entries inserted while the chained intents are
# deleted and the forged ones marked rejected.
_PENDING_PG = ("SELECT i.id, i.mac, i.at, i.subject, i.client_id, i.role, i.action, i.resource, i.purpose, i.outcome, "
               "i.trace_id, h.seq AS head_seq, h.hash AS head_hash, h.mac AS head_mac, h.at AS head_at "
               "FROM (SELECT * FROM audit_intents WHERE NOT rejected ORDER BY id LIMIT $1) AS i "
               "LEFT JOIN (SELECT seq, hash, mac, at FROM audit_log ORDER BY seq DESC LIMIT 1) AS h ON true "
               "ORDER BY i.id")
_MOVE_PG = ("WITH chained AS (DELETE FROM audit_intents WHERE id = ANY($14::bigint[])), "
            "forged AS (UPDATE audit_intents SET rejected = true WHERE id = ANY($15::bigint[])) " + _INSERT_PG)


# The writer's batch on SQLite: the chained rows as tuples in _CHAIN_COLUMNS' order, one executemany.
_INSERT_SQLITE = ("INSERT INTO audit_log (seq, at, subject, client_id, role, action, resource, purpose, outcome, "
                  "trace_id, prev_hash, hash, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_sqlite_at_processors: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _sqlite_at(dialect):
    """The function that turns an entry's time into what SQLAlchemy stores for `audit_log.at` on this dialect."""
    process = _sqlite_at_processors.get(dialect)
    if process is None:
        column_type = AuditEntry.__table__.c.at.type
        process = column_type.dialect_impl(dialect).bind_processor(dialect) or (lambda value: value)
        _sqlite_at_processors[dialect] = process
    return process


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
        self._failed = 0  # entries of the last attempt, which failed: its commit may have happened all the same

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
        committed. After a failed attempt its first entry is looked for first: a commit whose answer was lost
        (the connection dropped at COMMIT) is not written twice, and what was queued after that attempt is
        still written."""
        if not self._queue:
            return 0
        if self.journal is not None:
            self.journal.rotate()  # the segments written so far hold exactly what is queued now
        done = 0
        if self._failed and await self._committed(self._queue[0]):
            log.warning("audit: a batch of %d entries whose commit went unanswered was committed", self._failed)
            done += self._taken(self._failed)
        self._failed = 0
        batch = list(self._queue)
        if batch:
            self._failed = len(batch)  # until this attempt's commit is answered
            if self.db.is_sqlite:
                async with self.db.transaction() as session:
                    last_seq, prev, key, floor = await _head(session)
                    rows = _chain_rows(batch, last_seq, prev, key, floor)
                    connection = await session.connection()
                    # One executemany of the driver's statement: no Core insert compiled and bound a row at a
                    # time; `at` stored as SQLAlchemy's SQLite DateTime stores it (its own bind processor).
                    stored_at = _sqlite_at(connection.dialect)
                    await connection.exec_driver_sql(_INSERT_SQLITE, [
                        (row["seq"], stored_at(row["at"]), row["subject"], row["client_id"], row["role"],
                         row["action"], row["resource"], row["purpose"], row["outcome"], row["trace_id"],
                         row["prev_hash"], row["hash"], row["mac"]) for row in rows])
            else:
                await self.db.held("audit").run(lambda connection: self._append_pg(connection, batch))
            self._failed = 0
            done += self._taken(len(batch))
        if self.journal is not None:
            self.journal.committed()
        return done

    def _taken(self, count: int) -> int:
        """The first `count` queued entries are committed: off the queue, counted (one labelled metric child per
        action, not per entry)."""
        actions: dict[str, int] = {}
        for fields in self._queue[:count]:
            actions[fields["action"]] = actions.get(fields["action"], 0) + 1
        for action, n in actions.items():
            AUDIT_ENTRIES.labels(self.service, action).inc(n)
        del self._queue[:count]
        self.written += count
        return count

    async def _append_pg(self, connection, batch: list[dict]) -> None:
        """PostgreSQL, on the writer's held asyncpg connection in a transaction: the append lock, the head, and
        every entry in one binary COPY (no ORM, no per-row parameter sets: the batch was a tenth of a
        verification's CPU through SQLAlchemy, issue 16; and half of what an INSERT of column arrays costs, whose
        encoder inspects every element of every array). COPY is all or nothing as the INSERT was, in the same
        transaction, under the same lock; the table's checks and triggers apply to it as to an INSERT."""
        await connection.execute(_LOCK_PG)
        last = await connection.fetchrow(_HEAD_PG)
        key = self.db.info.get(SESSION_KEY)
        if key is not None:
            key = key.for_append(last["mac"] if last else None)
        last_seq, prev, floor = (last["seq"], last["hash"], _aware(last["at"])) if last else (0, GENESIS, None)
        rows = _chain_rows(batch, last_seq, prev, key, floor)
        await connection.copy_records_to_table("audit_log", records=list(map(_chain_record, rows)),
                                               columns=_CHAIN_COLUMNS)

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


class AuditChainer:
    """Links committed intents (`audit_intents`) into the chain: group commit for the audit log.

    One pass runs at a time per process: it takes the chain's lock (PostgreSQL: an advisory lock shared by every
    process; SQLite: the write lock), reads the head, chains every intent committed so far in id order (contiguous
    seqs, keyed MACs, as `record` without a chainer), inserts them and deletes the intents, in one transaction.
    `settle()` returns once a pass that started after the call has ended, so a caller that committed intents and
    then settles knows they are chained (or that the pass failed, logged: they stay intents, taken by the next
    pass). Commits through `UnitOfWork` and `Database.transaction` settle before they return; other commits start
    a pass without waiting. `start` runs a pass at once (intents left by a process killed between its commit and
    the chaining) and then one every `sweep_seconds` (intents another process left)."""

    def __init__(self, db, service: str = "", *, batch_size: int = 2000, sweep_seconds: float = 5.0,
                 wait: bool = True):
        self.db = db
        # wait=False: a commit only starts a pass (the caller answers before its entry is chained; a crash then
        # still loses nothing, the intent is committed). The services wait: an answer means the entry is chained.
        self.wait = wait
        self.service = service
        self.batch_size = batch_size
        self.sweep_seconds = sweep_seconds
        self.started = 0  # passes started
        self.done = 0  # passes ended
        self.chained = 0
        self.rejected = 0
        self._waiters: list[tuple[int, asyncio.Future]] = []
        self._runner: asyncio.Task | None = None
        self._wanted = 0
        self._sweeper: asyncio.Task | None = None

    async def settle(self) -> None:
        """Until a pass that starts after this call has ended."""
        target = self.started + 1
        if self.done >= target:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self.kick(target)
        await future

    def kick(self, target: int | None = None) -> None:
        """Have a pass run (no waiting)."""
        self._wanted = max(self._wanted, target if target is not None else self.started + 1)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run(), name="audit-chainer")

    async def _run(self) -> None:
        while self._wanted > self.done:
            self.started += 1
            try:
                await self.chain_pending()
            except asyncio.CancelledError:
                self.done = self.started
                self._release()
                raise
            except Exception:
                log.exception("audit intents not chained; they stay in audit_intents for the next pass")
            self.done = self.started
            self._release()

    def _release(self) -> None:
        keep = []
        for target, future in self._waiters:
            if target <= self.done:
                if not future.done():
                    future.set_result(None)
            else:
                keep.append((target, future))
        self._waiters = keep

    async def chain_pending(self) -> int:
        """Chain every committed intent, a batch (one transaction) at a time; the number chained."""
        total = 0
        while True:
            chained, seen = await self._chain_batch()
            total += chained
            if seen < self.batch_size:
                return total

    async def _chain_batch(self) -> tuple[int, int]:
        if self.db.is_sqlite:
            chained, bad, seen = await self._chain_batch_orm()
        else:
            chained, bad, seen = await self.db.held("audit-chain").run(self._chain_batch_pg)
        self.chained += chained
        if bad:
            self.rejected += bad
            log.error("audit: %d intents whose MAC does not verify were not chained (kept, marked rejected): "
                      "written to the database without the audit key", bad)
        return chained, seen

    def _chain(self, intents, last_seq: int, prev: str, key: AuditKey | None, floor: datetime | None,
               verify_with: AuditKey | None) -> tuple[list[dict], list[int], list[int]]:
        """The intents' rows chained after the head, the ids chained and the ids whose MAC does not verify."""
        rows, good, bad = [], [], []
        for intent in intents:
            fields = {c: intent[c] for c in _FIELD_COLUMNS}
            if fields["at"].tzinfo is None:
                fields["at"] = fields["at"].replace(tzinfo=timezone.utc)
            if not _intent_ok(intent["mac"], fields, verify_with):
                bad.append(intent["id"])
                continue
            row = _chained(last_seq + len(rows) + 1, prev, fields, key, floor)
            prev, floor = row["hash"], _aware(row["at"])
            rows.append(row)
            good.append(intent["id"])
        return rows, good, bad

    async def _chain_batch_pg(self, connection) -> tuple[int, int, int]:
        """PostgreSQL, on the chainer's held asyncpg connection in one transaction: the append lock, then the
        intents with the chain's head (one statement), then the entries inserted and the intents deleted or
        marked rejected (one statement). Five round trips with BEGIN and COMMIT, where the session took seven,
        and no SQLAlchemy execution (issue 16: the chainer ran once per registration or two under load)."""
        await connection.execute(_LOCK_PG)
        intents = await connection.fetch(_PENDING_PG, self.batch_size)
        if not intents:
            return 0, 0, 0
        head = intents[0]
        verify_with = self.db.info.get(SESSION_KEY)
        key = verify_with.for_append(head["head_mac"] if head["head_seq"] is not None else None) \
            if verify_with is not None else None
        last_seq, prev, floor = ((head["head_seq"], head["head_hash"], _aware(head["head_at"]))
                                 if head["head_seq"] is not None else (0, GENESIS, None))
        rows, good, bad = self._chain(intents, last_seq, prev, key, floor, verify_with)
        await connection.execute(_MOVE_PG, *([row[c] for row in rows] for c in _CHAIN_COLUMNS), good, bad)
        return len(rows), len(bad), len(intents)

    async def _chain_batch_orm(self) -> tuple[int, int, int]:
        columns = [AuditIntent.id, AuditIntent.mac, *(getattr(AuditIntent, c) for c in _FIELD_COLUMNS)]
        async with self.db.transaction() as session:
            session.info.pop(CHAINER_KEY, None)
            last_seq, prev, key, floor = await _head(session)
            intents = (await session.execute(select(*columns).where(AuditIntent.rejected == False)  # noqa: E712
                                             .order_by(AuditIntent.id).limit(self.batch_size))).mappings().all()
            if not intents:
                return 0, 0, 0
            rows, good, bad = self._chain(intents, last_seq, prev, key, floor, _session_key(session))
            if rows:
                await session.execute(AuditEntry.__table__.insert(), rows)
                await session.execute(AuditIntent.__table__.delete().where(AuditIntent.id.in_(good)))
            if bad:
                await session.execute(AuditIntent.__table__.update().where(AuditIntent.id.in_(bad))
                                      .values(rejected=True))
        return len(rows), len(bad), len(intents)

    def start(self) -> None:
        self.kick()
        if self.sweep_seconds and self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="audit-chainer-sweep")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_seconds)
            self.kick()

    async def stop(self) -> None:
        """Chain what is committed, then end the tasks."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        try:
            await self.settle()
        except Exception:  # pragma: no cover - logged by the pass
            log.exception("audit chainer failed on stop")


_FIELD_COLUMNS = ("at", "subject", "client_id", "role", "action", "resource", "purpose", "outcome", "trace_id")


def _intent_ok(mac: str | None, fields: dict, key: AuditKey | None) -> bool:
    """Whether an intent was written by an instance holding the audit key (no key configured: any intent)."""
    if key is None:
        return True
    if mac is None:
        return False
    made_with = key.for_id(mac_key_id(mac))
    return made_with is not None and hmac.compare_digest(mac, made_with.intent_mac(_intent_digest(fields)))


async def after_commit(session) -> None:
    """What a unit of work does once committed: when it wrote intents, wait for them to be chained."""
    chainer = session.info.get(CHAINER_KEY)
    if chainer is not None and session.info.pop(WROTE_INTENTS, False):
        if chainer.wait:
            await chainer.settle()
        else:
            chainer.kick()


async def backlog(session) -> tuple[int, int]:
    """(intents waiting to be chained, intents rejected: their MAC does not verify)."""
    from sqlalchemy import func

    rows = (await session.execute(select(AuditIntent.rejected, func.count()).group_by(AuditIntent.rejected))).all()
    counts = {bool(r[0]): r[1] for r in rows}
    return counts.get(False, 0), counts.get(True, 0)


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
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except FileNotFoundError:  # another process of this service removed the (empty) directory meanwhile
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return path, fd

    def append(self, fields: dict) -> None:
        if self._current is None:
            self._current = self._open()
        line = _COMPACT({**fields, "at": fields["at"].isoformat()}) + "\n"
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
_chain_record = itemgetter(*_CHAIN_COLUMNS)  # a chained row as the tuple COPY takes, in _CHAIN_COLUMNS' order


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
    pending: int = 0  # intents committed but not yet chained (AuditChainer): not covered by this report
    rejected: int = 0  # intents never chained because their MAC does not verify (forged in the database)


def _broken(count: int, seq: int | None, reason: str, unkeyed: int = 0) -> ChainReport:
    return ChainReport(count, False, seq, reason, unkeyed=unkeyed)


class _Walk:
    """The chain's checks, one entry at a time, in seq order (database rows and archived rows alike)."""

    def __init__(self, key: AuditKey | None, pinned: dict[int, str]):
        self.key = key
        self.pinned = pinned
        self.prev = GENESIS
        self.count = 0
        self.unkeyed = 0
        self.keyed_seen = False
        self.generation = 0  # of the newest audit key met so far: keys only move forward along the chain
        self.last_seq: int | None = None

    def resume_after(self, seq: int, head_hash: str) -> None:
        """Continue after entries archived away, sealed (signed) at `seq` with `head_hash`."""
        self.prev, self.last_seq, self.keyed_seen = head_hash, seq, True
        for pinned_seq in [s for s in self.pinned if s <= seq]:
            self.pinned.pop(pinned_seq)  # in the archive: checked when the archive file is given

    def feed(self, entry) -> ChainReport | None:
        """None when the entry is in order; else the report of the break."""
        key, prev = self.key, self.prev
        self.count += 1
        count = self.count
        if entry.prev_hash != prev:
            return ChainReport(count, False, entry.seq, "previous hash does not match: a row was removed or reordered")
        expected = entry_hash(prev, at=_aware(entry.at), subject=entry.subject, client_id=entry.client_id,
                              role=entry.role, action=entry.action, resource=entry.resource, purpose=entry.purpose,
                              outcome=entry.outcome, trace_id=entry.trace_id)
        if entry.hash != expected:
            return ChainReport(count, False, entry.seq, "content does not match its hash: the row was changed")
        if entry.mac is None:
            if self.keyed_seen:
                return _broken(count, entry.seq, "an entry without its MAC after keyed entries: the log was rewritten")
            self.unkeyed += 1
        else:
            if key is None:
                return _broken(count, entry.seq, "keyed entries, but no audit key to check them with")
            if self.keyed_seen and entry.seq != self.last_seq + 1:
                return _broken(count, entry.seq, f"entries {self.last_seq + 1}..{entry.seq - 1} are missing")
            entry_key_id = mac_key_id(entry.mac)
            entry_key, entry_generation = key.for_id(entry_key_id), key.generation(entry_key_id)
            if entry_key is None:
                return _broken(count, entry.seq, f"the entry names audit key {entry_key_id!r}, which the key "
                                                 "provider does not hold")
            if entry_generation < self.generation:
                return _broken(count, entry.seq, f"the entry was made with audit key {entry_key_id!r}, older than "
                                                 "an earlier entry's: keys only move forward (a retired key forged it)")
            self.generation = entry_generation
            if not hmac.compare_digest(entry.mac, entry_key.mac(entry.seq, entry.hash)):
                return _broken(count, entry.seq, "the entry's MAC does not match: the row was changed, or the "
                                                 "chain was recomputed without the audit key")
            self.keyed_seen = True
        if entry.seq in self.pinned and self.pinned.pop(entry.seq) != entry.hash:
            return _broken(count, entry.seq, "the entry differs from the signed checkpoint kept outside the database")
        self.prev = entry.hash
        self.last_seq = entry.seq
        return None


async def verify_chain(session, *, batch_size: int = 5000, key: AuditKey | None = None,
                       checkpoints: list[dict] | None = None, archives: list | None = None) -> ChainReport:
    """Walk the chain in seq order, a batch at a time (the log can be long).

    `key` (else the session's) checks each keyed entry's MAC; without a key a keyed log does not verify.
    `checkpoints` (`read_checkpoints`) must each name an entry the log still has, with that hash, unless a signed
    seal (`pana audit archive`) covers it: the log may then begin after the seal. `archives` (archive files,
    oldest first, `pana_kit.audit_archive`) are walked before the database, so the whole history is verified."""
    key = key or _session_key(session)
    pinned: dict[int, str] = {}
    seals: dict[int, str] = {}
    for cp in checkpoints or []:
        if key is None or not checkpoint_signature_ok(cp, key):
            return _broken(0, cp.get("seq"), "a checkpoint's signature does not verify with the audit key")
        pinned[int(cp["seq"])] = cp["hash"]
        if cp.get("sealed_month"):
            seals[int(cp["seq"])] = cp["hash"]
    walk = _Walk(key, pinned)
    for archive in archives or []:
        from .audit_archive import read_archive

        try:
            entries = read_archive(archive, key)
        except ValueError as exc:
            return _broken(walk.count, None, f"archive {archive}: {exc}")
        for entry in entries:
            if walk.last_seq is None and entry.seq > 1 and entry.seq - 1 in seals:
                walk.resume_after(entry.seq - 1, seals[entry.seq - 1])
            if (broken := walk.feed(entry)) is not None:
                return replace(broken, reason=f"archive {archive}: {broken.reason}")
    last_seq: int | None = walk.last_seq
    first = True
    while True:
        # Plain rows, not ORM objects: nothing piles up in the caller's session.
        stmt = select(*(getattr(AuditEntry, c) for c in _CHAIN_COLUMNS)).order_by(AuditEntry.seq).limit(batch_size)
        if last_seq is not None:
            stmt = stmt.where(AuditEntry.seq > last_seq)
        batch = list((await session.execute(stmt)).all())
        if not batch:
            break
        if first and walk.last_seq is None and batch[0].seq > 1:
            sealed = batch[0].seq - 1
            if sealed in seals:  # entries before were archived, sealed by a signed checkpoint
                walk.resume_after(sealed, seals[sealed])
        first = False
        for entry in batch:
            if (broken := walk.feed(entry)) is not None:
                return broken
            last_seq = entry.seq
        if len(batch) < batch_size:
            break
    count, unkeyed = walk.count, walk.unkeyed
    if pinned:
        missing = min(pinned)
        return _broken(count, missing, f"a signed checkpoint names entry {missing}, which the log no longer has "
                                       "(entries were removed)", unkeyed)
    pending, rejected = await backlog(session)
    if rejected:
        return ChainReport(count, False, None, f"{rejected} audit intents were written without the audit key "
                                               "(forged in the database) and were not chained", unkeyed=unkeyed,
                           pending=pending, rejected=rejected)
    return ChainReport(count, True, head_seq=walk.last_seq, head_hash=walk.prev if walk.last_seq is not None else None,
                       unkeyed=unkeyed, checkpoints=len(checkpoints or []), pending=pending)


# -- signed checkpoints, kept outside the database -------------------------------------------------

def _checkpoint_message(service: str, seq: int, head_hash: str, at: str, sealed_month: str | None = None) -> bytes:
    if sealed_month:  # a seal: the entries up to seq were archived (that month and before), the log may begin after
        return json.dumps(["pana-audit-seal-v1", service, seq, head_hash, at, sealed_month],
                          separators=(",", ":")).encode()
    return json.dumps(["pana-audit-checkpoint-v1", service, seq, head_hash, at], separators=(",", ":")).encode()


def checkpoint_signature_ok(cp: dict, key: AuditKey) -> bool:
    """Whether the checkpoint is signed by the audit key it names (`key_id`; none: the original key)."""
    key = key.for_id(str(cp.get("key_id") or ""))
    if key is None:
        return False
    try:
        signature = base64.b64decode(cp["signature"], validate=True)
        Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key_b64)).verify(
            signature, _checkpoint_message(cp["service"], int(cp["seq"]), cp["hash"], cp["at"], cp.get("sealed_month")))
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


def signed_checkpoint(*, service: str, seq: int, head_hash: str, key: AuditKey,
                      sealed_month: str | None = None) -> dict:
    """A signed (seq, head hash); with `sealed_month`, a seal: entries up to seq were archived."""
    at = datetime.now(timezone.utc).isoformat()
    signature = key.signing_key.sign(_checkpoint_message(service, seq, head_hash, at, sealed_month))
    cp = {"service": service, "seq": seq, "hash": head_hash, "at": at,
          "public_key": key.public_key_b64, "signature": base64.b64encode(signature).decode()}
    if sealed_month:
        cp["sealed_month"] = sealed_month
    if key.key_id:
        cp["key_id"] = key.key_id
    return cp


def append_checkpoint(path: Path | str, cp: dict) -> dict:
    """Append a checkpoint to the file (JSON lines, mode 0600, fsynced)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(json.dumps(cp) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return cp


def write_checkpoint(path: Path | str, *, service: str, report: ChainReport, key: AuditKey) -> dict | None:
    """Append a signed (seq, head hash) of an intact chain to the file (JSON lines, mode 0600)."""
    if not report.intact or report.head_seq is None:
        return None
    return append_checkpoint(path, signed_checkpoint(service=service, seq=report.head_seq, head_hash=report.head_hash,
                                                     key=key))


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
