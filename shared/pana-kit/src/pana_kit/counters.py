"""Summary counters kept in the same transaction as the change that moves them (statistics tables).

A counter table has key columns and one integer column. `add_counts` adds deltas to it with one
`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n` (PostgreSQL and SQLite), keys in sorted order so
two transactions touching the same counters lock them in the same order (no deadlock). A hot counter
(today's registrations in one cell) is spread over `shard_of(id)` rows so concurrent writers rarely wait
on one row; readers sum over the shards.
"""

from __future__ import annotations

import zlib
from functools import lru_cache
from typing import Mapping, Sequence

from sqlalchemy import Table

from .db import insert_on_conflict

SHARDS = 8


def shard_of(identity: str, shards: int = SHARDS) -> int:
    """A stable shard for an aggregate's id (the same in the write path, a backfill and a recount)."""
    return zlib.crc32(identity.encode()) % shards


@lru_cache(maxsize=64)
def _upsert(table: Table, key: tuple[str, ...], count: str):
    """`… ON CONFLICT (key) DO UPDATE SET n = n + excluded.n` for one counter table, built once (db.insert_on_conflict)."""
    return insert_on_conflict(table, (*key, count),
                              f"({', '.join(key)}) DO UPDATE SET {count} = {table.name}.{count} + excluded.{count}")


async def add_counts(session, table: Table, deltas: Mapping[tuple, int], *, key: Sequence[str],
                     count: str = "count", batch: int = 1000) -> int:
    """Add each delta (key tuple in `key` order -> int) to its counter row, creating it at the delta.
    Zero deltas are skipped; returns the number of counters touched."""
    items = sorted((k, n) for k, n in deltas.items() if n)
    statement = _upsert(table, tuple(key), count)
    for start in range(0, len(items), batch):
        rows = [{**dict(zip(key, k)), count: n} for k, n in items[start:start + batch]]
        await session.execute(statement, rows)
    return len(items)


# --- dated changes: a record's contribution to a summary read "as of a day" -------------------------------------
# A record (an application, a case) adds `changes` to the summary: (day, figure) -> amount from that day on
# (`pana_kit.domain.dated_changes`). The row keeps the changes it was last counted with (JSON); a save moves the
# summary by the difference; a figure on a day is the SUM of its rows up to that day (`sums_up_to`).

def changes_to_json(changes: dict[tuple, int]) -> list:
    return [[day.isoformat(), figure, n] for (day, figure), n in sorted(changes.items())]


def changes_from_json(doc: list | None) -> dict[tuple, int] | None:
    from datetime import date
    return None if doc is None else {(date.fromisoformat(day), figure): n for day, figure, n in doc}


def moved_counts(identity: str, before: dict[tuple, int] | None, after: dict[tuple, int] | None, *,
                 before_scope: tuple = (), after_scope: tuple = ()) -> dict[tuple, int]:
    """Counter deltas (scope..., day, figure, shard) taking a record from `before` to `after` (None: not counted),
    each under its scope (an office, say; the record may have moved)."""
    shard = shard_of(identity)
    deltas: dict[tuple, int] = {}
    for changes, scope, sign in ((before, before_scope, -1), (after, after_scope, 1)):
        for (day, figure), n in (changes or {}).items():
            key = (*scope, day, figure, shard)
            deltas[key] = deltas.get(key, 0) + sign * n
    return {k: n for k, n in deltas.items() if n}


async def sums_up_to(session, table: Table, on, *, day: str = "day", figure: str = "figure", count: str = "count",
                     **scope) -> dict[str, int]:
    """figure -> the sum of its changes up to `on` (inclusive), within `scope` (column=value)."""
    from sqlalchemy import func, select
    stmt = select(table.c[figure], func.sum(table.c[count])).where(table.c[day] <= on)
    for column, value in scope.items():
        stmt = stmt.where(table.c[column] == value)
    rows = await session.execute(stmt.group_by(table.c[figure]))
    return {name: int(total) for name, total in rows if total}
