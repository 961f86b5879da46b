"""The configurable rules of statelessness determination (docs/domain.md, "Statelessness determination").

Every period and threshold the sources leave open, or give only as a default, is a
field here; nothing of the kind is a constant elsewhere in the domain.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatelessnessRules:
    # MIA Order No. 607: no reply within 6 months -> the person can be documented as stateless.
    inquiry_reply_months: int = 6
    # UNHCR Handbook (recollection, open): decision within 6 months, extendable with reasons to 12.
    decision_due_months: int = 6
    decision_max_months: int = 12
    # Appeal to an independent body; window open, default 30 days from notification.
    appeal_window_days: int = 30
    # Stateless person certificate (Law on Identity Documents Art. 11): 16+, valid 5 years.
    certificate_min_age: int = 16
    certificate_validity_years: int = 5
    # Facilitated naturalization (2023 pledge): years of lawful residence, open.
    naturalization_residence_years: int = 5
    # Children at risk (SEAP overview; configurable): a child born in Kazakhstan to
    # stateless parents is a citizen only if the parents reside permanently ...
    child_of_stateless_parents_citizen_requires_permanent_residence: bool = True
    # ... and foundlings are citizens.
    foundlings_are_citizens: bool = True
    # Horizon of "soon" in work lists (eligible soon, due soon).
    soon_horizon_days: int = 90
    # Statistics: cells below this count are masked (UNHCR; open, default below 5).
    small_cell_threshold: int = 5

    def __post_init__(self) -> None:
        positive = (
            "inquiry_reply_months",
            "decision_due_months",
            "decision_max_months",
            "appeal_window_days",
            "certificate_validity_years",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("certificate_min_age", "naturalization_residence_years", "soon_horizon_days", "small_cell_threshold"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.decision_max_months < self.decision_due_months:
            raise ValueError("decision_max_months must be at least decision_due_months")
