"""Appeals: against a first-instance rejection or a decision ending status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum

from pana_events.vocabulary import AppealOutcome  # allowed | rejected | remitted, the words of every service
from pana_kit.domain import InvalidInput, RuleViolation

from .decision import MemberOutcome, Outcome
from .events import AppealDecided, AppealLodged, StatusRestored
from .state import ApplicationState, ClosureReason


class AppealAgainst(str, Enum):
    DECISION = "decision"
    ENDING = "ending"


@dataclass(kw_only=True)
class Appeal:
    id: str
    against: AppealAgainst
    lodged_on: date
    first_instance_officers: tuple[str, ...]  # who may not hear it
    late_within_grace: bool = False
    outcome: AppealOutcome | None = None
    decided_by: str | None = None
    decided_on: date | None = None

    @property
    def pending(self) -> bool:
        return self.outcome is None


class AppealSteps:
    @property
    def pending_appeal(self) -> Appeal | None:
        return next((a for a in self.appeals if a.pending), None)

    def lodge_appeal(self, *, appeal_id: str, on: date) -> Appeal:
        if self.state is ApplicationState.REJECTED:
            against = AppealAgainst.DECISION
            notified_on = self.decision.notified_on
            officers = (self.decision.decided_by, self.decision.recommended_by)
        elif (self.state in (ApplicationState.STATUS_ENDED, ApplicationState.RECOGNISED) and self.ending is not None
              and self.ending.status_ended and self.pending_appeal is None
              and any(self.member(m).status_ending is not None for m in self.ending.member_ids)):
            against = AppealAgainst.ENDING
            notified_on = self.ending.decision_notified_on
            officers = (self.ending.decided_by,)
        else:
            raise RuleViolation(rule="appeal_state",
                                detail="an appeal lies only against a rejection or a decision ending status")
        if any(a.id == appeal_id for a in self.appeals):
            raise InvalidInput(f"appeal {appeal_id} already exists")
        late = False
        if notified_on is not None:  # the window runs from notification
            deadline = notified_on + timedelta(days=self.rules.appeal_window_days)
            grace_end = deadline + timedelta(weeks=self.rules.appeal_grace_weeks)
            if on > grace_end:
                raise RuleViolation(
                    rule="appeal_window",
                    detail=f"the appeal is lodged within {self.rules.appeal_window_days} days of notification "
                           f"plus a {self.rules.appeal_grace_weeks}-week grace; this one is {on}, after {grace_end}",
                )
            late = on > deadline
        appeal = Appeal(id=appeal_id, against=against, lodged_on=on, first_instance_officers=officers,
                        late_within_grace=late)
        self.appeals.append(appeal)
        if against is AppealAgainst.DECISION:
            self.state = ApplicationState.UNDER_APPEAL
        self.last_contact_on = max(self.last_contact_on or on, on)
        self.record(AppealLodged(self.id, appeal_id, self.person_id, on, against.value, late, True))
        return appeal

    def decide_appeal(self, *, decided_by: str, on: date, outcome: AppealOutcome,
                      member_outcomes: dict[str, MemberOutcome] | None = None) -> Appeal:
        appeal = self.pending_appeal
        if appeal is None:
            raise RuleViolation(rule="appeal_state", detail="there is no pending appeal to decide")
        if decided_by in appeal.first_instance_officers:
            raise RuleViolation(rule="appeal_independence",
                                detail="an appeal is heard by an officer other than the one who decided")
        outcome = AppealOutcome(outcome)
        covered: tuple[str, ...] = ()
        if appeal.against is AppealAgainst.DECISION:
            concerned = tuple(m.id for m in self.members if not m.deceased)
            covered = self._decide_decision_appeal(outcome, member_outcomes or {}, on)
        else:
            if outcome is AppealOutcome.REMITTED:
                raise InvalidInput("an appeal against ending status is allowed or rejected")
            concerned = tuple(m for m in self.ending.member_ids if self.member(m).status_ending is not None)
            if outcome is AppealOutcome.ALLOWED:
                covered = self.restore_status(self.ending.member_ids)
                self.record(StatusRestored(self.id, self.person_id, covered, on))
        appeal.outcome, appeal.decided_by, appeal.decided_on = outcome, decided_by, on
        self.record(AppealDecided(self.id, appeal.id, self.person_id, outcome.value, decided_by, on, covered,
                                  concerned))
        if appeal.against is AppealAgainst.DECISION and outcome is AppealOutcome.REJECTED:
            self._close(ClosureReason.APPEAL_REJECTED, on)
        return appeal

    def _decide_decision_appeal(self, outcome: AppealOutcome, given: dict[str, MemberOutcome],
                                on: date) -> tuple[str, ...]:
        if outcome is AppealOutcome.ALLOWED:
            first = self.decision.member_outcomes
            defaults = {m: o for m, o in first.items() if o is MemberOutcome.RECOGNISED}
            defaults.update(given)
            defaults.pop(self.principal.id, None)
            outcomes = self._resolve_member_outcomes(Outcome.RECOGNISED, defaults, check_criteria=False)
            self.appeal_member_outcomes = outcomes
            self.state = ApplicationState.RECOGNISED
            return tuple(m for m, o in outcomes.items() if o is not MemberOutcome.REJECTED)
        if outcome is AppealOutcome.REMITTED:
            self.state = ApplicationState.REGISTERED
            self.recommendation = None
            self.decision_round += 1
        return ()
