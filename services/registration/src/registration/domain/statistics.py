"""Population statistics as UNHCR publishes them: legal status x sex x age x country of
origin, as of a date, with small cells masked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Iterable, Mapping

from pana_kit.domain import age_bracket, bracket_change_days, mask_small_cells

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


Cell = tuple[str, str, str, str]  # legal status, sex, age bracket, country of origin ('unknown' when none)

@dataclass(frozen=True)
class PopulationMember:
    """What the statistics need of one person, enough to say in which cell they are counted on any day. Kept
    beside the person (the projection's memory): the summary counts move by the difference between the member
    before and after a change (`count_changes`)."""
    person_id: str
    registered_on: date
    sex: str
    birth_date: date | None
    country_of_origin: str | None
    merged: bool = False
    died_on: date | None = None
    statuses: tuple[tuple[date, str], ...] = ()  # the legal status history: (since, status), in order

    @classmethod
    def of(cls, person: Person, status: LegalStatusProjection | None) -> "PopulationMember":
        return cls(person.person_id, person.registered_at.date(), person.sex.value, person.birth_date,
                   person.country_of_origin, bool(person.merged_into), person.date_of_death,
                   statuses_of(status))

    @classmethod
    def of_document(cls, doc: dict, status: LegalStatusProjection | None) -> "PopulationMember":
        """From a stored person document's plain fields (none of them sealed): for backfills."""
        def day(value):
            return date.fromisoformat(value[:10]) if value else None
        return cls(doc["person_id"], day(doc["registered_at"]), doc["sex"], day(doc.get("birth_date")),
                   doc.get("country_of_origin"), bool(doc.get("merged_into")), day(doc.get("date_of_death")),
                   statuses_of(status))

    def with_statuses(self, status: LegalStatusProjection | None) -> "PopulationMember":
        return replace(self, statuses=statuses_of(status))

    def status_on(self, on: date) -> LegalStatus:
        """As `LegalStatusProjection.as_of`."""
        current = LegalStatus.NONE
        for since, status in self.statuses:
            if since > on:
                break
            current = LegalStatus(status)
        return current

    def record_on(self, on: date) -> PopulationRecord | None:
        """The person's record as of the date, or None when not in the population then (registered later, dead,
        merged, or without a status of concern)."""
        if self.merged or self.registered_on > on:
            return None
        if self.died_on and self.died_on <= on:
            return None
        legal = self.status_on(on)
        if legal in (LegalStatus.NONE, LegalStatus.DECEASED):
            return None
        return PopulationRecord(legal.value, self.sex, self.birth_date, self.country_of_origin)

    def cell_on(self, on: date) -> Cell | None:
        r = self.record_on(on)
        return None if r is None else cell_of(r, on)

    def timeline(self) -> list[tuple[date, Cell | None]]:
        """(from day, cell) at each day the person's cell changes, the first entering the population. Between
        two such days nothing that decides the cell changes (registration, status, death, a birthday that
        starts a bracket)."""
        days = {self.registered_on, *(since for since, _ in self.statuses)}
        if self.died_on:
            days.add(self.died_on)
        days.update(bracket_change_days(self.birth_date))
        out: list[tuple[date, Cell | None]] = []
        previous: Cell | None = None
        for day in sorted(days):
            cell = self.cell_on(day)
            if cell != previous:
                out.append((day, cell))
                previous = cell
        return out

    def to_document(self) -> dict:
        return {"person_id": self.person_id, "registered_on": self.registered_on.isoformat(), "sex": self.sex,
                "birth_date": self.birth_date.isoformat() if self.birth_date else None,
                "country_of_origin": self.country_of_origin, "merged": self.merged,
                "died_on": self.died_on.isoformat() if self.died_on else None,
                "statuses": [[since.isoformat(), status] for since, status in self.statuses]}

    @classmethod
    def from_document(cls, doc: dict) -> "PopulationMember":
        def day(value):
            return date.fromisoformat(value) if value else None
        return cls(doc["person_id"], day(doc["registered_on"]), doc["sex"], day(doc.get("birth_date")),
                   doc.get("country_of_origin"), bool(doc.get("merged")), day(doc.get("died_on")),
                   tuple((date.fromisoformat(since), status) for since, status in doc.get("statuses") or ()))


def statuses_of(status: LegalStatusProjection | None) -> tuple[tuple[date, str], ...]:
    return tuple((p.since, p.status.value) for p in status.history) if status else ()


def cell_of(record: PopulationRecord, as_of: date) -> Cell:
    return (record.legal_status, record.sex, age_bracket(record.birth_date, as_of), record.country_of_origin or "unknown")


def count_changes(before: PopulationMember | None, after: PopulationMember | None) -> dict[tuple[date, Cell], int]:
    """How the summary counts (day a count changes, cell) -> delta move when a member goes from `before` to
    `after`: the count of a cell on a day is the sum of its deltas up to that day."""
    deltas: Counter[tuple[date, Cell]] = Counter()
    for member, sign in ((before, -1), (after, 1)):
        if member is None:
            continue
        previous: Cell | None = None
        for day, cell in member.timeline():
            if previous is not None:
                deltas[(day, previous)] -= sign
            if cell is not None:
                deltas[(day, cell)] += sign
            previous = cell
    return {k: n for k, n in deltas.items() if n}


def population_record(person: Person, status: LegalStatusProjection, as_of: date) -> PopulationRecord | None:
    """The person's record as of the date, or None when not in the population then (registered later, dead,
    merged, or without a status of concern)."""
    return PopulationMember.of(person, status).record_on(as_of)


def population_statistics(records: Iterable[PopulationRecord], *, as_of: date,
                          rules: RegistrationRules) -> PopulationStatistics:
    """Counted from each person's record (the recount the summary tables must equal)."""
    counts: Counter[Cell] = Counter(cell_of(r, as_of) for r in records)
    return statistics_of_counts(counts, as_of=as_of, rules=rules)


def statistics_of_counts(counts: Mapping[Cell, int], *, as_of: date, rules: RegistrationRules) -> PopulationStatistics:
    """The published cells from counts per cell (empty cells left out, small ones masked)."""
    threshold = rules.statistics_small_cell_threshold
    cells = tuple(
        StatisticsCell(status, sex, bracket, country, mask_small_cells(n, threshold))
        for (status, sex, bracket, country), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0], kv[0][1], AGE_BRACKET_ORDER.index(kv[0][2]), kv[0][3]))
        if n
    )
    return PopulationStatistics(as_of, threshold, cells)
