"""Events statelessness publishes on `statelessness.events`."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from ..vocabulary import AppealOutcome
from .base import Event
from .common import CountryCode, Id


class CaseOpened(Event):
    event_type: ClassVar[str] = "statelessness.case.opened.v1"
    case_id: Id
    person_id: Id
    reason: str
    ex_officio: bool
    opened_on: date
    decision_due: date | None = None


class ChildFlaggedAtRisk(Event):
    event_type: ClassVar[str] = "statelessness.child.flagged_at_risk.v1"
    flag_id: Id
    child_person_id: Id
    rule: str
    flagged_on: date
    presumed_kazakh_citizen: bool | None = Field(
        default=None, description="Whether the configured citizenship rules make the child a Kazakh citizen by birth")


class ChildAtRiskResolved(Event):
    event_type: ClassVar[str] = "statelessness.child.at_risk_resolved.v1"
    flag_id: Id
    child_person_id: Id
    nationality: CountryCode
    resolved_on: date
    basis: Literal["kazakh_citizenship_by_birth", "other_state_nationality"] | None = None


class StatelessnessDetermined(Event):
    """A first-instance or appeal determination."""

    event_type: ClassVar[str] = "statelessness.determination.issued.v1"
    case_id: Id
    person_id: Id
    outcome: Literal["stateless", "not_stateless"]
    nationality: CountryCode | None = None
    decided_on: date
    certificate_eligible: bool = False
    stage: Literal["first_instance", "appeal"] | None = Field(
        default=None, description="`appeal`: this determination is the result of an appeal (see `appeal_result`)")
    appeal_result: AppealOutcome | None = Field(
        default=None, description="With `stage` `appeal`: the appeal's result (pana_events.vocabulary.AppealOutcome, "
                                  "the same words as `result` in rsd.appeal.decided.v2 and "
                                  "statelessness.appeal.decided.v1): `allowed` (the appellant won: the not-stateless "
                                  "determination is overturned). A rejected appeal is told by "
                                  "statelessness.appeal.decided.v1")
    certificate_age_from: date | None = Field(
        default=None, description="The day the person reaches the certificate age (16), when the birth date is known")
    certificate_validity_years: int | None = None
    appeal_until: date | None = Field(
        default=None, description="With a first-instance `not_stateless`: the last day an appeal may be lodged. The "
                                  "determination is final after it unless an appeal is lodged "
                                  "(statelessness.appeal.lodged.v1); lawful stay for the procedure lasts until then")


class DecisionPeriodExtended(Event):
    """The determination's due date moved later (with reasons): the procedure, and lawful stay for it, go on."""

    event_type: ClassVar[str] = "statelessness.decision_period.extended.v1"
    case_id: Id
    person_id: Id
    decision_due: date
    extended_on: date


class AppealLodged(Event):
    """A not-stateless determination is appealed: the determination is not final, the procedure goes on."""

    event_type: ClassVar[str] = "statelessness.appeal.lodged.v1"
    case_id: Id
    person_id: Id
    lodged_on: date


class AppealDecided(Event):
    """An appeal against a not-stateless determination was decided, in the one vocabulary
    (`pana_events.vocabulary.AppealOutcome`, the same words as rsd.appeal.decided.v2). `allowed` is followed
    by statelessness.determination.issued.v1 (`stage` `appeal`, the person recognised stateless); `rejected`
    makes the not-stateless determination final."""

    event_type: ClassVar[str] = "statelessness.appeal.decided.v1"
    case_id: Id
    person_id: Id
    appeal_id: Id
    result: AppealOutcome = Field(description=(
        "Seen from the appellant: `allowed` (recognised stateless), `rejected` (the not-stateless determination "
        "stands), `remitted` (back to first instance; statelessness does not remit yet)"))
    decided_on: date


class NaturalizationDecided(Event):
    event_type: ClassVar[str] = "statelessness.naturalization.decided.v1"
    person_id: Id
    outcome: Literal["granted", "refused"]
    decided_on: date
    track_id: Id | None = None
    case_id: Id | None = None
