"""The configurable rules of refugee status determination (docs/domain.md, "Refugee status determination").

Every period or threshold that section gives as a default or calls "open" is a field here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ending import GROUNDS_BY_KIND

# Every ground of ending status the domain knows (1951 Convention Art. 1C, cancellation, revocation).
KNOWN_ENDING_GROUNDS: tuple[str, ...] = tuple(g.value for kind in GROUNDS_BY_KIND.values() for g in kind)


@dataclass(frozen=True)
class RsdRules:
    lodging_window_days: int = 5  # calendar days after arrival / learning of the risk
    lodging_window_days_irregular_entry: int = 1
    certificate_validity_months: int = 3
    certificate_age_of_majority: int = 18
    fingerprinting_within_days: int = 3  # calendar days after the certificate
    decision_period_months: int = 3  # from registration
    decision_period_max_months: int = 12  # in all, extensions included
    accelerated_decision_period_months: int = 1
    interview_within_months: int = 6  # registration to interview
    appeal_window_days: int = 30  # from notification (law: at least 30)
    appeal_grace_weeks: int = 6  # before the file closes
    abandonment_after_weeks: int = 6  # missed interview and no contact
    ending_response_days: int = 30  # chance to respond to a notice ending status (open)
    approaching_days: int = 14  # horizon of "approaching" in deadline lists
    # Kazakhstan's own grounds of ending status (open): those of the Convention's the law applies. Default: all.
    ending_grounds: tuple[str, ...] = KNOWN_ENDING_GROUNDS

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if isinstance(value, int) and value < 0:
                raise ValueError(f"{name} must not be negative")
        unknown = [g for g in self.ending_grounds if g not in KNOWN_ENDING_GROUNDS]
        if unknown:
            raise ValueError(f"ending_grounds: unknown ground(s) {', '.join(unknown)}; "
                             f"known: {', '.join(KNOWN_ENDING_GROUNDS)}")
        if not self.ending_grounds:
            raise ValueError("ending_grounds must name at least one ground")
        if self.decision_period_months > self.decision_period_max_months:
            raise ValueError("decision_period_months exceeds decision_period_max_months")
        if self.appeal_window_days < 30:
            raise ValueError("the appeal window is at least 30 days (docs/domain.md, Refugee status determination)")
