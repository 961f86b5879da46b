"""Plain-Python building blocks every service's domain uses.

No I/O lives here: the domain layers import this module and nothing else from
the kit, so their unit tests run without a database, a broker or HTTP.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises; mapped to problem+json once, in the kit."""

    status = 400
    type_suffix = "domain-error"

    def __init__(self, detail: str, *, rule: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.rule = rule
        self.extra = extra or {}


class RuleViolation(DomainError):
    """A step the procedure forbids (409). `rule` is the rule's name as in docs/domain.md."""

    status = 409
    type_suffix = "rule-violation"

    def __init__(self, rule: str, detail: str, **extra: Any):
        super().__init__(detail, rule=rule, extra=extra)


class NotFound(DomainError):
    status = 404
    type_suffix = "not-found"


class AccessDenied(DomainError):
    """The caller may not read or change this record (403); `rule` names the access rule (snake_case)."""

    status = 403
    type_suffix = "access-denied"

    def __init__(self, rule: str, detail: str, **extra: Any):
        super().__init__(detail, rule=rule, extra=extra)


class InvalidInput(DomainError):
    """Input that passes the schema but breaks a rule of form (422)."""

    status = 422
    type_suffix = "invalid-input"


@dataclass
class Aggregate:
    """An entity that records the events its changes cause.

    The unit of work collects `pending_events` after a command and writes them to
    the outbox in the same transaction as the state change.
    """

    pending_events: list[Any] = field(default_factory=list, init=False, repr=False, compare=False)

    def record(self, event: "DomainEvent") -> None:
        self.pending_events.append(event)

    def collect_events(self) -> list["DomainEvent"]:
        events, self.pending_events = self.pending_events, []
        return events


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """A stored time with its offset: every stored time is UTC, and SQLite gives it back without one."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def add_months(start: date, months: int) -> date:
    """Calendar months later; the day is clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """`days` working days after `start` (Monday to Friday, less the given holidays)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            remaining -= 1
    return current


def age_on(birth_date: date, on: date) -> int:
    """Completed years of age on a date."""
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


AGE_BRACKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-4", 0, 4),
    ("5-11", 5, 11),
    ("12-17", 12, 17),
    ("18-59", 18, 59),
    ("60+", 60, None),
)


def age_bracket(birth_date: date | None, on: date) -> str:
    """UNHCR Refugee Data Finder age bracket, or 'unknown'."""
    if birth_date is None:
        return "unknown"
    age = age_on(birth_date, on)
    for label, low, high in AGE_BRACKETS:
        if age >= low and (high is None or age <= high):
            return label
    return "unknown"


def bracket_change_days(birth_date: date | None) -> list[date]:
    """The days `age_bracket` changes for someone born on `birth_date` (birth, then each bracket's first
    birthday; 29 February: 1 March in a common year, as `age_on` counts)."""
    if birth_date is None:
        return []
    days = []
    for _, low, _ in AGE_BRACKETS:
        try:
            days.append(birth_date.replace(year=birth_date.year + low))
        except ValueError:
            days.append(date(birth_date.year + low, 3, 1))
    return days


def dated_changes(days, figures_on) -> dict[tuple[date, str], int]:
    """Summary-table changes of one record: (day, figure) -> how much the figure moves from that day on, from
    `figures_on(day)` (figure -> count on that day) evaluated on each of `days`. `days` must hold every day the
    figures can change, and they must be zero before the first: then the sum of the changes up to any day is
    `figures_on` of that day."""
    out: dict[tuple[date, str], int] = {}
    previous: dict[str, int] = {}
    for day in sorted(set(days)):
        now = figures_on(day)
        for figure in set(now) | set(previous):
            moved = now.get(figure, 0) - previous.get(figure, 0)
            if moved:
                out[(day, figure)] = out.get((day, figure), 0) + moved
        previous = now
    return out


def median_of_counts(counts: dict[int, int]) -> float | None:
    """The median of values given as value -> how many times (a histogram), None when empty."""
    items = sorted((v, n) for v, n in counts.items() if n > 0)
    total = sum(n for _, n in items)
    if not total:
        return None

    def nth(i: int) -> int:
        for value, n in items:
            if i < n:
                return value
            i -= n
        raise IndexError(i)
    mid = total // 2
    return float(nth(mid)) if total % 2 else (nth(mid - 1) + nth(mid)) / 2


def mask_small_cells(count: int, threshold: int) -> int | str:
    """Counts below the threshold are shown as '*' (UNHCR convention)."""
    return "*" if 0 < count < threshold else count


class StaleVersion(DomainError):
    """The record changed since the caller read it (optimistic concurrency): 412, mapped once in `errors`."""

    status = 412
    type_suffix = "precondition-failed"


class VersionRequired(DomainError):
    """A change that does not name the version it was based on (428)."""

    status = 428
    type_suffix = "precondition-required"


class DomainEvent:
    """Base of every domain event: a dataclass named in the past tense, recorded by an aggregate.

    One style in every service: the class is the event's type (publishing matches on it), the
    fields are its facts. Contract events (`pana_events`) are made from these in each service's
    `publishing.py`, never by hand elsewhere.
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        return type(self).__name__
