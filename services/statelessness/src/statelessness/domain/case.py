"""The statelessness determination case (MIA Order No. 607; UNHCR Handbook 2014)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from pana_events.vocabulary import APPEAL_OUTCOME_ALIASES, AppealOutcome
from pana_kit.documents import from_document, stored_when_set
from pana_kit.domain import AccessDenied, Aggregate, InvalidInput, NotFound, RuleViolation, add_months, age_on

from .events import (
    AppealDecided,
    AppealLodged,
    CaseClosedOnDeath,
    CaseOpened,
    DecisionDeadlineExtended,
    EvidenceAdded,
    InquiryAnswered,
    InquirySent,
    InquiryUnanswered,
    InterviewHeld,
    PersonRecognisedStateless,
    StatelessnessDetermined,
)
from .evidence import BroughtBy, Evidence, EvidenceKind, EvidenceWeight
from .inquiry import InquiryAnswer, InquiryStatus, NationalityInquiry, StateLink, normalise_state
from .rules import StatelessnessRules


class OpeningReason(StrEnum):
    APPLICATION = "application"
    REGISTERED_WITHOUT_CITIZENSHIP = "registered_without_citizenship"
    CHILD_AT_RISK = "child_at_risk"
    RSD_REJECTED_WITHOUT_NATIONALITY = "rsd_rejected_without_nationality"

    @property
    def ex_officio(self) -> bool:
        return self is not OpeningReason.APPLICATION


class CaseStatus(StrEnum):
    OPEN = "open"
    DETERMINED = "determined"
    UNDER_APPEAL = "under_appeal"
    CLOSED = "closed"  # appeal decided
    CLOSED_ON_DEATH = "closed_on_death"  # the person died (registration.person.deceased.v1)


class Outcome(StrEnum):
    STATELESS = "stateless"
    NOT_STATELESS = "not_stateless"


def appeal_outcome(value: str) -> AppealOutcome:
    """The appeal's result in the one vocabulary (pana_events.vocabulary.AppealOutcome: allowed | rejected |
    remitted, seen from the appellant as in rsd). The words this service used before, seen from the
    determination (`upheld`: it stands, the appeal is rejected; `overturned`: the appeal is allowed), still
    read as their word (stored cases, and the API's deprecated `outcome`)."""
    try:
        return AppealOutcome(APPEAL_OUTCOME_ALIASES.get(value, value))
    except ValueError:
        raise InvalidInput(f"an appeal's result is allowed or rejected, not {value!r}", rule="appeal_result") from None


@dataclass(frozen=True)
class Interview:
    held_on: date
    officer_id: str
    interpreter_id: str | None = None
    legal_representative_present: bool = False
    notes: str = ""  # the interview record (personal data: the store encrypts it)


@dataclass(frozen=True)
class Determination:
    outcome: Outcome
    nationality: str | None
    reasons: str
    officer_id: str
    decided_on: date
    notified_on: date
    # Why the person is stateless although a State confirmed them as its national.
    confirmed_nationality_reasons: str | None = None


@dataclass(frozen=True)
class Extension:
    extended_on: date
    previous_due: date
    new_due: date
    reasons: str


@dataclass
class Appeal:
    appeal_id: str
    lodged_on: date
    outcome: AppealOutcome | None = None
    officer_id: str | None = None
    decided_on: date | None = None
    reasons: str | None = None


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


@dataclass
class DeterminationCase(Aggregate):
    case_id: str
    person_id: str
    reason: OpeningReason
    opened_on: date
    decision_due: date
    birth_date: date | None = None
    opened_by: str | None = None
    reason_note: str = ""
    # States the person fears persecution from (asylum-seeker or refugee from them):
    # a projection of rsd/registration facts, kept current by the handlers.
    feared_states: frozenset[str] = frozenset()
    status: CaseStatus = CaseStatus.OPEN
    evidence: list[Evidence] = field(default_factory=list)
    inquiries: list[NationalityInquiry] = field(default_factory=list)
    interviews: list[Interview] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    determination: Determination | None = None
    appeal: Appeal | None = None
    # The officer the case is assigned to (POST .../assignment); None: the officer who opened it (`opened_by`),
    # which is also how cases stored before assignments existed read.
    officer_id: str | None = stored_when_set(default=None)

    # ------------------------------------------------------------------ who reads the case (issue #15)
    @property
    def assigned_officer(self) -> str | None:
        return self.officer_id if self.officer_id is not None else self.opened_by

    @property
    def readers(self) -> frozenset[str]:
        """Who may read the case's evidence, interview records and notes: the assigned officer and the officers
        who decided it (the determination, the appeal). Nobody else, whatever their role's scopes."""
        deciders = (self.determination.officer_id if self.determination else None,
                    self.appeal.officer_id if self.appeal else None)
        return frozenset(o for o in (self.assigned_officer, *deciders) if o)

    def check_reader(self, subject: str) -> None:
        if subject not in self.readers:
            raise AccessDenied("case_reader_not_assigned", "the case is read only by the officer it is assigned to "
                                                           "and the officers who decided it")

    def assign(self, *, officer_id: str) -> None:
        """Give the case to an officer (e.g. the officer who hears the appeal); the previous one stops reading it
        unless they decided it."""
        if _blank(officer_id):
            raise InvalidInput("an assignment names the officer")
        self.officer_id = officer_id.strip()
    recognised_on: date | None = None

    @classmethod
    def from_document(cls, doc: dict) -> DeterminationCase:
        """The case from its stored form; an appeal stored before the one vocabulary (`upheld`, `overturned`)
        reads as its word (`rejected`, `allowed`) and is written back in it."""
        appeal = doc.get("appeal")
        if appeal and appeal.get("outcome") in APPEAL_OUTCOME_ALIASES:
            doc = {**doc, "appeal": {**appeal, "outcome": APPEAL_OUTCOME_ALIASES[appeal["outcome"]].value}}
        return from_document(cls, doc)

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        *,
        case_id: str,
        person_id: str,
        reason: OpeningReason,
        opened_on: date,
        rules: StatelessnessRules,
        birth_date: date | None = None,
        opened_by: str | None = None,
        reason_note: str = "",
        feared_states: Iterable[str] = (),
    ) -> DeterminationCase:
        """Open a case on application or ex officio; an ex officio opening names the officer."""
        reason = OpeningReason(reason)
        if reason.ex_officio and _blank(opened_by):
            raise InvalidInput("a case opened ex officio must record the officer who opened it")
        if birth_date is not None and birth_date > opened_on:
            raise InvalidInput("birth_date is after the opening date")
        case = cls(
            case_id=case_id,
            person_id=person_id,
            reason=reason,
            opened_on=opened_on,
            decision_due=add_months(opened_on, rules.decision_due_months),
            birth_date=birth_date,
            opened_by=opened_by,
            reason_note=reason_note,
            feared_states=frozenset(normalise_state(s) for s in feared_states),
        )
        case.record(
            CaseOpened(
                case_id=case_id,
                person_id=person_id,
                reason=reason.value,
                ex_officio=reason.ex_officio,
                opened_on=opened_on,
                decision_due=case.decision_due,
            )
        )
        return case

    def update_feared_states(self, states: Iterable[str]) -> None:
        """Replace the projection of States the person fears persecution from."""
        self.feared_states = frozenset(normalise_state(s) for s in states)

    # ------------------------------------------------------------ properties
    @property
    def ex_officio(self) -> bool:
        return self.reason.ex_officio

    @property
    def recognised_stateless(self) -> bool:
        return self.recognised_on is not None

    def decision_deadline_limit(self, rules: StatelessnessRules) -> date:
        return add_months(self.opened_on, rules.decision_max_months)

    def is_overdue(self, today: date) -> bool:
        """Undecided past its decision date."""
        return self.status is CaseStatus.OPEN and today > self.decision_due

    @property
    def days_to_determination(self) -> int | None:
        if self.determination is None:
            return None
        return (self.determination.decided_on - self.opened_on).days

    def appeal_deadline_on(self, rules: StatelessnessRules) -> date | None:
        if self.determination is None:
            return None
        return self.determination.notified_on + timedelta(days=rules.appeal_window_days)

    @property
    def final_outcome(self) -> Outcome | None:
        if self.recognised_stateless:
            return Outcome.STATELESS
        return self.determination.outcome if self.determination else None

    def states_confirming_nationality(self) -> list[str]:
        return [i.state for i in self.inquiries if i.confirms_national]

    def inquiry(self, inquiry_id: str) -> NationalityInquiry:
        for inquiry in self.inquiries:
            if inquiry.inquiry_id == inquiry_id:
                return inquiry
        raise NotFound(f"no inquiry {inquiry_id} in case {self.case_id}")

    def overdue_inquiries(self, today: date) -> list[NationalityInquiry]:
        return [i for i in self.inquiries if i.is_overdue(today)]

    # ----------------------------------------------------------- guards
    def _require_open(self, step: str) -> None:
        if self.status is not CaseStatus.OPEN:
            raise RuleViolation(
                rule="case_already_determined",
                detail=f"cannot {step}: the case has already been determined",
            )

    # ----------------------------------------------------------- evidence
    def add_evidence(self, evidence: Evidence) -> None:
        """Add an item of evidence (open case, or on appeal). Burden shared: see `brought_by`."""
        if self.status not in (CaseStatus.OPEN, CaseStatus.UNDER_APPEAL):
            raise RuleViolation(
                rule="case_closed_to_evidence",
                detail="evidence is taken while the case is open or under appeal, not after",
            )
        self._append_evidence(evidence)

    def _append_evidence(self, evidence: Evidence) -> None:
        if any(e.evidence_id == evidence.evidence_id for e in self.evidence):
            raise InvalidInput(f"evidence {evidence.evidence_id} is already on the case")
        self.evidence.append(evidence)
        self.record(
            EvidenceAdded(
                case_id=self.case_id,
                evidence_id=evidence.evidence_id,
                kind=evidence.kind.value,
                brought_by=evidence.brought_by.value,
                received_on=evidence.received_on,
            )
        )

    def evidence_brought_by(self, who: BroughtBy) -> list[Evidence]:
        return [e for e in self.evidence if e.brought_by is who]

    # ----------------------------------------------------------- inquiries
    def send_inquiry(
        self,
        *,
        inquiry_id: str,
        state: str,
        link: StateLink,
        sent_on: date,
        rules: StatelessnessRules,
    ) -> NationalityInquiry:
        """Ask a State linked to the person whether it considers them a national."""
        self._require_open("send a nationality inquiry")
        state = normalise_state(state)
        if not state:
            raise InvalidInput("an inquiry must name a State")
        if state in self.feared_states:
            raise RuleViolation(
                rule="confidentiality_of_asylum",
                detail=(
                    f"a State is never asked about a person who fears persecution by it: "
                    f"the person is an asylum-seeker or refugee from {state}"
                ),
            )
        if any(i.inquiry_id == inquiry_id for i in self.inquiries):
            raise InvalidInput(f"inquiry {inquiry_id} already exists")
        if any(i.state == state and i.awaiting_reply for i in self.inquiries):
            raise RuleViolation(
                rule="inquiry_already_open",
                detail=f"an inquiry to {state} is already awaiting a reply",
            )
        if sent_on < self.opened_on:
            raise InvalidInput("an inquiry cannot be sent before the case was opened")
        inquiry = NationalityInquiry.send(inquiry_id, state, link, sent_on, rules)
        self.inquiries.append(inquiry)
        self.record(
            InquirySent(
                case_id=self.case_id,
                person_id=self.person_id,
                inquiry_id=inquiry_id,
                state=state,
                link=inquiry.link.value,
                sent_on=sent_on,
                reply_due=inquiry.reply_due,
            )
        )
        return inquiry

    def record_inquiry_answer(
        self,
        *,
        inquiry_id: str,
        answer: InquiryAnswer,
        answered_on: date,
        weight: EvidenceWeight = EvidenceWeight.HIGH,
    ) -> None:
        """A State's reply; recorded even after the deadline (then marked late). It becomes evidence."""
        inquiry = self.inquiry(inquiry_id)
        if inquiry.status is InquiryStatus.ANSWERED:
            raise RuleViolation(rule="inquiry_already_answered", detail=f"inquiry {inquiry_id} is already answered")
        if answered_on < inquiry.sent_on:
            raise InvalidInput("a reply cannot precede its inquiry")
        answer = InquiryAnswer(answer)
        late = answered_on > inquiry.reply_due
        inquiry.status = InquiryStatus.ANSWERED
        inquiry.answer = answer
        inquiry.answered_on = answered_on
        self.record(
            InquiryAnswered(
                case_id=self.case_id,
                person_id=self.person_id,
                inquiry_id=inquiry_id,
                state=inquiry.state,
                answer=answer.value,
                answered_on=answered_on,
                late=late,
            )
        )
        self._append_evidence(
            Evidence(
                evidence_id=f"{inquiry_id}/reply",
                kind=EvidenceKind.INQUIRY_RESULT,
                source=inquiry.state,
                weight=EvidenceWeight(weight),
                brought_by=BroughtBy.OFFICER,
                received_on=answered_on,
                description=f"reply: {answer.value}",
            )
        )

    def record_inquiry_unanswered(self, *, inquiry_id: str, today: date) -> None:
        """No reply within the deadline: a finding (the person can be documented as stateless)."""
        inquiry = self.inquiry(inquiry_id)
        if not inquiry.awaiting_reply:
            raise RuleViolation(
                rule="inquiry_already_answered",
                detail=f"inquiry {inquiry_id} is no longer awaiting a reply",
            )
        if today <= inquiry.reply_due:
            raise RuleViolation(
                rule="inquiry_reply_deadline",
                detail=f"the State has until {inquiry.reply_due.isoformat()} to reply; no finding before then",
            )
        inquiry.status = InquiryStatus.UNANSWERED
        inquiry.unanswered_found_on = today
        self.record(
            InquiryUnanswered(
                case_id=self.case_id,
                person_id=self.person_id,
                inquiry_id=inquiry_id,
                state=inquiry.state,
                reply_due=inquiry.reply_due,
                found_on=today,
            )
        )
        self._append_evidence(
            Evidence(
                evidence_id=f"{inquiry_id}/no-reply",
                kind=EvidenceKind.INQUIRY_RESULT,
                source=inquiry.state,
                weight=EvidenceWeight.HIGH,
                brought_by=BroughtBy.OFFICER,
                received_on=today,
                description=f"no reply by {inquiry.reply_due.isoformat()}",
            )
        )

    # ----------------------------------------------------------- interview
    def hold_interview(
        self,
        *,
        held_on: date,
        officer_id: str,
        interpreter_id: str | None = None,
        legal_representative_present: bool = False,
        notes: str = "",
    ) -> Interview:
        self._require_open("hold an interview")
        if held_on < self.opened_on:
            raise InvalidInput("an interview cannot precede the opening of the case")
        if _blank(officer_id):
            raise InvalidInput("an interview names the officer who held it")
        interview = Interview(held_on, officer_id, interpreter_id, legal_representative_present, notes)
        self.interviews.append(interview)
        self.record(InterviewHeld(case_id=self.case_id, person_id=self.person_id, held_on=held_on, officer_id=officer_id))
        return interview

    # ----------------------------------------------------------- deadline
    def extend_decision_deadline(
        self,
        *,
        new_due: date,
        reasons: str,
        extended_on: date,
        rules: StatelessnessRules,
    ) -> None:
        """Extend the decision date, with reasons, up to `decision_max_months` from opening."""
        self._require_open("extend the decision deadline")
        if _blank(reasons):
            raise RuleViolation(
                rule="decision_extension_needs_reasons",
                detail="the decision deadline is extended only with recorded reasons",
            )
        limit = self.decision_deadline_limit(rules)
        if new_due > limit:
            raise RuleViolation(
                rule="decision_deadline_limit",
                detail=(
                    f"a decision is due within {rules.decision_max_months} months of opening "
                    f"(by {limit.isoformat()}), extensions included"
                ),
            )
        if new_due <= self.decision_due:
            raise InvalidInput("an extension must move the decision date later")
        previous = self.decision_due
        self.extensions.append(Extension(extended_on, previous, new_due, reasons))
        self.decision_due = new_due
        self.record(
            DecisionDeadlineExtended(
                case_id=self.case_id,
                person_id=self.person_id,
                previous_due=previous,
                decision_due=new_due,
                extended_on=extended_on,
            )
        )

    # ----------------------------------------------------------- determination
    def determine(
        self,
        *,
        outcome: Outcome,
        officer_id: str,
        decided_on: date,
        reasons: str,
        rules: StatelessnessRules,
        nationality: str | None = None,
        confirmed_nationality_reasons: str | None = None,
        notified_on: date | None = None,
    ) -> Determination:
        """Issue the written, reasoned determination: stateless, or not stateless with nationality X."""
        self._require_open("determine the case again")
        outcome = Outcome(outcome)
        if not self.interviews:
            raise RuleViolation(
                rule="interview_before_determination",
                detail="no determination without an interview of the person",
            )
        if _blank(reasons):
            raise RuleViolation(rule="reasoned_decision", detail="a determination is written and gives its reasons")
        if _blank(officer_id):
            raise InvalidInput("a determination names the deciding officer")
        if decided_on < self.opened_on:
            raise InvalidInput("a determination cannot precede the opening of the case")
        notified_on = notified_on or decided_on
        if notified_on < decided_on:
            raise InvalidInput("notification cannot precede the decision")
        if outcome is Outcome.NOT_STATELESS:
            if _blank(nationality):
                raise InvalidInput("a not-stateless determination names the nationality found")
            nationality = normalise_state(nationality)  # type: ignore[arg-type]
        else:
            if nationality is not None:
                raise InvalidInput("a stateless determination has no nationality")
            confirming = self.states_confirming_nationality()
            if confirming and _blank(confirmed_nationality_reasons):
                raise RuleViolation(
                    rule="confirmed_nationality_needs_reasons",
                    detail=(
                        f"{', '.join(confirming)} confirmed the person as its national; "
                        "recognition as stateless needs reasons why that confirmation does not hold"
                    ),
                )
        determination = Determination(
            outcome=outcome,
            nationality=nationality,
            reasons=reasons,
            officer_id=officer_id,
            decided_on=decided_on,
            notified_on=notified_on,
            confirmed_nationality_reasons=confirmed_nationality_reasons,
        )
        self.determination = determination
        self.status = CaseStatus.DETERMINED
        self.record(
            StatelessnessDetermined(
                case_id=self.case_id,
                person_id=self.person_id,
                outcome=outcome.value,
                nationality=nationality,
                decided_on=decided_on,
                officer_id=officer_id,
                appeal_until=self.appeal_deadline_on(rules) if outcome is Outcome.NOT_STATELESS else None,
            )
        )
        if outcome is Outcome.STATELESS:
            self._recognise(decided_on, rules)
        return determination

    def _recognise(self, on: date, rules: StatelessnessRules) -> None:
        self.recognised_on = on
        meets: bool | None
        age_from: date | None
        if self.birth_date is None:
            meets, age_from = None, None
        else:
            age_from = add_months(self.birth_date, 12 * rules.certificate_min_age)
            meets = age_on(self.birth_date, on) >= rules.certificate_min_age
        self.record(
            PersonRecognisedStateless(
                case_id=self.case_id,
                person_id=self.person_id,
                recognised_on=on,
                meets_certificate_age=meets,
                certificate_age_from=age_from,
                certificate_validity_years=rules.certificate_validity_years,
            )
        )

    # ----------------------------------------------------------- death
    def close_on_death(self, *, died_on: date) -> bool:
        """The person died: a case still open, determined or under appeal closes; nothing more is decided in it
        (a stateless person's certificate ends with the death in registration). Returns whether it changed."""
        if self.status in (CaseStatus.CLOSED, CaseStatus.CLOSED_ON_DEATH):
            return False
        self.status = CaseStatus.CLOSED_ON_DEATH
        self.record(CaseClosedOnDeath(case_id=self.case_id, person_id=self.person_id, died_on=died_on))
        return True

    # ----------------------------------------------------------- appeal
    def lodge_appeal(self, *, appeal_id: str, lodged_on: date, rules: StatelessnessRules) -> Appeal:
        """Appeal a not-stateless determination within the window from notification."""
        if self.appeal is not None:
            raise RuleViolation(rule="appeal_already_lodged", detail="an appeal has already been lodged in this case")
        if self.determination is None:
            raise RuleViolation(rule="appeal_needs_determination", detail="there is no determination to appeal yet")
        if self.determination.outcome is not Outcome.NOT_STATELESS:
            raise RuleViolation(
                rule="appeal_needs_refusal",
                detail="only a determination that the person is not stateless can be appealed",
            )
        if lodged_on < self.determination.notified_on:
            raise InvalidInput("an appeal cannot precede notification of the determination")
        deadline = self.appeal_deadline_on(rules)
        assert deadline is not None
        if lodged_on > deadline:
            raise RuleViolation(
                rule="appeal_window",
                detail=(
                    f"an appeal is lodged within {rules.appeal_window_days} days of notification "
                    f"(by {deadline.isoformat()})"
                ),
            )
        self.appeal = Appeal(appeal_id=appeal_id, lodged_on=lodged_on)
        self.status = CaseStatus.UNDER_APPEAL
        self.record(AppealLodged(case_id=self.case_id, person_id=self.person_id, appeal_id=appeal_id, lodged_on=lodged_on))
        return self.appeal

    def decide_appeal(
        self,
        *,
        outcome: AppealOutcome,
        officer_id: str,
        decided_on: date,
        reasons: str,
        rules: StatelessnessRules,
    ) -> None:
        """Decide the appeal; an officer other than the one who determined the case hears it."""
        if self.status is not CaseStatus.UNDER_APPEAL or self.appeal is None:
            raise RuleViolation(rule="appeal_not_pending", detail="there is no pending appeal in this case")
        assert self.determination is not None
        if officer_id == self.determination.officer_id:
            raise RuleViolation(
                rule="appeal_by_different_officer",
                detail="an appeal is heard by an officer other than the one who made the determination",
            )
        if _blank(officer_id):
            raise InvalidInput("an appeal decision names the deciding officer")
        if _blank(reasons):
            raise RuleViolation(rule="reasoned_decision", detail="an appeal decision is written and gives its reasons")
        if decided_on < self.appeal.lodged_on:
            raise InvalidInput("an appeal decision cannot precede the appeal")
        outcome = appeal_outcome(outcome)
        if outcome is AppealOutcome.REMITTED:
            raise InvalidInput("a statelessness appeal is allowed or rejected: the procedure has no remittal to "
                               "first instance", rule="appeal_result")
        self.appeal.outcome = outcome
        self.appeal.officer_id = officer_id
        self.appeal.decided_on = decided_on
        self.appeal.reasons = reasons
        self.status = CaseStatus.CLOSED
        self.record(
            AppealDecided(
                case_id=self.case_id,
                person_id=self.person_id,
                appeal_id=self.appeal.appeal_id,
                outcome=outcome.value,
                decided_on=decided_on,
                officer_id=officer_id,
            )
        )
        if outcome is AppealOutcome.ALLOWED:
            self._recognise(decided_on, rules)
