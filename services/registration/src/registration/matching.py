"""Duplicate matching against the register: configuration from settings, candidates through the blocking index."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from .domain import Candidates, MatchingConfig, MatchRecord, MatchResult, Person, score_candidates
from .store.repository import Persons


def load_matching_config(path: str | None) -> MatchingConfig:
    """The matching rules are configuration: a JSON file when set, else the domain's defaults."""
    if not path:
        return MatchingConfig()
    return MatchingConfig.from_dict(json.loads(Path(path).read_text()))


async def candidates(persons: Persons, person: Person, config: MatchingConfig) -> Candidates:
    """Scored candidates at or above the review threshold, best first, and whether the candidate limit was reached."""
    record = MatchRecord.of(person)
    found, limit_reached = await persons.candidates_for(record)
    others = [p for p in found if not p.merged_into]
    # Scoring is CPU-bound pure Python: off the event loop, other requests (verification,
    # reads) interleave with it instead of queueing behind a whole check.
    results = await asyncio.to_thread(_score, record, others, config)
    return Candidates(tuple(results), limit_reached)


def _score(record: MatchRecord, others: list[Person], config: MatchingConfig) -> list[MatchResult]:
    # The store brought these together through the blocking keys: score them, without recomputing keys.
    return score_candidates(record, [MatchRecord.of(p) for p in others], config)
