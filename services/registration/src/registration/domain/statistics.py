"""Population statistics as UNHCR publishes them: legal status x sex x age x country of
origin, as of a date, with small cells masked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from pana_kit.domain import age_bracket, mask_small_cells

from .legal_status import LegalStatus, LegalStatusProjection
from .person import Person
from .rules import RegistrationRules

AGE_BRACKET_ORDER = ("0-4", "5-11", "12-17", "18-59", "60+", "unknown")


@dataclass(frozen=True)
class PopulationRecord:
    """One person as the statistics see them on the reference date."""
    legal_status: str
    sex: str
    birth_date: date | None
    country_of_origin: str | None


@dataclass(frozen=True)
class StatisticsCell:
    legal_status: str
    sex: str
    age_bracket: str
    country_of_origin: str
    count: int | str  # '*' when masked


@dataclass(frozen=True)
class PopulationStatistics:
    as_of: date
    threshold: int
    cells: tuple[StatisticsCell, ...]

    def rows(self) -> list[dict[str, object]]:
        """Flat rows for JSON or CSV."""
        return [vars(c).copy() for c in self.cells]


def population_record(person: Person, status: LegalStatusProjection, as_of: date) -> PopulationRecord | None:
    """The person's record as of the date, or None when not in the population then
    (registered later, dead, merged, or without a status of concern)."""
    if person.merged_into or person.registered_at.date() > as_of:
        return None
    if person.date_of_death and person.date_of_death <= as_of:
        return None
    legal = status.as_of(as_of)
    if legal in (LegalStatus.NONE, LegalStatus.DECEASED):
        return None
    return PopulationRecord(legal.value, person.sex.value, person.birth_date, person.country_of_origin)


def population_statistics(records: Iterable[PopulationRecord], *, as_of: date,
                          rules: RegistrationRules) -> PopulationStatistics:
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for r in records:
        counts[(r.legal_status, r.sex, age_bracket(r.birth_date, as_of), r.country_of_origin or "unknown")] += 1
    threshold = rules.statistics_small_cell_threshold
    cells = tuple(
        StatisticsCell(status, sex, bracket, country, mask_small_cells(n, threshold))
        for (status, sex, bracket, country), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1], AGE_BRACKET_ORDER.index(kv[0][2]), kv[0][3]))
    )
    return PopulationStatistics(as_of, threshold, cells)
