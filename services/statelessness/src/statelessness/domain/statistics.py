"""Statistics helpers (UNHCR Refugee Data Finder conventions). Pure functions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from pana_kit.domain import AGE_BRACKETS, age_bracket, mask_small_cells

from .case import DeterminationCase
from .inquiry import InquiryStatus

AGE_BRACKET_LABELS: tuple[str, ...] = tuple(label for label, _, _ in AGE_BRACKETS) + ("unknown",)


def count_by_age_bracket(
    birth_dates: Iterable[date | None], on: date, *, mask_below: int | None = None
) -> dict[str, int | str]:
    """Counts per UNHCR age bracket (every bracket present); small cells masked when asked."""
    counts = Counter(age_bracket(b, on) for b in birth_dates)
    result: dict[str, int | str] = {}
    for label in AGE_BRACKET_LABELS:
        n = counts.get(label, 0)
        result[label] = mask_small_cells(n, mask_below) if mask_below is not None else n
    return result


def recognised_by_age_bracket(
    cases: Iterable[DeterminationCase], on: date, *, mask_below: int | None = None
) -> dict[str, int | str]:
    return count_by_age_bracket((c.birth_date for c in cases if c.recognised_stateless), on, mask_below=mask_below)


def median_days_to_determination(cases: Iterable[DeterminationCase]) -> float | None:
    """Median days from opening to first-instance determination, over determined cases."""
    days = [d for d in (c.days_to_determination for c in cases) if d is not None]
    return float(median(days)) if days else None


@dataclass(frozen=True)
class ReplyRate:
    state: str
    sent: int
    answered: int
    answered_late: int
    unanswered: int  # deadline passed, finding recorded
    awaiting: int

    @property
    def rate(self) -> float | None:
        """Share of inquiries answered, over those answered or found unanswered."""
        settled = self.answered + self.unanswered
        return self.answered / settled if settled else None


def reply_rate_by_state(cases: Iterable[DeterminationCase]) -> dict[str, ReplyRate]:
    tallies: dict[str, Counter[str]] = {}
    for case in cases:
        for inquiry in case.inquiries:
            t = tallies.setdefault(inquiry.state, Counter())
            t["sent"] += 1
            if inquiry.status is InquiryStatus.ANSWERED:
                t["answered"] += 1
                if inquiry.answered_on is not None and inquiry.answered_on > inquiry.reply_due:
                    t["answered_late"] += 1
            elif inquiry.status is InquiryStatus.UNANSWERED:
                t["unanswered"] += 1
            else:
                t["awaiting"] += 1
    return {
        state: ReplyRate(
            state=state,
            sent=t["sent"],
            answered=t["answered"],
            answered_late=t["answered_late"],
            unanswered=t["unanswered"],
            awaiting=t["awaiting"],
        )
        for state, t in sorted(tallies.items())
    }


@dataclass
class StatisticsFacts:
    """What the store found as of a day: rows with the named attributes, nothing personal beyond sex and age."""

    cases: list[Any]  # person_id, opened_on, decided_on, outcome, recognised_on
    stateless_ids: set[str]  # recognised stateless, not naturalized
    persons: dict[str, Any]  # person_id -> sex, birth_date
    inquiries: list[Any]  # state, status, sent_on, reply_due, answered_on
    flags: list[Any]  # rule, flagged_on, resolved_on
    tracks: list[Any]  # outcome, decided_on


def statistics_as_of(facts: StatisticsFacts, on: date, threshold: int) -> dict[str, Any]:
    """Every figure of the statistics as of `on`, counts below `threshold` masked ('*')."""

    def m(n: int) -> int | str:
        return mask_small_cells(n, threshold)

    demo: dict[str, Counter] = {sex: Counter() for sex in ("female", "male", "other", "unknown")}
    for pid in facts.stateless_ids:
        p = facts.persons.get(pid)
        sex = p.sex if p is not None and p.sex in demo else "unknown"
        demo[sex][age_bracket(p.birth_date if p else None, on)] += 1
    stateless_persons = {sex: {b: m(c[b]) for b in AGE_BRACKET_LABELS} for sex, c in demo.items()
                         if sex in ("female", "male") or sum(c.values())}

    cases = facts.cases
    decided = [c for c in cases if c.decided_on and c.decided_on <= on]
    days = [(c.decided_on - c.opened_on).days for c in decided]
    case_stats = {
        "opened": m(len(cases)), "decided": m(len(decided)), "pending": m(len(cases) - len(decided)),
        "recognised": m(sum(1 for c in cases if c.recognised_on and c.recognised_on <= on)),
        "not_stateless": m(sum(1 for c in decided if c.outcome == "not_stateless")),
    }

    by_state: dict[str, Counter] = defaultdict(Counter)
    for q in facts.inquiries:
        t = by_state[q.state]
        t["sent"] += 1
        if q.status == "answered" and q.answered_on and q.answered_on <= on:
            t["answered"] += 1
            if q.answered_on > q.reply_due:
                t["answered_late"] += 1
        elif q.status == "unanswered" and q.reply_due < on:
            t["unanswered"] += 1
        else:
            t["awaiting"] += 1
    inquiry_stats = {}
    for state, t in sorted(by_state.items()):
        settled = t["answered"] + t["unanswered"]
        rate = round(t["answered"] / settled, 3) if settled >= max(threshold, 1) else None
        inquiry_stats[state] = dict(sent=m(t["sent"]), answered=m(t["answered"]), answered_late=m(t["answered_late"]),
                                    unanswered=m(t["unanswered"]), awaiting=m(t["awaiting"]), reply_rate=rate)

    flags = facts.flags
    resolved = sum(1 for f in flags if f.resolved_on and f.resolved_on <= on)
    children = {"flagged": m(len(flags)), "resolved": m(resolved), "open": m(len(flags) - resolved),
                "flagged_by_rule": {rule: m(n) for rule, n in sorted(Counter(f.rule for f in flags).items())}}

    years: dict[str, Counter] = defaultdict(Counter)
    for t in facts.tracks:
        years[str(t.decided_on.year)][t.outcome] += 1
    naturalizations = {y: {"granted": m(c["granted"]), "refused": m(c["refused"])} for y, c in sorted(years.items())}

    return dict(as_of=on, small_cell_threshold=threshold, stateless_persons=stateless_persons, cases=case_stats,
                median_days_to_determination=float(median(days)) if days else None,
                inquiries_by_state=inquiry_stats, children=children, naturalizations_by_year=naturalizations)
