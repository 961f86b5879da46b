"""Ending refugee status: cessation, cancellation, revocation, each with notice and a chance to respond."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from pana_kit.domain import InvalidInput, RuleViolation

from .events import StatusEnded, StatusEndingDecided, StatusEndingNoticeGiven, StatusEndingResponseRecorded
from .members import StatusEnding
from .state import ApplicationState


class EndingKind(str, Enum):
    CESSATION = "cessation"
    CANCELLATION = "cancellation"
    REVOCATION = "revocation"


class CessationGround(str, Enum):
    """1951 Convention Art. 1C(1)-(6)."""

    RE_AVAILMENT = "1C(1)"  # voluntary re-availment of protection
    RE_ACQUIRED_NATIONALITY = "1C(2)"
    NEW_NATIONALITY = "1C(3)"
    RE_ESTABLISHMENT = "1C(4)"
    CEASED_CIRCUMSTANCES = "1C(5)"
    CEASED_CIRCUMSTANCES_STATELESS = "1C(6)"  # stateless equivalent of 1C(5)


CEASED_CIRCUMSTANCES = frozenset({CessationGround.CEASED_CIRCUMSTANCES, CessationGround.CEASED_CIRCUMSTANCES_STATELESS})


class CancellationGround(str, Enum):
    """Status that should never have been granted."""

    MISREPRESENTATION = "misrepresentation"
    ANOTHER_NATIONALITY = "another_nationality"
    EXCLUSION = "exclusion"


class RevocationGround(str, Enum):
    """Conduct after recognition."""

    ART_1F_A = "1F(a)"
    ART_1F_C = "1F(c)"


GROUNDS_BY_KIND: dict[EndingKind, type[Enum]] = {
    EndingKind.CESSATION: CessationGround,
    EndingKind.CANCELLATION: CancellationGround,
    EndingKind.REVOCATION: RevocationGround,
}


@dataclass(kw_only=True)
class EndingProceeding:
    kind: EndingKind
    grounds: tuple[str, ...]
    member_ids: tuple[str, ...]
    notice_on: date
    response_due: date
    responded_on: date | None = None
    response: str | None = None  # the person's answer (kept in the file, never in events)
    decided_by: str | None = None
    decided_on: date | None = None
    decision_notified_on: date | None = None
    status_ended: bool | None = None
    compelling_reasons: bool = False

    @property
    def open(self) -> bool:
        return self.decided_on is None


class EndingSteps:
    def give_ending_notice(self, *, kind: EndingKind, grounds: tuple[str, ...], on: date,
                           member_ids: tuple[str, ...] | None = None) -> EndingProceeding:
        self._require_state({ApplicationState.RECOGNISED}, "end refugee status")
        if self.ending is not None and self.ending.open:
            raise RuleViolation(rule="ending_in_progress", detail="a proceeding to end status is already open")
        allowed = GROUNDS_BY_KIND[kind]
        values = {g.value for g in allowed}
        normalised = tuple(g.value if isinstance(g, Enum) else str(g) for g in grounds)
        if not normalised or any(g not in values for g in normalised):
            raise RuleViolation(
                rule="ending_ground",
                detail=f"{kind.value} needs one or more of its own grounds: {', '.join(sorted(values))}",
            )
        not_applied = [g for g in normalised if g not in self.rules.ending_grounds]
        if not_applied:
            raise RuleViolation(
                rule="ending_ground",
                detail=f"not a ground of ending status the rules in force admit: {', '.join(not_applied)} "
                       f"(admitted: {', '.join(self.rules.ending_grounds)})",
            )
        holders = self.member_ids_holding_status
        members = tuple(dict.fromkeys(member_ids)) if member_ids else holders
        for member_id in members:
            self.member(member_id)  # an unknown member is bad input
        if not members or any(m not in holders for m in members):
            raise RuleViolation(
                rule="ending_status_holder",
                detail="status can end only for members who hold it now: "
                       f"{', '.join(holders) or 'none'}; not for a member who was never recognised, "
                       "whose status has already ended, or who has died",
            )
        due = on + timedelta(days=self.rules.ending_response_days)
        self.endings.append(EndingProceeding(kind=kind, grounds=normalised, member_ids=members, notice_on=on,
                                             response_due=due))
        self.record(StatusEndingNoticeGiven(self.id, self.person_id, kind.value, normalised, on, due))
        return self.ending

    def record_ending_response(self, *, on: date, response: str) -> EndingProceeding:
        if self.ending is None or not self.ending.open:
            raise RuleViolation(rule="ending_notice", detail="no notice of ending status to respond to")
        self.ending.responded_on, self.ending.response = on, response
        self.last_contact_on = max(self.last_contact_on or on, on)
        self.record(StatusEndingResponseRecorded(self.id, on))
        return self.ending

    def decide_ending(self, *, decided_by: str, on: date, end_status: bool, compelling_reasons: bool = False,
                      notified_on: date | None = None) -> EndingProceeding:
        self._require_state({ApplicationState.RECOGNISED}, "decide on ending status")
        ending = self.ending
        if ending is None or not ending.open:
            raise RuleViolation(rule="ending_notice", detail="status is ended only after notice to the person")
        if ending.responded_on is None and on <= ending.response_due:
            raise RuleViolation(
                rule="ending_response_opportunity",
                detail=f"the person may respond to the notice until {ending.response_due}",
            )
        if (end_status and compelling_reasons and ending.kind is EndingKind.CESSATION
                and all(CessationGround(g) in CEASED_CIRCUMSTANCES for g in ending.grounds)):
            raise RuleViolation(
                rule="compelling_reasons_exception",
                detail="status does not cease for ceased circumstances when compelling reasons arising "
                       "from previous persecution exist",
            )
        ending.decided_by, ending.decided_on, ending.status_ended = decided_by, on, end_status
        ending.decision_notified_on = notified_on or on
        ending.compelling_reasons = compelling_reasons
        self.record(StatusEndingDecided(self.id, self.person_id, ending.kind.value, end_status, decided_by, on))
        if end_status:
            ended = tuple(m for m in ending.member_ids if m in self.member_ids_holding_status)
            for member_id in ended:
                self.member(member_id).status_ending = StatusEnding(kind=ending.kind.value, grounds=ending.grounds,
                                                                    ended_on=on)
            if not self.member_ids_holding_status:  # the file's status ends only when nobody holds it
                self.state = ApplicationState.STATUS_ENDED
            self.record(StatusEnded(self.id, self.person_id, ended, ending.kind.value, ending.grounds, on))
        return ending

    def restore_status(self, member_ids: tuple[str, ...]) -> tuple[str, ...]:
        """An appeal against an ending is allowed: status comes back for those members only."""
        restored = tuple(m for m in member_ids if self.member(m).status_ending is not None)
        for member_id in restored:
            self.member(member_id).status_ending = None
        self.state = ApplicationState.RECOGNISED
        return restored
