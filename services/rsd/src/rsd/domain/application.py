"""The Application aggregate: lodging to closure, as a state machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import Enum
from typing import Any

from pana_kit.documents import from_document, not_stored, to_document
from pana_kit.domain import Aggregate, InvalidInput, RuleViolation, add_months, age_on

from .appeal import Appeal, AppealSteps
from .assessment import Assessment, AssessmentSteps
from .deadlines import DeadlineStatus, deadlines
from .decision import Decision, DecisionSteps, Extension, MemberOutcome, Recommendation
from .ending import EndingProceeding, EndingSteps
from .events import (ApplicationClosed, ApplicationLodged, ApplicationRegistered, ApplicationReopened,
                     CertificateRequested, ContactRecorded, DeadlineMissed, FingerprintingRecorded, MemberAdded,
                     OfficerReassigned, ProcessingModeSet)
from .interview import Interview, InterviewStatus, InterviewSteps
from .members import (CONTACT_NOTE_MAX, PRIORITY_NEEDS, Contact, ContactKind, Member, Relationship, Sex, SpecificNeed,
                      StatusEnding)
from .rules import RsdRules
from .state import PENDING, ApplicationState, CertificateRequest, ClosureReason, ProcessingMode

LODGING_LANGUAGES = frozenset({"kk", "ru"})
_MEMBER_FIELDS_IF_SET = ("status_ending", "deceased_on", "name", "added_on")


class ArrivalManner(str, Enum):
    REGULAR = "regular"
    IRREGULAR = "irregular"
    AT_BORDER_CROSSING = "at_border_crossing"


class ReopeningGround(str, Enum):
    CHANGED_CIRCUMSTANCES = "changed_circumstances"
    NEW_EVIDENCE = "new_evidence"  # reliable new evidence that it was wrongly decided
    IMPROPERLY_DECIDED = "improperly_decided"  # serious reason to think so


@dataclass(kw_only=True)
class Assignment:
    officer_id: str
    assigned_on: date
    reason: str | None = None


@dataclass(kw_only=True)
class Closure:
    reason: ClosureReason
    closed_on: date


@dataclass(kw_only=True)
class Reopening:
    ground: ReopeningGround
    reason: str
    reopened_on: date


@dataclass(kw_only=True)
class Application(InterviewSteps, AssessmentSteps, DecisionSteps, AppealSteps, EndingSteps, Aggregate):
    id: str
    office: str
    members: list[Member]  # the principal at lodging first (the file's person_id, its events' subject)
    lodged_on: date
    arrived_on: date  # or the day the risk became known
    manner_of_arrival: ArrivalManner
    late_lodging: bool = False
    lodging_language: str = "ru"
    previous_application_id: str | None = None  # a repeat application
    state: ApplicationState = ApplicationState.LODGED
    registered_on: date | None = None
    clock_started_on: date | None = None  # registration, or the last reopening
    cycle: int = 0
    processing_mode: ProcessingMode = ProcessingMode.REGULAR
    processing_mode_reason: str | None = None
    assignments: list[Assignment] = field(default_factory=list)
    certificates: list[CertificateRequest] = field(default_factory=list)
    fingerprinted_on: date | None = None
    fingerprinting_late: bool = False
    last_contact_on: date | None = None  # the latest contact of any kind (recorded, interview, service, appeal)
    contacts: list[Contact] = field(default_factory=list)  # contacts recorded as such (POST .../contacts)
    interviews: list[Interview] = field(default_factory=list)
    assessments: dict[str, Assessment] = field(default_factory=dict)
    recommendation: Recommendation | None = None
    decisions: list[Decision] = field(default_factory=list)
    decision_round: int = 0  # a reopening or remittal calls for a new first-instance decision
    extensions: list[Extension] = field(default_factory=list)
    appeals: list[Appeal] = field(default_factory=list)
    appeal_member_outcomes: dict[str, MemberOutcome] | None = None
    closures: list[Closure] = field(default_factory=list)
    reopenings: list[Reopening] = field(default_factory=list)
    endings: list[EndingProceeding] = field(default_factory=list)
    missed_deadlines: list[str] = field(default_factory=list)  # "kind:due" already reported
    principal_member_id: str | None = None  # set when another member carries on the claim (principal's death)
    rules: RsdRules = not_stored(default_factory=RsdRules, repr=False, compare=False)
    # The case reference a person can quote (`RSD-2026-000123`): the store allocates it once and keeps it in its own
    # column (store/repository.py allocate_reference), so it is not part of the document.
    reference: str | None = not_stored(default=None, compare=False)

    # ---- lodging and registration --------------------------------------------------
    @classmethod
    def lodge(cls, *, application_id: str, office: str, principal: Member, lodged_on: date, arrived_on: date,
              manner_of_arrival: ArrivalManner, officer_id: str | None = None, family: list[Member] | None = None,
              lodging_language: str = "ru", previous_application_id: str | None = None,
              rules: RsdRules | None = None, reported_late: bool = False) -> Application:
        """Lodge an application. Late lodging is recorded, never a reason to refuse access.

        `reported_late`: another service already found it late (a border referral registered after its
        window, when the arrival day is not known here); it is late then whatever the dates say."""
        rules = rules or RsdRules()
        if principal.relationship is not Relationship.PRINCIPAL:
            raise InvalidInput("the principal member's relationship is 'principal'")
        family = list(family or [])
        if any(m.relationship is Relationship.PRINCIPAL for m in family):
            raise InvalidInput("an application has one principal applicant")
        ids = [principal.id, *(m.id for m in family)]
        if len(set(ids)) != len(ids):
            raise InvalidInput("member ids are unique within an application")
        if lodging_language not in LODGING_LANGUAGES:
            raise InvalidInput("the written application is in Kazakh (kk) or Russian (ru)")
        if lodged_on < arrived_on:
            raise InvalidInput("an application is lodged on or after arrival")
        window = (rules.lodging_window_days_irregular_entry if manner_of_arrival is ArrivalManner.IRREGULAR
                  else rules.lodging_window_days)
        app = cls(id=application_id, office=office, members=[principal, *family], lodged_on=lodged_on,
                  arrived_on=arrived_on, manner_of_arrival=manner_of_arrival,
                  late_lodging=reported_late or lodged_on > arrived_on + timedelta(days=window), lodging_language=lodging_language,
                  previous_application_id=previous_application_id, last_contact_on=lodged_on, rules=rules)
        if officer_id:
            app.assignments.append(Assignment(officer_id=officer_id, assigned_on=lodged_on))
        app.record(ApplicationLodged(application_id, principal.person_id, tuple(ids), office, lodged_on,
                                     manner_of_arrival.value, app.late_lodging, previous_application_id))
        return app

    def register(self, *, on: date) -> date:
        """Register: the certificate(s) are requested and the decision clock starts. Returns decision_due."""
        self._require_state({ApplicationState.LODGED}, "register the application")
        if on < self.lodged_on:
            raise InvalidInput("registration is on or after lodging")
        self.registered_on = self.clock_started_on = on
        self.state = ApplicationState.REGISTERED
        self.record(ApplicationRegistered(self.id, self.person_id, on, self.decision_due))
        self._request_certificates(on, "registration")
        return self.decision_due

    def record_fingerprinting(self, *, on: date) -> bool:
        """Record fingerprinting; returns True (and flags it) when later than the rule allows."""
        if self.registered_on is None:
            raise RuleViolation(rule="fingerprinting_after_certificate",
                                detail="fingerprints are taken after the certificate is issued")
        self._require_state(PENDING, "record fingerprinting")
        self.fingerprinted_on = on
        self.fingerprinting_late = on > self.fingerprinting_due
        self.record(FingerprintingRecorded(self.id, self.person_id, on, self.fingerprinting_late))
        return self.fingerprinting_late

    @property
    def fingerprinting_due(self) -> date | None:
        first = next((c for c in self.certificates), None)
        return None if first is None else first.issued_on + timedelta(days=self.rules.fingerprinting_within_days)

    @property
    def interview_due(self) -> date | None:
        return None if self.clock_started_on is None else add_months(self.clock_started_on,
                                                                       self.rules.interview_within_months)

    # ---- people ----------------------------------------------------------------------
    @property
    def principal(self) -> Member:
        """Who carries the claim now: the principal at lodging, or the member who took over after a death."""
        return self.member(self.principal_member_id) if self.principal_member_id else self.members[0]

    @property
    def person_id(self) -> str:
        """The file's person: the principal at lodging. It never changes, so the file's events keep one key."""
        return self.members[0].person_id

    @property
    def living_members(self) -> list[Member]:
        return [m for m in self.members if not m.deceased]

    def member(self, member_id: str) -> Member:
        for member in self.members:
            if member.id == member_id:
                return member
        raise InvalidInput(f"no member {member_id} on application {self.id}")

    def update_specific_needs(self, member_id: str, needs: frozenset[SpecificNeed]) -> None:
        self.member(member_id).specific_needs = frozenset(needs)

    def person_needs_changed(self, person_id: str, needs: frozenset[SpecificNeed]) -> bool:
        """Registration recorded new needs for a person: every member who is that person takes them, and
        priority follows (`priority_needs`). Returns whether anything changed."""
        members = [m for m in self.members if m.person_id == person_id]
        if not members:
            raise InvalidInput(f"person {person_id} is not on application {self.id}")
        changed = any(m.specific_needs != needs for m in members)
        for m in members:
            m.specific_needs = frozenset(needs)
        return changed

    @property
    def priority_needs(self) -> frozenset[SpecificNeed]:
        return frozenset(n for m in self.members for n in m.specific_needs if n in PRIORITY_NEEDS)

    @property
    def priority(self) -> bool:
        return bool(self.priority_needs)

    @property
    def officer_id(self) -> str | None:
        return self.assignments[-1].officer_id if self.assignments else None

    def reassign(self, *, officer_id: str, on: date, reason: str) -> None:
        if officer_id == self.officer_id:
            raise InvalidInput("the case is already assigned to this officer")
        previous = self.officer_id
        self.assignments.append(Assignment(officer_id=officer_id, assigned_on=on, reason=reason))
        self.record(OfficerReassigned(self.id, previous, officer_id, on))

    def set_processing_mode(self, *, mode: ProcessingMode, reason: str) -> None:
        self._require_state({ApplicationState.LODGED, ApplicationState.REGISTERED}, "change the processing mode")
        if not reason.strip():
            raise RuleViolation(rule="processing_mode_reason", detail="the processing mode is set with a reason")
        self.processing_mode, self.processing_mode_reason = mode, reason
        self.record(ProcessingModeSet(self.id, mode.value, reason, self.priority))

    def record_contact(self, *, on: date) -> None:
        """Any contact with the applicant: the abandonment period runs from the latest one."""
        self.last_contact_on = max(self.last_contact_on or on, on)

    def record_applicant_contact(self, *, kind: ContactKind, on: date, note: str | None = None,
                                 recorded_by: str | None = None) -> Contact:
        """Record a contact with the applicant (in person, phone, letter, e-mail or through a representative).
        Recorded in any state: a contact after closure is evidence for a reopening."""
        if not isinstance(kind, ContactKind):
            raise InvalidInput("the contact's kind is one of " + ", ".join(k.value for k in ContactKind))
        if on < self.lodged_on:
            raise InvalidInput("a contact is on or after the day the application was lodged")
        note = (note or "").strip() or None
        if note is not None and len(note) > CONTACT_NOTE_MAX:
            raise InvalidInput(f"the note on a contact is at most {CONTACT_NOTE_MAX} characters")
        contact = Contact(kind=kind, on=on, note=note, recorded_by=recorded_by)
        self.contacts.append(contact)
        self.record_contact(on=on)
        self.record(ContactRecorded(self.id, kind.value, on))
        return contact

    # ---- a newborn joins ---------------------------------------------------------------
    def add_child(self, *, member_id: str | None, person_id: str, birth_date: date, on: date,
                  sex: Sex | None = None, name: str | None = None) -> Member:
        """Add a child (a newborn) to the pending application. The child is covered as the family's other
        children are: entered on the principal's asylum-seeker certificate (a new certificate request, valid
        as long as the current one) and, at the decision, given derivative status with the family."""
        if self.state not in PENDING:
            raise RuleViolation(
                rule="member_addition_pending",
                detail=f"a child is added only to a pending application; this one is {self.state.value}. The child "
                       "needs its own application, or family reunification (derivative status) with a recognised "
                       "parent",
            )
        if on < self.lodged_on:
            raise InvalidInput("a child is added on or after the day the application was lodged")
        if birth_date > on:
            raise InvalidInput("the child's birth date is on or before the day the child is added")
        if age_on(birth_date, on) >= self.rules.certificate_age_of_majority:
            raise InvalidInput("only a child (under the age of majority) is added to a pending application")
        if any(m.person_id == person_id for m in self.members):
            raise RuleViolation(rule="member_already_on_application",
                                detail=f"person {person_id} is already a member of this application")
        member_id = member_id or self._next_member_id()
        if any(m.id == member_id for m in self.members):
            raise InvalidInput(f"member id {member_id} is already used on this application")
        name = (name or "").strip() or None
        child = Member(id=member_id, person_id=person_id, relationship=Relationship.CHILD, sex=sex,
                       birth_date=birth_date, name=name, added_on=on)
        self.members.append(child)
        self.record(MemberAdded(self.id, child.id, child.person_id, child.relationship.value, on))
        if self.certificates:  # registered: the child is entered on the principal's certificate now
            self._request_certificate_for_child(on)
        return child

    def _next_member_id(self) -> str:
        taken = {m.id for m in self.members}
        n = len(self.members) + 1
        while f"m{n}" in taken:
            n += 1
        return f"m{n}"

    def _request_certificate_for_child(self, on: date) -> CertificateRequested:
        """Children are entered on the principal's certificate (as at registration): a new one names them all,
        valid as long as the principal's current certificate."""
        principal = self.principal
        age = self.rules.certificate_age_of_majority
        children = tuple(m.person_id for m in self.living_members if m.id != principal.id and not m.is_adult(on, age))
        own = [c for c in self.certificates if c.member_id == principal.id] or self.certificates
        valid_until = max(c.valid_until for c in own)
        self.certificates.append(CertificateRequest(member_id=principal.id, issued_on=on, valid_until=valid_until,
                                                    reason="newborn", child_person_ids=children))
        event = CertificateRequested(self.id, principal.id, principal.person_id, children, on, valid_until, "newborn")
        self.record(event)
        return event

    # ---- state helpers ------------------------------------------------------------------
    def _require_state(self, allowed: set | frozenset, action: str, *, rule: str = "state_transition") -> None:
        if self.state not in allowed:
            raise RuleViolation(rule=rule, detail=f"cannot {action} while the application is {self.state.value}")

    def _require_first_instance(self, action: str) -> None:
        self._require_state({ApplicationState.REGISTERED}, action)

    @property
    def decision(self) -> Decision | None:
        """The decision of the current round, if any."""
        if self.decisions and self.decisions[-1].round == self.decision_round:
            return self.decisions[-1]
        return None

    @property
    def closure(self) -> Closure | None:
        return self.closures[-1] if self.state is ApplicationState.CLOSED and self.closures else None

    @property
    def ending(self) -> EndingProceeding | None:
        return self.endings[-1] if self.endings else None

    @property
    def member_ids_covered(self) -> tuple[str, ...]:
        if self.appeal_member_outcomes is not None:
            outcomes = self.appeal_member_outcomes
        elif self.decision is not None:
            outcomes = self.decision.member_outcomes
        else:
            return ()
        return tuple(m for m, o in outcomes.items() if o is not MemberOutcome.REJECTED)

    @property
    def member_ids_holding_status(self) -> tuple[str, ...]:
        """Members who are refugees now: recognised (own right or derivative), status not ended, alive."""
        if self.state not in (ApplicationState.RECOGNISED, ApplicationState.STATUS_ENDED):
            return ()
        return tuple(m for m in self.member_ids_covered
                     if self.member(m).status_ending is None and not self.member(m).deceased)

    def member_outcome(self, member_id: str) -> MemberOutcome | None:
        """The member's outcome in the decision (or appeal) that stands, if any."""
        outcomes = (self.appeal_member_outcomes if self.appeal_member_outcomes is not None
                    else self.decision.member_outcomes if self.decision is not None else {})
        return outcomes.get(member_id)

    def member_status(self, member_id: str) -> str:
        """One member's own status in this procedure (docs/domain.md, Refugee status determination):
        deceased | status_ended | recognised | rejected | closed | pending."""
        member = self.member(member_id)
        if member.deceased:
            return "deceased"
        if member.status_ending is not None:
            return "status_ended"
        if self.state in (ApplicationState.RECOGNISED, ApplicationState.STATUS_ENDED):
            return "recognised" if member_id in self.member_ids_covered else "rejected"
        if self.state is ApplicationState.CLOSED:
            return "closed"
        if self.state is ApplicationState.REJECTED:
            return "rejected"
        return "pending"

    @property
    def removal_suspended(self) -> bool:
        """Non-refoulement: pending procedure, pending appeal, or recognised."""
        return (self.state in PENDING or self.state is ApplicationState.RECOGNISED
                or self.pending_appeal is not None)

    # ---- closure and reopening --------------------------------------------------------
    def close(self, *, reason: ClosureReason, on: date, member_id: str | None = None,
              new_principal_member_id: str | None = None) -> Closure | None:
        """Close the file; or, for a death (`member_id`, the principal by default) while others remain, record
        that member as deceased and let the family's claim go on (returns None then)."""
        if reason is not ClosureReason.DEATH and (member_id is not None or new_principal_member_id is not None):
            raise InvalidInput("a member and a new principal are named only for a closure on death")
        if self.state is ApplicationState.CLOSED:
            raise RuleViolation(rule="state_transition", detail="the application is already closed")
        if reason is ClosureReason.APPEAL_REJECTED:
            raise RuleViolation(rule="closure_reason", detail="a file closes for a rejected appeal only by deciding it")
        if reason is ClosureReason.WITHDRAWAL:
            self._require_state(PENDING, "withdraw the application")
        elif reason is ClosureReason.NO_APPEAL:
            grace_end = self.appeal_grace_ends
            if self.state is not ApplicationState.REJECTED or grace_end is None or on <= grace_end:
                raise RuleViolation(
                    rule="no_appeal_closure",
                    detail="a rejected file closes for no appeal only after the appeal window and its grace",
                )
        elif reason is ClosureReason.ABANDONMENT:
            self._require_state(PENDING, "close the application as abandoned")
            missed = [i.missed_on for i in self.interviews if i.status is InterviewStatus.NO_SHOW]
            if not missed:
                raise RuleViolation(rule="abandonment", detail="abandonment needs a missed interview")
            weeks = self.rules.abandonment_after_weeks
            last_missed = max(missed)
            contact = self.last_contact_on
            if contact is not None and contact >= last_missed and on < contact + timedelta(weeks=weeks):
                raise RuleViolation(
                    rule="abandonment_despite_contact",
                    detail=f"the applicant was in contact on {contact.isoformat()}, within the {weeks} weeks "
                           "before this closure: the application is not abandoned",
                )
            if on < last_missed + timedelta(weeks=weeks):
                raise RuleViolation(
                    rule="abandonment",
                    detail=f"abandonment needs a missed interview and {self.rules.abandonment_after_weeks} "
                           "weeks without contact",
                )
        elif reason is ClosureReason.DEATH:
            if self.state is ApplicationState.STATUS_ENDED:
                raise RuleViolation(rule="state_transition", detail="status has already ended")
            return self._death(self.member(member_id) if member_id else self.principal, on, new_principal_member_id)
        return self._close(reason, on)

    def person_died(self, person_id: str, on: date) -> bool:
        """The population register tells of a person's death (registration.person.deceased.v1): the member who
        is this person is recorded as deceased, as a closure on death naming them would (the file goes on for the
        others), unless this file knows already, is closed or has ended status. Returns whether it changed."""
        member = next((m for m in self.members if m.person_id == person_id), None)
        if member is None or member.deceased or self.state in (ApplicationState.CLOSED, ApplicationState.STATUS_ENDED):
            return False
        self.close(reason=ClosureReason.DEATH, on=on, member_id=member.id)
        return True

    def _death(self, deceased: Member, on: date, new_principal_member_id: str | None) -> Closure | None:
        if deceased.deceased:
            raise RuleViolation(rule="member_deceased", detail=f"member {deceased.id} is already recorded as deceased")
        others = [m for m in self.living_members if m.id != deceased.id]
        if self.state is ApplicationState.RECOGNISED:  # the file goes on only for someone who holds status
            others = [m for m in others if m.id in self.member_ids_holding_status]
        if new_principal_member_id is not None:
            if deceased.id != self.principal.id:
                raise InvalidInput("a new principal is named only when the principal has died")
            if new_principal_member_id not in {m.id for m in others}:
                raise InvalidInput("the new principal is a living member for whom the application goes on "
                                   "(in a recognised file, one who holds status)")
        deceased.deceased_on = on
        if not others:  # nobody left for whom the file goes on: it closes, as it always did
            return self._close(ClosureReason.DEATH, on, member_ids=(deceased.id,))
        new_principal = None
        if deceased.id == self.principal.id:
            new_principal = new_principal_member_id or self._successor(others, on).id
            self.principal_member_id = new_principal
        self.record(ApplicationClosed(self.id, self.person_id, ClosureReason.DEATH.value, on, (deceased.id,),
                                      file_closed=False, new_principal_member_id=new_principal))
        if new_principal is not None and self.state in PENDING and self.registered_on is not None:
            self._certificates_after_principal_death(on)
        return None

    def _certificates_after_principal_death(self, on: date) -> None:
        """The children were entered on the deceased principal's certificate, which ends with the death: they go
        on the new principal's (a new certificate naming them, valid as long as the current ones); when no
        adult is left, each child gets their own, as an unaccompanied child does."""
        age = self.rules.certificate_age_of_majority
        children = [m for m in self.living_members if not m.is_adult(on, age)]
        if not children:
            return
        adults = [m for m in self.living_members if m.is_adult(on, age)]
        # the new principal when adult, else the eldest adult left (a child named principal beside a parent)
        holder = self.principal if self.principal.is_adult(on, age) else (
            self._successor(adults, on) if adults else None)
        valid_until = max(c.valid_until for c in self.certificates)
        requests = ([(holder, tuple(c.person_id for c in children))] if holder is not None
                    else [(child, ()) for child in children])
        for member, child_ids in requests:
            self.certificates.append(CertificateRequest(member_id=member.id, issued_on=on, valid_until=valid_until,
                                                        reason="principal_deceased", child_person_ids=child_ids))
            self.record(CertificateRequested(self.id, member.id, member.person_id, child_ids, on, valid_until,
                                             "principal_deceased"))

    def _successor(self, others: list[Member], on: date) -> Member:
        """The eldest adult remaining member; if none is adult, the eldest. A member without a birth date counts
        as adult (as everywhere) but comes after those whose age is known; among equals, the first listed."""
        age = self.rules.certificate_age_of_majority
        adults = [m for m in others if m.is_adult(on, age)]
        return min(adults or others, key=lambda m: (m.birth_date is None, m.birth_date or date.max))

    def _close(self, reason: ClosureReason, on: date, member_ids: tuple[str, ...] | None = None) -> Closure:
        self.closures.append(Closure(reason=reason, closed_on=on))
        self.state = ApplicationState.CLOSED
        if member_ids is None:
            member_ids = tuple(m.id for m in self.living_members)
        self.record(ApplicationClosed(self.id, self.person_id, reason.value, on, member_ids))
        return self.closures[-1]

    def reopen(self, *, ground: ReopeningGround | None, reason: str, on: date) -> date:
        """Reopen a closed file on one of the three grounds; a new decision period starts. Returns it."""
        self._require_state({ApplicationState.CLOSED}, "reopen the application")
        if ground is None or not isinstance(ground, ReopeningGround):
            raise RuleViolation(
                rule="reopening_ground",
                detail="a file reopens only on changed circumstances, reliable new evidence that it was wrongly "
                       "decided, or serious reason to think it was improperly decided",
            )
        if self.closure is not None and self.closure.reason is ClosureReason.DEATH:
            raise RuleViolation(rule="reopening_ground", detail="a file closed on the applicant's death is not reopened")
        if not reason.strip():
            raise InvalidInput("a reopening states its reason")
        self.reopenings.append(Reopening(ground=ground, reason=reason, reopened_on=on))
        self.state = ApplicationState.REGISTERED
        self.clock_started_on = on
        self.cycle += 1
        self.recommendation = None
        self.decision_round += 1
        self.appeal_member_outcomes = None
        self.record(ApplicationReopened(self.id, self.person_id, ground.value, on, self.decision_due))
        self._request_certificates(on, "reopening")
        return self.decision_due

    # ---- deadlines --------------------------------------------------------------------
    def flag_missed_deadlines(self, today: date) -> list[DeadlineMissed]:
        """Record DeadlineMissed once for each deadline that has become overdue."""
        events = []
        for d in deadlines(self, today):
            key = f"{d.kind.value}:{d.due_on.isoformat()}"
            if d.status is DeadlineStatus.OVERDUE and key not in self.missed_deadlines:
                self.missed_deadlines.append(key)
                event = DeadlineMissed(self.id, d.kind.value, d.due_on, today)
                self.record(event)
                events.append(event)
        return events

    # ---- documents ----------------------------------------------------------------------
    def to_document(self) -> dict[str, Any]:
        doc = {**to_document(self), "document_version": 1}
        # fields added later are stored only when set, so a file that never used them stores as it always did
        if doc.get("principal_member_id") is None:
            doc.pop("principal_member_id", None)
        if not doc.get("contacts"):
            doc.pop("contacts", None)
        for decision in doc.get("decisions") or ():
            if decision.get("decided_by_name") is None:
                decision.pop("decided_by_name", None)
        for member in doc["members"]:
            for key in _MEMBER_FIELDS_IF_SET:
                if member.get(key) is None:
                    member.pop(key, None)
        return doc

    @classmethod
    def from_document(cls, doc: dict[str, Any], rules: RsdRules | None = None) -> Application:
        app = from_document(cls, doc, rules=rules or RsdRules())
        ending = app.ending
        if (app.state is ApplicationState.STATUS_ENDED and ending is not None and ending.status_ended
                and all(m.status_ending is None for m in app.members)):
            # stored before status was kept per member: the whole file's status had ended
            for member_id in ending.member_ids:
                app.member(member_id).status_ending = StatusEnding(
                    kind=ending.kind.value, grounds=ending.grounds, ended_on=ending.decided_on)
        return app
