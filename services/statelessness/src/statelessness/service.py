"""The statelessness use cases: what the routes (HTTP) and the handlers (consumed events) both call.

Every command runs through the kit's one template (`pana_kit.application`: load → If-Match →
domain step → versioned save → `publishing.py` → outbox → audit) in the caller's unit of work.
Officers' commands carry their principal and the route's If-Match; system commands (handlers)
act on the current version (`ANY_VERSION`) and are not audited. Reads are audited with the
caller's purpose in the read's own transaction, a miss included.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from pana_kit import audit
from pana_kit.application import ANY_VERSION, Audit, Outcome, run_command, run_creation
from pana_kit.auth import Principal
from pana_kit.crypto import Keyring
from pana_kit.domain import AccessDenied, NotFound, RuleViolation
from pana_kit.paging import Page

from .domain import (
    AppealOutcome,
    BroughtBy,
    ChildAtRiskFlag,
    DeterminationCase,
    Evidence,
    EvidenceKind,
    EvidenceWeight,
    InquiryAnswer,
    NaturalizationOutcome,
    NaturalizationTrack,
    OpeningReason,
    Outcome as DeterminationOutcome,
    ParentNationality,
    ResolutionBasis,
    StateLink,
    StatelessnessRules,
)
from .domain.statistics import statistics_as_of
from .publishing import case_events, flag_events, track_events
from .store.repository import Cases, ChildFlags, NaturalizationTracks, PersonInProcedure, Persons
from .store.statistics import statistics_facts
from .store.summary import Summary
from .store.tables import CaseRow, InquiryRow

SERVICE = "statelessness"


def _audit(principal: Principal, action: str, resource: str) -> Audit:
    return Audit(principal, action, resource[:300], purpose=None, service=SERVICE)


async def audited(session, principal, action: str, resource: str, *, purpose: str | None = None, outcome: str = "ok"):
    await audit.record(session, principal, action, resource[:300], purpose=purpose, outcome=outcome, service=SERVICE)


class Statelessness:
    """The commands of the procedure, inside one unit of work (an HTTP request's or a consumed event's)."""

    def __init__(self, uow, *, rules: StatelessnessRules, keyring: Keyring | None):
        self.uow = uow
        self.rules = rules
        self.keyring = keyring
        self.cases = Cases(uow.session, keyring)
        self.flags = ChildFlags(uow.session)
        self.tracks = NaturalizationTracks(uow.session)
        self.persons = Persons(uow.session)

    # ----------------------------------------------------------------- opening
    async def open_on_application(self, *, person_id: str, opened_on: date, birth_date: date | None,
                                  reason_note: str, principal: Principal) -> Outcome[DeterminationCase]:
        if await self.cases.in_procedure(person_id):
            raise RuleViolation("one_case_at_a_time", "this person already has a case in the procedure")
        person = await self.persons.get(person_id)
        try:
            return await self._open(self.cases, person_id=person_id, reason=OpeningReason.APPLICATION,
                                    opened_on=opened_on, birth_date=birth_date or (person.birth_date if person else None),
                                    opened_by=principal.subject, reason_note=reason_note, principal=principal)
        except PersonInProcedure:  # opened meanwhile (an ex-officio opening, another request): the same rule
            raise RuleViolation("one_case_at_a_time", "this person already has a case in the procedure") from None

    async def open_ex_officio(self, *, person_id: str, reason: OpeningReason, opened_on: date,
                              birth_date: date | None, opened_by: str, note: str,
                              source_event_id: str) -> Outcome[DeterminationCase] | None:
        if await self.cases.any_for_person(person_id):
            return None  # already in (or through) the procedure: a new case is the officer's call (POST /cases)
        # Opened meanwhile by an application: PersonInProcedure (an IntegrityError) goes to the consumer, which
        # handles the event again in a new transaction; this check then finds the case. No duplicate, no dead letter.
        cases = Cases(self.uow.session, self.keyring, source_event_id=source_event_id)
        return await self._open(cases, person_id=person_id, reason=reason, opened_on=opened_on,
                                birth_date=birth_date if birth_date and birth_date <= opened_on else None,
                                opened_by=opened_by, reason_note=note)

    async def _open(self, cases: Cases, *, person_id: str, reason: OpeningReason, opened_on: date,
                    birth_date: date | None, opened_by: str, reason_note: str,
                    principal: Principal | None = None) -> Outcome[DeterminationCase]:
        case = DeterminationCase.open(
            case_id=str(uuid.uuid4()), person_id=person_id, reason=reason, opened_on=opened_on, rules=self.rules,
            birth_date=birth_date, opened_by=opened_by, reason_note=reason_note,
            feared_states=await self.persons.feared_states(person_id),
        )
        trail = _audit(principal, "create", f"case/{case.case_id}") if principal else None
        return await run_creation(self.uow, cases, case, case.case_id, publish=case_events, audit=trail)

    # ----------------------------------------------------------------- the case's steps
    async def _change_case(self, case_id: str, step: Callable[[DeterminationCase], Any], *, if_match: str | None,
                           principal: Principal, action: str) -> Outcome[DeterminationCase]:
        persons = self.persons

        async def with_current_fears(case: DeterminationCase):
            # The confidentiality projection only grows: a State once feared stays feared.
            case.update_feared_states(case.feared_states | await persons.feared_states(case.person_id))
            return step(case)

        return await run_command(self.uow, self.cases, case_id, with_current_fears, if_match=if_match,
                                 publish=case_events, audit=_audit(principal, action, f"case/{case_id}"))

    async def add_evidence(self, case_id: str, *, kind: EvidenceKind, source: str, weight: EvidenceWeight,
                           brought_by: BroughtBy, received_on: date, description: str, if_match, principal):
        item = Evidence(evidence_id=str(uuid.uuid4()), kind=kind, source=source, weight=weight, brought_by=brought_by,
                        received_on=received_on, description=description)
        return await self._change_case(case_id, lambda c: c.add_evidence(item), if_match=if_match,
                                       principal=principal, action="add-evidence")

    async def send_inquiry(self, case_id: str, *, state: str, link: StateLink, sent_on: date, if_match, principal):
        return await self._change_case(case_id, lambda c: c.send_inquiry(
            inquiry_id=str(uuid.uuid4()), state=state, link=link, sent_on=sent_on, rules=self.rules),
            if_match=if_match, principal=principal, action="send-inquiry")

    async def record_inquiry_answer(self, case_id: str, inquiry_id: str, *, answer: InquiryAnswer, answered_on: date,
                                    weight: EvidenceWeight, if_match, principal):
        return await self._change_case(case_id, lambda c: c.record_inquiry_answer(
            inquiry_id=inquiry_id, answer=answer, answered_on=answered_on, weight=weight),
            if_match=if_match, principal=principal, action="answer-inquiry")

    async def record_inquiry_unanswered(self, case_id: str, inquiry_id: str, *, found_on: date, if_match, principal):
        return await self._change_case(case_id, lambda c: c.record_inquiry_unanswered(
            inquiry_id=inquiry_id, today=found_on), if_match=if_match, principal=principal, action="inquiry-unanswered")

    async def hold_interview(self, case_id: str, *, held_on: date, interpreter_id: str | None,
                             legal_representative_present: bool, notes: str, if_match, principal):
        return await self._change_case(case_id, lambda c: c.hold_interview(
            held_on=held_on, officer_id=principal.subject, interpreter_id=interpreter_id,
            legal_representative_present=legal_representative_present, notes=notes),
            if_match=if_match, principal=principal, action="interview")

    async def assign(self, case_id: str, *, officer_id: str, if_match, principal):
        # If-Match is optional here: an officer takes an unassigned case (opened ex officio) without having
        # been able to read it, and an assignment changes no content of the case.
        return await self._change_case(case_id, lambda c: c.assign(officer_id=officer_id),
                                       if_match=if_match or ANY_VERSION, principal=principal, action="assign")

    async def extend_decision_deadline(self, case_id: str, *, new_due: date, reasons: str, extended_on: date,
                                       if_match, principal):
        return await self._change_case(case_id, lambda c: c.extend_decision_deadline(
            new_due=new_due, reasons=reasons, extended_on=extended_on, rules=self.rules),
            if_match=if_match, principal=principal, action="extend")

    async def determine(self, case_id: str, *, outcome: DeterminationOutcome, decided_on: date, reasons: str,
                        nationality: str | None, confirmed_nationality_reasons: str | None,
                        notified_on: date | None, if_match, principal):
        return await self._change_case(case_id, lambda c: c.determine(
            outcome=outcome, officer_id=principal.subject, decided_on=decided_on, reasons=reasons, rules=self.rules,
            nationality=nationality, confirmed_nationality_reasons=confirmed_nationality_reasons,
            notified_on=notified_on), if_match=if_match, principal=principal, action="determine")

    async def lodge_appeal(self, case_id: str, *, lodged_on: date, if_match, principal):
        return await self._change_case(case_id, lambda c: c.lodge_appeal(
            appeal_id=str(uuid.uuid4()), lodged_on=lodged_on, rules=self.rules),
            if_match=if_match, principal=principal, action="lodge-appeal")

    async def decide_appeal(self, case_id: str, *, outcome: AppealOutcome, decided_on: date, reasons: str,
                            if_match, principal):
        return await self._change_case(case_id, lambda c: c.decide_appeal(
            outcome=outcome, officer_id=principal.subject, decided_on=decided_on, reasons=reasons, rules=self.rules),
            if_match=if_match, principal=principal, action="decide-appeal")

    # ----------------------------------------------------------------- children at risk
    async def raise_flag_for_birth(self, *, child_id: str, birth_date: date, born_in_kazakhstan: bool, foundling: bool,
                                   parents: list[ParentNationality], parents_reside_permanently: bool,
                                   flagged_on: date) -> Outcome[ChildAtRiskFlag] | None:
        """Flag a child born at risk of statelessness (None: no rule applies, or a flag is already open)."""
        if await self.flags.open_for_child(child_id):
            return None
        flag = ChildAtRiskFlag.raise_for_birth(
            flag_id=str(uuid.uuid4()), child_id=child_id, birth_date=birth_date, born_in_kazakhstan=born_in_kazakhstan,
            foundling=foundling, parents=parents, parents_reside_permanently=parents_reside_permanently,
            flagged_on=flagged_on, rules=self.rules,
        )
        if flag is None:
            return None
        return await run_creation(self.uow, self.flags, flag, flag.flag_id, publish=flag_events)

    async def resolve_flag(self, flag_id: str, *, basis: ResolutionBasis, resolved_on: date, nationality: str | None,
                           if_match, principal) -> Outcome[ChildAtRiskFlag]:
        return await run_command(self.uow, self.flags, flag_id, lambda f: f.resolve(
            basis=basis, resolved_on=resolved_on, rules=self.rules, nationality=nationality),
            if_match=if_match, publish=flag_events, audit=_audit(principal, "resolve", f"child-flag/{flag_id}"))

    # ----------------------------------------------------------------- naturalization
    async def open_naturalization_track(self, *, case_id: str, lawful_residence_from: date, opened_on: date,
                                        principal: Principal) -> Outcome[NaturalizationTrack]:
        case, _ = await self.cases.load(case_id)
        if await self.tracks.for_case(case_id):
            raise RuleViolation("one_naturalization_track_per_case", "this case already has a naturalization track")
        track = NaturalizationTrack.open_for(case, track_id=str(uuid.uuid4()),
                                             lawful_residence_from=lawful_residence_from, opened_on=opened_on,
                                             rules=self.rules)
        return await run_creation(self.uow, self.tracks, track, track.track_id, publish=track_events,
                                  audit=_audit(principal, "create", f"naturalization-track/{track.track_id}"))

    async def decide_naturalization(self, track_id: str, *, outcome: NaturalizationOutcome, decided_on: date,
                                    reasons: str | None, if_match, principal) -> Outcome[NaturalizationTrack]:
        return await run_command(self.uow, self.tracks, track_id, lambda t: t.decide(
            outcome=outcome, decided_on=decided_on, reasons=reasons),
            if_match=if_match, publish=track_events,
            audit=_audit(principal, "decide", f"naturalization-track/{track_id}"))

    # ----------------------------------------------------------------- persons merged (registration)
    async def person_died(self, person_id: str, died_on: date) -> list[str]:
        """Registration tells of a death: the person's cases still in (or through) the procedure close on it.
        Returns the ids closed."""
        if await self.persons.get(person_id) is not None:
            await self.persons.upsert(person_id, legal_status="deceased")
        closed = []
        for case_id in await self.cases.ids_for_person(person_id):
            done = await run_command(self.uow, self.cases, case_id, lambda case: case.close_on_death(died_on=died_on),
                                     if_match=ANY_VERSION, publish=case_events)
            if done.result:
                closed.append(case_id)
        return closed

    async def persons_merged(self, merged_person_id: str, surviving_person_id: str) -> None:
        """The merged record lives on as the surviving one: re-point cases, flags and claims."""
        old, new = merged_person_id, surviving_person_id
        await self.persons.merged(old, new)

        def to_surviving_case(case: DeterminationCase) -> None:
            case.person_id = new

        def to_surviving_child(flag: ChildAtRiskFlag) -> None:
            flag.child_id = new

        # One case in the procedure per person: when both records had one, the merged record's stays under its old
        # person id (an officer closes one of the two; cases are not merged automatically), the others move.
        keep_live = await self.cases.in_procedure(new)
        for case_id in await self.cases.ids_for_person(old, in_procedure=False if keep_live else None):
            await run_command(self.uow, self.cases, case_id, to_surviving_case, if_match=ANY_VERSION,
                              publish=case_events)
        for flag_id in await self.flags.ids_for_child(old):
            await run_command(self.uow, self.flags, flag_id, to_surviving_child, if_match=ANY_VERSION,
                              publish=flag_events)


# --------------------------------------------------------------------- reads (audited)
async def _read(state, find, record_id: str, resource: str, missing: str, principal: Principal, purpose: str):
    async with state.db.transaction() as session:
        found = await find(session, record_id)
        await audited(session, principal, "read", resource, purpose=purpose, outcome="ok" if found else "not_found")
    if found is None:
        raise NotFound(missing)
    return found


async def read_case(state, case_id: str, principal: Principal, purpose: str) -> tuple[DeterminationCase, int]:
    """One case, for its assigned officer and its deciders only (`DeterminationCase.check_reader`); audited
    either way (`denied` for a refusal)."""
    denied: AccessDenied | None = None
    async with state.db.transaction() as session:
        found = await Cases(session, state.keyring).find(case_id)
        if found is not None:
            try:
                found[0].check_reader(principal.subject)
            except AccessDenied as exc:
                denied = exc
        outcome = "not_found" if found is None else "denied" if denied else "ok"
        await audited(session, principal, "read", f"case/{case_id}", purpose=purpose, outcome=outcome)
    if found is None:
        raise NotFound(f"no case {case_id}")
    if denied is not None:
        raise denied
    return found


async def read_flag(state, flag_id: str, principal: Principal, purpose: str) -> tuple[ChildAtRiskFlag, int]:
    return await _read(state, lambda session, i: ChildFlags(session).find(i), flag_id, f"child-flag/{flag_id}",
                       f"no child-at-risk flag {flag_id}", principal, purpose)


async def read_track(state, track_id: str, principal: Principal, purpose: str) -> tuple[NaturalizationTrack, int]:
    return await _read(state, lambda session, i: NaturalizationTracks(session).find(i), track_id,
                       f"naturalization-track/{track_id}", f"no naturalization track {track_id}", principal, purpose)


async def _list(state, page_of, resource: str, principal: Principal, purpose: str) -> Page:
    async with state.db.transaction() as session:
        page = await page_of(session)
        await audited(session, principal, "list", resource, purpose=purpose)
    return page


async def case_page(state, principal: Principal, purpose: str, *, person_id: str | None, status: str | None,
                    reason: str | None, cursor: dict | None, limit: int) -> Page[CaseRow]:
    return await _list(state, lambda session: Cases(session, state.keyring).page(
        person_id=person_id, status=status, reason=reason, cursor=cursor, limit=limit),
        f"cases?person_id={person_id or '*'}", principal, purpose)


async def overdue_inquiries(state, principal: Principal, purpose: str, *, today: date, state_code: str | None,
                            cursor: dict | None, limit: int) -> Page[InquiryRow]:
    return await _list(state, lambda session: Cases(session, state.keyring).overdue_inquiries(
        today=today, state=state_code, cursor=cursor, limit=limit), "inquiries/overdue", principal, purpose)


async def flag_page(state, principal: Principal, purpose: str, *, child_person_id: str | None, open: bool | None,
                    rule: str | None, cursor: dict | None, limit: int) -> Page[ChildAtRiskFlag]:
    return await _list(state, lambda session: ChildFlags(session).page(
        child_person_id=child_person_id, open=open, rule=rule, cursor=cursor, limit=limit),
        f"children-at-risk?child={child_person_id or '*'}", principal, purpose)


async def eligible_tracks(state, principal: Principal, purpose: str, *, when: str, today: date, cursor: dict | None,
                          limit: int) -> Page[NaturalizationTrack]:
    return await _list(state, lambda session: NaturalizationTracks(session).eligible(
        now=when == "now", today=today, horizon_days=state.rules.soon_horizon_days, cursor=cursor, limit=limit),
        f"naturalization/eligible?when={when}", principal, purpose)


async def statistics(state, principal: Principal, on: date) -> dict[str, Any]:
    """Every figure as of a day, small cells masked, from the summary the writes keep (store/summary.py); the read
    is audited for the purpose 'statistics'."""
    async with state.db.transaction() as session:
        figures = await Summary(session).figures_on(on, state.rules.small_cell_threshold)
        await audited(session, principal, "statistics", f"statistics?as_of={on.isoformat()}", purpose="statistics")
    return figures


async def statistics_recount(session, on: date, threshold: int) -> dict[str, Any]:
    """The same figures counted from every record (what the summary must always equal)."""
    return statistics_as_of(await statistics_facts(session, on), on, threshold)
