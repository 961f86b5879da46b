"""Border referrals: a person who asks for asylum at a crossing point is referred into the
procedure. Registration is due within the legal window; late registration is recorded and
never blocks access."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Iterable, Sequence

from pana_kit.documents import from_document, to_document
from pana_kit.domain import Aggregate, InvalidInput, RuleViolation

from .names import fold

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


class GroupRelationship(StrEnum):
    """A member's relationship to the principal of a group referred together (a family at the border)."""
    PRINCIPAL = "principal"
    SPOUSE = "spouse"
    CHILD = "child"
    OTHER = "other"


@dataclass(frozen=True)
class GroupMember:
    """Who travels in the group, as told at the border: what the group's rules look at."""
    relationship: GroupRelationship
    given_name: str
    family_name: str
    birth_date: date | None


@dataclass(frozen=True)
class ReferralMember:
    """A person registered from a group referral, with what rsd needs to lodge one application for all
    (the principal is the referral's `person_id`; these are the accompanying members)."""
    person_id: str
    relationship: GroupRelationship
    birth_date: date | None = None
    sex: str | None = None
    specific_needs: tuple[str, ...] = ()


def check_group(members: Sequence[GroupMember], rules: RegistrationRules) -> None:
    """A group referral's rules (docs/domain.md, Registration: group border referrals), refused with 422
    before anything is stored: at most `group_referral_max_members` persons (`group_size_limit`), exactly one
    principal (`one_principal`), no person twice (same names and birth date, `duplicate_group_member`), and
    every child born after the principal and the principal's spouse (`child_born_after_parents`)."""
    if len(members) > rules.group_referral_max_members:
        raise InvalidInput(f"a group referral names at most {rules.group_referral_max_members} persons, "
                           f"not {len(members)}", rule="group_size_limit", extra={"field": "members"})
    principals = [i for i, m in enumerate(members) if m.relationship is GroupRelationship.PRINCIPAL]
    if len(principals) != 1:
        raise InvalidInput(f"a group has exactly one principal, not {len(principals)}", rule="one_principal",
                           extra={"field": "members"})
    seen: dict[tuple, int] = {}
    for i, m in enumerate(members):
        key = (fold(m.given_name), fold(m.family_name), m.birth_date)
        if key in seen:
            raise InvalidInput(f"members {seen[key]} and {i} are the same person (names and birth date)",
                               rule="duplicate_group_member", extra={"field": "members", "index": i})
        seen[key] = i
    parents = [(i, m) for i, m in enumerate(members)
               if m.relationship in (GroupRelationship.PRINCIPAL, GroupRelationship.SPOUSE) and m.birth_date]
    for i, child in enumerate(members):
        if child.relationship is not GroupRelationship.CHILD or child.birth_date is None:
            continue
        for j, parent in parents:
            if child.birth_date <= parent.birth_date:
                raise InvalidInput(
                    f"member {i} ({child.relationship.value}) is born on {child.birth_date.isoformat()}, not after "
                    f"member {j} ({parent.relationship.value}, born {parent.birth_date.isoformat()})",
                    rule="child_born_after_parents", extra={"field": "members", "index": i})


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
    # A group referral's accompanying members (a family travelling together); empty for one person.
    members: list[ReferralMember] = field(default_factory=list)

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

    def register(self, *, person_id: str, registered_at: datetime, office: str | None = None,
                 members: Sequence[ReferralMember] = ()) -> None:
        """Link the registered person (the principal of a group, `members` the others registered with them).
        Lateness is recorded, never a reason to refuse."""
        if self.person_id is not None:
            raise RuleViolation("referral_registered_once",
                                f"referral {self.referral_id} was registered as {self.person_id}")
        if registered_at < self.referred_at:
            raise InvalidInput("registration cannot precede the referral", rule="registration_after_referral")
        if person_id in {m.person_id for m in members}:
            raise InvalidInput("the principal is not also an accompanying member", rule="one_principal")
        self.person_id, self.registered_at = person_id, registered_at
        self.members = list(members)
        self.late = registered_at.date() > self.registration_due
        hours = self.time_to_registration.total_seconds() / 3600
        self.record(ReferralRegistered(self.referral_id, person_id, registered_at, self.late, round(hours, 2), office,
                                       self.arrived_on, tuple(m.person_id for m in members)))

    def is_overdue(self, today: date) -> bool:
        return self.person_id is None and today > self.registration_due

    @property
    def time_to_registration(self) -> timedelta | None:
        return self.registered_at - self.referred_at if self.registered_at else None

    def to_document(self) -> dict[str, Any]:
        doc = to_document(self)
        if not self.members:  # a person referred alone: stored as before group referrals
            doc.pop("members", None)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> "BorderReferral":
        return from_document(cls, doc)


def overdue_referrals(referrals: Iterable[BorderReferral], today: date) -> list[BorderReferral]:
    """Referrals not yet registered whose window has passed, oldest due first."""
    return sorted((r for r in referrals if r.is_overdue(today)), key=lambda r: (r.registration_due, r.referral_id))
