"""The matching engine: same answers as the domain's scorer, read from compact match records; re-indexing."""

from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from sqlalchemy import delete, func, select

from registration import matching_engine
from registration.domain import (
    IdentityDocument, IdentityDocumentKind, MatchingConfig, MatchRecord, Person, find_candidates,
)
from registration.domain.duplicates import key_similarity, name_level, normalise, score_candidates
from registration.store.tables import BlockingKeyRow, MatchRecordRow

NAMES = ["Мухаммад", "Mohammad", "Muhammad|Mukhammad", "محمد", "مُحَمَّد", "Нұрлыбеков", "Nurlybekov", "Zarina",
         "Laila", "Shirin", "Ахмад", "Ahmed", "Al-Hassan", "الحسن", "Abdulla Karim", "Karim Abdulla", "Юсупов|Yusupov",
         "Iusupov", "Aigerim", "Айгерим", ""]


def record(pid: str, given: str, family: str, born: date | None = date(1990, 5, 4), **more) -> MatchRecord:
    return MatchRecord(person_id=pid, given_name=given, family_name=family, birth_date=born, sex="male", **more)


def test_key_similarities_in_bulk_equal_the_model_comparator_pair_by_pair():
    config = MatchingConfig()
    others = [normalise(record(f"p{i}", given, family, patronymic=given if i % 3 else ""))
              for i, given in enumerate(NAMES) for family in NAMES[:6]]
    for mine in NAMES[:-1]:
        query = normalise(record("q", mine, "Nurlybekov", patronymic="Алиевич"))
        table = matching_engine.key_similarities(query, others)
        assert table
        for other in others:
            for left in (query.given, query.family, query.patronymic):
                for right in (other.given, other.family, other.patronymic):  # whatever the slot (swaps)
                    for x in left:
                        for y in right:
                            assert table[(x.key, y.key)] == pytest.approx(key_similarity(x.key, y.key), abs=1e-12)
                    assert name_level(left, right, lambda x, y: table[(x, y)]) == name_level(left, right)
    assert matching_engine.score(query, others, config) == score_candidates(query, others, config)


def test_scoring_equals_the_models_pair_by_pair():
    config = MatchingConfig()
    query = record("q", "Мухаммад", "Нұрлыбеков", document_numbers=("P123",))
    others = [record("a", "Mohammad", "Nurlybekov"), record("b", "Muhammad", "Nurlybekov", date(1990, 4, 5)),
              record("c", "Zarina", "Nurlybekova"), record("d", "Yusuf", "Ahmadi", document_numbers=("P123",)),
              record("e", "Mohammad", "Nurlybekov", date(1960, 1, 1)), record("f", "محمد", "Нурлыбеков"),
              record("g", "Nurlybekov", "Mohammad")]  # swapped names
    scored = matching_engine.score(query, others, config)
    assert scored == score_candidates(query, others, config) == find_candidates(query, others, config)
    assert "g" in [r.person_id for r in scored]


def random_record(rng, pid: str, dates: list) -> MatchRecord:
    """A record of random names (any script, or none), patronymic, birth date and precision, sex, country,
    citizenships and document number."""
    given, family = rng.choice(NAMES), rng.choice(NAMES)
    return MatchRecord(pid, given, family, rng.choice(["", "Алиевич", "Alievich", "Karimovna"]), rng.choice(dates),
                       rng.choice(["exact", "exact", "year", "month", "estimated"]),
                       rng.choice(["male", "female", "unknown"]), rng.choice(["AFG", "KAZ", None]),
                       tuple(rng.sample(["AFG", "KAZ", "UZB"], rng.randint(0, 2))),
                       tuple(rng.sample(["P1", "P2"], rng.randint(0, 1))))


def non_monotone_config() -> MatchingConfig:
    """The shipped config with a model whose given-name weights are not monotone in similarity."""
    from dataclasses import replace

    shipped = MatchingConfig()
    weights = shipped.model.to_dict()
    given = weights["levels"]["given_name"]
    odd_given = {**given, "similar": {**given["similar"], "m": 0.5}, "close": {**given["close"], "m": 0.001}}
    odd = replace(shipped, model=type(shipped.model).from_dict(
        {**weights, "levels": {**weights["levels"], "given_name": odd_given}}))
    assert odd.model.weight("given_name", "similar") > odd.model.weight("given_name", "close")
    return odd


def test_candidates_the_bound_leaves_out_are_none_the_model_would_return():
    """The engine skips candidates whose evidence bound stays below "possible" (EvidenceBound): across names in
    every script, swaps, dates off by a part or more, precisions, sexes, patronymics and countries, it returns
    exactly what the domain's scorer returns pair by pair, with the shipped model and one whose weights are not
    monotone in similarity."""
    import random

    rng = random.Random(5)
    dates = [date(1990, 5, 4), date(1990, 4, 5), date(1990, 5, 5), date(1991, 5, 4), date(1990, 8, 9), date(1970, 1, 1),
             None]

    def any_record(pid: str) -> MatchRecord:
        return random_record(rng, pid, dates)

    shipped, odd = MatchingConfig(), non_monotone_config()
    assert odd.model.weight("given_name", "similar") > odd.model.weight("given_name", "close")
    candidates = [normalise(any_record(f"c{i}")) for i in range(400)]
    for config in (shipped, odd):
        for n in range(40):
            probe = normalise(any_record(f"q{n}"))
            expected = score_candidates(probe, candidates, config)
            assert matching_engine.score(probe, candidates, config) == expected


def test_the_bound_computed_for_a_whole_check_keeps_exactly_what_the_per_candidate_bound_keeps():
    """`EvidenceBound.kept` (the whole check at once, weights looked up per distinct value) keeps the same
    candidates as `could_reach` one by one, with the shipped model, one whose weights are not monotone, and
    probes with an open name slot, shared birth dates and document numbers."""
    import random

    rng = random.Random(9)
    dates = [date(1990, 5, 4), date(1990, 4, 5), date(1990, 5, 5), date(1991, 5, 4), date(1988, 5, 4), None]
    shipped, odd = MatchingConfig(), non_monotone_config()

    def any_record(pid: str) -> MatchRecord:
        return random_record(rng, pid, dates)

    candidates = [normalise(any_record(f"c{i}")) for i in range(300)]
    kept_some = 0
    for config in (shipped, odd):
        for n in range(60):
            probe = normalise(any_record(f"q{n}"))
            left, right, matrix = matching_engine._similarities(probe, candidates)
            if matrix is None:
                continue
            bound = matching_engine.EvidenceBound(probe, right, matrix.max(axis=0).tolist(), config)
            kept = bound.kept(candidates)
            assert kept == [c for c in candidates if bound.could_reach(c)]
            kept_some += 0 < len(kept) < len(candidates)
    assert kept_some > 20  # the bound decides something in most checks


def test_a_record_read_by_a_check_is_normalised_as_from_its_document_field_for_field():
    """`normalised_record` (a check's records not held yet, built directly from the forms a match record keeps)
    equals `normalised_of_document` with its name keys, field for field and in the same order, for records with
    and without forms, patronymics, documents, citizenships, birth dates, and forms of another key length."""
    import json
    import random

    rng = random.Random(3)
    for i in range(300):
        rec = MatchRecord(f"p{i}", rng.choice(NAMES), rng.choice(NAMES), rng.choice(["", "Алиевич", "Karimovna"]),
                          rng.choice([date(1990, 5, 4), date(1971, 12, 1), None]),
                          rng.choice(["exact", "year", "month", "estimated"]), rng.choice(["male", "female", "unknown"]),
                          rng.choice(["AFG", "KAZ", None]), tuple(rng.sample(["AFG", "KAZ", "UZB"], rng.randint(0, 2))),
                          tuple(rng.sample(["p1", "P2"], rng.randint(0, 2))))
        for kept_length in (4, 5, None):
            text = json.dumps(matching_engine.record_document(rec, kept_length))
            for length in (4, 5):
                found = matching_engine.normalised_record(rec.person_id, text, length)
                expected = matching_engine.normalised_of_document(rec.person_id, json.loads(text), length)
                expected.__dict__[matching_engine._KEYS] = matching_engine._name_keys(expected)
                assert found == expected == normalise(rec, length)
                assert list(found.__dict__.items()) == list(expected.__dict__.items())
                assert matching_engine.normalised_record(rec.person_id, f" {text}", length) == found  # any JSON text
    # a name form met again with other values (another script's spelling of one match key) is not mixed up
    a, b = ["mhmt", "mhmt", False, "mhmt"], ["mhmt", "mhmd", True, "mhmt"]
    assert matching_engine._form_of(a).arabic is False and matching_engine._form_of(b).skeleton == "mhmd"
    assert matching_engine._form_of(a) == matching_engine._form(*a)


def test_a_compact_record_is_read_as_the_records_json_is_field_for_field():
    """What a check reads of a record (migration 0018): `normalised_record` of the compact form equals
    `normalised_record` (and `normalised_of_document`) of the record's JSON, field for field and in the same order,
    name keys and all, for records with and without forms, patronymics, documents, citizenships, birth dates, in
    every script; a compact form is made for one blocking key length, and a record whose values the line cannot
    carry (a separator, an empty citizenship) has none (its JSON is read)."""
    import json
    import random

    rng = random.Random(11)
    for i in range(400):
        rec = MatchRecord(f"p{i}", rng.choice(NAMES), rng.choice(NAMES), rng.choice(["", "Алиевич", "Karimovna"]),
                          rng.choice([date(1990, 5, 4), date(1971, 12, 1), None]),
                          rng.choice(["exact", "year", "month", "estimated"]), rng.choice(["male", "female", "unknown"]),
                          rng.choice(["AFG", "KAZ", None]), tuple(rng.sample(["AFG", "KAZ", "UZB"], rng.randint(0, 2))),
                          tuple(rng.sample(["p1", "P2", "x 9"], rng.randint(0, 2))))
        for length in (4, 5):
            compact = matching_engine.compact_record(normalise(rec, length), length)
            assert compact.startswith(matching_engine.compact_prefix(length))
            doc = matching_engine.record_document(rec, length)
            from_json = matching_engine.normalised_record(rec.person_id, json.dumps(doc), length)
            found = matching_engine.normalised_record(rec.person_id, compact, length)
            expected = matching_engine.normalised_of_document(rec.person_id, doc, length)
            assert found == from_json == expected == normalise(rec, length)
            assert hash(found) == hash(expected)
            assert list(found.__dict__.items()) == list(from_json.__dict__.items())
            assert matching_engine._keys(found) == matching_engine._name_keys(expected)
            # the row written for the person carries it (the registration's and the re-index's write path)
            row, _ = matching_engine.index_rows(rec, MatchingConfig(blocking_key_length=length))
            assert row["compact"] == compact and row["record"] == doc
    # values the line cannot carry, or too long for the index that keeps it: no compact form
    for bad in (MatchRecord("q", "Karim", "Rahimi", document_numbers=tuple(f"N{i:05d}" for i in range(300))),
                MatchRecord("q", "Karim", "Rahimi", document_numbers=("A\x1fB",)),
                MatchRecord("q", "Karim", "Rahimi", citizenships=("",)),
                MatchRecord("q", "Karim", "Rahimi", country_of_origin="K\x1eZ")):
        assert matching_engine.compact_record(normalise(bad, 4), 4) is None
        assert matching_engine.index_rows(bad, MatchingConfig())[0]["compact"] is None
    # read twice: the same name fields' forms are one value each
    one = matching_engine.compact_record(normalise(MatchRecord("a", "Karim", "Rahimi"), 4), 4)
    a, b = (matching_engine.normalised_compact(pid, one) for pid in ("a", "b"))
    assert a.given is b.given and a.person_id == "a" and b.person_id == "b"


def test_the_index_holds_the_merged_blocking_keys():
    config = MatchingConfig()
    row, keys = matching_engine.index_rows(record("q", "Mohammad", "Nurlybekov", date(1990, 5, 4)), config)
    kinds = {k["key"].split(":")[0] for k in keys}
    assert {"p", "b", "f", "g"} <= kinds and {k["birth_year"] for k in keys} == {1990}


def test_a_keys_bound_reached_is_reported():
    rows = [(0, 1990 + i, f"p{i}", {}) for i in range(4)] + [(1, None, "z", {})]
    kept, reached = matching_engine.bounded(rows, 1990, 3)
    assert reached and set(kept) == {"p0", "p1", "p2", "z"}
    assert matching_engine.bounded(rows[1:], 1990, 3)[1] is False


def test_a_one_name_key_is_read_to_its_own_lower_bound():
    """A family or given name key alone (`f:`, `g:`) is held by thousands at national scale: it is read to its
    kind's bound (`KIND_BOUND`), the name-pair and birth-date keys to the config's; never above the config's."""
    keys = ["b:1990-04-05", "f:nrlp", "g:mhmt", "p:mhmt:nrlp"]
    f = matching_engine.KIND_BOUND["f"]
    assert matching_engine.key_bounds(keys, 100) == [100, f, f, 100]
    assert matching_engine.key_bounds(keys, 3) == [3, 3, 3, 3]
    # parts 2 and 3 are the second key's (f:): its bound is reached with f + 1 rows, not 100
    rows = [(2, 1990, f"f{i}", {}) for i in range(f + 1)] + [(0, 1990, f"b{i}", {}) for i in range(f + 1)]
    kept, reached = matching_engine.bounded(rows, 1990, 100, keys)
    assert reached and len([p for p in kept if p.startswith("f")]) == f and len([p for p in kept if p[0] == "b"]) == f + 1


def test_match_record_from_a_stored_document_equals_the_one_from_the_person():
    person = Person.register(person_id="p1", registered_by="t", now=datetime(2025, 1, 1, tzinfo=timezone.utc),
                             given_name="Мухаммад", family_name="Нұрлыбеков", patronymic="Алиевич",
                             birth_date=date(1990, 5, 4), sex="male", citizenships=["AFG"], country_of_origin="AFG",
                             identity_documents=[IdentityDocument(kind=IdentityDocumentKind.PASSPORT, number="p01234567")])
    stored = matching_engine.record_of_person_document(person.to_document())
    assert stored == MatchRecord.of(person)
    assert matching_engine.record_of_document("p1", matching_engine.record_document(stored)) == stored


def test_the_names_kept_normalised_in_a_match_record_equal_normalising_it_then():
    """A check reads holders' normalised names from their match records (record_document's forms) instead of
    normalising them; they must be what normalising gives, in every script, and a record kept with another
    blocking key length (or none) is normalised at reading."""
    import json

    from registration.domain.duplicates import normalise
    records = [MatchRecord("a", "Мухаммад|Mukhammad", "Нұрлыбеков|Nurlybekov", "Алиевич|Alievich", date(1990, 5, 4),
                           "exact", "male", "AFG", ("AFG", "KAZ"), ("P01234567",)),
               MatchRecord("b", "محمد", "کریمی|Karimi", birth_date=date(1985, 1, 1), birth_date_precision="year"),
               MatchRecord("c", "Shirin", "", sex="female"),
               MatchRecord("d", "Fatima Zahra|Fatima Zahra", "Ахмедова", birth_date=None)]
    for record in records:
        for length in (4, 6):
            text = json.dumps(matching_engine.record_document(record, length))
            assert matching_engine.normalised_text(record.person_id, text, length) == normalise(record, length)
            assert matching_engine.normalised_text(record.person_id, text, 5) == normalise(record, 5)
        plain = json.dumps(matching_engine.record_document(record))
        assert matching_engine.normalised_text(record.person_id, plain, 4) == normalise(record, 4)
        assert matching_engine.record_of_document(record.person_id, json.loads(text)) == record
        # built without the dataclass's __init__, and its names from the forms of the first record read with
        # those names: the same value, field by field, hash and all, for another holder of the same names too
        for other in (record, replace(record, person_id="z", birth_date=date(2001, 2, 3), sex="female")):
            for length in (4, 6):
                got = matching_engine.normalised_record(other.person_id, json.dumps(
                    matching_engine.record_document(other, length)), length)
                want = normalise(other, length)
                assert got == want and hash(got) == hash(want) and repr(got) == repr(want)
                assert {f: getattr(got, f) for f in matching_engine._NORMALISED_FIELDS} == vars(want)


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
        keys = set(conn.execute(sa.text("SELECT key FROM person_blocking_keys")).scalars())
    engine.dispose()
    assert records == ["p1"] and years == {1990}
    # the keys the merged `blocking_keys` yields, the model's name-pair and exact-birth-date keys among them
    expected = {k["key"] for k in matching_engine.index_rows(MatchRecord.of(person), MatchingConfig())[1]}
    assert keys == expected and any(k.startswith("p:") for k in keys) and "b:1990-04-05" in keys


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migration_0018_writes_every_records_compact_form_and_downgrades(tmp_path, dialect):
    """0018 adds `compact` and backfills it from each record's JSON (as written by the code before it: the forms
    kept, or none, or of another blocking key length); downgrading drops it and leaves the records as they were."""
    import json

    import sqlalchemy as sa

    from alembic import command

    from pana_kit.migrations import alembic_config, upgrade
    from registration.app import MIGRATIONS

    records = [MatchRecord("a", "Мухаммад|Mukhammad", "Нұрлыбеков|Nurlybekov", "Алиевич|Alievich", date(1990, 5, 4),
                           "exact", "male", "AFG", ("AFG", "KAZ"), ("P01234567",)),
               MatchRecord("b", "محمد", "کریمی|Karimi", birth_date=date(1985, 1, 1), birth_date_precision="year"),
               MatchRecord("c", "Shirin", "", sex="female"),
               MatchRecord("d", "Fatima Zahra", "Ахмедова", birth_date=None, citizenships=("",))]
    kept = {"a": 4, "b": None, "c": 6, "d": 4}  # the forms as the record was written: default length, none, other

    def sql(url, statement, rows=None):
        import asyncio

        from sqlalchemy.ext.asyncio import create_async_engine

        async def go():
            engine = create_async_engine(url)
            try:
                async with engine.begin() as conn:
                    if statement == "columns":
                        return await conn.run_sync(lambda c: [col["name"] for col in
                                                              sa.inspect(c).get_columns("person_match_records")])
                    found = await conn.execute(sa.text(statement), rows) if rows else await conn.execute(
                        sa.text(statement))
                    return None if rows else dict(found.all())
            finally:
                await engine.dispose()
        return asyncio.run(go())

    def run(url):
        upgrade(MIGRATIONS, url, revision="0017")
        sql(url, "INSERT INTO person_match_records (person_id, record) VALUES (:p, :r)",
            [{"p": r.person_id, "r": json.dumps(matching_engine.record_document(r, kept[r.person_id]))}
             for r in records])
        upgrade(MIGRATIONS, url)
        got = sql(url, "SELECT person_id, compact FROM person_match_records")
        stored = sql(url, "SELECT person_id, CAST(record AS TEXT) FROM person_match_records")
        assert got == {r.person_id: matching_engine.compact_record(normalise(r, 4), 4) for r in records}
        assert got["d"] is None and all(got[p] for p in "abc")  # d: an empty citizenship, read from its JSON
        for r in records[:3]:
            assert matching_engine.normalised_record(r.person_id, got[r.person_id], 4) == normalise(r, 4)
        if dialect == "postgresql":
            assert sql(url, "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'ix_match_record%'") == {
                "ix_match_record_compact": "CREATE INDEX ix_match_record_compact ON public.person_match_records "
                                           "USING btree (person_id) INCLUDE (digest, compact)"}
        command.downgrade(alembic_config(MIGRATIONS, url), "0017")
        assert "compact" not in sql(url, "columns")
        if dialect == "postgresql":
            assert list(sql(url, "SELECT indexname, 1 FROM pg_indexes WHERE indexname LIKE 'ix_match_record%'")) == [
                "ix_match_record_digest"]
        assert sql(url, "SELECT person_id, CAST(record AS TEXT) FROM person_match_records") == stored
        upgrade(MIGRATIONS, url)  # and up again
        assert sql(url, "SELECT person_id, compact FROM person_match_records") == got

    if dialect == "sqlite":
        run(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
        return
    from pana_dev.testing import module_postgres

    with module_postgres("registration-migration-0018") as pg:
        pg.create_database("reg")
        run(pg.url("reg"))


@pytest.mark.parametrize("cold_from", [0.0, 2.0], ids=["records-in-the-candidate-statement", "records-read-apart"])
async def test_on_postgresql_a_check_reads_compact_records_and_the_json_where_there_is_none(monkeypatch, cold_from):
    """The candidate statements read a record's compact form when it is of the check's blocking key length, else
    its JSON (a record written by older code: no compact form; one made with another length): the same
    normalised records either way, cold and warm."""
    monkeypatch.setattr(matching_engine.RecordCache, "COLD_FROM", cold_from)
    matching_engine.RECORDS.clear()
    matching_engine.RECORDS.missing = 1.0 if cold_from == 0.0 else 0.0  # read cold or warm from the first check
    from sqlalchemy import insert, update

    config = MatchingConfig()
    people = [record(f"p{i}", "Karim", "Rahimi", date(1990, 5, 1 + i), patronymic="Алиевич" if i % 2 else "",
                     citizenships=("AFG",), document_numbers=(f"n{i}",)) for i in range(6)]
    async with indexed_postgres(f"registration-compact-{cold_from}", config) as (db, _):
        async with db.transaction() as session:
            for person in people:
                row, keys = matching_engine.index_rows(person, config)
                await session.execute(insert(MatchRecordRow), [row])
                await session.execute(insert(BlockingKeyRow), keys)
            await session.execute(update(MatchRecordRow).where(MatchRecordRow.person_id.in_(["p1", "p2"]))
                                  .values(compact=None))
            other = matching_engine.compact_record(normalise(people[3], 5), 5)
            await session.execute(update(MatchRecordRow).where(MatchRecordRow.person_id == "p3").values(compact=other))
        held = db.held("duplicate-check", matching_engine.HELD_READERS)
        texts = {pid: text for pid, _, text in await held.fetch(matching_engine.RECORDS_PG,
                                                                  [p.person_id for p in people])}
        usable = matching_engine.compact_prefix(4)
        assert [pid for pid, text in sorted(texts.items()) if not (text or "").startswith(usable)] == ["p1", "p2", "p3"]
        import gc

        for read in range(3):  # read, then held as text, then held normalised
            found, _ = await matching_engine.read_candidates(db, record("x", "Karim", "Rahimi"), config)
            assert sorted(found, key=lambda n: n.person_id) == [normalise(p, 4) for p in people]
            held = {key[0]: value for key, value in matching_engine.RECORDS._held.items()}
            assert sorted(held) == [p.person_id for p in people]
            # read once: held as their compact text (nothing the garbage collector tracks); read again: normalised;
            # the records read as JSON: normalised
            compact = [held[p] for p in ("p0", "p4", "p5")]
            assert all(isinstance(t, str) and not gc.is_tracked(t) for t in compact) if read == 0 else \
                compact == [normalise(people[i], 4) for i in (0, 4, 5)]
            assert all(held[p] == normalise(people[int(p[1])], 4) for p in ("p1", "p2", "p3"))


@pytest.mark.parametrize("cold_from", [0.0, 2.0], ids=["records-in-the-candidate-statement", "records-read-apart"])
async def test_on_postgresql_the_prepared_candidate_statement_reads_what_the_per_key_query_reads(monkeypatch,
                                                                                                 cold_from):
    """On PostgreSQL a check reads its candidates with one prepared statement on held connections
    (`CANDIDATES_PG`: the keys as an array, the bound per key applied and the holders deduplicated in SQL). It
    must read the same persons, and report the same bound reached, as the per-key query and `bounded` that
    SQLite uses: common keys with more holders than the bound, holders without a birth year, another generation,
    a check with no birth date. Cold (`CANDIDATES_PG_RECORDS`, records beside digests) and warm alike."""
    monkeypatch.setattr(matching_engine.RecordCache, "COLD_FROM", cold_from)
    matching_engine.RECORDS.clear()
    import random

    from pana_dev.testing import module_postgres
    from pana_kit.db import Database
    from pana_kit.migrations import upgrade
    from registration.app import MIGRATIONS
    from sqlalchemy import insert

    rng = random.Random(5)
    config = MatchingConfig()
    people = [record(f"p{i:03d}", rng.choice(["Karim", "Karima", "Kamil", "Farid"]), rng.choice(["Rahimi", "Rahman"]),
                     rng.choice([None, date(rng.randint(1950, 2020), rng.randint(1, 12), rng.randint(1, 28))]))
              for i in range(240)]
    probes = [record("x", "Karim", "Rahimi", date(1990, 5, 4)), record("y", "Farid", "Rahman", None),
              record("z", "Kamil", "Rahimi", date(1950, 1, 1)), people[7], record("w", "Nobody", "Else")]
    with module_postgres("registration-candidates") as pg:
        pg.create_database("reg")
        upgrade(MIGRATIONS, pg.url("reg"))
        db = Database(pg.url("reg"))
        try:
            async with db.transaction() as session:
                for person in people:
                    row, keys = matching_engine.index_rows(person, config)
                    await session.execute(insert(MatchRecordRow), [row])
                    await session.execute(insert(BlockingKeyRow), keys)
            for limit in (3, 10, 200):
                limited = MatchingConfig(candidate_limit=limit)
                for probe in probes:
                    per_key = min(matching_engine.PER_KEY, limit)
                    query = matching_engine.candidate_query(
                        config_keys := matching_engine.blocking_keys(probe, limited),
                        probe.birth_date.year if probe.birth_date else None, limited, per_key, as_text=True)
                    rows = await db.read_all(query) if config_keys else []
                    kept, reached = matching_engine.bounded(rows, probe.birth_date.year if probe.birth_date else None,
                                                            per_key, config_keys)
                    expected = sorted(pid for pid in kept if pid != probe.person_id)
                    found, found_reached = await matching_engine.read_candidates(db, probe, limited)
                    ids = sorted(n.person_id for n in found)
                    assert found_reached == reached, (limit, probe.person_id)
                    if probe.birth_date is None:  # any `per_key` of each key's holders: holders, as many
                        holders = {p.person_id for p in people if config_keys & matching_engine.blocking_keys(p, limited)}
                        assert set(ids) <= holders - {probe.person_id}
                        # each key gives its bound's worth of its holders, or all (a one-name key's bound is
                        # lower, `KIND_BOUND`)
                        keys = sorted(config_keys)
                        each = [min(bound, len({p.person_id for p in people if key in
                                                matching_engine.blocking_keys(p, limited)} - {probe.person_id}))
                                for key, bound in zip(keys, matching_engine.key_bounds(keys, per_key))]
                        assert len(ids) >= max(each)
                    else:
                        assert ids == expected, (limit, probe.person_id)
                    assert all(n == normalise(next(p for p in people if p.person_id == n.person_id), 4)
                               for n in found)
        finally:
            await db.dispose()


@asynccontextmanager
async def indexed_postgres(label: str, config: MatchingConfig):
    """A migrated registration database in an embedded PostgreSQL (`db`) and `index(record, new=)`, which writes
    person p1's match record and keys as a correction does (`index_person`; None: merged, out of the index)."""
    from pana_dev.testing import module_postgres
    from pana_kit.db import Database
    from pana_kit.migrations import upgrade
    from registration.app import MIGRATIONS

    with module_postgres(label) as pg:
        pg.create_database("reg")
        upgrade(MIGRATIONS, pg.url("reg"))
        db = Database(pg.url("reg"))

        async def index(person, *, new=False):
            async with db.transaction() as session:
                await matching_engine.index_person(session, person, "p1", config, new=new)
        try:
            yield db, index
        finally:
            await db.dispose()


@pytest.mark.parametrize("cold_from", [0.0, 2.0], ids=["records-in-the-candidate-statement", "records-read-apart"])
async def test_on_postgresql_a_held_record_is_never_served_after_it_changed(monkeypatch, cold_from):
    """PostgreSQL checks keep their candidates' normalised records in process, keyed by the record's digest
    (migration 0016, computed by PostgreSQL on insert): a record changed after a check read it (a correction,
    as `index_person` writes it) is read again as it is now; a merged record (out of the index) is not a
    candidate; a record another process re-indexed the same way is served from the cache. Both ways a check
    reads records: cold (`RecordCache.cold`: every candidate's record in the candidate statement, beside its
    digest) and warm (digests, then the records not held)."""
    monkeypatch.setattr(matching_engine.RecordCache, "COLD_FROM", cold_from)
    matching_engine.RECORDS.clear()  # the same records as the other way's run: none held at the start
    config = MatchingConfig()
    probe = record("probe", "Karim", "Rahimi")
    async with indexed_postgres(f"registration-held-records-{cold_from}", config) as (db, index):
        async def read():
            found, _ = await matching_engine.read_candidates(db, probe, config)
            return [(n.person_id, [f.key for f in n.family], n.birth_date) for n in found]

        await index(record("p1", "Karim", "Rahimi"), new=True)
        assert await read() == [("p1", ["rahimi"], date(1990, 5, 4))]
        assert await read() == [("p1", ["rahimi"], date(1990, 5, 4))]  # held now
        held = len(matching_engine.RECORDS._held)
        await index(record("p1", "Karim", "Rahman", date(1990, 5, 5)))
        assert await read() == [("p1", ["rahman"], date(1990, 5, 5))]
        assert len(matching_engine.RECORDS._held) == held + 1
        await index(record("p1", "Karim", "Rahman", date(1990, 5, 5)))  # the same record written again
        assert await read() == [("p1", ["rahman"], date(1990, 5, 5))]
        assert len(matching_engine.RECORDS._held) == held + 1  # same digest: held
        await index(None)  # merged: leaves the index
        assert await read() == []


@pytest.mark.parametrize("shipped", [True, False], ids=["records-with-the-candidates", "records-not-held-after"])
async def test_on_postgresql_a_registration_reads_its_candidates_through_the_checks_cache_and_never_stale(
        shipped, monkeypatch):
    """A registration's candidates (`candidate_records`, in its transaction) come through the same statements and
    the same digest-keyed cache as a check's (`RECORDS`): a record a check read is not held twice, and a record
    changed since either read it is read again as it is now; one changed in the registration's own transaction
    is seen as that transaction wrote it; a merged record is not a candidate. Whether the records come with the
    candidates (while the cache misses much) or after them (only those not held)."""
    from pana_kit.outbox import UnitOfWork

    monkeypatch.setattr(matching_engine.RecordCache, "COLD_FROM", 0.0 if shipped else 2.0)
    config = MatchingConfig()
    probe = record("probe", "Karim", "Rahimi")
    async with indexed_postgres(f"registration-held-records-registering-{shipped}", config) as (db, index):
        def shown(found):
            return [(n.person_id, [f.key for f in n.family], n.birth_date) for n in found]

        class RolledBack(Exception):
            pass

        async def register_read(change=None):
            async with UnitOfWork(db, "registration") as uow:  # the registration's transaction
                if change is not None:
                    await matching_engine.index_person(uow.session, change, "p1", config)
                found, _ = await matching_engine.candidate_records(uow.session, probe, config)
                if change is not None:
                    raise RolledBack(shown(found))
                return shown(found)

        async def check():
            return shown((await matching_engine.read_candidates(db, probe, config))[0])

        matching_engine.RECORDS.clear()
        await index(record("p1", "Karim", "Rahimi"), new=True)
        assert await register_read() == [("p1", ["rahimi"], date(1990, 5, 4))]
        assert len(matching_engine.RECORDS._held) == 1
        assert await check() == [("p1", ["rahimi"], date(1990, 5, 4))]
        assert len(matching_engine.RECORDS._held) == 1  # one cache: the check found it held
        await index(record("p1", "Karim", "Rahman", date(1990, 5, 5)))
        assert await register_read() == [("p1", ["rahman"], date(1990, 5, 5))]
        assert await check() == [("p1", ["rahman"], date(1990, 5, 5))]
        assert len(matching_engine.RECORDS._held) == 2
        # changed in the registration's own transaction: seen there as written there; rolled back, never
        # served to anyone after (the held record is the rolled-back text's, under its own digest)
        with pytest.raises(RolledBack) as seen:
            await register_read(record("p1", "Karim", "Rahimov", date(1990, 5, 6)))
        assert seen.value.args[0] == [("p1", ["rahimov"], date(1990, 5, 6))]
        assert await check() == [("p1", ["rahman"], date(1990, 5, 5))]
        assert await register_read() == [("p1", ["rahman"], date(1990, 5, 5))]
        await index(None)  # merged: leaves the index
        assert await register_read() == []
