"""Summary counters (pana_kit.counters) on both databases the services run on: a delta creates its counter, a
second adds to it, zero deltas touch nothing, and the statement is built once per table."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import create_async_engine

from pana_kit.counters import _upsert, add_counts

META = MetaData()
COUNTS = Table("test_counts", META,
               Column("day", Date, primary_key=True), Column("figure", String(40), primary_key=True),
               Column("shard", Integer, primary_key=True), Column("count", Integer, nullable=False))
KEY = ("day", "figure", "shard")


async def _counts(engine) -> dict[tuple, int]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(COUNTS))).all()
    return {(r.day, r.figure, r.shard): r.count for r in rows}


async def test_deltas_create_then_add_to_their_counters(url):
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(META.create_all)
        day = date(2026, 12, 1)
        async with engine.begin() as connection:
            touched = await add_counts(connection, COUNTS, {(day, "registered", 1): 2, (day, "refused", 0): 0,
                                                            (day, "lodged", 3): 1}, key=KEY)
        assert touched == 2
        async with engine.begin() as connection:
            await add_counts(connection, COUNTS, {(day, "registered", 1): -1, (day, "lodged", 4): 5}, key=KEY)
        assert await _counts(engine) == {(day, "registered", 1): 1, (day, "lodged", 3): 1, (day, "lodged", 4): 5}
    finally:
        await engine.dispose()


def test_the_statement_is_built_once_per_table():
    assert _upsert(COUNTS, KEY, "count") is _upsert(COUNTS, KEY, "count")


@pytest.mark.parametrize("rows", [1, 2500])
async def test_batches_of_many_counters(url, rows):
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(META.create_all)
            await add_counts(connection, COUNTS, {(date(2026, 1, 1), f"f{i}", 0): i + 1 for i in range(rows)},
                             key=KEY)
        counts = await _counts(engine)
        assert len(counts) == rows and sum(counts.values()) == rows * (rows + 1) // 2
    finally:
        await engine.dispose()
