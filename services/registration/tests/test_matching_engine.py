"""The matching engine: same answers as the domain's scorer, read from compact match records; re-indexing."""

from datetime import date, datetime, timezone

import pytest

from sqlalchemy import delete, func, select

from registration import matching_engine
from registration.domain import (
    IdentityDocument, IdentityDocumentKind, MatchingConfig, MatchRecord, Person, find_candidates, name_similarity,
)
from registration.store.tables import BlockingKeyRow, MatchRecordRow

NAMES = ["Мухаммад", "Mohammad", "Muhammad|Mukhammad", "محمد", "مُحَمَّد", "Нұрлыбеков", "Nurlybekov", "Zarina",
         "Laila", "Shirin", "Ахмад", "Ahmed", "Al-Hassan", "الحسن", "Abdulla Karim", "Karim Abdulla", "Юсупов|Yusupov",
         "Iusupov", "Aigerim", "Айгерим", ""]


def record(pid: str, given: str, family: str, born: date | None = date(1990, 5, 4), **more) -> MatchRecord:
    return MatchRecord(person_id=pid, given_name=given, family_name=family, birth_date=born, sex="male", **more)


def test_name_similarities_in_bulk_equal_the_domain_comparator_pair_by_pair():
    config = MatchingConfig()
    others = [record(f"p{i}", given, family) for i, given in enumerate(NAMES) for family in NAMES[:6]]
    for mine in NAMES[:-1]:
        query = record("q", mine, "Nurlybekov")
        table = matching_engine.name_similarities(query, others, config)
        for other in others:
            for field in ("given_name", "family_name"):
                a, b = getattr(query, field), getattr(other, field)
                if a and b:
                    assert table[(a, b)] == pytest.approx(name_similarity(a, b), abs=1e-12), (a, b)


def test_scoring_equals_find_candidates():
    config = MatchingConfig()
    query = record("q", "Мухаммад", "Нұрлыбеков", document_numbers=("P123",))
    others = [record("a", "Mohammad", "Nurlybekov"), record("b", "Muhammad", "Nurlybekov", date(1990, 4, 5)),
              record("c", "Zarina", "Nurlybekova"), record("d", "Yusuf", "Ahmadi", document_numbers=("P123",)),
              record("e", "Mohammad", "Nurlybekov", date(1960, 1, 1)), record("f", "محمد", "Нурлыбеков")]
    assert matching_engine.score(query, others, config) == find_candidates(query, others, config)


def test_match_record_from_a_stored_document_equals_the_one_from_the_person():
    person = Person.register(person_id="p1", registered_by="t", now=datetime(2025, 1, 1, tzinfo=timezone.utc),
                             given_name="Мухаммад", family_name="Нұрлыбеков", patronymic="Алиевич",
                             birth_date=date(1990, 5, 4), sex="male", citizenships=["AFG"], country_of_origin="AFG",
                             identity_documents=[IdentityDocument(kind=IdentityDocumentKind.PASSPORT, number="p01234567")])
    stored = matching_engine.record_of_person_document(person.to_document())
    assert stored == MatchRecord.of(person)
    assert matching_engine.record_of_document("p1", matching_engine.record_document(stored)) == stored


def officer(reg, n):
    return {**reg.headers("registration-officer"), "Idempotency-Key": f"engine-{n:04d}"}


BODY = {"given_name": "Мухаммад", "family_name": "Нұрлыбеков", "birth_date": "1990-05-04", "sex": "male",
        "citizenship": ["AFG"], "country_of_origin": "AFG"}


async def test_a_check_reads_match_records_and_reindex_rebuilds_them(reg):
    r = await reg.client.post("/api/v1/persons", json=BODY, headers=officer(reg, 1))
    assert r.status_code == 201, r.text
    pid = r.json()["person_id"]
    for i, year in enumerate((1955, 1975, 2010)):  # namesakes of other generations: not read, not candidates
        r = await reg.client.post("/api/v1/persons", json={**BODY, "birth_date": f"{year}-01-01"},
                                  headers=officer(reg, 10 + i))
        assert r.status_code == 201, r.text
    check = {**BODY, "given_name": "Mohammad", "family_name": "Nurlybekov"}

    async def found():
        r = await reg.client.post("/api/v1/persons/duplicate-check", json=check,
                                  headers=reg.headers("registration-officer"))
        assert r.status_code == 200, r.text
        return [c["person_id"] for c in r.json()["candidates"]]

    assert await found() == [pid]
    db = reg.app.state.db
    async with db.transaction() as session:
        rows = (await session.execute(select(MatchRecordRow).where(MatchRecordRow.person_id == pid))).scalars().all()
        assert rows and rows[0].record["given_name"] == "Мухаммад|Mukhammad"
        years = set((await session.execute(select(BlockingKeyRow.birth_year)
                                           .where(BlockingKeyRow.person_id == pid))).scalars())
        assert years == {1990}
        await session.execute(delete(MatchRecordRow))
        await session.execute(delete(BlockingKeyRow))
    assert await found() == []
    assert await matching_engine.reindex(db, reg.app.state.matching, batch=2) == 4
    assert await found() == [pid]
    async with db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(MatchRecordRow))).scalar_one() == 4


def test_the_query_reads_only_within_the_generation_window_when_relatives_cannot_be_candidates():
    config = MatchingConfig()
    sql = str(matching_engine.candidate_query(["f:nrlp"], 1990, config, 10))
    assert "birth_year < :hi" in sql and "birth_year IS NULL" in sql and "GROUP BY" not in sql
    assert matching_engine.year_window(MatchingConfig(relative_score_cap=0.75)) is None


async def test_pana_registration_reindex_matching(reg, capsys):
    import asyncio

    from pana_kit import cli

    r = await reg.client.post("/api/v1/persons", json=BODY, headers=officer(reg, 40))
    assert r.status_code == 201, r.text
    async with reg.app.state.db.transaction() as session:
        await session.execute(delete(MatchRecordRow))
    url = reg.app.state.db.engine.url.render_as_string(hide_password=False)
    assert await asyncio.to_thread(cli.main, ["registration", "reindex-matching", "--database-url", url]) == 0
    assert "re-indexed 1 persons" in capsys.readouterr().out
    async with reg.app.state.db.transaction() as session:
        assert (await session.execute(select(func.count()).select_from(MatchRecordRow))).scalar_one() == 1


def test_migration_0008_backfills_match_records_and_keys(tmp_path):
    import sqlalchemy as sa

    from pana_kit.migrations import upgrade
    from registration.app import MIGRATIONS

    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    upgrade(MIGRATIONS, url, revision="0007")
    person = Person.register(person_id="p1", registered_by="t", now=datetime(2025, 1, 1, tzinfo=timezone.utc),
                             given_name="Мухаммад", family_name="Нұрлыбеков", birth_date=date(1990, 5, 4), sex="male")
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'r.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO persons (person_id, registration_number, family_name_key, given_name_key, "
                             "sex, version, document, created_at, updated_at) VALUES ('p1', 'KZR-1', 'x', 'y', "
                             "'male', 1, :doc, '2025-01-01', '2025-01-01')"),
                     {"doc": __import__("json").dumps(person.to_document())})
    upgrade(MIGRATIONS, url)
    with engine.connect() as conn:
        records = conn.execute(sa.text("SELECT person_id FROM person_match_records")).scalars().all()
        years = set(conn.execute(sa.text("SELECT birth_year FROM person_blocking_keys")).scalars())
    engine.dispose()
    assert records == ["p1"] and years == {1990}
