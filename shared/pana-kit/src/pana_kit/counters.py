"""Summary counters kept in the same transaction as the change that moves them (statistics tables).

A counter table has key columns and one integer column. `add_counts` adds deltas to it with one
`INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n` (PostgreSQL and SQLite), keys in sorted order so
two transactions touching the same counters lock them in the same order (no deadlock). A hot counter
(today's registrations in one cell) is spread over `shard_of(id)` rows so concurrent writers rarely wait
on one row; readers sum over the shards.
"""

from __future__ import annotations

import zlib
from typing import Mapping, Sequence

from sqlalchemy import Table

SHARDS = 8


def shard_of(identity: str, shards: int = SHARDS) -> int:
    """A stable shard for an aggregate's id (the same in the write path, a backfill and a recount)."""
    return zlib.crc32(identity.encode()) % shards


def _insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the services run on these two
        raise NotImplementedError(f"counters on {dialect}")
    return insert


def counts_statement(dialect: str, table: Table, rows: list[dict], key: Sequence[str], count: str = "count"):
    insert = _insert(dialect)(table).values(rows)
    return insert.on_conflict_do_update(index_elements=list(key),
                                        set_={count: table.c[count] + insert.excluded[count]})


async def add_counts(session, table: Table, deltas: Mapping[tuple, int], *, key: Sequence[str],
                     count: str = "count", batch: int = 1000) -> int:
    """Add each delta (key tuple in `key` order -> int) to its counter row, creating it at the delta.
    Zero deltas are skipped; returns the number of counters touched."""
    items = sorted((k, n) for k, n in deltas.items() if n)
    dialect = session.bind.dialect.name
    for start in range(0, len(items), batch):
        rows = [{**dict(zip(key, k)), count: n} for k, n in items[start:start + batch]]
        await session.execute(counts_statement(dialect, table, rows, key, count))
    return len(items)
