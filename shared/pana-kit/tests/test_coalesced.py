"""Lookups that arrive together share one statement (pana_kit.db.Coalesced), for hot read paths."""

from __future__ import annotations

import asyncio

import pytest

from pana_dev.testing import eventually
from pana_kit.db import Coalesced


async def test_concurrent_lookups_share_a_query_and_each_gets_its_answer():
    queries: list[list[str]] = []
    release = asyncio.Event()

    async def fetch(keys):
        queries.append(list(keys))
        await release.wait()
        return {k: k.upper() for k in keys if k != "missing"}

    lookups = Coalesced(fetch)
    first = asyncio.create_task(lookups.get("a"))
    await eventually(lambda: queries == [["a"]], what="the first query in flight")
    rest = [asyncio.create_task(lookups.get(k)) for k in ("b", "c", "b", "missing")]
    # these wait for the next query, together
    await eventually(lambda: sum(map(len, lookups._waiting.values())) == 4, what="four lookups waiting")
    release.set()
    assert await first == "A"
    assert [await t for t in rest] == ["B", "C", "B", None]
    assert queries == [["a"], ["b", "c", "missing"]]
    assert (lookups.queries, lookups.keys) == (2, 4)  # the mean batch, as a bench reads it


async def test_a_failed_query_fails_its_lookups_only():
    calls = 0

    async def fetch(keys):
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database away")
        return {k: 1 for k in keys}

    lookups = Coalesced(fetch)
    with pytest.raises(RuntimeError):
        await lookups.get("x")
    assert await lookups.get("x") == 1
