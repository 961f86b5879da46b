"""A unit of work's commit statement (issue 16): on PostgreSQL the outbox rows, audit intents and idempotency
answers a command records are written by one statement just before the commit, and the idempotency key is claimed
on the transaction's connection directly (`pana_kit.db.InTransaction`). What must hold whatever the path, on SQLite
and on PostgreSQL: the three commit with the command or not at all, the intents are chained (the chain verifies),
a replay answers the stored bytes, and a statement sent directly fails as SQLAlchemy's statements do.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pana_events.events.rsd import InterviewScheduled
from pana_kit import audit
from pana_kit.auth import Principal
from pana_kit.crypto import Keyring
from pana_kit.db import Database, InTransaction
from pana_kit.idempotency import Idempotency
from pana_kit.migrations import upgrade
from pana_kit.outbox import UnitOfWork
from pana_kit.tables import AuditEntry, AuditIntent, IdempotencyRecord, OutboxMessage

MIGRATIONS = Path(__import__("rsd.app", fromlist=["MIGRATIONS"]).MIGRATIONS)
OFFICER = Principal(subject="officer-16", client_id="pana-web", roles=("eligibility-officer",), scopes=frozenset())
# `url` (conftest): SQLite, or a new database in the module's PostgreSQL.


def _db(url: str, keyring: Keyring) -> Database:
    db = Database(url)
    db.use_audit_key(audit.AuditKey.of(keyring))
    db.use_audit_chainer(audit.AuditChainer(db, "rsd", sweep_seconds=0))
    return db


async def _command(db: Database, n: int, *, key: str, fail: bool = False):
    """Claim a key, emit an event, record two audit entries, remember the answer; `fail`: raise after all that."""
    async with UnitOfWork(db, "/rsd") as uow:
        idem = Idempotency(uow.session, "application", key, {"n": n}, principal=OFFICER)
        if (replayed := await idem.replay()) is not None:
            return replayed
        uow.emit(InterviewScheduled(application_id=f"a{n}", person_id="p", interview_id=f"i{n}",
                                    scheduled_for=date(2026, 12, 24)), subject=f"a{n}")
        await audit.record(uow.session, OFFICER, "create", f"application/a{n}", service="rsd")
        await audit.record(uow.session, OFFICER, "read", f"application/a{n}", service="rsd")
        answer = idem.remember(201, {"application_id": f"a{n}", "name": "Мухаммад"}, headers={"Location": f"/a/{n}"})
        if fail:
            raise RuntimeError("refused after recording")
        return answer


async def _counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return {table.__tablename__: (await session.execute(select(func.count()).select_from(table))).scalar()
                for table in (OutboxMessage, AuditEntry, AuditIntent, IdempotencyRecord)}


def test_what_a_command_records_commits_with_it_or_not_at_all(url, audit_keyring):
    upgrade(MIGRATIONS, url)

    async def go():
        db = _db(url, audit_keyring)
        try:
            before = await _counts(db)
            with pytest.raises(RuntimeError):
                await _command(db, 0, key="key-refused-0001", fail=True)
            assert await _counts(db) == before  # nothing of it: no event, no intent, no claimed key

            answers = await asyncio.gather(*(_command(db, n, key=f"key-{n:04d}-abcd") for n in range(1, 13)))
            after = await _counts(db)
            assert after["outbox"] - before["outbox"] == 12
            assert after["audit_log"] - before["audit_log"] == 24 and after["audit_intents"] == 0  # all chained
            assert after["idempotency_keys"] - before["idempotency_keys"] == 12
            async with db.session() as session:
                report = await audit.verify_chain(session)
                assert report.intact and report.pending == 0 and report.rejected == 0, report
                stored = await session.get(IdempotencyRecord, (OFFICER.subject, "application", "key-0003-abcd"))
                assert (stored.status_code, stored.headers) == (201, {"Location": "/a/3"})
                events = (await session.execute(select(OutboxMessage.event_type, OutboxMessage.key)
                                                .where(OutboxMessage.key == "a3"))).all()
                assert events == [("rsd.interview.scheduled.v1", "a3")]

            # The same key again: the stored answer, byte for byte, and nothing written a second time.
            replayed = await _command(db, 3, key="key-0003-abcd")
            assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.status_code == 201
            assert replayed.body == answers[2].body
            assert json.loads(answers[2].body) == {"application_id": "a3", "name": "Мухаммад"}
            assert await _counts(db) == after
        finally:
            await db.dispose()

    asyncio.run(go())


def test_a_statement_sent_directly_fails_as_the_sessions_do(pg_url):
    """`InTransaction`: in the session's transaction (its effect rolled back with it) and SQLAlchemy's errors."""
    upgrade(MIGRATIONS, pg_url)

    async def go():
        db = Database(pg_url)
        try:
            async with db.transaction() as session:
                raw = InTransaction(session)
                await raw.fetch("INSERT INTO idempotency_keys (subject, scope, key, request_hash, status_code, "
                                "response_body, headers, created_at) VALUES ('s', 'x', 'k', 'h', 0, 'null', '{}', now())")
            with pytest.raises(IntegrityError):
                async with db.transaction() as session:
                    raw = InTransaction(session)
                    await raw.fetch("INSERT INTO idempotency_keys (subject, scope, key, request_hash, status_code, "
                                    "response_body, headers, created_at) VALUES ('s', 'y', 'k', 'h', 0, 'null', '{}', "
                                    "now())")
                    await raw.fetch("INSERT INTO idempotency_keys (subject, scope, key, request_hash, status_code, "
                                    "response_body, headers, created_at) VALUES ('s', 'x', 'k', 'h', 0, 'null', '{}', "
                                    "now())")
            async with db.session() as session:  # the failed transaction's first row went with it
                scopes = (await session.execute(select(IdempotencyRecord.scope))).scalars().all()
            assert scopes == ["x"]
        finally:
            await db.dispose()

    asyncio.run(go())


def test_a_core_statement_sent_directly_binds_as_sqlalchemy_does_and_commits_with_the_transaction(pg_url):
    """`CoreStatement` through `InTransaction.fetch_core`: the values bound through their columns' types as
    SQLAlchemy binds them (JSON, timestamps), in the session's transaction (rolled back with it), its errors
    SQLAlchemy's; the same rows as the statement executed by the session."""
    from datetime import datetime, timezone

    from sqlalchemy import bindparam, insert

    from pana_kit.db import CoreStatement

    upgrade(MIGRATIONS, pg_url)
    table = IdempotencyRecord.__table__
    columns = ("subject", "scope", "key", "request_hash", "status_code", "response_body", "headers", "created_at")
    statement = insert(table).values({c: bindparam(c, type_=table.c[c].type) for c in columns}) \
        .returning(table.c.key)
    core = CoreStatement(statement)
    at = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)

    def values(scope: str) -> dict:
        return dict(subject="s", scope=scope, key="k", request_hash="h", status_code=201,
                    response_body='{"a":"Мухаммад"}', headers={"Location": "/a/1", "n": [1, 2]}, created_at=at)

    async def go():
        db = Database(pg_url)
        try:
            async with db.transaction() as session:
                assert [tuple(r) for r in await InTransaction(session).fetch_core(core, values("direct"))] == [("k",)]
                await session.execute(statement, values("session"))
            with pytest.raises(IntegrityError):
                async with db.transaction() as session:
                    raw = InTransaction(session)
                    await raw.fetch_core(core, values("rolled-back"))
                    await raw.fetch_core(core, values("direct"))  # taken: the transaction fails
            async with db.session() as session:
                rows = {r.scope: (r.status_code, r.response_body, r.headers, r.created_at) for r in
                        (await session.execute(select(IdempotencyRecord))).scalars()}
            assert set(rows) == {"direct", "session"}  # the failed transaction's first row went with it
            assert rows["direct"] == rows["session"] == (201, '{"a":"Мухаммад"}', {"Location": "/a/1", "n": [1, 2]},
                                                         at)
        finally:
            await db.dispose()

    asyncio.run(go())
