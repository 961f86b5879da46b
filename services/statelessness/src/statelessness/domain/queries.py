"""Pure work-list queries over aggregates the store has loaded; `today` is always passed in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .case import DeterminationCase
from .children import ChildAtRiskFlag
from .inquiry import NationalityInquiry
from .naturalization import NaturalizationTrack
from .rules import StatelessnessRules


def overdue_inquiries(
    cases: Iterable[DeterminationCase], today: date
) -> list[tuple[DeterminationCase, NationalityInquiry]]:
    """Inquiries still awaiting a reply past their deadline (ready for an 'unanswered' finding),
    oldest deadline first."""
    found = [(case, inquiry) for case in cases for inquiry in case.overdue_inquiries(today)]
    return sorted(found, key=lambda pair: (pair[1].reply_due, pair[1].inquiry_id))


def overdue_cases(cases: Iterable[DeterminationCase], today: date) -> list[DeterminationCase]:
    """Undecided cases past their decision date, oldest first."""
    return sorted((c for c in cases if c.is_overdue(today)), key=lambda c: (c.decision_due, c.case_id))


def eligible_for_naturalization_now(tracks: Iterable[NaturalizationTrack], today: date) -> list[NaturalizationTrack]:
    return sorted((t for t in tracks if t.is_eligible(today)), key=lambda t: (t.eligible_from, t.track_id))


def eligible_for_naturalization_soon(
    tracks: Iterable[NaturalizationTrack], today: date, rules: StatelessnessRules
) -> list[NaturalizationTrack]:
    """Not yet eligible, eligible within `rules.soon_horizon_days`."""
    return sorted((t for t in tracks if t.is_eligible_soon(today, rules)), key=lambda t: (t.eligible_from, t.track_id))


def open_child_flags(flags: Iterable[ChildAtRiskFlag]) -> list[ChildAtRiskFlag]:
    return sorted((f for f in flags if f.open), key=lambda f: (f.flagged_on, f.flag_id))
