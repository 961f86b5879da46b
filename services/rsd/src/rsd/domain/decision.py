"""Recommendation (eligibility officer), decision (supervisor, four eyes), notification, extensions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum

from pana_kit.domain import InvalidInput, RuleViolation, add_months

from .events import (CertificateRequested, DecisionIssued, DecisionNotified, DecisionPeriodExtended,
                     RecommendationMade)
from .state import ApplicationState, CertificateRequest, ProcessingMode


class Outcome(str, Enum):
    RECOGNISED = "recognised"
    REJECTED = "rejected"


class MemberOutcome(str, Enum):
    RECOGNISED = "recognised"  # in their own right
    DERIVATIVE = "derivative"  # family reunification (adults only with consent)
    REJECTED = "rejected"


class RejectionReason(str, Enum):
    """Categorised list of rejection reasons; `category` groups them."""

    NOT_RELATED_TO_CRITERIA = "not_related_to_criteria"
    INSUFFICIENTLY_DETAILED = "insufficiently_detailed"
    NOT_CREDIBLE_INCONSISTENT = "not_credible_inconsistent"
    NOT_CREDIBLE_CONTRARY_TO_COUNTRY_INFORMATION = "not_credible_contrary_to_country_information"
    NOT_CREDIBLE_IMPLAUSIBLE = "not_credible_implausible"
    HARM_NOT_PERSECUTION = "harm_not_persecution"
    FEAR_NOT_WELL_FOUNDED = "fear_not_well_founded"
    NO_NEXUS_TO_GROUND = "no_nexus_to_ground"
    STATE_PROTECTION_AVAILABLE = "state_protection_available"
    NOT_OUTSIDE_COUNTRY = "not_outside_country"
    EXCLUDED_1D = "excluded_1d"
    EXCLUDED_1E = "excluded_1e"
    EXCLUDED_1F = "excluded_1f"

    @property
    def category(self) -> str:
        if self.value.startswith("not_credible") or self is RejectionReason.INSUFFICIENTLY_DETAILED:
            return "credibility"
        if self.value.startswith("excluded"):
            return "exclusion"
        if self is RejectionReason.NOT_RELATED_TO_CRITERIA:
            return "relevance"
        return "inclusion"


@dataclass(kw_only=True)
class Recommendation:
    officer_id: str
    outcome: Outcome
    made_on: date
    rejection_reasons: tuple[RejectionReason, ...] = ()


@dataclass(kw_only=True)
class Decision:
    outcome: Outcome
    decided_by: str
    decided_on: date
    recommended_by: str
    member_outcomes: dict[str, MemberOutcome] = field(default_factory=dict)
    rejection_reasons: tuple[RejectionReason, ...] = ()
    notified_on: date | None = None
    notification_language: str | None = None
    round: int = 0
    # The decision-maker's name as the identity provider gave it (the token's `name` claim) when deciding; None
    # when the token carried none (and for decisions recorded before names were kept).
    decided_by_name: str | None = None

    @property
    def member_ids_covered(self) -> tuple[str, ...]:
        return tuple(m for m, o in self.member_outcomes.items() if o is not MemberOutcome.REJECTED)

    @property
    def derivative_member_ids(self) -> tuple[str, ...]:
        return tuple(m for m, o in self.member_outcomes.items() if o is MemberOutcome.DERIVATIVE)


@dataclass(kw_only=True)
class Extension:
    months: int
    reason: str
    extended_on: date
    extended_by: str
    cycle: int = 0  # reopening starts a new decision period


def appeal_deadline(notified_on: date, window_days: int) -> date:
    """The last day to lodge an appeal (docs/domain.md, RSD periods: "Appeal window from notification", 30 days by
    default). The window counts calendar days from the day after the decision was served, so the last day is the
    notification date plus the window. The domain names no working-day rule for it (unlike the birth registration
    deadline), so a last day on a weekend or a public holiday stays where it falls; if Kazakh law settles otherwise
    (the route and deadline are *open*), change it here."""
    if window_days < 1:
        raise InvalidInput("an appeal window is a positive number of days")
    return notified_on + timedelta(days=window_days)


class DecisionSteps:
    # ---- decision period -------------------------------------------------------------
    @property
    def decision_period_months(self) -> int:
        base = (self.rules.accelerated_decision_period_months if self.processing_mode is ProcessingMode.ACCELERATED
                else self.rules.decision_period_months)
        return base + self.extension_months

    @property
    def extension_months(self) -> int:
        return sum(e.months for e in self.extensions if e.cycle == self.cycle)

    @property
    def decision_due(self) -> date | None:
        if self.clock_started_on is None:
            return None
        return add_months(self.clock_started_on, self.decision_period_months)

    def extend_decision_period(self, *, months: int, reason: str, on: date, by: str) -> date:
        if self.state not in (ApplicationState.REGISTERED, ApplicationState.RECOMMENDED):
            raise RuleViolation(rule="extension_before_decision",
                                detail="only a pending first-instance procedure can be extended")
        if months <= 0:
            raise InvalidInput("an extension is a positive number of months")
        if not reason.strip():
            raise RuleViolation(rule="extension_reason", detail="the decision period is extended only with reasons")
        if self.decision_period_months + months > self.rules.decision_period_max_months:
            raise RuleViolation(
                rule="extension_limit",
                detail=f"the decision period may be extended up to {self.rules.decision_period_max_months} months in all",
            )
        self.extensions.append(Extension(months=months, reason=reason, extended_on=on, extended_by=by,
                                         cycle=self.cycle))
        due = self.decision_due
        self.record(DecisionPeriodExtended(self.id, months, self.decision_period_months, due, on))
        self._request_certificates(on, "extension")
        return due

    # ---- recommendation and decision -------------------------------------------------
    def _check_ready_for_decision(self) -> None:
        if not self.principal_interview_held():
            raise RuleViolation(rule="interview_before_decision",
                                detail="no first-instance decision without a held interview of the principal applicant")
        on = self.clock_started_on
        for member in self.living_members:
            if member.is_adult(on, self.rules.certificate_age_of_majority) and member.id not in self.assessments:
                raise RuleViolation(rule="individual_assessment",
                                    detail=f"every adult member is assessed individually; member {member.id} is not")

    def recommend(self, *, officer_id: str, outcome: Outcome, on: date,
                  rejection_reasons: tuple[RejectionReason, ...] = ()) -> Recommendation:
        self._require_state({ApplicationState.REGISTERED, ApplicationState.RECOMMENDED}, "recommend a decision")
        self._check_ready_for_decision()
        self._check_reasons(outcome, rejection_reasons)
        self.recommendation = Recommendation(officer_id=officer_id, outcome=outcome, made_on=on,
                                             rejection_reasons=tuple(rejection_reasons))
        self.state = ApplicationState.RECOMMENDED
        self.record(RecommendationMade(self.id, officer_id, outcome.value, on))
        return self.recommendation

    @staticmethod
    def _check_reasons(outcome: Outcome, reasons: tuple[RejectionReason, ...]) -> None:
        if outcome is Outcome.REJECTED and not reasons:
            raise RuleViolation(rule="rejection_reasons",
                                detail="a rejection gives its reasons from the categorised list")
        if outcome is Outcome.RECOGNISED and reasons:
            raise InvalidInput("a recognition carries no rejection reasons")

    def issue_decision(self, *, decided_by: str, on: date, outcome: Outcome | None = None,
                       rejection_reasons: tuple[RejectionReason, ...] | None = None,
                       member_outcomes: dict[str, MemberOutcome] | None = None,
                       decided_by_name: str | None = None) -> Decision:
        """The supervisor decides on the recommendation (may differ from it, with reasons)."""
        self._require_state({ApplicationState.RECOMMENDED}, "issue a decision",
                            rule="recommendation_before_decision")
        self._check_ready_for_decision()
        rec = self.recommendation
        if decided_by == rec.officer_id:
            raise RuleViolation(rule="four_eyes",
                                detail="the supervisor who decides must not be the officer who recommended")
        outcome = outcome or rec.outcome
        reasons = tuple(rejection_reasons if rejection_reasons is not None
                        else (rec.rejection_reasons if outcome is rec.outcome else ()))
        self._check_reasons(outcome, reasons)
        outcomes = self._resolve_member_outcomes(outcome, member_outcomes or {}, check_criteria=True)
        decision = Decision(outcome=outcome, decided_by=decided_by, decided_on=on,
                                 recommended_by=rec.officer_id, member_outcomes=outcomes,
                                 rejection_reasons=reasons, round=self.decision_round,
                                 decided_by_name=(decided_by_name or "").strip()[:200] or None)
        self.decisions.append(decision)
        self.state = ApplicationState.RECOGNISED if outcome is Outcome.RECOGNISED else ApplicationState.REJECTED
        self.record(DecisionIssued(self.id, self.person_id, outcome.value, self.decision.member_ids_covered,
                                   self.decision.derivative_member_ids, tuple(r.value for r in reasons),
                                   decided_by, on))
        return self.decision

    def _resolve_member_outcomes(self, outcome: Outcome, given: dict[str, MemberOutcome], *,
                                 check_criteria: bool) -> dict[str, MemberOutcome]:
        principal = self.principal
        on = self.clock_started_on
        for member_id in given:
            self.member(member_id)
        wanted = MemberOutcome.RECOGNISED if outcome is Outcome.RECOGNISED else MemberOutcome.REJECTED
        if given.get(principal.id, wanted) is not wanted:
            raise InvalidInput("the principal's outcome is the decision's outcome")
        result: dict[str, MemberOutcome] = {principal.id: wanted}
        for member in self.members:
            if member.id == principal.id or member.deceased:
                continue  # a deceased member is decided for no more
            adult = member.is_adult(on, self.rules.certificate_age_of_majority)
            assessment = self.assessments.get(member.id)
            if member.id in given:
                chosen = given[member.id]
            elif outcome is Outcome.REJECTED:
                chosen = MemberOutcome.REJECTED
            elif assessment is not None and assessment.meets_criteria:
                chosen = MemberOutcome.RECOGNISED
            elif not adult or member.derivative_status_consent:
                chosen = MemberOutcome.DERIVATIVE
            else:
                chosen = MemberOutcome.REJECTED
            if chosen is MemberOutcome.DERIVATIVE:
                if outcome is not Outcome.RECOGNISED:
                    raise RuleViolation(rule="derivative_status",
                                        detail="derivative status follows a recognised principal applicant")
                if adult and not member.derivative_status_consent:
                    raise RuleViolation(rule="derivative_status_consent",
                                        detail="an adult is recognised for family reunification only with consent")
                if assessment is not None and assessment.excluded:
                    raise RuleViolation(rule="exclusion",
                                        detail="an excluded person receives no status, derivative or otherwise")
            if chosen is MemberOutcome.RECOGNISED and check_criteria and adult:
                if assessment is None or not assessment.meets_criteria:
                    raise RuleViolation(rule="recognition_requires_criteria",
                                        detail=f"member {member.id} is recognised in own right only if the criteria are met")
            result[member.id] = chosen
        if check_criteria and outcome is Outcome.RECOGNISED:
            assessment = self.assessments.get(principal.id)
            if assessment is None or not assessment.meets_criteria:
                raise RuleViolation(rule="recognition_requires_criteria",
                                    detail="recognition needs every inclusion element met and no exclusion clause")
        return result

    # ---- notification ----------------------------------------------------------------
    def serve_notification(self, *, on: date, language: str) -> Decision:
        self._require_state({ApplicationState.RECOGNISED, ApplicationState.REJECTED}, "serve a decision")
        if self.decision is None or self.decision.notified_on is not None:
            raise RuleViolation(rule="notification_once", detail="the decision has already been served")
        if not language.strip():
            raise InvalidInput("the notification names the language it was served in")
        if on < self.decision.decided_on:
            raise InvalidInput("a decision is served on or after the day it is made")
        self.decision.notified_on, self.decision.notification_language = on, language
        self.last_contact_on = max(self.last_contact_on or on, on)
        deadline = self.appeal_deadline if self.decision.outcome is Outcome.REJECTED else None
        self.record(DecisionNotified(self.id, self.person_id, on, language, deadline))
        return self.decision

    @property
    def appeal_deadline(self) -> date | None:
        if self.decision is None or self.decision.notified_on is None:
            return None
        return appeal_deadline(self.decision.notified_on, self.rules.appeal_window_days)

    @property
    def appeal_grace_ends(self) -> date | None:
        deadline = self.appeal_deadline
        return None if deadline is None else deadline + timedelta(weeks=self.rules.appeal_grace_weeks)

    def _request_certificates(self, on: date, reason: str) -> list[CertificateRequested]:
        valid_until = add_months(on, self.rules.certificate_validity_months)
        principal = self.principal
        age = self.rules.certificate_age_of_majority
        children = tuple(m.person_id for m in self.living_members
                         if m.id != principal.id and not m.is_adult(on, age))
        events = []
        for member in self.living_members:
            if member.id != principal.id and not member.is_adult(on, age):
                continue  # children are entered on the principal's certificate
            child_ids = children if member.id == principal.id else ()
            self.certificates.append(CertificateRequest(member_id=member.id, issued_on=on, valid_until=valid_until,
                                                        reason=reason, child_person_ids=child_ids))
            event = CertificateRequested(self.id, member.id, member.person_id, child_ids, on, valid_until, reason)
            self.record(event)
            events.append(event)
        return events
