"""Legal status: a projection of the facts rsd and statelessness publish, with its history.

Never edited by hand: the only way to change it is a new fact. The projection is a pure
function of the facts, so replaying them rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Iterable

# The words are the contract's (pana_events.vocabulary.LegalStatus): one list for registration's API, its events
# and whoever reads them; each track below takes the words of its procedure (ASYLUM_/STATELESSNESS_PROCEDURE_STATUSES).
from pana_events.vocabulary import LegalStatus
from pana_kit.domain import Aggregate, InvalidInput

from .events import LegalStatusChanged, PersonDied


class FactKind(StrEnum):
    """Facts from other services, as the handlers translate their events."""
    # rsd
    ASYLUM_APPLICATION_REGISTERED = "asylum_application_registered"
    ASYLUM_APPEAL_LODGED = "asylum_appeal_lodged"
    ASYLUM_APPEAL_REMITTED = "asylum_appeal_remitted"  # back to first instance: still an asylum-seeker
    CASE_REOPENED = "case_reopened"
    REFUGEE_STATUS_RECOGNISED = "refugee_status_recognised"  # incl. derivative (family reunification)
    ASYLUM_APPLICATION_REJECTED = "asylum_application_rejected"  # first instance; appeal possible
    ASYLUM_REJECTION_FINAL = "asylum_rejection_final"  # no appeal, or appeal rejected
    ASYLUM_CASE_CLOSED = "asylum_case_closed"  # withdrawal, abandonment
    REFUGEE_STATUS_CEASED = "refugee_status_ceased"
    REFUGEE_STATUS_CANCELLED = "refugee_status_cancelled"
    REFUGEE_STATUS_REVOKED = "refugee_status_revoked"
    # statelessness
    STATELESSNESS_APPLICATION_LODGED = "statelessness_application_lodged"
    STATELESSNESS_DETERMINED = "statelessness_determined"
    STATELESSNESS_REJECTED = "statelessness_rejected"  # first instance; an appeal is possible
    STATELESSNESS_APPEAL_LODGED = "statelessness_appeal_lodged"  # the determination is not final: applicant again
    STATELESSNESS_REJECTION_FINAL = "statelessness_rejection_final"  # the appeal rejected
    STATELESS_STATUS_ENDED = "stateless_status_ended"
    NATURALIZED = "naturalized"
    CITIZENSHIP_CONFIRMED = "citizenship_confirmed"  # Kazakh citizenship by birth (statelessness: child resolved)
    # civil
    DIED = "died"


_RSD: dict[FactKind, LegalStatus | None] = {
    FactKind.ASYLUM_APPLICATION_REGISTERED: LegalStatus.ASYLUM_SEEKER,
    FactKind.ASYLUM_APPEAL_LODGED: LegalStatus.ASYLUM_SEEKER,
    FactKind.ASYLUM_APPEAL_REMITTED: LegalStatus.ASYLUM_SEEKER,
    FactKind.CASE_REOPENED: LegalStatus.ASYLUM_SEEKER,
    FactKind.REFUGEE_STATUS_RECOGNISED: LegalStatus.REFUGEE,
    FactKind.ASYLUM_APPLICATION_REJECTED: LegalStatus.ASYLUM_SEEKER,  # until the rejection is final
    FactKind.ASYLUM_REJECTION_FINAL: LegalStatus.REJECTED_ASYLUM_SEEKER,
    FactKind.ASYLUM_CASE_CLOSED: LegalStatus.FORMER_ASYLUM_SEEKER,
    FactKind.REFUGEE_STATUS_CEASED: LegalStatus.FORMER_REFUGEE,
    FactKind.REFUGEE_STATUS_CANCELLED: LegalStatus.FORMER_REFUGEE,
    FactKind.REFUGEE_STATUS_REVOKED: LegalStatus.FORMER_REFUGEE,
}
_STATELESSNESS: dict[FactKind, LegalStatus] = {
    FactKind.STATELESSNESS_APPLICATION_LODGED: LegalStatus.STATELESS_APPLICANT,
    FactKind.STATELESSNESS_DETERMINED: LegalStatus.STATELESS,
    FactKind.STATELESSNESS_REJECTED: LegalStatus.NOT_STATELESS,
    FactKind.STATELESSNESS_APPEAL_LODGED: LegalStatus.STATELESS_APPLICANT,
    FactKind.STATELESSNESS_REJECTION_FINAL: LegalStatus.NOT_STATELESS,
    FactKind.STATELESS_STATUS_ENDED: LegalStatus.NONE,
}

# Which track's status is the person's status when both run (a stateless refugee is a refugee; a stateless
# person who seeks asylum is shown as an asylum-seeker and keeps the stateless person's certificate).
# Documented in docs/domain.md (Registration); documents follow their own track, never this order.
PRECEDENCE: tuple[LegalStatus, ...] = (
    LegalStatus.DECEASED, LegalStatus.CITIZEN_AFTER_NATURALIZATION, LegalStatus.CITIZEN, LegalStatus.REFUGEE,
    LegalStatus.ASYLUM_SEEKER, LegalStatus.STATELESS, LegalStatus.STATELESS_APPLICANT,
    LegalStatus.REJECTED_ASYLUM_SEEKER, LegalStatus.FORMER_REFUGEE, LegalStatus.FORMER_ASYLUM_SEEKER,
    LegalStatus.NOT_STATELESS, LegalStatus.NONE,
)


@dataclass(frozen=True)
class StatusFact:
    kind: FactKind
    occurred_on: date
    source_event_id: str
    sequence: int = 0  # tie-break for facts on the same day: the order registration learned them

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", FactKind(self.kind))
        except ValueError:
            raise InvalidInput(f"unknown status fact {self.kind!r}", rule="status_fact_kind") from None


@dataclass(frozen=True)
class StatusPeriod:
    status: LegalStatus
    since: date
    cause: str  # source event id


@dataclass(frozen=True)
class LegalStatusProjection:
    person_id: str
    rsd_track: LegalStatus
    statelessness_track: LegalStatus
    history: tuple[StatusPeriod, ...] = field(default=())
    naturalized: bool = False
    dead: bool = False
    died_on: date | None = None  # the first death fact's date
    death_cause: str | None = None  # and its source key
    # A first-instance not-stateless determination that may still be appealed: the procedure (and its
    # lawful-stay paper) goes on until the appeal window closes or an appeal is decided.
    statelessness_appealable: bool = False
    citizen: bool = False  # Kazakh citizenship by birth confirmed

    @property
    def acquired_citizenship(self) -> bool:
        """Naturalized or confirmed a citizen: protection is no longer needed, so every protection document ends."""
        return self.naturalized or self.citizen

    @property
    def status(self) -> LegalStatus:
        return self.history[-1].status if self.history else LegalStatus.NONE

    @property
    def since(self) -> date | None:
        return self.history[-1].since if self.history else None

    def as_of(self, on: date) -> LegalStatus:
        current = LegalStatus.NONE
        for period in self.history:
            if period.since > on:
                break
            current = period.status
        return current


def combined_status(rsd: LegalStatus, stateless: LegalStatus, naturalized: bool = False,
                    dead: bool = False, citizen: bool = False) -> LegalStatus:
    """The one status shown for a person: death, then naturalization, then citizenship confirmed, then the higher
    of the two tracks."""
    if dead:
        return LegalStatus.DECEASED
    if naturalized:
        return LegalStatus.CITIZEN_AFTER_NATURALIZATION
    if citizen:
        return LegalStatus.CITIZEN
    return min((rsd, stateless), key=PRECEDENCE.index)


def project_legal_status(person_id: str, facts: Iterable[StatusFact]) -> LegalStatusProjection:
    """Replay the facts in date order; history keeps one period per change of status."""
    rsd, stateless = LegalStatus.NONE, LegalStatus.NONE
    naturalized = dead = appealable = citizen = False
    died: StatusFact | None = None
    history: list[StatusPeriod] = []
    seen: set[str] = set()
    for fact in sorted(facts, key=lambda f: (f.occurred_on, f.sequence)):
        if fact.source_event_id in seen:
            continue  # at-least-once delivery: a redelivered fact changes nothing
        seen.add(fact.source_event_id)
        if fact.kind in _RSD:
            rsd = _RSD[fact.kind]
        elif fact.kind in _STATELESSNESS:
            stateless = _STATELESSNESS[fact.kind]
            appealable = fact.kind is FactKind.STATELESSNESS_REJECTED
        elif fact.kind is FactKind.NATURALIZED:
            naturalized = True
        elif fact.kind is FactKind.DIED:
            dead = True
            died = died or fact
        elif fact.kind is FactKind.CITIZENSHIP_CONFIRMED:
            citizen = True
        status = combined_status(rsd, stateless, naturalized, dead, citizen)
        if not history or history[-1].status != status:
            history.append(StatusPeriod(status, fact.occurred_on, fact.source_event_id))
    return LegalStatusProjection(person_id, rsd, stateless, tuple(history), naturalized, dead,
                                 died_on=died.occurred_on if died else None,
                                 death_cause=died.source_event_id if died else None,
                                 statelessness_appealable=appealable, citizen=citizen)


def status_changes(before: LegalStatusProjection | None, after: LegalStatusProjection) -> list[LegalStatusChanged]:
    """Events for the periods `after` adds to `before` (what a handler publishes after a new fact)."""
    known = len(before.history) if before else 0
    if before and before.history != after.history[:known]:
        known = 0  # a late fact rewrote history: publish the whole new tail
        while known < min(len(before.history), len(after.history)) and before.history[known] == after.history[known]:
            known += 1
    events = []
    for i in range(known, len(after.history)):
        period = after.history[i]
        previous = after.history[i - 1].status.value if i > 0 else None
        events.append(LegalStatusChanged(after.person_id, previous, period.status.value, period.since, period.cause))
    return events


@dataclass
class PersonStatus(Aggregate):
    """A person's legal status as its facts project it; re-projecting records each change (LegalStatusChanged)."""

    person_id: str
    projection: LegalStatusProjection | None = None

    def reproject(self, facts: Iterable[StatusFact]) -> LegalStatusProjection:
        after = project_legal_status(self.person_id, facts)
        for change in status_changes(self.projection, after):
            self.record(change)
        if after.dead and not (self.projection and self.projection.dead):  # told once, whoever recorded it
            self.record(PersonDied(self.person_id, after.died_on, after.death_cause))
        self.projection = after
        return after
