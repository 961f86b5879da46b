"""Facilitated naturalization of recognised stateless residents (2023 pledge; years open)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from pana_kit.domain import Aggregate, InvalidInput, RuleViolation, add_months

from .case import DeterminationCase
from .events import NaturalizationDecided, NaturalizationTrackOpened
from .rules import StatelessnessRules


class NaturalizationOutcome(StrEnum):
    GRANTED = "granted"
    REFUSED = "refused"


def naturalization_eligible_from(lawful_residence_from: date, rules: StatelessnessRules) -> date:
    return add_months(lawful_residence_from, 12 * rules.naturalization_residence_years)


@dataclass
class NaturalizationTrack(Aggregate):
    track_id: str
    person_id: str
    case_id: str
    lawful_residence_from: date
    eligible_from: date
    opened_on: date
    outcome: NaturalizationOutcome | None = None
    decided_on: date | None = None
    reasons: str | None = None

    @classmethod
    def open_for(
        cls,
        case: DeterminationCase,
        *,
        track_id: str,
        lawful_residence_from: date,
        opened_on: date,
        rules: StatelessnessRules,
    ) -> NaturalizationTrack:
        """Open the track for a person the case recognised as stateless."""
        if not case.recognised_stateless:
            raise RuleViolation(
                rule="naturalization_for_recognised_stateless",
                detail="the naturalization track is open only to persons recognised as stateless",
            )
        if lawful_residence_from > opened_on:
            raise InvalidInput("lawful residence cannot start after the track is opened")
        track = cls(
            track_id=track_id,
            person_id=case.person_id,
            case_id=case.case_id,
            lawful_residence_from=lawful_residence_from,
            eligible_from=naturalization_eligible_from(lawful_residence_from, rules),
            opened_on=opened_on,
        )
        track.record(
            NaturalizationTrackOpened(
                track_id=track_id,
                person_id=track.person_id,
                case_id=track.case_id,
                lawful_residence_from=lawful_residence_from,
                eligible_from=track.eligible_from,
            )
        )
        return track

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    def is_eligible(self, today: date) -> bool:
        return not self.decided and today >= self.eligible_from

    def is_eligible_soon(self, today: date, rules: StatelessnessRules) -> bool:
        """Not yet eligible, but eligible within the configured horizon."""
        return not self.decided and today < self.eligible_from <= today + timedelta(days=rules.soon_horizon_days)

    def decide(self, *, outcome: NaturalizationOutcome, decided_on: date, reasons: str | None = None) -> None:
        if self.decided:
            raise RuleViolation(rule="naturalization_already_decided", detail="naturalization has already been decided")
        if decided_on < self.eligible_from:
            raise RuleViolation(
                rule="naturalization_residence_requirement",
                detail=(
                    f"naturalization is decided only after the required years of lawful residence "
                    f"(eligible from {self.eligible_from.isoformat()})"
                ),
            )
        outcome = NaturalizationOutcome(outcome)
        if outcome is NaturalizationOutcome.REFUSED and (reasons is None or not reasons.strip()):
            raise RuleViolation(rule="reasoned_decision", detail="a refusal of naturalization gives its reasons")
        self.outcome = outcome
        self.decided_on = decided_on
        self.reasons = reasons
        self.record(
            NaturalizationDecided(
                track_id=self.track_id, person_id=self.person_id, outcome=outcome.value, decided_on=decided_on
            )
        )
