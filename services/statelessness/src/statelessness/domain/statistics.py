"""Statistics helpers (UNHCR Refugee Data Finder conventions). Pure functions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from statistics import median

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
