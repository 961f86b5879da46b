"""rsd's use cases: every change to an application, run through the kit's one command template.

Routes (a caseworker's request) and event handlers / the deadline watcher (the system) call
these; a caseworker acts on their own office's applications with the version they read
(`if_match`), the system on any application's current version (`ANY_VERSION`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from pana_kit import audit as audit_log
from pana_kit.application import ANY_VERSION, Audit, Outcome, run_command, run_creation
from pana_kit.crypto import Keyring
from pana_kit.domain import AccessDenied, NotFound
from pana_kit.paging import Page

from .domain import (AppealOutcome, Application, ArrivalManner, Assessment, ClosureReason, ContactKind, EndingKind,
                     Interpreter,
                     Member, MemberOutcome, Outcome as DecisionOutcome, ProcessingMode, RejectionReason,
                     ReopeningGround, RsdRules, Sex, SpecificNeed)
from .domain.access import check_claim_reader
from .publishing import publish
from .store.repository import EVERY_OFFICE, Applications, ClaimTexts
from .store.statistics import Statistics
from .store.tables import ApplicationRow

SERVICE = "rsd"


def visible_to(session, rules: RsdRules, principal) -> Applications:
    """The applications a caller may see and change: their office's only."""
    return Applications(session, rules, office=principal.office)


@dataclass
class Caseworker:
    """A caller acting in one unit of work: sees and changes only their office's applications."""

    uow: Any  # pana_kit.outbox.UnitOfWork
    rules: RsdRules
    keyring: Keyring
    principal: Any  # pana_kit.auth.Principal

    @property
    def applications(self) -> Applications:
        return visible_to(self.uow.session, self.rules, self.principal)

    @property
    def texts(self) -> ClaimTexts:
        return ClaimTexts(self.uow.session, self.keyring)

    def audit(self, action: str, application_id: str) -> Audit:
        return Audit(self.principal, action, f"application/{application_id}", service=SERVICE)


async def _change(cw: Caseworker, application_id: str, step: Callable[[Application], Any], *, if_match: str | None,
                  action: str) -> Outcome[Application]:
    return await run_command(cw.uow, cw.applications, application_id, step, if_match=if_match, publish=publish,
                             audit=cw.audit(action, application_id))


# ---- lodging and registration ------------------------------------------------------------
async def lodge(cw: Caseworker, *, principal: Member, family: list[Member], lodged_on: date, arrived_on: date,
                manner_of_arrival: ArrivalManner, officer_id: str | None, lodging_language: str,
                previous_application_id: str | None, register_on: date | None,
                narrative: str | None) -> Outcome[Application]:
    app = Application.lodge(
        application_id=str(uuid.uuid4()), office=cw.principal.office, principal=principal, lodged_on=lodged_on,
        arrived_on=arrived_on, manner_of_arrival=manner_of_arrival, officer_id=officer_id, family=family,
        lodging_language=lodging_language, previous_application_id=previous_application_id, rules=cw.rules)
    if register_on:
        app.register(on=register_on)
    done = await run_creation(cw.uow, cw.applications, app, app.id, publish=publish, audit=cw.audit("lodge", app.id))
    if narrative:
        cw.texts.write(app.id, "narrative", app.principal.id, narrative, by=cw.principal.subject)
    return done


async def lodge_referred(uow, rules: RsdRules, *, referral_id: str, principal: Member, office: str,
                         referred_on: date, registered_on: date, irregular_entry: bool,
                         arrived_on: date | None = None, late: bool = False,
                         family: list[Member] | None = None) -> Outcome[Application] | None:
    """A person referred at the border is registered: the application is lodged and registered, once.

    The border referral is registered within the lodging window (docs/domain.md), so the application is
    lodged on the day of registration, counted from the day of arrival (the referral's day when the event
    does not say); registration's own finding `late` is kept either way. A group referral's members (`family`)
    are on the same application, each with their own status."""
    applications = Applications(uow.session, rules, office=EVERY_OFFICE)
    if await applications.by_referral(referral_id) is not None:
        return None  # the same referral seen again under another event id
    app = Application.lodge(
        application_id=str(uuid.uuid4()), office=office, principal=principal, family=family, lodged_on=registered_on,
        arrived_on=min(arrived_on or referred_on, registered_on), rules=rules, reported_late=late,
        manner_of_arrival=ArrivalManner.IRREGULAR if irregular_entry else ArrivalManner.AT_BORDER_CROSSING)
    app.register(on=registered_on)
    return await run_creation(uow, applications.from_referral(referral_id), app, app.id, publish=publish)


async def register(cw: Caseworker, application_id: str, *, on: date, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.register(on=on), if_match=if_match, action="register")


async def record_fingerprinting(cw: Caseworker, application_id: str, *, on: date, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.record_fingerprinting(on=on), if_match=if_match,
                         action="fingerprinting")


async def set_processing_mode(cw: Caseworker, application_id: str, *, mode: ProcessingMode, reason: str,
                              if_match: str | None):
    return await _change(cw, application_id, lambda app: app.set_processing_mode(mode=mode, reason=reason),
                         if_match=if_match, action="processing-mode")


async def assign(cw: Caseworker, application_id: str, *, officer_id: str, on: date, reason: str,
                 if_match: str | None):
    return await _change(cw, application_id, lambda app: app.reassign(officer_id=officer_id, on=on, reason=reason),
                         if_match=if_match, action="assign")


async def record_contact(cw: Caseworker, application_id: str, *, kind: ContactKind, on: date, note: str | None,
                         if_match: str | None):
    return await _change(cw, application_id, lambda app: app.record_applicant_contact(
        kind=kind, on=on, note=note, recorded_by=cw.principal.subject), if_match=if_match, action="record-contact")


async def add_child(cw: Caseworker, application_id: str, *, member_id: str | None, person_id: str, birth_date: date,
                    sex: Sex | None, name: str | None, on: date, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.add_child(
        member_id=member_id, person_id=person_id, birth_date=birth_date, sex=sex, name=name, on=on),
        if_match=if_match, action="add-member")


# ---- interviews and assessment --------------------------------------------------------------
async def schedule_interview(cw: Caseworker, application_id: str, *, member_id: str, scheduled_on: date,
                             interviewer_id: str, interviewer_sex: Sex | None, interpreter: Interpreter | None,
                             legal_representative_id: str | None, legal_representative_consent: bool,
                             same_gender_interviewer_requested: bool | None,
                             same_gender_interpreter_requested: bool | None, if_match: str | None):
    def step(app: Application) -> None:
        member = app.member(member_id)
        if same_gender_interviewer_requested is not None:
            member.same_gender_interviewer_requested = same_gender_interviewer_requested
        if same_gender_interpreter_requested is not None:
            member.same_gender_interpreter_requested = same_gender_interpreter_requested
        app.schedule_interview(
            interview_id=f"i{len(app.interviews) + 1}", member_id=member_id, scheduled_on=scheduled_on,
            interviewer_id=interviewer_id, interviewer_sex=interviewer_sex, interpreter=interpreter,
            legal_representative_id=legal_representative_id, legal_representative_consent=legal_representative_consent)
    return await _change(cw, application_id, step, if_match=if_match, action="schedule-interview")


async def reschedule_interview(cw: Caseworker, application_id: str, interview_id: str, *, to_date: date, reason: str,
                               on: date, interviewer_id: str | None, interviewer_sex: Sex | None,
                               interpreter: Interpreter | None, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.reschedule_interview(
        interview_id, to_date=to_date, reason=reason, on=on, interviewer_id=interviewer_id,
        interviewer_sex=interviewer_sex, interpreter=interpreter), if_match=if_match, action="reschedule-interview")


async def record_no_show(cw: Caseworker, application_id: str, interview_id: str, *, on: date, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.record_no_show(interview_id, on=on), if_match=if_match,
                         action="no-show")


async def record_interview_held(cw: Caseworker, application_id: str, interview_id: str, *, held_on: date,
                                record: str, if_match: str | None):
    def step(app: Application) -> None:
        app.record_interview_held(interview_id, on=held_on)
        cw.texts.write(app.id, "interview_record", interview_id, record, by=cw.principal.subject)
    return await _change(cw, application_id, step, if_match=if_match, action="interview-held")


async def record_assessment(cw: Caseworker, application_id: str, assessment: Assessment, *, notes: str | None,
                            if_match: str | None):
    def step(app: Application) -> None:
        app.record_assessment(assessment)
        if notes:
            cw.texts.write(app.id, "assessment", assessment.member_id, notes, by=cw.principal.subject)
    return await _change(cw, application_id, step, if_match=if_match, action="assess")


# ---- recommendation, decision, notification, extension -----------------------------------------
async def recommend(cw: Caseworker, application_id: str, *, outcome: DecisionOutcome, on: date,
                    rejection_reasons: tuple[RejectionReason, ...], if_match: str | None):
    return await _change(cw, application_id, lambda app: app.recommend(
        officer_id=cw.principal.subject, outcome=outcome, on=on, rejection_reasons=rejection_reasons),
        if_match=if_match, action="recommend")


async def decide(cw: Caseworker, application_id: str, *, on: date, outcome: DecisionOutcome | None,
                 rejection_reasons: tuple[RejectionReason, ...] | None, member_outcomes: dict[str, MemberOutcome],
                 if_match: str | None):
    return await _change(cw, application_id, lambda app: app.issue_decision(
        decided_by=cw.principal.subject, on=on, outcome=outcome, rejection_reasons=rejection_reasons,
        member_outcomes=member_outcomes), if_match=if_match, action="decide")


async def serve_notification(cw: Caseworker, application_id: str, *, on: date, language: str, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.serve_notification(on=on, language=language),
                         if_match=if_match, action="notify")


async def extend_decision_period(cw: Caseworker, application_id: str, *, months: int, reason: str, on: date,
                                 if_match: str | None):
    return await _change(cw, application_id, lambda app: app.extend_decision_period(
        months=months, reason=reason, on=on, by=cw.principal.subject), if_match=if_match, action="extend")


# ---- appeal, closure, reopening ------------------------------------------------------------------
async def lodge_appeal(cw: Caseworker, application_id: str, *, lodged_on: date, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.lodge_appeal(
        appeal_id=f"ap{len(app.appeals) + 1}", on=lodged_on), if_match=if_match, action="lodge-appeal")


async def decide_appeal(cw: Caseworker, application_id: str, *, on: date, outcome: AppealOutcome,
                        member_outcomes: dict[str, MemberOutcome], if_match: str | None):
    return await _change(cw, application_id, lambda app: app.decide_appeal(
        decided_by=cw.principal.subject, on=on, outcome=outcome, member_outcomes=member_outcomes),
        if_match=if_match, action="decide-appeal")


async def close(cw: Caseworker, application_id: str, *, reason: ClosureReason, on: date, if_match: str | None,
                member_id: str | None = None, new_principal_member_id: str | None = None):
    return await _change(cw, application_id, lambda app: app.close(
        reason=reason, on=on, member_id=member_id, new_principal_member_id=new_principal_member_id),
        if_match=if_match, action="close")


async def reopen(cw: Caseworker, application_id: str, *, ground: ReopeningGround | None, reason: str, on: date,
                 if_match: str | None):
    return await _change(cw, application_id, lambda app: app.reopen(ground=ground, reason=reason, on=on),
                         if_match=if_match, action="reopen")


# ---- ending of status ----------------------------------------------------------------------------
async def give_ending_notice(cw: Caseworker, application_id: str, *, kind: EndingKind, grounds: tuple[str, ...],
                             on: date, member_ids: tuple[str, ...] | None, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.give_ending_notice(
        kind=kind, grounds=grounds, on=on, member_ids=member_ids), if_match=if_match, action="ending-notice")


async def record_ending_response(cw: Caseworker, application_id: str, *, on: date, response: str,
                                 if_match: str | None):
    def step(app: Application) -> None:
        ref = f"ending{len(app.endings)}"
        app.record_ending_response(on=on, response=f"(encrypted: claim text ending_response/{ref})")
        cw.texts.write(app.id, "ending_response", ref, response, by=cw.principal.subject)
    return await _change(cw, application_id, step, if_match=if_match, action="ending-response")


async def decide_ending(cw: Caseworker, application_id: str, *, on: date, end_status: bool, compelling_reasons: Any,
                        notified_on: date | None, if_match: str | None):
    return await _change(cw, application_id, lambda app: app.decide_ending(
        decided_by=cw.principal.subject, on=on, end_status=end_status, compelling_reasons=compelling_reasons,
        notified_on=notified_on), if_match=if_match, action="ending-decision")


# ---- the system's commands -------------------------------------------------------------------------
async def person_needs_changed(uow, rules: RsdRules, *, person_id: str,
                               needs: frozenset[SpecificNeed]) -> list[str]:
    """Registration changed a person's specific needs: each pending application they are on takes them, on its
    current version, so its priority is recomputed. Returns the ids changed."""
    applications = Applications(uow.session, rules, office=EVERY_OFFICE)
    changed = []
    for application_id in await applications.open_of(person_id):
        done = await run_command(uow, applications, application_id,
                                 lambda app: any(m.person_id == person_id for m in app.members)
                                 and app.person_needs_changed(person_id, needs),
                                 if_match=ANY_VERSION, publish=publish)
        if done.result:
            changed.append(application_id)
    return changed


async def person_died(uow, rules: RsdRules, *, person_id: str, died_on: date) -> list[str]:
    """Registration tells of a death: every live file the person is on records it (rsd.application.closed.v1,
    `death`, naming them alone); a file that knows already changes nothing. Returns the ids changed."""
    applications = Applications(uow.session, rules, office=EVERY_OFFICE)
    changed = []
    for application_id in await applications.live_files_of(person_id):
        done = await run_command(uow, applications, application_id, lambda app: app.person_died(person_id, died_on),
                                 if_match=ANY_VERSION, publish=publish)
        if done.result:
            changed.append(application_id)
    return changed


async def report_missed_deadlines(uow, rules: RsdRules, application_id: str, today: date) -> int:
    """Report each deadline of one application missed by `today`, once. Returns how many."""
    done = await run_command(uow, Applications(uow.session, rules, office=EVERY_OFFICE), application_id,
                             lambda app: app.flag_missed_deadlines(today), if_match=ANY_VERSION, publish=publish)
    return len(done.result)


# ---- reads -----------------------------------------------------------------------------------------
async def read(session, rules: RsdRules, keyring: Keyring, principal, application_id: str, *, purpose: str,
               action: str) -> tuple[ApplicationRow, Application, list[dict] | None]:
    """One application of the caller's office (and its claim's texts for `read-claim`); every read is audited."""
    try:
        row = await visible_to(session, rules, principal).row(application_id)
    except NotFound:
        await audit_log.record(session, principal, action, f"application/{application_id[:64]}", purpose=purpose,
                               outcome="not_found", service=SERVICE)
        raise
    app = Application.from_document(row.document, rules=rules)
    if action == "read-claim":
        try:
            check_claim_reader(assigned_officer=app.officer_id, subject=principal.subject,
                               scopes=frozenset(principal.scopes))
        except AccessDenied:
            # Audited, and committed by the caller's transaction before the refusal reaches the client.
            await audit_log.record(session, principal, action, f"application/{row.id}", purpose=purpose,
                                   outcome="denied", service=SERVICE)
            raise
    await audit_log.record(session, principal, action, f"application/{row.id}", purpose=purpose, service=SERVICE)
    texts = await ClaimTexts(session, keyring).read(row.id) if action == "read-claim" else None
    return row, app, texts


async def list_applications(session, rules: RsdRules, principal, *, purpose: str, limit: int, cursor: dict | None,
                            person_id: str | None, status: str | None, office: str | None) -> Page[ApplicationRow]:
    page = await visible_to(session, rules, principal).page(
        limit=limit, cursor=cursor, person_id=person_id, status=status, office=office)
    await audit_log.record(session, principal, "list", f"applications?person_id={person_id or '*'}", purpose=purpose,
                           service=SERVICE)
    return page


async def deadlines(session, rules: RsdRules, principal, *, on: date, overdue: bool, purpose: str, limit: int,
                    cursor: dict | None, officer_id: str | None, office: str | None) -> Page[ApplicationRow]:
    page = await visible_to(session, rules, principal).with_deadlines(
        today=on, overdue=overdue, horizon_days=rules.approaching_days, limit=limit, officer_id=officer_id,
        office=office, cursor=cursor)
    status = "overdue" if overdue else "approaching"
    await audit_log.record(session, principal, "list", f"deadlines?status={status}", purpose=purpose, service=SERVICE)
    return page


async def my_queue(session, rules: RsdRules, principal, *, purpose: str, limit: int,
                   cursor: dict | None) -> Page[ApplicationRow]:
    page = await visible_to(session, rules, principal).queue(
        officer_id=principal.subject, limit=limit, cursor=cursor)
    await audit_log.record(session, principal, "list", "queues/mine", purpose=purpose, service=SERVICE)
    return page


async def lodged_by(session, rules: RsdRules, principal, on: date) -> list[Application]:
    """The caller's office's applications lodged by a day (a recount of the statistics; audited)."""
    apps = await visible_to(session, rules, principal).lodged_by(on)
    await audit_log.record(session, principal, "statistics", f"statistics?as_of={on}", purpose="statistics",
                           service=SERVICE)
    return apps


async def statistics_tally(session, principal, on: date) -> dict:
    """The caller's office's figures on a day (`domain.statistics.tally`'s shape), from the summary the saves keep
    (audited)."""
    figures = await Statistics(session).tally(principal.office, on)
    await audit_log.record(session, principal, "statistics", f"statistics?as_of={on}", purpose="statistics",
                           service=SERVICE)
    return figures
