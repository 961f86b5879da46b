"""Events statelessness publishes on `statelessness.events`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from .base import Event
from .common import CountryCode, Id


class CaseOpened(Event):
    event_type: ClassVar[str] = "statelessness.case.opened.v1"
    case_id: Id
    person_id: Id
    reason: str
    ex_officio: bool
    opened_on: date


class ChildFlaggedAtRisk(Event):
    event_type: ClassVar[str] = "statelessness.child.flagged_at_risk.v1"
    flag_id: Id
    child_person_id: Id
    rule: str
    flagged_on: date


class ChildAtRiskResolved(Event):
    event_type: ClassVar[str] = "statelessness.child.at_risk_resolved.v1"
    flag_id: Id
    child_person_id: Id
    nationality: CountryCode
    resolved_on: date


class StatelessnessDetermined(Event):
    """A first-instance or appeal determination."""

    event_type: ClassVar[str] = "statelessness.determination.issued.v1"
    case_id: Id
    person_id: Id
    outcome: Literal["stateless", "not_stateless"]
    nationality: CountryCode | None = None
    decided_on: date
    certificate_eligible: bool = False


class NaturalizationDecided(Event):
    event_type: ClassVar[str] = "statelessness.naturalization.decided.v1"
    person_id: Id
    outcome: Literal["granted", "refused"]
    decided_on: date
