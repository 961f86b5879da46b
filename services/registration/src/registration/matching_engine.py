"""The duplicate-matching engine: what the register keeps for matching and how a check reads and scores it.

Beside each person the store keeps (store/tables.py)
- a compact match record (`MatchRecord`'s fields as a small JSON object: names as written and in Latin, birth date
  and its precision, sex, country, citizenships, identity document numbers) — a check never loads a person's full
  (sealed) document nor rebuilds a `Person` from it;
- the person's blocking keys (whatever `blocking_keys` yields) with the birth year beside each key.

A check reads, for each of its keys, the holders nearest in birth year (an index range scan each way with LIMIT;
no aggregate over every holder of a common key), their match records in the same statement, and scores them.
The model — which keys, which comparisons, which weights — is the domain's (domain/duplicates.py); this module
only makes it cheap: the pure name functions are memoised (names repeat a great deal in a register) and the name
similarities of a check are computed for all candidates at once with RapidFuzz's `process.cdist` (C++), then
looked up by the scorer, instead of pair by pair in Python.

Birth-year window: under the domain's rules two records whose birth years are `generation_gap_years` or more apart
are relatives (capped at `relative_score_cap`), so when that cap is below the review threshold such holders can
never be candidates and are not read. Holders without a birth date are always read.
"""

from __future__ import annotations

import contextvars
import functools
import sys
from dataclasses import fields as dataclass_fields
from datetime import date
from types import SimpleNamespace
from typing import Any, Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy import text as _text

from .domain import MatchingConfig, MatchRecord, MatchResult, blocking_keys
from .domain import duplicates as _duplicates
from .domain import names as _names
from .store.tables import BlockingKeyRow, MatchRecordRow

KEY_LENGTH = 220  # the key column's width
# Per blocking key, the holders nearest in birth year read by a check. A key held by more people in the birth-year
# window is a common name: its holders farther in age than the nearest PER_KEY are not read through that key
# (they are through the check's other keys: family and given name, document numbers).
PER_KEY = 100


# --- memoised normalisation -------------------------------------------------------------------

_NAME_FUNCTIONS = ("transliterate", "fold", "match_key", "skeleton", "blocking_key", "script_of", "patronymic_stem")


def memoise_name_functions(maxsize: int = 200_000) -> None:
    """Replace the pure name functions, where the domain modules look them up, by memoised ones (idempotent).

    They are pure functions of a short string, and a register holds a few thousand distinct names: after warm-up
    normalisation costs a dictionary look-up."""
    for name in _NAME_FUNCTIONS:
        fn = getattr(_names, name, None)
        if fn is None or hasattr(fn, "cache_info"):
            continue
        cached = functools.lru_cache(maxsize=maxsize)(fn)
        # Wherever it was imported by name so far (the domain package re-exports it; modules imported later take
        # the memoised one from there).
        for module_name, module in list(sys.modules.items()):
            if module_name.startswith("registration") and getattr(module, name, None) is fn:
                setattr(module, name, cached)


memoise_name_functions()


# --- records -------------------------------------------------------------------------------------

_RECORD_FIELDS = tuple(f.name for f in dataclass_fields(MatchRecord))


def record_document(record: MatchRecord) -> dict[str, Any]:
    """A match record as the JSON kept in `person_match_records` (empty values left out)."""
    doc: dict[str, Any] = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if value in (None, "", ()):
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        doc[name] = value
    return doc


def record_of_document(person_id: str, doc: dict[str, Any]) -> MatchRecord:
    values: dict[str, Any] = {"person_id": person_id}
    for name, value in doc.items():
        if name not in _RECORD_FIELDS or name == "person_id":
            continue
        if isinstance(value, list):
            value = tuple(value)
        elif isinstance(value, str) and name.endswith("date") and len(value) == 10:
            value = date.fromisoformat(value)
        values[name] = value
    return MatchRecord(**values)


def record_of_person_document(doc: dict[str, Any]) -> MatchRecord:
    """A match record from a person's stored document as plain JSON (no keyring needed: the fields matching reads
    are not sealed). For the migration's backfill and the re-index command."""
    birth = doc.get("birth_date")
    person = SimpleNamespace(
        person_id=doc["person_id"],
        **{f"{part}{suffix}": doc.get(f"{part}{suffix}") for part in ("given_name", "family_name", "patronymic")
           for suffix in ("", "_latin")},
        birth_date=date.fromisoformat(birth) if isinstance(birth, str) else birth,
        birth_date_precision=doc.get("birth_date_precision") or "exact", sex=doc.get("sex") or "unknown",
        country_of_origin=doc.get("country_of_origin"), citizenships=tuple(doc.get("citizenships") or ()),
        identity_documents=[SimpleNamespace(**{**d, "number": d.get("number") or ""})
                            for d in doc.get("identity_documents") or () if isinstance(d, dict)],
        merged_into=doc.get("merged_into"))
    return MatchRecord.of(person)


def index_rows(record: MatchRecord, config: MatchingConfig) -> tuple[dict, list[dict]]:
    """The match record row and the blocking key rows of one person."""
    year = record.birth_date.year if record.birth_date else None
    keys = [{"key": k[:KEY_LENGTH], "person_id": record.person_id, "birth_year": year}
            for k in sorted({k[:KEY_LENGTH] for k in blocking_keys(record, config)})]
    return {"person_id": record.person_id, "record": record_document(record)}, keys


async def index_person(session, record: MatchRecord | None, person_id: str, config: MatchingConfig, *,
                       new: bool = False) -> None:
    """Replace a person's match record and keys; `record` None (a merged record) leaves the index; a `new` person
    has nothing to replace (two statements fewer per registration)."""
    if not new:
        await session.execute(delete(BlockingKeyRow).where(BlockingKeyRow.person_id == person_id))
        await session.execute(delete(MatchRecordRow).where(MatchRecordRow.person_id == person_id))
    if record is None:
        return
    row, keys = index_rows(record, config)
    await session.execute(insert(MatchRecordRow), [row])
    if keys:
        await session.execute(insert(BlockingKeyRow), keys)


# --- candidates ----------------------------------------------------------------------------------

def year_window(config: MatchingConfig) -> int | None:
    """Holders this many years apart or more can never be candidates (see the module's note); None: no window."""
    gap = getattr(config, "generation_gap_years", None)
    cap = getattr(config, "relative_score_cap", None)
    if gap is None or cap is None or cap >= config.possible_threshold:
        return None
    return int(gap)


def candidate_query(keys: Iterable[str], birth_year: int | None, config: MatchingConfig, per_key: int):
    """One statement: for each key the `per_key` holders nearest in birth year (within the generation window; up
    to `per_key` from each side read by two index range scans, the nearest `per_key` of those kept) and up to
    `per_key` holders without a birth date; deduplicated, joined to their match records.

    Written as text with bound values: the statement's shape depends only on the number of keys, so building it
    costs microseconds (an ORM-built UNION of subqueries cost milliseconds per check)."""
    keys = sorted({k[:KEY_LENGTH] for k in keys})
    if not keys:
        return None
    window = year_window(config) if birth_year is not None else None
    params: dict[str, Any] = {"n": per_key}
    if birth_year is not None:
        params["y"] = birth_year
    if window is not None:
        params["hi"], params["lo"] = birth_year + window, birth_year - window
    parts = []
    for i, key in enumerate(keys):
        params[f"k{i}"] = key
        base = f"SELECT person_id, birth_year FROM person_blocking_keys WHERE key = :k{i}"
        if birth_year is None:
            parts.append(f"SELECT person_id FROM ({base} LIMIT :n) AS p{i}")
            continue
        up = f"{base} AND birth_year >= :y{' AND birth_year < :hi' if window is not None else ''} " \
             "ORDER BY birth_year LIMIT :n"
        down = f"{base} AND birth_year < :y{' AND birth_year > :lo' if window is not None else ''} " \
               "ORDER BY birth_year DESC LIMIT :n"
        # The key's `n` holders nearest in birth year: n from each side (two index range scans), the nearest n
        # of those; and up to n holders with no birth date.
        parts.append(f"SELECT person_id FROM (SELECT person_id FROM (SELECT person_id, birth_year FROM ({up}) AS u{i} "
                     f"UNION ALL SELECT person_id, birth_year FROM ({down}) AS d{i}) AS b{i} "
                     f"ORDER BY abs(birth_year - :y), person_id LIMIT :n) AS p{i}")
        parts.append(f"SELECT person_id FROM ({base} AND birth_year IS NULL LIMIT :n) AS z{i}")
    ids = " UNION ".join(parts)
    return _text(f"SELECT r.person_id, r.record FROM person_match_records AS r JOIN ({ids}) AS c "
                 "ON c.person_id = r.person_id").bindparams(**params).columns(
        person_id=MatchRecordRow.__table__.c.person_id.type, record=MatchRecordRow.__table__.c.record.type)


async def candidate_records(session, record: MatchRecord, config: MatchingConfig) -> list[MatchRecord]:
    """Match records of persons sharing a blocking key with `record` (bounded per key, nearest in age first)."""
    query = candidate_query(blocking_keys(record, config), record.birth_date.year if record.birth_date else None,
                            config, min(PER_KEY, config.candidate_limit))
    if query is None:
        return []
    rows = (await session.execute(query)).all()
    return [record_of_document(pid, doc) for pid, doc in rows if pid != record.person_id]


# --- scoring -------------------------------------------------------------------------------------

_similarities: contextvars.ContextVar[dict | None] = contextvars.ContextVar("name_similarities", default=None)
_plain_name_similarity = getattr(_duplicates, "name_similarity", None)


def _looked_up_name_similarity(a: str, b: str) -> float:
    table = _similarities.get()
    if table is not None:
        found = table.get((a, b))
        if found is not None:
            return found
    return _plain_name_similarity(a, b)


def _install_lookup() -> None:
    if _plain_name_similarity is not None and _duplicates.name_similarity is _plain_name_similarity:
        _duplicates.name_similarity = _looked_up_name_similarity


_install_lookup()


def _variants(value: str) -> list[str]:
    return [v for v in value.split("|") if v.strip()]


def name_similarities(record: MatchRecord, others: list[MatchRecord], config: MatchingConfig) -> dict:
    """`name_similarity(x, y)` for the check's names against every candidate's, computed at once.

    Same value as `domain.duplicates.name_similarity` (best over variants of: equal keys -> 1, else the larger of
    Jaro-Winkler and token-sort ratio on match keys, raised to 0.9 for equal consonant skeletons where a side is
    Arabic script): the two metrics run as RapidFuzz `cdist` matrices (C++), the rest is looked up per distinct
    name, so the per-pair Python work is a few dictionary reads."""
    import numpy as np
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import JaroWinkler

    match_key, skeleton, script_of = _names.match_key, _names.skeleton, _names.script_of
    table: dict[tuple[str, str], float] = {}
    name_fields = [r.field for r in config.fields if r.comparator == "name"]
    # Every name of the check against every name of the candidates, whatever the slot: a model that compares
    # given with family names (swapped names) finds those pairs here too.
    theirs = sorted({getattr(o, name, "") or "" for o in others for name in name_fields} - {""})
    for mine in dict.fromkeys(getattr(record, name, "") or "" for name in name_fields):
        if not mine or not theirs:
            continue
        left = [(v, match_key(v)) for v in _variants(mine)]
        left = [(v, k) for v, k in left if k]
        right_variants = sorted({v for t in theirs for v in _variants(t)})
        right_keys = [match_key(v) for v in right_variants]
        usable = [i for i, k in enumerate(right_keys) if k]
        if not left or not usable:
            for t in theirs:
                table[(mine, t)] = 0.0
            continue
        lk = [k for _, k in left]
        rk = [right_keys[i] for i in usable]
        rv = [right_variants[i] for i in usable]
        best = np.maximum(process.cdist(lk, rk, scorer=JaroWinkler.normalized_similarity, dtype=np.float64),
                          process.cdist(lk, rk, scorer=fuzz.token_sort_ratio, dtype=np.float64) / 100)
        best[np.asarray(lk, dtype=object)[:, None] == np.asarray(rk, dtype=object)[None, :]] = 1.0
        left_arabic = [script_of(v) == "arabic" for v, _ in left]
        for col, v in enumerate(rv):  # equal consonant skeletons where a side is Arabic script: at least 0.9
            v_arabic = script_of(v) == "arabic"
            for row, (lv, _) in enumerate(left):
                if (v_arabic or left_arabic[row]) and best[row, col] < 0.9:
                    sx, sy = skeleton(lv), skeleton(v)
                    if sx and sx == sy and len(sx) >= 2:
                        best[row, col] = 0.9
        by_variant = dict(zip(rv, best.max(axis=0).tolist()))
        for t in theirs:
            scores = [by_variant[v] for v in _variants(t) if v in by_variant]
            table[(mine, t)] = max(scores) if scores else 0.0
    return table


def score(record: MatchRecord, others: list[MatchRecord], config: MatchingConfig) -> list[MatchResult]:
    """The domain's `find_candidates` over `others` (which share a key with `record`), with the name similarities
    precomputed in bulk."""
    if not others:
        return []
    token = _similarities.set(name_similarities(record, others, config))
    try:
        # The candidates share a blocking key by construction (the query): `score_pair` each, without
        # `find_candidates` recomputing every candidate's keys to check it again.
        table = _similarities.get()
        floor = getattr(config, "name_agreement_floor", 0.0)
        name_fields = [r.field for r in config.fields if r.comparator == "name"]
        documents = set(record.document_numbers)

        def may_match(other: MatchRecord) -> bool:
            """Not when every name of one disagrees with every name of the other (any slot) and they share no
            document: no model calls such a pair a duplicate, and most candidates of a common key are such pairs."""
            if documents & set(other.document_numbers):
                return True
            compared = False
            for name in name_fields:  # whatever the slot: swapped given and family names are not dropped
                mine = getattr(record, name, "")
                for other_name in name_fields:
                    theirs = getattr(other, other_name, "")
                    if mine and theirs:
                        compared = True
                        if table.get((mine, theirs), 1.0) >= floor:
                            return True
            return not compared

        results = [r for r in (_duplicates.score_pair(record, other, config) for other in others
                               if other.person_id != record.person_id and may_match(other))
                   if r.score >= config.possible_threshold]
    finally:
        _similarities.reset(token)
    return sorted(results, key=lambda r: (-r.score, r.person_id))


# --- re-index ------------------------------------------------------------------------------------

def _plain_documents():
    """persons (person_id, document) with the document read as plain JSON: the sealed fields stay sealed (none of
    them is read), so neither the migration nor the command needs the keyring."""
    from sqlalchemy import column, table
    from sqlalchemy.types import JSON as PlainJSON, String

    return table("persons", column("person_id", String), column("document", PlainJSON))


def reindex_batch(rows, config: MatchingConfig) -> tuple[list[str], list[dict], list[dict]]:
    """For (person_id, document) rows: their ids, match record rows and key rows (merged records: none)."""
    ids, records, keys = [], [], []
    for pid, doc in rows:
        ids.append(pid)
        if isinstance(doc, str):
            import json
            doc = json.loads(doc)
        if doc.get("merged_into"):
            continue
        row, k = index_rows(record_of_person_document({**doc, "person_id": pid}), config)
        records.append(row)
        keys.extend(k)
    return ids, records, keys


def _page(after: str, batch: int):
    persons = _plain_documents()
    return (select(persons.c.person_id, persons.c.document).where(persons.c.person_id > after)
            .order_by(persons.c.person_id).limit(batch))


def _replace(ids, records, keys):
    statements = [delete(BlockingKeyRow.__table__).where(BlockingKeyRow.__table__.c.person_id.in_(ids)),
                  delete(MatchRecordRow.__table__).where(MatchRecordRow.__table__.c.person_id.in_(ids))]
    inserts = [(insert(MatchRecordRow.__table__), records), (insert(BlockingKeyRow.__table__), keys)]
    return statements, [(stmt, rows) for stmt, rows in inserts if rows]


def reindex_sync(connection, config: MatchingConfig, *, batch: int = 2000) -> int:
    """`reindex` on a synchronous connection (the migration's backfill)."""
    done, after = 0, ""
    while rows := connection.execute(_page(after, batch)).all():
        ids, records, keys = reindex_batch(rows, config)
        deletes, inserts = _replace(ids, records, keys)
        for stmt in deletes:
            connection.execute(stmt)
        for stmt, values in inserts:
            connection.execute(stmt, values)
        done, after = done + len(ids), ids[-1]
    return done


async def reindex(db, config: MatchingConfig, *, batch: int = 2000, progress=None) -> int:
    """Rebuild every person's match record and blocking keys from the persons' stored documents (merged records
    leave the index), one transaction per batch in person id order. Returns the persons read."""
    done, after = 0, ""
    while True:
        async with db.transaction() as session:
            rows = (await session.execute(_page(after, batch))).all()
            if not rows:
                return done
            ids, records, keys = reindex_batch(rows, config)
            deletes, inserts = _replace(ids, records, keys)
            for stmt in deletes:
                await session.execute(stmt)
            for stmt, values in inserts:
                await session.execute(stmt, values)
        done, after = done + len(ids), ids[-1]
        if progress:
            progress(done)
