"""Statistics helpers (UNHCR Refugee Data Finder conventions). Pure functions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import median
from typing import Any

from pana_kit.domain import (
    AGE_BRACKETS, age_bracket, bracket_change_days, dated_changes, mask_small_cells, median_of_counts,
)

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


# --- the summary the statistics are read from (kept by the write path) ----------------------------------------
# Each record adds dated changes (day, figure) -> amount from that day on (pana_kit.domain.dated_changes); the
# figures of `statistics_as_of` on a day are read from the sums up to it (`statistics_of_sums`). The functions take
# the columns the store keeps, as `store/statistics.py`'s recount reads them.

def case_changes(opened_on: date, decided_on: date | None, outcome: str | None, recognised_on: date | None,
                 inquiries: Iterable[Any]) -> dict[tuple[date, str], int]:
    """A case and its inquiries (each with state, status, sent_on, reply_due, answered_on)."""
    inquiries = list(inquiries)

    def figures_on(on: date) -> dict[str, int]:
        out: dict[str, int] = {}
        if opened_on <= on:
            out["cases.opened"] = 1
            if decided_on and decided_on <= on:
                out["cases.decided"] = 1
                out[f"days.{(decided_on - opened_on).days}"] = 1
                if outcome == "not_stateless":
                    out["cases.not_stateless"] = 1
            if recognised_on and recognised_on <= on:
                out["cases.recognised"] = 1
        for q in inquiries:
            if q.sent_on > on:
                continue
            for figure in _inquiry_figures(q, on):
                key = f"inquiries.{q.state}.{figure}"
                out[key] = out.get(key, 0) + 1
        return out

    days = [opened_on, *(d for d in (decided_on, recognised_on) if d)]
    for q in inquiries:
        days += [q.sent_on, q.reply_due + timedelta(days=1), *([q.answered_on] if q.answered_on else [])]
    return dated_changes(days, figures_on)


def _inquiry_figures(q: Any, on: date) -> list[str]:
    """As `statistics_as_of` classifies an inquiry sent by `on`."""
    if q.status == "answered" and q.answered_on and q.answered_on <= on:
        return ["sent", "answered", "answered_late"] if q.answered_on > q.reply_due else ["sent", "answered"]
    if q.status == "unanswered" and q.reply_due < on:
        return ["sent", "unanswered"]
    return ["sent", "awaiting"]


def flag_changes(rule: str, flagged_on: date, resolved_on: date | None) -> dict[tuple[date, str], int]:
    def figures_on(on: date) -> dict[str, int]:
        if flagged_on > on:
            return {}
        out = {"children.flagged": 1, f"children.rule.{rule}": 1}
        if resolved_on and resolved_on <= on:
            out["children.resolved"] = 1
        return out
    return dated_changes([flagged_on, *([resolved_on] if resolved_on else [])], figures_on)


def track_changes(outcome: str | None, decided_on: date | None) -> dict[tuple[date, str], int]:
    if decided_on is None:
        return {}
    return {(decided_on, f"naturalizations.{decided_on.year}.{outcome}"): 1}


def stateless_person_changes(recognised: Iterable[date], naturalized: Iterable[date], sex: str | None,
                             birth_date: date | None) -> dict[tuple[date, str], int]:
    """A person counted as stateless from the first day a case of theirs (opened by then) recognised them, until
    a granted naturalization: by sex and age bracket. `recognised`: each such case's max(opened, recognised) day."""
    recognised, naturalized = list(recognised), list(naturalized)
    if not recognised:
        return {}
    sex = sex if sex in ("female", "male", "other", "unknown") else "unknown"

    def figures_on(on: date) -> dict[str, int]:
        if any(d <= on for d in recognised) and not any(d <= on for d in naturalized):
            return {f"stateless.{sex}.{age_bracket(birth_date, on)}": 1}
        return {}
    return dated_changes([*recognised, *naturalized, *bracket_change_days(birth_date)], figures_on)


def statistics_of_sums(sums: dict[str, int], on: date, threshold: int) -> dict[str, Any]:
    """`statistics_as_of`'s figures from the summary's sums up to `on` (figure -> sum)."""
    def m(n: int) -> int | str:
        return mask_small_cells(n, threshold)

    def group(prefix: str) -> dict[str, int]:
        return {k[len(prefix):]: n for k, n in sums.items() if k.startswith(prefix) and n}

    stateless = group("stateless.")
    stateless_persons = {}
    for sex in ("female", "male", "other", "unknown"):
        counts = {b: stateless.get(f"{sex}.{b}", 0) for b in AGE_BRACKET_LABELS}
        if sex in ("female", "male") or sum(counts.values()):
            stateless_persons[sex] = {b: m(n) for b, n in counts.items()}
    opened, decided = sums.get("cases.opened", 0), sums.get("cases.decided", 0)
    case_stats = {"opened": m(opened), "decided": m(decided), "pending": m(opened - decided),
                  "recognised": m(sums.get("cases.recognised", 0)), "not_stateless": m(sums.get("cases.not_stateless", 0))}
    days = {int(k): n for k, n in group("days.").items()}

    by_state: dict[str, dict[str, int]] = defaultdict(dict)
    for key, n in group("inquiries.").items():
        state, figure = key.rsplit(".", 1)
        by_state[state][figure] = n
    inquiry_stats = {}
    for state, t in sorted(by_state.items()):
        if not t.get("sent"):
            continue
        settled = t.get("answered", 0) + t.get("unanswered", 0)
        rate = round(t.get("answered", 0) / settled, 3) if settled >= max(threshold, 1) else None
        inquiry_stats[state] = dict(sent=m(t.get("sent", 0)), answered=m(t.get("answered", 0)),
                                    answered_late=m(t.get("answered_late", 0)), unanswered=m(t.get("unanswered", 0)),
                                    awaiting=m(t.get("awaiting", 0)), reply_rate=rate)
    flagged, resolved = sums.get("children.flagged", 0), sums.get("children.resolved", 0)
    children = {"flagged": m(flagged), "resolved": m(resolved), "open": m(flagged - resolved),
                "flagged_by_rule": {rule: m(n) for rule, n in sorted(group("children.rule.").items())}}
    years: dict[str, dict[str, int]] = defaultdict(dict)
    for key, n in group("naturalizations.").items():
        year, outcome = key.split(".", 1)
        years[year][outcome] = n
    naturalizations = {y: {"granted": m(c.get("granted", 0)), "refused": m(c.get("refused", 0))}
                       for y, c in sorted(years.items())}
    return dict(as_of=on, small_cell_threshold=threshold, stateless_persons=stateless_persons, cases=case_stats,
                median_days_to_determination=median_of_counts(days),
                inquiries_by_state=inquiry_stats, children=children, naturalizations_by_year=naturalizations)
