"""Duplicate matching against the register: configuration from settings, candidates through the matching engine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from . import matching_engine
from .domain import Candidates, MatchingConfig, MatchRecord, Person
from .store.repository import Persons

# Candidate sets at least this large are scored off the event loop, so other requests interleave with them. Below
# it, inline: scoring costs ~8 µs a candidate now (the evidence bound skips most), so 1,500 is ~12 ms, and a thread
# hop gives no parallelism (the GIL) but adds its hand-off and the interpreter's 5 ms switch interval to the
# requests that wait on the loop meanwhile.
THREAD_FROM = 1500


def load_matching_config(path: str | None) -> MatchingConfig:
    """The matching rules are configuration: a JSON file when set, else the domain's defaults."""
    if not path:
        return MatchingConfig()
    return MatchingConfig.from_dict(json.loads(Path(path).read_text()))


async def candidates(persons: Persons, person: Person, config: MatchingConfig) -> Candidates:
    """Scored candidates at or above the review threshold, best first, and whether the candidate limit was reached
    (matching_engine.py: compact match records, per-key bounded reads, name similarities in bulk, the domain's
    model). Merged records are not in the index."""
    record = MatchRecord.of(person)
    others, limit_reached = await persons.candidates_for(record)
    if len(others) < THREAD_FROM:
        results = matching_engine.score(record, others, config)
    else:
        results = await asyncio.to_thread(matching_engine.score, record, others, config)
    return Candidates(tuple(results), limit_reached)


async def check(db, person: Person, config: MatchingConfig) -> Candidates:
    """`candidates` for a duplicate check, which changes nothing: the candidates read by one autocommit statement
    on the database's read engine, no session (`matching_engine.read_candidates`)."""
    record = MatchRecord.of(person)
    others, limit_reached = await matching_engine.read_candidates(db, record, config)
    if len(others) < THREAD_FROM:
        results = matching_engine.score(record, others, config)
    else:
        results = await asyncio.to_thread(matching_engine.score, record, others, config)
    return Candidates(tuple(results), limit_reached)
