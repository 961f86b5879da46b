"""The duplicate-matching engine: what the register keeps for matching and how a check reads and scores it.

Beside each person the store keeps (store/tables.py)
- a compact match record (`MatchRecord`'s fields as a small JSON object: names as written and in Latin, birth date
  and its precision, sex, country, citizenships, identity document numbers) — a check never loads a person's full
  (sealed) document nor rebuilds a `Person` from it;
- the person's blocking keys (whatever `blocking_keys` yields) with the birth year beside each key.

A check reads, for each of its keys, the holders nearest in birth year (an index range scan each way with LIMIT;
no aggregate over every holder of a common key), their match records in the same statement, and scores them.
The model — which keys, which comparisons, which weights — is the domain's (domain/duplicates.py, the trained
Fellegi–Sunter model); this module only makes it cheap: records are normalised once (`normalise`, its name forms
cached: names repeat a great deal in a register) and fed to the model as `Normalised` values, and the key
similarities of a check are computed for all candidates at once with RapidFuzz's `process.cdist` (C++) — the same
best of Jaro-Winkler and token-sorted ratio as the model's `key_similarity` — then looked up by the model's
comparison instead of computed pair by pair in Python.

Bounds: per key at most `min(PER_KEY, candidate_limit)` holders are read; when a key has more (in the birth-year
window), the check's answer says `candidate_limit_reached`.

Birth-year window: under the domain's rules two records whose birth years are `generation_gap_years` or more apart
are relatives (capped at `relative_score_cap`), so when that cap is below the review threshold such holders can
never be candidates and are not read. Holders without a birth date are always read.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import fields as dataclass_fields
from datetime import date
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Iterable

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler
from pana_kit.heap import settle
from sqlalchemy import Integer, String, delete, insert, select, true
from sqlalchemy import text as _text

from .domain import MatchingConfig, MatchRecord, MatchResult, blocking_keys
from .domain.duplicates import (
    NAME_CLOSE, NAME_SIMILAR, Normalised, _equal_level, birth_date_level, key_similarity, normalise, score_candidates,
)
from .domain.names import NameForm
from .store.tables import BlockingKeyRow, MatchRecordRow

KEY_LENGTH = 220  # the key column's width
# Per blocking key, the holders nearest in birth year read by a check (at most the config's candidate_limit). A key
# held by more people in the birth-year window is a common name: its holders farther in age than the nearest
# PER_KEY are not read through that key (they may be through the check's other keys), and the answer says
# `candidate_limit_reached`.
PER_KEY = 100
# A key of one name alone (family `f:`, given `g:`) is held by thousands at national scale; its holders nearest in
# age beyond these are not read through it. A duplicate met only through such a key has the other name or the
# birth date different (else its name-pair `p:` or birth-date `b:` key meets it, read to PER_KEY), and such a pair
# reaches "possible" only near in age. Measured at 1,000,000 persons (tests/bench/bench_duplicates.py
# --compare-bounds): the answers of the bench's checks are the same as with PER_KEY for these keys.
KIND_BOUND = {"f": 40, "g": 40}


def key_bounds(keys: Iterable[str], per_key: int) -> list[int]:
    """The bound of each key: its kind's (`KIND_BOUND`), never above `per_key` (the config's candidate_limit)."""
    return [min(per_key, KIND_BOUND.get(k.partition(":")[0], per_key)) for k in keys]


# --- records -------------------------------------------------------------------------------------

_RECORD_FIELDS = tuple(f.name for f in dataclass_fields(MatchRecord))


def record_document(record: MatchRecord, block_length: int | None = None) -> dict[str, Any]:
    """A match record as the JSON kept in `person_match_records` (empty values left out). With `block_length`, also
    its names normalised (`FORMS`: each spelling's match key, skeleton, script and blocking key, and the
    patronymic's stem), so that a check reads them instead of normalising every holder it reads (py-spy: name
    normalisation was a third of a check's time). Readers that do not know `FORMS` ignore it."""
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
    if block_length is not None:
        n = normalised(record, block_length)  # the check's own normalisation of this record, cached
        doc[FORMS] = {"l": block_length, "stem": n.patronymic_stem,
                      **{part: [[f.key, f.skeleton, f.arabic, f.block] for f in getattr(n, part)]
                         for part in ("given", "family", "patronymic")}}
    return doc


@lru_cache(maxsize=262_144)
def _form(key: str, skeleton: str, arabic: bool, block: str) -> NameForm:
    return NameForm(key, skeleton, arabic, block)  # names recur: one value each, not one per holder read


FORMS = "_forms"  # the normalised names kept in a match record's JSON (record_document)

_NORMALISED_FIELDS = tuple(f.name for f in dataclass_fields(Normalised))


def _normalised_value(*values) -> Normalised:
    """`Normalised(*values)` without the frozen dataclass's `__init__` (one `object.__setattr__` per field: 4 of
    the 13 µs a record not held cost): the same fields in the instance's `__dict__`, so the same value (equality,
    hashing and every field read; tested)."""
    found = object.__new__(Normalised)
    found.__dict__.update(zip(_NORMALISED_FIELDS, values))
    return found


def normalised_of_document(person_id: str, doc: dict[str, Any], block_length: int) -> Normalised:
    """`normalise(record_of_document(person_id, doc))`, from the forms kept in the document when they were made
    with this blocking key length (equal by construction, and tested), else normalised now."""
    forms = doc.get(FORMS)
    if not forms or forms.get("l") != block_length:
        return normalise(record_of_document(person_id, doc), block_length)
    birth = doc.get("birth_date")
    return _normalised_value(
        person_id,
        *(tuple([_form_of(f) for f in forms.get(part) or ()]) for part in ("given", "family", "patronymic")),
        forms.get("stem") or "", date.fromisoformat(birth) if birth else None,
        doc.get("birth_date_precision") or "exact", doc.get("sex") or "unknown", doc.get("country_of_origin"),
        frozenset(doc.get("citizenships") or ()), frozenset(d.upper() for d in doc.get("document_numbers") or ()))


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
            for k in sorted({k[:KEY_LENGTH] for k in blocking_keys(normalised(record, config.blocking_key_length),
                                                                     config)})]
    length = config.blocking_key_length
    return {"person_id": record.person_id, "record": record_document(record, length),
            "compact": compact_record(normalised(record, length), length)}, keys


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


async def insert_indexed(session, table, values_of_row: dict[str, Any], record: MatchRecord | None,
                         config: MatchingConfig, *, unique_number: str | None = None) -> bool:
    """Insert a new person's row together with its match record and blocking keys. On PostgreSQL one statement
    (data-modifying CTEs: the index rows are written only if the person's row was); elsewhere one per table.

    `unique_number` (PostgreSQL): the row's column of that name must hold a value no row holds yet; when one does,
    nothing is written and the answer is False (the caller draws another). The check is the statement's own
    (`NOT EXISTS`), so a registration needs no probe of its own for its random number."""
    row, keys = index_rows(record, config) if record is not None else (None, [])
    if row is None or session.bind.dialect.name != "postgresql":
        await session.execute(insert(table), [values_of_row])
        if row is not None:
            await session.execute(insert(MatchRecordRow), [row])
            if keys:
                await session.execute(insert(BlockingKeyRow), keys)
        return True
    from pana_kit.db import in_transaction

    # On the transaction's connection without SQLAlchemy's execution context (`pana_kit.db.CoreStatement`: the same
    # text and the same bind processing, the person's document sealed by its column's type as before)
    written = await in_transaction(session).fetch_core(_indexed_insert(table, tuple(values_of_row), unique_number), {
        **{f"p_{name}": value for name, value in values_of_row.items()}, "m_record": row["record"],
        "m_compact": row["compact"],
        "k_keys": [k["key"] for k in keys], "k_years": [k["birth_year"] for k in keys]})
    return bool(written)


@lru_cache(maxsize=8)
def _indexed_insert(table, columns: tuple[str, ...], unique: str | None = None):
    """The statement of `insert_indexed` on PostgreSQL, built once: bound parameters only (the keys as two arrays
    unnested), so it is compiled once, whatever the number of keys."""
    from pana_kit.db import CoreStatement
    from sqlalchemy import bindparam, exists, func
    from sqlalchemy.dialects.postgresql import ARRAY

    binds = {c: bindparam(f"p_{c}", type_=table.c[c].type) for c in columns}
    if unique is None:
        new = insert(table).values(binds)
    else:  # INSERT … SELECT the values WHERE no row holds the unique one
        new = insert(table).from_select(list(columns), select(*binds.values()).where(
            ~exists().where(table.c[unique] == binds[unique])))
    new = new.returning(table.c.person_id).cte("new_person")
    record = insert(MatchRecordRow.__table__).from_select(
        ["person_id", "record", "compact"],
        select(new.c.person_id, bindparam("m_record", type_=MatchRecordRow.__table__.c.record.type),
               bindparam("m_compact", type_=MatchRecordRow.__table__.c.compact.type)))
    given = func.unnest(bindparam("k_keys", type_=ARRAY(String)), bindparam("k_years", type_=ARRAY(Integer))) \
        .table_valued("key", "birth_year").render_derived(name="given_keys")
    keys = insert(BlockingKeyRow.__table__).from_select(
        ["key", "person_id", "birth_year"], select(given.c.key, new.c.person_id, given.c.birth_year)
        .select_from(given.join(new, true())))
    return CoreStatement(select(new.c.person_id).add_cte(record.cte("new_match_record"),
                                                         keys.cte("new_blocking_keys")))


# --- candidates ----------------------------------------------------------------------------------

def year_window(config: MatchingConfig) -> int | None:
    """Holders this many years apart or more can never be candidates (see the module's note); None: no window."""
    gap = getattr(config, "generation_gap_years", None)
    cap = getattr(config, "relative_score_cap", None)
    if gap is None or cap is None or cap >= config.possible_threshold or "birth_date" not in config.fields:
        return None
    return int(gap)


def candidate_query(keys: Iterable[str], birth_year: int | None, config: MatchingConfig, per_key: int, *,
                    as_text: bool = False):
    """One statement: for each key the `bound + 1` holders nearest in birth year (within the generation window;
    up to `bound + 1` from each side read by two index range scans, the nearest of those kept) and up to
    `bound + 1` holders without a birth date, each row labelled with its part, joined to their match records.
    A key's bound is `key_bounds`' (`per_key` or its kind's, if lower); one row more than the bound per part
    tells the caller the part's bound was reached (`bounded`, given the same `per_key`).

    Written as text with bound values: the statement's shape depends only on the number of keys, so building it
    costs microseconds (an ORM-built UNION of subqueries cost milliseconds per check). `as_text`: the match
    records as their JSON text, undecoded (a check looks the text up in its cache of normalised records)."""
    keys = sorted({k[:KEY_LENGTH] for k in keys})
    if not keys:
        return None
    window = year_window(config) if birth_year is not None else None
    params: dict[str, Any] = {f"n{i}": n + 1 for i, n in enumerate(key_bounds(keys, per_key))}
    if birth_year is not None:
        params["y"] = birth_year
    if window is not None:
        params["hi"], params["lo"] = birth_year + window, birth_year - window
    params.update((f"k{i}", key) for i, key in enumerate(keys))
    return _candidate_shape(len(keys), birth_year is None, window is not None, as_text).bindparams(**params)


@lru_cache(maxsize=256)
def _candidate_shape(n_keys: int, no_birth_year: bool, windowed: bool, as_text: bool):
    """`candidate_query`'s text for a number of keys, built once (py-spy: building and parsing it per registration
    was 2 % of the service's CPU); the values are bound per call."""
    parts = []
    for i in range(n_keys):
        base = f"SELECT person_id, birth_year FROM person_blocking_keys WHERE key = :k{i}"
        if no_birth_year:
            parts.append(f"SELECT person_id, birth_year, {2 * i} AS part FROM ({base} LIMIT :n{i}) AS p{i}")
            continue
        up = f"{base} AND birth_year >= :y{' AND birth_year < :hi' if windowed else ''} " \
             f"ORDER BY birth_year LIMIT :n{i}"
        down = f"{base} AND birth_year < :y{' AND birth_year > :lo' if windowed else ''} " \
               f"ORDER BY birth_year DESC LIMIT :n{i}"
        # The key's `n` holders nearest in birth year: n from each side (two index range scans), the nearest n
        # of those; and up to n holders with no birth date.
        parts.append(f"SELECT person_id, birth_year, {2 * i} AS part FROM (SELECT person_id, birth_year FROM "
                     f"(SELECT person_id, birth_year FROM ({up}) AS u{i} "
                     f"UNION ALL SELECT person_id, birth_year FROM ({down}) AS d{i}) AS b{i} "
                     f"ORDER BY abs(birth_year - :y), person_id LIMIT :n{i}) AS p{i}")
        parts.append(f"SELECT person_id, birth_year, {2 * i + 1} AS part FROM "
                     f"({base} AND birth_year IS NULL LIMIT :n{i}) AS z{i}")
    ids = " UNION ALL ".join(parts)
    record = "CAST(r.record AS TEXT)" if as_text else "r.record"
    return _text(f"SELECT c.part, c.birth_year, r.person_id, {record} AS record FROM person_match_records AS r "
                 f"JOIN ({ids}) AS c ON c.person_id = r.person_id").columns(
        person_id=MatchRecordRow.__table__.c.person_id.type,
        record=String() if as_text else MatchRecordRow.__table__.c.record.type)


def bounded(rows, birth_year: int | None, per_key: int, keys: Iterable[str] | None = None
            ) -> tuple[dict[str, Any], bool]:
    """The holders each part keeps (its bound's nearest in birth year) and whether a part had more. The bound of a
    part is `per_key`, or with the query's `keys` their `key_bounds` (part 2i and 2i + 1: the i-th key, sorted)."""
    bounds = key_bounds(sorted({k[:KEY_LENGTH] for k in keys}), per_key) if keys is not None else None
    counts = Counter(row[0] for row in rows)
    if all(n <= (bounds[part // 2] if bounds else per_key) for part, n in counts.items()):  # every row is kept
        return {pid: doc for _, _, pid, doc in rows}, False
    by_part: dict[int, list] = {}
    for part, year, pid, doc in rows:
        by_part.setdefault(part, []).append((year, pid, doc))
    reached = False
    kept: dict[str, Any] = {}
    for part, holders in by_part.items():
        bound = bounds[part // 2] if bounds else per_key
        if len(holders) > bound:
            reached = True
            holders.sort(key=lambda h: (abs(h[0] - birth_year) if h[0] is not None and birth_year is not None else 0,
                                        h[1]))
            holders = holders[:bound]
        for _, pid, doc in holders:
            kept.setdefault(pid, doc)
    return kept, reached


async def candidate_records(session, record: MatchRecord, config: MatchingConfig, *, raw=None
                            ) -> tuple[list[Normalised], bool]:
    """Persons sharing a blocking key with `record` (bounded per key, nearest in age first), normalised, and whether
    a key had more holders than were read. In the caller's transaction (a registration's); a check that changes
    nothing uses `read_candidates`.

    On PostgreSQL the same statements as a check's (`held_candidates`: ids and record digests, then the records
    not held under that digest; while the cache misses much, the records with the digests in one statement), sent
    on the transaction's own connection (`raw`, a `pana_kit.db.InTransaction`;
    by default the session's: `pana_kit.db.in_transaction`), and the same cache (`RECORDS`): a process that registers and checks
    holds each record once. Elsewhere the records as JSON text, normalised through `normalised_text`'s cache."""
    length = config.blocking_key_length
    probe = normalised(record, length)
    if session.bind.dialect.name == "postgresql":
        from pana_kit.db import in_transaction

        return await held_candidates(raw or in_transaction(session), record, probe, config)
    birth_year = record.birth_date.year if record.birth_date else None
    per_key = min(PER_KEY, config.candidate_limit)
    keys = blocking_keys(probe, config)
    query = candidate_query(keys, birth_year, config, per_key, as_text=True)
    if query is None:
        return [], False
    kept, reached = bounded((await session.execute(query)).all(), birth_year, per_key, keys)
    return [normalised_text(pid, doc, length) for pid, doc in kept.items() if pid != record.person_id], reached


async def held_candidates(connection, record: MatchRecord, probe: Normalised, config: MatchingConfig
                          ) -> tuple[list[Normalised], bool]:
    """PostgreSQL: the candidates of `record` (`probe`: its normalisation) through `connection` (anything with
    asyncpg's `fetch(sql, *args)`: held connections for a check, the transaction's own for a registration). Warm
    (`RECORDS.cold()` false), one prepared statement (`CANDIDATES_PG`) reads the candidates' ids and record
    digests, a second (`RECORDS_PG`) the records of those this process does not hold under that digest
    (`_held_records`). Cold (most candidates lately not held: a process not yet warm, a register larger than the
    cache), the records come beside their digests in the first statement (`CANDIDATES_PG_RECORDS`), one round
    trip; each row's text is the one its digest is of, so a record is never held under another's digest."""
    birth_year = record.birth_date.year if record.birth_date else None
    per_key = min(PER_KEY, config.candidate_limit)
    length = config.blocking_key_length
    keys = sorted({k[:KEY_LENGTH] for k in blocking_keys(probe, config)})
    if not keys:
        return [], False
    bounds = [n + 1 for n in key_bounds(keys, per_key)]
    cold = RECORDS.cold()
    if birth_year is None:
        rows = await connection.fetch(CANDIDATES_PG_NO_YEAR_RECORDS if cold else CANDIDATES_PG_NO_YEAR, keys, bounds)
    else:
        window = year_window(config) or 10_000
        rows = await connection.fetch(CANDIDATES_PG_RECORDS if cold else CANDIDATES_PG, keys, birth_year,
                                      birth_year + window, birth_year - window, bounds)
    reached = bool(rows and rows[0][2])
    if cold:
        return await _records_of_rows(connection, rows, record.person_id, length), reached
    return await _held_records(connection, [(row[0], row[1]) for row in rows if row[0] != record.person_id],
                               length), reached


async def read_candidates(db, record: MatchRecord, config: MatchingConfig) -> tuple[list[Normalised], bool]:
    """`candidate_records` for a check that changes nothing, outside any transaction. On PostgreSQL
    `held_candidates` on one of a few held asyncpg connections (no pool checkout, no SQLAlchemy, a generic plan:
    0.7 ms of server time against 4.6 ms planned afresh each time, at 98,000 persons); elsewhere one autocommit
    statement on the read engine (`Database.read_all`) reads the records as JSON text, normalised through a cache
    keyed by that text (`normalised_text`). Either way a holder read again costs a dictionary look-up, not a JSON
    decode, a `MatchRecord` and its normalisation."""
    birth_year = record.birth_date.year if record.birth_date else None
    per_key = min(PER_KEY, config.candidate_limit)
    length = config.blocking_key_length
    probe = normalised(record, length)  # once: its keys here, its scoring after
    if not db.is_sqlite:
        # generic plans: the statement's plan does not depend on its values (PostgreSQL otherwise plans some
        # executions afresh, 0.3 ms each at 98,000 persons)
        held = db.held("duplicate-check", HELD_READERS, settings={"plan_cache_mode": "force_generic_plan"})
        return await held_candidates(held, record, probe, config)
    keys = blocking_keys(probe, config)
    query = candidate_query(keys, birth_year, config, per_key, as_text=True)
    if query is None:
        return [], False
    kept, reached = bounded(await db.read_all(query), birth_year, per_key, keys)
    return [normalised_text(pid, doc, length) for pid, doc in kept.items() if pid != record.person_id], reached


class RecordCache:
    """Match records by (person id, digest of the record's JSON, blocking key length), the least recently used
    dropped beyond `size`. The digest is PostgreSQL's own (migration 0016: `md5` of the stored text, a generated
    column), so a record changed in any way (a correction, a re-index) is another key: a stale record is never
    served, whoever wrote the change and whenever; a merged record leaves the index and is no longer a candidate.

    A record read once is held as its compact text (`compact_record`, migration 0018; of that length: the
    statements read it so): text is nothing the garbage collector walks, and a held `Normalised` was (three objects
    a record before, one since: with the records of cold checks taken in by the hundred, most never read again, the
    collections that walked them — `settle` every 8,192 records, ~40 ms each, and young collections meanwhile —
    were the tail of a cold check's latency). Read again, it is held normalised (`get`). A record without a compact
    form of the check's length (written by older code) is held normalised, as before."""

    # A check is read cold (its candidates' records in the candidate statement itself, one round trip) while the
    # share of candidates not held, averaged over the last checks (`missing`), is at least this; warm (their
    # digests only, the records of those not held by a second statement) below it.
    COLD_FROM = 0.5
    # Every this many normalised records held (put or promoted from text), the process's garbage is collected and
    # what survives frozen (`pana_kit.heap.settle`): a full collection otherwise walks every held record (0.3-0.9 s at 262,144).
    SETTLE_EVERY = 8192

    def __init__(self, size: int = 262_144):
        from collections import OrderedDict

        self.size, self._held = size, OrderedDict()
        self.missing = 1.0  # the share of a check's candidates not held, a moving average over ~10 checks
        self._taken = 0  # records put since the last `settle`

    def note(self, missing: int, candidates: int) -> None:
        """A check found `missing` of its `candidates` not held."""
        if candidates:
            self.missing += 0.1 * (missing / candidates - self.missing)

    def cold(self) -> bool:
        return self.missing >= self.COLD_FROM

    def get(self, key: tuple[str, str, int]) -> Normalised | None:
        """The record held under `key` (person id, digest, length), normalised; None if not held. A record held as
        text and read again is held normalised from then on (read twice, it is likely read again: a warm check's
        records cost a look-up, not a build, 1.2 against 1.9 ms of CPU a check in process)."""
        found = self._held.get(key)
        if found is None:
            return None
        self._held.move_to_end(key)
        if found.__class__ is str:
            found = self._held[key] = normalised_compact(key[0], found)
            self._taken += 1
            if self._taken >= self.SETTLE_EVERY:  # the records taken in since are frozen (pana_kit.heap.settle)
                self._taken = 0
                settle()
        return found

    def put(self, key: tuple[str, str, int], text: str, value: Normalised) -> None:
        """Hold the record read as `text` (a compact record of the key's length, or its JSON) and normalised as
        `value`: the text when it is compact, else the value."""
        if text.startswith(compact_prefix(key[2])):
            self._held[key] = text
        else:
            self._held[key] = value
            self._taken += 1
            if self._taken >= self.SETTLE_EVERY:  # the records taken in since are frozen (pana_kit.heap.settle)
                self._taken = 0
                settle()
        if len(self._held) > self.size:
            self._held.popitem(last=False)

    def clear(self) -> None:
        self._held.clear()
        self.missing = 1.0


RECORDS = RecordCache()


def normalised_record(person_id: str, text: str, length: int) -> Normalised:
    """`normalised_text` without its cache (the caller keeps the result: `RecordCache`): a check's records not
    held yet, each read once. A compact record of this length (`compact_record`: what the candidate statements
    read when the row has one) is read without JSON; else the JSON document's kept forms through
    `normalised_of_document` (equal field for field, with `_name_keys` beside it: tested)."""
    if text.startswith(compact_prefix(length)):
        return normalised_compact(person_id, text)
    try:  # the C scanner itself (json.loads adds two Python calls and two regular expressions a record)
        doc = _scan(text, 0)[0]
    except StopIteration:  # not an object at the first character (PostgreSQL's JSON type keeps text as given)
        doc = json.loads(text)
    found = normalised_of_document(person_id, doc, length)
    object.__setattr__(found, _KEYS, _name_keys(found))  # not a field: equality and hashing ignore it
    return found


_new, _fromisoformat, _NONE = object.__new__, date.fromisoformat, frozenset()
_scan = json.JSONDecoder().scan_once
_FORM_OF: dict[str, NameForm] = {}  # a match key: the last NameForm met with it


def _form_of(kept: list) -> NameForm:
    """`_form(*kept)` for a form as a document keeps it ([key, skeleton, arabic, block]), found by its match key
    (a cheaper look-up than the four values': names recur) and used only if its other three values are the same."""
    found = _FORM_OF.get(kept[0])
    if found is not None and found.skeleton == kept[1] and found.arabic == kept[2] and found.block == kept[3]:
        return found
    if len(_FORM_OF) >= 262_144:
        _FORM_OF.clear()
    found = _FORM_OF[kept[0]] = _form(*kept)
    return found


# --- the compact record (migration 0018) ---------------------------------------------------------

# What a check reads of a match record, kept beside it (`person_match_records.compact`): its normalisation as one
# line of text, read back with `str.split` and dictionary look-ups, no JSON (py-spy at 1,000,000 persons: building
# the records a cold check had not held was a third of its time, `json.loads` a third of that). 99 characters
# where the record's JSON is 508 (its names as written, escaped, and their forms), so the statement ships a fifth.
COMPACT_VERSION = "1"
_SEP, _PART, _FIELD = "\x1f", "\x1e", "\x1d"  # between fields; between a field's forms or values; a form's four
_SEPARATORS = (_SEP, _PART, _FIELD)
COMPACT_MAX_BYTES = 1500  # a longer compact record is not kept (its JSON is read): see compact_record


@lru_cache(maxsize=16)
def compact_prefix(length: int) -> str:
    """How every compact record made with this blocking key length starts (the version, the length)."""
    return f"{COMPACT_VERSION}{_SEP}{length}{_SEP}"


def compact_record(n: Normalised, length: int) -> str | None:
    """`n` (a record normalised with blocking key length `length`) as one line: the version and the length, then
    the given, family and patronymic forms (each form's match key, skeleton, Arabic-script flag "1" or "",
    blocking key), the patronymic's stem, the birth date (ISO), its precision, sex, country, the citizenships and
    the document numbers (sorted). `normalised_compact` reads it back as `normalised_record` reads the record's
    JSON (tested, field for field). None when the line cannot carry a value (a separator in it, an empty
    citizenship or document number) or is longer than `COMPACT_MAX_BYTES`: the record's JSON is read instead."""
    strings = [n.patronymic_stem, n.birth_date_precision, n.sex, n.country_of_origin or "", *n.citizenships,
               *n.document_numbers]
    for forms in (n.given, n.family, n.patronymic):
        for f in forms:
            strings += (f.key, f.skeleton, f.block)
    if any(sep in value for value in strings for sep in _SEPARATORS) or "" in n.citizenships \
            or "" in n.document_numbers or not isinstance(n.birth_date, (date, type(None))):
        return None

    def part(forms) -> str:
        return _PART.join([_FIELD.join((f.key, f.skeleton, "1" if f.arabic else "", f.block)) for f in forms])
    line = compact_prefix(length) + _SEP.join((
        part(n.given), part(n.family), part(n.patronymic), n.patronymic_stem,
        n.birth_date.isoformat() if n.birth_date else "", n.birth_date_precision, n.sex, n.country_of_origin or "",
        _PART.join(sorted(n.citizenships)), _PART.join(sorted(n.document_numbers))))
    # kept in an index (migration 0018), whose entries PostgreSQL bounds at ~2,700 bytes: a longer one is not kept
    return line if len(line.encode()) <= COMPACT_MAX_BYTES else None


# Pure functions of their text, so never stale: a name field's forms and name keys, a birth date, a set of
# citizenships (names, dates and citizenships recur: most look-ups find them).
_PARTS: dict[str, tuple[tuple[NameForm, ...], tuple[str, ...]]] = {}
_DATES: dict[str, date] = {}
_SETS: dict[str, frozenset[str]] = {}
_TEXT_CACHE = 262_144


def _forms_of_part(text: str) -> tuple[tuple[NameForm, ...], tuple[str, ...]]:
    found = _PARTS.get(text)
    if found is None:
        forms = tuple([_form(k, s, a == "1", b) for k, s, a, b in (f.split(_FIELD) for f in text.split(_PART))]) \
            if text else ()
        if len(_PARTS) >= _TEXT_CACHE:
            _PARTS.clear()
        found = _PARTS[text] = (forms, tuple([f.key for f in forms if f.key]))
    return found


def normalised_compact(person_id: str, text: str) -> Normalised:
    """The `Normalised` value (with its name keys) of a compact record (`compact_record`), whatever its length."""
    _, _, given, family, patronymic, stem, birth, precision, sex, country, citizenships, documents = text.split(_SEP)
    given, gk = _PARTS.get(given) or _forms_of_part(given)
    family, fk = _PARTS.get(family) or _forms_of_part(family)
    patronymic, pk = _PARTS.get(patronymic) or _forms_of_part(patronymic)
    if birth:
        born = _DATES.get(birth)
        if born is None:
            if len(_DATES) >= _TEXT_CACHE:
                _DATES.clear()
            born = _DATES[birth] = _fromisoformat(birth)
    else:
        born = None
    held = _SETS.get(citizenships)
    if held is None:
        if len(_SETS) >= _TEXT_CACHE:
            _SETS.clear()
        held = _SETS[citizenships] = frozenset(citizenships.split(_PART)) if citizenships else _NONE
    # Each attribute set on the instance itself, not through its `__dict__` (which would make the dictionary an
    # object of its own): a held record is one object the garbage collector tracks, not three (the instance, its
    # dictionary, a set of name keys) — the collections that `settle` makes walk each record taken in once, 1 us
    # an object on this machine, ~40 ms every 8,192 records before.
    found = _new(Normalised)
    _set(found, "person_id", person_id)
    _set(found, "given", given)
    _set(found, "family", family)
    _set(found, "patronymic", patronymic)
    _set(found, "patronymic_stem", stem)
    _set(found, "birth_date", born)
    _set(found, "birth_date_precision", precision)
    _set(found, "sex", sex)
    _set(found, "country_of_origin", country or None)
    _set(found, "citizenships", held)
    _set(found, "document_numbers", frozenset(documents.split(_PART)) if documents else _NONE)
    _set(found, _KEYS, gk + fk + pk)
    return found


_set = object.__setattr__


def compact_backfill_sync(connection, config: MatchingConfig, *, batch: int = 5000) -> int:
    """Write every match record's compact form (migration 0018): from the record's JSON as a check would read it
    (`normalised_of_document`: its kept forms, or normalised now), in person id order. Returns the records."""
    from sqlalchemy import bindparam, column, table, update
    from sqlalchemy.types import JSON as PlainJSON

    records = table("person_match_records", column("person_id", String), column("record", PlainJSON),
                    column("compact", String))
    length, done, after = config.blocking_key_length, 0, ""
    postgres = connection.dialect.name == "postgresql"
    while rows := connection.execute(select(records.c.person_id, records.c.record).where(
            records.c.person_id > after).order_by(records.c.person_id).limit(batch)).all():
        values = []
        for pid, doc in rows:
            if isinstance(doc, str):
                doc = json.loads(doc)
            values.append((pid, compact_record(normalised_of_document(pid, doc, length), length)))
        if postgres:  # one statement a batch
            connection.execute(_text("UPDATE person_match_records AS r SET compact = v.compact FROM "
                                     "unnest(CAST(:ids AS text[]), CAST(:compacts AS text[])) AS v(id, compact) "
                                     "WHERE r.person_id = v.id"),
                               {"ids": [v[0] for v in values], "compacts": [v[1] for v in values]})
        else:
            connection.execute(update(records).where(records.c.person_id == bindparam("pid"))
                               .values(compact=bindparam("c")), [{"pid": p, "c": c} for p, c in values])
        done, after = done + len(rows), rows[-1][0]
    return done


async def _held_records(held, candidates: list[tuple[str, str]], length: int) -> list[Normalised]:
    """The normalised records of (person id, digest) candidates, in their order: from `RECORDS`, and those it does
    not hold read by one statement (by id; a record changed since the candidates were read comes with its new
    digest and is used as it is now; one deleted since, a merged person, is left out)."""
    found: list[Normalised | None] = []
    missing: dict[str, int] = {}
    for pid, digest in candidates:
        n = RECORDS.get((pid, digest, length))
        if n is None:
            missing[pid] = len(found)
        found.append(n)
    RECORDS.note(len(missing), len(candidates))
    if missing:
        prefix, json_of = compact_prefix(length), {}
        for pid, digest, text in await held.fetch(RECORDS_PG, list(missing)):
            if text is not None and text.startswith(prefix):
                n = normalised_compact(pid, text)
                RECORDS.put((pid, digest, length), text, n)
                found[missing[pid]] = n
            else:
                json_of[pid] = missing[pid]
        if json_of:
            await _read_json(held, found, json_of, length)
    return [n for n in found if n is not None]


async def _read_json(connection, found: list, at: dict[str, int], length: int) -> None:
    """The records of the persons in `at` (person id: its place in `found`) read as JSON, by one statement
    (`RECORDS_JSON_PG`): those without a compact form of this length (written by older code, or another length).
    Held under the digest read with them (a record changed since is used as it is now; one deleted since, a merged
    person, stays None)."""
    for pid, digest, text in await connection.fetch(RECORDS_JSON_PG, list(at)):
        n = normalised_record(pid, text, length)
        RECORDS.put((pid, digest, length), text, n)
        found[at[pid]] = n


async def _records_of_rows(connection, rows, probe_id: str, length: int) -> list[Normalised]:
    """The normalised records of a cold check's candidates, read with their compact records
    (`CANDIDATES_PG_RECORDS`: person id, digest, reached, compact text or None): from `RECORDS` when held under that
    digest, else from the compact text beside it (the same row's: a record is never paired with another version's
    digest); a record with no compact form of this length is read as JSON (`_read_json`, one more statement)."""
    prefix = compact_prefix(length)
    found, missing, json_of = [], 0, {}
    for pid, digest, _, text in rows:
        if pid == probe_id:
            continue
        key = (pid, digest, length)
        n = RECORDS.get(key)
        if n is None:
            missing += 1
            if text is not None and text.startswith(prefix):
                n = normalised_compact(pid, text)
                RECORDS.put(key, text, n)
            else:
                json_of[pid] = len(found)
        found.append(n)
    RECORDS.note(missing, len(found))
    if json_of:
        await _read_json(connection, found, json_of, length)
        return [n for n in found if n is not None]
    return found


# Held connections a node keeps for duplicate checks (checks overlap; each connection runs one at a time).
HELD_READERS = 4

# `candidate_query`'s holders as one statement whatever the number of keys, so it is prepared once and runs with a
# generic plan: the keys as an array ($1), the birth year ($2), the window's ends ($3 above, $4 below), each key's
# bound plus one as an array beside the keys ($5, `key_bounds`). Each key's holders nearest in birth year (two
# index range scans, the nearest n of those, numbered) and its holders with no birth year (the first n by person
# id, numbered); the persons numbered within their key's bound, once each, with their match records' digests
# (migration 0016; the records themselves are read by `RECORDS_PG` only when not held: shipping 120 records' JSON
# was half the statement's server time); `reached`: a part had more than its bound.
_CANDIDATES_TAIL = """
SELECT r.person_id, r.digest, (SELECT bool_or(rn >= n) FROM h) AS reached
FROM person_match_records AS r WHERE r.person_id IN (SELECT person_id FROM h WHERE rn < n)"""
# The same with each candidate's record as JSON text beside its digest (`RecordCache.cold`: most of a check's
# candidates are not held, so their records come in the same statement instead of a second one, `RECORDS_PG`).
# The records are their compact forms (migration 0018, `compact_record`), read with the digests from the covering
# index (person_id) INCLUDE (digest, compact): an index-only scan, no row fetched (at 200,000 persons, 3.0 -> 2.1
# ms a cold check's statement, wall). A row whose compact form is missing or of another blocking key length is read
# as JSON after (`RECORDS_JSON_PG`).
_CANDIDATES_TAIL_RECORDS = """
SELECT r.person_id, r.digest, (SELECT bool_or(rn >= n) FROM h) AS reached, r.compact
FROM person_match_records AS r WHERE r.person_id IN (SELECT person_id FROM h WHERE rn < n)"""
RECORDS_PG = """
SELECT person_id, digest, compact FROM person_match_records WHERE person_id = ANY($1::text[])"""
RECORDS_JSON_PG = """
SELECT person_id, digest, CAST(record AS TEXT) FROM person_match_records WHERE person_id = ANY($1::text[])"""
_CANDIDATES_HEAD = """
WITH k AS (SELECT key, n FROM unnest($1::text[], $5::int[]) AS u(key, n)),
h AS (
  SELECT x.person_id, x.rn, k.n FROM k CROSS JOIN LATERAL (
    SELECT n.person_id, row_number() OVER (ORDER BY abs(n.birth_year - $2), n.person_id) AS rn FROM (
      (SELECT b.person_id, b.birth_year FROM person_blocking_keys AS b WHERE b.key = k.key
         AND b.birth_year >= $2 AND b.birth_year < $3 ORDER BY b.birth_year LIMIT k.n)
      UNION ALL
      (SELECT b.person_id, b.birth_year FROM person_blocking_keys AS b WHERE b.key = k.key
         AND b.birth_year < $2 AND b.birth_year > $4 ORDER BY b.birth_year DESC LIMIT k.n)
    ) AS n ORDER BY abs(n.birth_year - $2), n.person_id LIMIT k.n) AS x
  UNION ALL
  SELECT z.person_id, z.rn, k.n FROM k CROSS JOIN LATERAL (
    SELECT b.person_id, row_number() OVER (ORDER BY b.person_id) AS rn FROM person_blocking_keys AS b
    WHERE b.key = k.key AND b.birth_year IS NULL ORDER BY b.person_id LIMIT k.n) AS z
)"""
# A check with no birth date: each key's holders, whatever their birth year, up to its bound plus one ($2).
_CANDIDATES_HEAD_NO_YEAR = """
WITH k AS (SELECT key, n FROM unnest($1::text[], $2::int[]) AS u(key, n)),
h AS (
  SELECT x.person_id, row_number() OVER (PARTITION BY k.key ORDER BY x.person_id) AS rn, k.n FROM k
  CROSS JOIN LATERAL (SELECT b.person_id FROM person_blocking_keys AS b WHERE b.key = k.key LIMIT k.n) AS x
)"""
CANDIDATES_PG = _CANDIDATES_HEAD + _CANDIDATES_TAIL
CANDIDATES_PG_NO_YEAR = _CANDIDATES_HEAD_NO_YEAR + _CANDIDATES_TAIL
CANDIDATES_PG_RECORDS = _CANDIDATES_HEAD + _CANDIDATES_TAIL_RECORDS
CANDIDATES_PG_NO_YEAR_RECORDS = _CANDIDATES_HEAD_NO_YEAR + _CANDIDATES_TAIL_RECORDS


@lru_cache(maxsize=262_144)
def normalised_text(person_id: str, text: str, length: int) -> Normalised:
    """The normalised match record of a holder from its stored JSON text (a changed record is new text, so a
    correction is never served an old normalisation). Its name keys (`_keys`) are computed here, once, beside it."""
    found = normalised_of_document(person_id, json.loads(text), length)
    object.__setattr__(found, _KEYS, _name_keys(found))  # not a field: equality and hashing ignore it
    return found


# --- scoring -------------------------------------------------------------------------------------

_KEYS = "_name_keys"  # a cached holder's name keys, kept on its Normalised (normalised_text)


def _name_keys(n: Normalised) -> tuple[str, ...]:
    """Every name key of a record, any slot, in order (a key twice if two forms have it). A tuple of strings:
    the garbage collector stops tracking it at its first collection (a frozenset it tracks for good)."""
    return tuple([f.key for forms in (n.given, n.family, n.patronymic) for f in forms if f.key])


def _keys(n: Normalised) -> tuple[str, ...]:
    """Every name key of a record, any slot (kept on the records a check reads: `normalised_record`). Read as an
    attribute: reading the instance's `__dict__` would make it a dictionary object of its own."""
    found = getattr(n, _KEYS, None)
    return found if found is not None else _name_keys(n)


def key_similarities(probe: Normalised, others: list[Normalised]) -> dict[tuple[str, str], float]:
    """`key_similarity(x, y)` for every name key of the probe (any slot) against every name key of the candidates
    (any slot: the model compares given with family names for swaps), computed at once: the two metrics run as
    RapidFuzz `cdist` matrices (C++), so the model's comparisons become dictionary reads."""
    left, right, rows = similarity_matrix(probe, others)
    return {(x, y): value for x, row in zip(left, rows) for y, value in zip(right, row)}


def similarity_matrix(probe: Normalised, others: list[Normalised]) -> tuple[list[str], list[str], list[list[float]]]:
    """(the probe's name keys, the candidates' name keys, `key_similarity` of each pair as rows): two RapidFuzz
    `cdist` matrices (C++), their element-wise maximum."""
    left, right, best = _similarities(probe, others)
    return left, right, best.tolist() if best is not None else []


def _similarities(probe: Normalised, others: list[Normalised]) -> tuple[list[str], list[str], Any]:
    left = sorted(set(_keys(probe)))
    right = sorted(set().union(*(_keys(o) for o in others))) if others else []
    if not left or not right:
        return left, right, None
    best = np.maximum(process.cdist(left, right, scorer=JaroWinkler.normalized_similarity, dtype=np.float64),
                      process.cdist(left, right, scorer=fuzz.token_sort_ratio, dtype=np.float64) / 100)
    return left, right, best


@lru_cache(maxsize=65_536)
def _normalised(record: MatchRecord, length: int) -> Normalised:
    return normalise(record, length)


def normalised(record: MatchRecord | Normalised, length: int) -> Normalised:
    """`normalise(record)`, cached by the record's value: the holders of a common key are read by check after check
    (py-spy under wrk: normalising the candidates was ~10 % of the service's CPU), and a registration's own record
    is normalised once for its blocking keys, its scoring and the match record it stores (it was four times). A
    record is a frozen value, so a changed person is a new key (a correction is never served an old
    normalisation)."""
    if isinstance(record, Normalised):
        return record
    try:
        return _normalised(record, length)
    except TypeError:  # an unhashable field value (not produced by the index): no caching
        return normalise(record, length)


def score(record: MatchRecord | Normalised, others: list[MatchRecord | Normalised],
          config: MatchingConfig) -> list[MatchResult]:
    """The domain's `score_candidates` over `others` (which share a key with `record`: no keys recomputed), fed
    normalised records and the key similarities computed in bulk."""
    if not others:
        return []
    length = config.blocking_key_length
    probe = normalised(record, length)
    candidates = [normalised(o, length) for o in others]
    left, right, matrix = _similarities(probe, candidates)
    rows = matrix.tolist() if matrix is not None else []
    row_of = {x: row for x, row in zip(left, rows)}  # the probe's keys: a row each
    column = {y: j for j, y in enumerate(right)}  # the candidates' keys: a column each

    def similarity(x: str, y: str) -> float:
        # the model compares probe x candidate, but a pair may come either way round (a key of each side)
        row, j = row_of.get(x), column.get(y)
        if row is not None and j is not None:
            return row[j]
        row, j = row_of.get(y), column.get(x)
        if row is not None and j is not None:
            return row[j]
        return key_similarity(x, y)

    if rows and config.frequencies is None:
        # Only the candidates whose evidence could reach "possible" go to the model (most holders of a common key
        # cannot): an upper bound from a few look-ups each, never below the model's own score (tested; FEBRL
        # through bench_matching.py counts any pair whose score differs from the domain's).
        candidates = EvidenceBound(probe, right, matrix.max(axis=0).tolist(), config).kept(candidates)
    return score_candidates(probe, candidates, config, similarity)


class EvidenceBound:
    """An upper bound of the evidence the model can give a candidate, from what a check has already computed.

    Names: for each of the candidate's given and family names, the best similarity of any of its keys to any key
    of the probe (either slot: swaps are compared crosswise) gives the levels it can reach (a skeleton wherever a
    skeleton is shared); the bound takes the best weight of those, with the names as they stand or swapped,
    whichever is more (and 0 where one arrangement compares a missing name). A patronymic on both sides: its best weight. Birth date, sex,
    country and citizenships: their own level's weight (cheap and exact). A shared document number: always
    scored (it lifts the score to "likely"). The caps and the relatives' rule only lower a score, so a candidate
    whose bound stays below "possible" cannot be returned, and the model is not run on it."""

    def __init__(self, probe: Normalised, right: list[str], best: list[float], config: MatchingConfig):
        model, self.fields = config.model, set(config.fields)
        self.probe, self.model = probe, model
        self.best = dict(zip(right, best))  # each candidate key: its best similarity to any key of the probe
        self.skeletons = {f.skeleton for forms in (probe.given, probe.family) for f in forms if len(f.skeleton) >= 2}
        self.open_slot = not probe.given or not probe.family
        p = config.possible_threshold - 1e-3  # scores are rounded to 4 places: a margin
        self.need = math.log2(p / (1 - p)) - model.prior_weight if 0 < p < 1 else -math.inf
        # A candidate's name field falls in one of six classes (its best similarity below "similar", at least
        # "similar", at least "close"; a shared skeleton or not): the best weight of each class, per field, is
        # computed once per model, fields and open slot (it was ~70 % of a check's scoring in cProfile when
        # computed per candidate, and 6 % of a cold check's time when computed per check), so the bound of a
        # candidate is a few look-ups.
        self._class_weight = _class_weights(model, tuple(sorted(self.fields)), self.open_slot)
        a = probe
        # the fields that weigh the same for every candidate missing them, or are compared by equality: per value
        self._sex = {} if "sex" in self.fields else None
        self._country = {} if "country_of_origin" in self.fields else None
        self._births = "birth_date" in self.fields
        self._others = ("patronymic" in self.fields and bool(a.patronymic)) or \
            ("citizenships" in self.fields and bool(a.citizenships))

    @staticmethod
    def _levels_of(cls: int) -> list[str]:
        return _levels_of(cls)

    def _class(self, forms) -> int:
        """The class of a candidate's name field against any name of the probe (either slot)."""
        if len(forms) == 1:  # most names have one spelling
            f = forms[0]
            s = self.best.get(f.key, 1.0)
            cls = 2 if s >= NAME_CLOSE else 1 if s >= NAME_SIMILAR else 0
            return cls + 3 if f.skeleton in self.skeletons else cls
        best = self.best
        s = max(best.get(f.key, 1.0) for f in forms)
        cls = 2 if s >= NAME_CLOSE else 1 if s >= NAME_SIMILAR else 0
        return cls + 3 if any(f.skeleton in self.skeletons for f in forms) else cls

    def _levels(self, forms) -> list[str]:
        """Every level a name field of the candidate can reach against any name of the probe (either slot)."""
        return self._levels_of(self._class(forms))

    def _weight(self, field: str, levels: list[str] | None) -> float:
        return _class_weight(self.model, self.fields, self.open_slot, field, levels)

    def _rest(self, b: Normalised) -> float:
        """The bound's weight of every field but the names and the document number (exact levels)."""
        a, weight = self.probe, self.model.weight
        total = 0.0
        if self._births:
            total += weight("birth_date", birth_date_level(a.birth_date, a.birth_date_precision, b.birth_date,
                                                           b.birth_date_precision))
        memo = self._sex
        if memo is not None:
            w = memo.get(b.sex)
            if w is None:
                w = memo[b.sex] = weight("sex", _equal_level(a.sex, b.sex))
            total += w
        memo = self._country
        if memo is not None:
            w = memo.get(b.country_of_origin)
            if w is None:
                w = memo[b.country_of_origin] = weight("country_of_origin",
                                                       _equal_level(a.country_of_origin, b.country_of_origin))
            total += w
        if self._others:
            if "patronymic" in self.fields and a.patronymic and b.patronymic:
                total += max(weight("patronymic", level) for level in ("exact", "close", "differs"))
            if "citizenships" in self.fields and a.citizenships and b.citizenships:
                total += weight("citizenships", "overlap" if a.citizenships & b.citizenships else "differs")
        return total

    def could_reach(self, b: Normalised) -> bool:
        if b.document_numbers and "document_number" in self.fields and self.probe.document_numbers & b.document_numbers:
            return True
        # the candidate's given name is weighed as a given name, or (names swapped) as a family name
        wg, wf = self._class_weight["given_name"], self._class_weight["family_name"]
        if b.given and b.family:
            g, f = self._class(b.given), self._class(b.family)
            names = max(wg[g] + wf[f], wg[f] + wf[g])
        elif b.given:
            g = self._class(b.given)
            names = max(wg[g], wf[g])
        elif b.family:
            f = self._class(b.family)
            names = max(wf[f], wg[f])
        else:
            names = 0.0
        return names + self._rest(b) >= self.need - 1e-9

    def kept(self, candidates: list[Normalised]) -> list[Normalised]:
        """`[b for b in candidates if self.could_reach(b)]`, computed for the whole check at once: the same sums
        in the same order (so the same floats), with each field's weight looked up per distinct value the
        candidates hold (a check's candidates share birth dates, sexes and countries: the holders of its
        birth-date key all have one) and no call per candidate. `could_reach` stays the reference (tested equal)."""
        if not candidates:
            return []
        fields, a, weight = self.fields, self.probe, self.model.weight
        need = self.need - 1e-9
        docs = a.document_numbers if "document_number" in fields else None
        wg, wf = self._class_weight["given_name"], self._class_weight["family_name"]
        best, skeletons = self.best, self.skeletons
        births: dict | None = {} if self._births else None
        sexes, countries = self._sex, self._country
        pat = "patronymic" in fields and bool(a.patronymic)
        cit = "citizenships" in fields and bool(a.citizenships)
        pat_weight = max(weight("patronymic", level) for level in ("exact", "close", "differs")) if pat else 0.0
        a_birth, a_precision, a_cit = a.birth_date, a.birth_date_precision, a.citizenships
        cit_overlap, cit_differs = (weight("citizenships", "overlap"), weight("citizenships", "differs")) if cit \
            else (0.0, 0.0)
        out = []
        for b in candidates:
            if docs and b.document_numbers and docs & b.document_numbers:
                out.append(b)
                continue
            given, family = b.given, b.family
            g = _name_class(given, best, skeletons) if given else -1
            f = _name_class(family, best, skeletons) if family else -1
            if g >= 0 and f >= 0:  # max(as they stand, swapped), as could_reach
                names, swapped = wg[g] + wf[f], wg[f] + wf[g]
                if swapped > names:
                    names = swapped
            elif g >= 0:
                names = wg[g] if wg[g] >= wf[g] else wf[g]
            elif f >= 0:
                names = wf[f] if wf[f] >= wg[f] else wg[f]
            else:
                names = 0.0
            total = 0.0
            if births is not None:
                k = (b.birth_date, b.birth_date_precision)
                w = births.get(k)
                if w is None:
                    w = births[k] = weight("birth_date", birth_date_level(a_birth, a_precision, *k))
                total += w
            if sexes is not None:
                w = sexes.get(b.sex)
                if w is None:
                    w = sexes[b.sex] = weight("sex", _equal_level(a.sex, b.sex))
                total += w
            if countries is not None:
                w = countries.get(b.country_of_origin)
                if w is None:
                    w = countries[b.country_of_origin] = weight(
                        "country_of_origin", _equal_level(a.country_of_origin, b.country_of_origin))
                total += w
            if pat and b.patronymic:
                total += pat_weight
            if cit and b.citizenships:
                total += cit_overlap if not a_cit.isdisjoint(b.citizenships) else cit_differs
            if names + total >= need:
                out.append(b)
        return out


def _name_class(forms, best: dict[str, float], skeletons: set[str]) -> int:
    """`EvidenceBound._class` of a name field's forms (not empty)."""
    if len(forms) == 1:  # most names have one spelling
        f = forms[0]
        s = best.get(f.key, 1.0)
        return (2 if s >= NAME_CLOSE else 1 if s >= NAME_SIMILAR else 0) + (3 if f.skeleton in skeletons else 0)
    s = max(best.get(f.key, 1.0) for f in forms)
    return (2 if s >= NAME_CLOSE else 1 if s >= NAME_SIMILAR else 0) + (
        3 if any(f.skeleton in skeletons for f in forms) else 0)


def _levels_of(cls: int) -> list[str]:
    """Every level a name field of class `cls` can reach (a retrained model's weights need not be monotone)."""
    bucket = cls % 3
    levels = ["differs"] + (["similar"] if bucket >= 1 else []) + (["close", "exact"] if bucket == 2 else [])
    return levels + (["skeleton"] if cls >= 3 else [])


def _class_weight(model, fields, open_slot: bool, field: str, levels: list[str] | None) -> float:
    if field not in fields or not levels:
        return 0.0
    top = max(model.weight(field, level) for level in levels)
    return max(top, 0.0) if open_slot else top


_CLASS_WEIGHTS: dict[tuple, tuple[Any, dict[str, list[float]]]] = {}


def _class_weights(model, fields: tuple[str, ...], open_slot: bool) -> dict[str, list[float]]:
    """`EvidenceBound`'s best weight of each name class, per name field: a function of the model, the fields
    compared and whether the probe has an open name slot only, so computed once for them (kept by the model's
    identity, with the model itself: a model is a frozen value, but not hashable)."""
    key = (id(model), fields, open_slot)
    found = _CLASS_WEIGHTS.get(key)
    if found is not None and found[0] is model:
        return found[1]
    weights = {name: [_class_weight(model, fields, open_slot, name, _levels_of(cls)) for cls in range(6)]
               for name in ("given_name", "family_name")}
    if len(_CLASS_WEIGHTS) >= 64:
        _CLASS_WEIGHTS.clear()
    _CLASS_WEIGHTS[key] = (model, weights)
    return weights


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
    """`reindex` on a synchronous connection (the migration's backfill). A schema from before migration 0018 has no
    compact records: none are written (0018 writes them)."""
    from sqlalchemy import inspect

    compact = any(c["name"] == "compact" for c in inspect(connection).get_columns("person_match_records"))
    done, after = 0, ""
    while rows := connection.execute(_page(after, batch)).all():
        ids, records, keys = reindex_batch(rows, config)
        if not compact:
            records = [{"person_id": r["person_id"], "record": r["record"]} for r in records]
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
