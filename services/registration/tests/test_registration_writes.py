"""What a registration writes commits with it or not at all (issue 16). On PostgreSQL the person's row, its match
record and its blocking keys are one statement sent on the transaction's own connection without SQLAlchemy's
execution context (`pana_kit.db.CoreStatement`), the outbox row, audit intent and idempotency answer the unit of
work's commit statement; on SQLite each goes through the session. Either way: a registration refused after it
wrote leaves nothing (no person, no index rows, no review, no event, no audit entry, no claimed key), and the next
one writes everything, its document sealed at rest, its replay the same bytes."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from pana_dev.testing import service_harness
from pana_kit.tables import AuditEntry, AuditIntent, IdempotencyRecord, OutboxMessage
from registration.app import create
from registration.service import persons as service_persons
from registration.settings import RegistrationSettings
from registration.store.tables import BlockingKeyRow, DuplicateReviewRow, MatchRecordRow, PersonRow

PERSON = {"given_name": "Мухаммад", "family_name": "Каримов", "birth_date": "1974-08-12", "sex": "male",
          "citizenship": ["AFG"], "country_of_origin": "AFG", "ethnicity": "Hazara",
          "address": {"region": "Almaty", "street": "Abay 17"}}
# A possible duplicate of PERSON (same family name and birth date, another given name): queued for review.
RELATIVE = {**PERSON, "given_name": "Ахмад"}
TABLES = (PersonRow, MatchRecordRow, BlockingKeyRow, DuplicateReviewRow, OutboxMessage, AuditEntry, AuditIntent,
          IdempotencyRecord)


async def counts(reg) -> dict[str, int]:
    async with reg.app.state.db.session() as session:
        return {t.__tablename__: (await session.execute(select(func.count()).select_from(t))).scalar_one()
                for t in TABLES}


async def writes_commit_together(reg, monkeypatch) -> None:
    h = reg.headers("registration-officer")
    first = await reg.client.post("/api/v1/persons", json=PERSON, headers={**h, "Idempotency-Key": "writes-0001"})
    assert first.status_code == 201, first.text
    before = await counts(reg)

    real = service_persons.run_creation

    async def written_then_refused(*args, **kwargs):
        await real(*args, **kwargs)  # the person, its index rows, its event and audit intent: all recorded
        raise RuntimeError("refused after writing")

    monkeypatch.setattr(service_persons, "run_creation", written_then_refused)
    with pytest.raises(RuntimeError):
        await reg.client.post("/api/v1/persons", json=RELATIVE, headers={**h, "Idempotency-Key": "writes-0002"})
    assert await counts(reg) == before  # nothing of it

    monkeypatch.setattr(service_persons, "run_creation", real)
    second = await reg.client.post("/api/v1/persons", json=RELATIVE, headers={**h, "Idempotency-Key": "writes-0002"})
    assert second.status_code == 201, second.text
    assert [c["person_id"] for c in second.json()["possible_duplicates"]] == [first.json()["person_id"]]
    after = await counts(reg)
    person_id = second.json()["person_id"]
    assert after["persons"] == before["persons"] + 1 and after["duplicate_reviews"] == before["duplicate_reviews"] + 1
    assert after["person_match_records"] == before["person_match_records"] + 1
    assert after["outbox"] == before["outbox"] + 1 and after["idempotency_keys"] == before["idempotency_keys"] + 1
    async with reg.app.state.db.session() as session:
        keys = (await session.execute(select(func.count()).select_from(BlockingKeyRow)
                                      .where(BlockingKeyRow.person_id == person_id))).scalar_one()
        assert keys > 0 and after["person_blocking_keys"] == before["person_blocking_keys"] + keys
        raw = (await session.execute(text("SELECT document FROM persons WHERE person_id = :p"),
                                     {"p": person_id})).scalar_one()
    raw = raw if isinstance(raw, str) else json.dumps(raw)
    assert "Hazara" not in raw and "Abay 17" not in raw  # sealed at rest, as through the session
    replay = await reg.client.post("/api/v1/persons", json=RELATIVE, headers={**h, "Idempotency-Key": "writes-0002"})
    assert replay.status_code == 201 and replay.content == second.content
    assert await counts(reg) == after  # a replay writes nothing
    read = await reg.client.get(f"/api/v1/persons/{person_id}", headers={**h, "X-Purpose": "case-work"})
    assert read.status_code == 200 and (read.json()["ethnicity"], read.json()["address"]["street"]) == (
        "Hazara", "Abay 17")
    async with reg.app.state.db.session() as session:
        from pana_kit import audit

        assert (await audit.verify_chain(session)).intact


async def test_a_registrations_writes_commit_with_it_or_not_at_all_on_sqlite(reg, monkeypatch):
    await writes_commit_together(reg, monkeypatch)


async def test_a_registrations_writes_commit_with_it_or_not_at_all_on_postgresql(tmp_path, monkeypatch):
    from pana_dev.testing import module_postgres

    with module_postgres("registration-writes") as pg:
        pg.create_database("reg")
        async with service_harness(create, RegistrationSettings, tmp_path, database_url=pg.url("reg"),
                                   signing_key_path=str(tmp_path / "signing.pem"),
                                   stateless_certificate_watch_enabled=False) as reg:
            await writes_commit_together(reg, monkeypatch)
