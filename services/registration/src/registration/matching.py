"""Duplicate matching against the register: configuration from settings, candidates through the blocking index."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from .domain import MatchingConfig, MatchRecord, MatchResult, Person, find_candidates
from .store.repository import Persons


def load_matching_config(path: str | None) -> MatchingConfig:
    """The matching rules are configuration: a JSON file when set, else the domain's defaults."""
    if not path:
        return MatchingConfig()
    return MatchingConfig.from_dict(json.loads(Path(path).read_text()))


async def candidates(persons: Persons, person: Person, config: MatchingConfig) -> list[MatchResult]:
    """Scored candidates at or above the review threshold, best first."""
    record = MatchRecord.of(person)
    others = [p for p in await persons.candidates_for(record) if not p.merged_into]
    # Scoring is CPU-bound pure Python: off the event loop, other requests (verification,
    # reads) interleave with it instead of queueing behind a whole check.
    return await asyncio.to_thread(_score, record, others, config)


def _score(record: MatchRecord, others: list[Person], config: MatchingConfig) -> list[MatchResult]:
    return find_candidates(record, [MatchRecord.of(p) for p in others], config)
