"""Border referrals: a person who asks for asylum at a crossing point is referred into the
procedure. Registration is due within the legal window; late registration is recorded and
never blocks access."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable

from pana_kit.documents import from_document, to_document
from pana_kit.domain import Aggregate, InvalidInput, RuleViolation

from .events import BorderReferralReceived, ReferralRegistered
from .rules import RegistrationRules


@dataclass(frozen=True)
class BorderStatement:
    """What was told at the border, as recorded by the border officer."""
    text: str
    language: str | None = None
    interpreter_used: bool = False
    fears_return: bool = True
    persons_travelling: int = 1


@dataclass
class BorderReferral(Aggregate):
    referral_id: str
    crossing_point: str
    referred_at: datetime
    arrived_on: date
    irregular_entry: bool
    statement: BorderStatement
    registration_due: date
    referred_by: str
    provisional_details: dict[str, Any] = field(default_factory=dict)
    person_id: str | None = None
    registered_at: datetime | None = None
    late: bool | None = None

    @classmethod
    def refer(cls, *, referral_id: str, crossing_point: str, referred_at: datetime, referred_by: str,
              statement: BorderStatement, rules: RegistrationRules, arrived_on: date | None = None,
              irregular_entry: bool = False, provisional_details: dict[str, Any] | None = None) -> "BorderReferral":
        """Due date: `registration_window_days` calendar days after arrival
        (`registration_window_days_irregular_entry` after irregular entry)."""
        arrived_on = arrived_on or referred_at.date()
        if arrived_on > referred_at.date():
            raise InvalidInput("arrival cannot be after the referral", rule="arrival_before_referral")
        window = rules.registration_window_days_irregular_entry if irregular_entry else rules.registration_window_days
        due = arrived_on + timedelta(days=window)
        referral = cls(referral_id, crossing_point, referred_at, arrived_on, irregular_entry, statement, due,
                       referred_by, dict(provisional_details or {}))
        referral.record(BorderReferralReceived(referral_id, crossing_point, referred_at, irregular_entry, due))
        return referral

    def register(self, *, person_id: str, registered_at: datetime, office: str | None = None) -> None:
        """Link the registered person. Lateness is recorded, never a reason to refuse."""
        if self.person_id is not None:
            raise RuleViolation("referral_registered_once",
                                f"referral {self.referral_id} was registered as {self.person_id}")
        if registered_at < self.referred_at:
            raise InvalidInput("registration cannot precede the referral", rule="registration_after_referral")
        self.person_id, self.registered_at = person_id, registered_at
        self.late = registered_at.date() > self.registration_due
        hours = self.time_to_registration.total_seconds() / 3600
        self.record(ReferralRegistered(self.referral_id, person_id, registered_at, self.late, round(hours, 2), office,
                                       self.arrived_on))

    def is_overdue(self, today: date) -> bool:
        return self.person_id is None and today > self.registration_due

    @property
    def time_to_registration(self) -> timedelta | None:
        return self.registered_at - self.referred_at if self.registered_at else None

    def to_document(self) -> dict[str, Any]:
        return to_document(self)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "BorderReferral":
        return from_document(cls, doc)


def overdue_referrals(referrals: Iterable[BorderReferral], today: date) -> list[BorderReferral]:
    """Referrals not yet registered whose window has passed, oldest due first."""
    return sorted((r for r in referrals if r.is_overdue(today)), key=lambda r: (r.registration_due, r.referral_id))
