"""The bridge's configurable rules: retry policy, stuck detection, plausibility, deadlines.

Every period and threshold docs/domain.md ("Civil registration") gives as a default or
calls open is a field here (docs/CONVENTIONS.md); nothing below is a constant buried in code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from pana_kit.domain import InvalidInput, add_working_days

OnAttemptsExhausted = Literal["park", "quarantine"]


def _fixed_holidays(*years: int) -> frozenset[date]:
    days = ((1, 1), (1, 2), (1, 7), (3, 8), (3, 21), (3, 22), (3, 23), (5, 1), (5, 7), (5, 9), (7, 6), (8, 30),
            (10, 25), (12, 16))
    return frozenset(date(year, month, day) for year in years for month, day in days)


# Kazakhstan's public holidays on fixed dates that are days off (Law "On Holidays in the Republic of Kazakhstan"
# No. 267-II of 13 Dec 2001 as amended in 2022; Labour Code Art. 84): New Year 1-2 Jan, Orthodox Christmas 7 Jan,
# International Women's Day 8 Mar, Nauryz 21-23 Mar, Unity Day 1 May, Defender of the Fatherland Day 7 May,
# Victory Day 9 May, Capital Day 6 Jul, Constitution Day 30 Aug, Republic Day 25 Oct, Independence Day 16 Dec.
# NOT included (set BRIDGE_PUBLIC_HOLIDAYS to add them): Kurban Ait (moveable, Islamic calendar, its date set
# each year), the substitute day off when a holiday falls on a weekend, and days off moved by Government decree.
KAZAKHSTAN_FIXED_HOLIDAYS_2026_2027: frozenset[date] = _fixed_holidays(2026, 2027)

# The exponent is capped so huge attempt counts cannot overflow a timedelta.
_MAX_EXPONENT = 32


def backoff_delay(
    attempt: int,
    *,
    base: timedelta,
    maximum: timedelta,
    random: Callable[[], float],
) -> timedelta:
    """Delay before retry number `attempt` (1 = the first retry): jittered exponential backoff.

    The ceiling doubles per attempt (base, 2*base, 4*base, ...) up to `maximum`; the delay is
    "equal jitter": half the ceiling fixed plus a random share of the other half, so retries of
    many requests after one outage spread out yet every retry still waits. `random` returns a
    float in [0, 1) (e.g. `random.Random(seed).random`), which keeps the function pure.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if base <= timedelta(0) or maximum < base:
        raise ValueError("need 0 < base <= maximum")
    ceiling = min(maximum, base * (2 ** min(attempt - 1, _MAX_EXPONENT)))
    share = random()
    if not 0.0 <= share < 1.0:
        raise ValueError("the random source must return a float in [0, 1)")
    return ceiling / 2 + (ceiling / 2) * share


@dataclass(frozen=True)
class BridgeRules:
    # Retries of registry calls that failed with RegistryUnavailable.
    retry_base_delay: timedelta = timedelta(seconds=1)
    retry_max_delay: timedelta = timedelta(minutes=5)
    # Consecutive failed attempts at one step before the request is parked (default:
    # it waits for the reconciler, nothing is wrong with its data) or quarantined.
    max_attempts: int = 20
    on_attempts_exhausted: OnAttemptsExhausted = "park"
    # A request with no progress for this long is picked up by the reconciler.
    stuck_after: timedelta = timedelta(minutes=15)
    # How often a submitted registration is polled while the registry processes it.
    status_poll_interval: timedelta = timedelta(seconds=30)
    # Data-quality threshold (open in docs/domain.md, "Civil registration"): a mother
    # younger than this at the child's birth is treated as a data-entry error.
    minimum_mother_age: int = 10
    # Birth is registered within 3 working days of birth (MoJ Order No. 112, 2015); public holidays are not
    # working days (default: Kazakhstan's fixed ones of 2026 and 2027, above).
    birth_registration_working_days: int = 3
    public_holidays: frozenset[date] = KAZAKHSTAN_FIXED_HOLIDAYS_2026_2027
    # Submit a birth in Kazakhstan that the registry does not know, on a verification request.
    auto_submit_when_not_found: bool = True

    def __post_init__(self) -> None:
        problems = []
        if self.retry_base_delay <= timedelta(0) or self.retry_max_delay < self.retry_base_delay:
            problems.append("need 0 < retry_base_delay <= retry_max_delay")
        if self.max_attempts < 1:
            problems.append("max_attempts must be at least 1")
        if self.on_attempts_exhausted not in ("park", "quarantine"):
            problems.append("on_attempts_exhausted is 'park' or 'quarantine'")
        if self.stuck_after <= timedelta(0) or self.status_poll_interval <= timedelta(0):
            problems.append("stuck_after and status_poll_interval must be positive")
        if self.minimum_mother_age < 0 or self.birth_registration_working_days < 0:
            problems.append("minimum_mother_age and birth_registration_working_days are not negative")
        if problems:
            raise InvalidInput("; ".join(problems), rule="bridge_rules_consistent")

    def retry_delay(self, attempt: int, random: Callable[[], float]) -> timedelta:
        return backoff_delay(attempt, base=self.retry_base_delay, maximum=self.retry_max_delay, random=random)

    def registration_deadline(self, birth_date: date) -> date:
        """Last day to register a birth on time: 3 working days after it (public holidays excluded)."""
        return add_working_days(birth_date, self.birth_registration_working_days, self.public_holidays)
