"""Steps of the procedure on one application. Each needs `If-Match` (the ETag of your last read),
answers with the updated application and its new ETag, and publishes the contract events.
A step the procedure forbids is 409 problem+json naming the rule."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import if_match_header

from ..domain import (AppealOutcome, Assessment, ClosureReason, ContactKind, CredibilityConcern, CredibilityFinding, EndingKind,
                      ExclusionClause, Ground, Interpreter, MemberOutcome, Outcome, ProcessingMode, RejectionReason,
                      ReopeningGround, Sex)
from . import schemas as s
from .. import service
from .case import COMMAND_ERRORS, command, today
from .schemas import ApplicationDetail

router = APIRouter(prefix="/api/v1/applications/{application_id}", tags=["procedure"])
APP_ID = Path(..., max_length=64, pattern=s.ID, description="The application's id")
STEP_ID = Path(..., max_length=64, pattern=s.ID)
DOC = dict(response_model=ApplicationDetail, responses=problem_responses(*COMMAND_ERRORS))


def _sex(value: str | None) -> Sex | None:
    return Sex(value) if value else None


def _interpreter(i: s.InterpreterIn | None) -> Interpreter | None:
    return Interpreter(id=i.id, language=i.language, dialect=i.dialect, sex=_sex(i.sex)) if i else None


def _outcomes(given: dict[str, str]) -> dict[str, MemberOutcome]:
    return {k: MemberOutcome(v) for k, v in given.items()}


def _reasons(given: list[str]) -> tuple[RejectionReason, ...]:
    return tuple(RejectionReason(r) for r in given)


def _assessment(body: s.AssessmentIn, principal: Principal) -> Assessment:
    """The assessing officer is the caller."""
    return Assessment(
        member_id=body.member_id, assessed_by=principal.subject, assessed_on=body.assessed_on or today(),
        credibility=[CredibilityFinding(material_fact=c.material_fact, accepted=c.accepted,
                                        concerns=frozenset(CredibilityConcern(x) for x in c.concerns))
                     for c in body.credibility],
        outside_country=body.outside_country, well_founded_fear=body.well_founded_fear, persecution=body.persecution,
        nexus_grounds=frozenset(Ground(g) for g in body.nexus_grounds), no_state_protection=body.no_state_protection,
        exclusion=frozenset(ExclusionClause(x) for x in body.exclusion))


@router.post("/registration", operation_id="registerApplication", summary="Register the application", **DOC,
             description="Registers a lodged application: the decision clock starts (3 months) and an asylum-seeker "
                         "certificate is requested from registration. Scope `rsd:lodge`.")
async def register(body: s.Registration, request: Request, application_id: str = APP_ID,
                   if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:lodge"))):
    return await command(request, principal, service.register, application_id, on=body.registered_on, if_match=if_match)


@router.post("/fingerprinting", operation_id="recordFingerprinting", summary="Record fingerprinting", **DOC,
             description="Fingerprints are taken within 3 days of the certificate; a later date is recorded and "
                         "flagged (`fingerprinting_late`). Scope `rsd:lodge`.")
async def fingerprinting(body: s.Fingerprinting, request: Request, application_id: str = APP_ID,
                         if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("rsd:lodge"))):
    return await command(
        request, principal, service.record_fingerprinting,
        application_id, on=body.fingerprinted_on, if_match=if_match)


@router.post("/processing-mode", operation_id="setProcessingMode", summary="Set the processing mode", **DOC,
             description="Regular, accelerated (shorter timelines only, every safeguard kept) or simplified, with "
                         "its reason. Only before the recommendation. Scope `rsd:manage`.")
async def processing_mode(body: s.ProcessingModeIn, request: Request, application_id: str = APP_ID,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("rsd:manage"))):
    return await command(
        request, principal, service.set_processing_mode,
        application_id, mode=ProcessingMode(body.mode), reason=body.reason, if_match=if_match)


@router.post("/assignment", operation_id="assignApplication", summary="Assign or reassign the case", **DOC,
             description="Assigns the case to an officer; every assignment is kept in the history "
                         "(`GET .../assignments`). Scope `rsd:manage` (supervisor).")
async def assign(body: s.AssignmentIn, request: Request, application_id: str = APP_ID,
                 if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:manage"))):
    return await command(
        request, principal, service.assign,
        application_id, officer_id=body.officer_id, on=body.on or today(), reason=body.reason, if_match=if_match)


@router.post("/contacts", summary="Record contact with the applicant", **DOC,
             description="In person, by phone, letter or e-mail, or through a representative, on a day (today when "
                         "omitted), with an optional short note. Any contact restarts the abandonment period: a "
                         "closure for abandonment within 6 weeks of the latest contact after the missed interview is "
                         "refused (409 `abandonment_despite_contact`). Contacts are listed in the application "
                         "(`contacts`, `last_contact_on`); nothing is published. Scope `rsd:lodge`.")
async def record_contact(body: s.ContactIn, request: Request, application_id: str = APP_ID,
                         if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("rsd:lodge"))):
    return await command(
        request, principal, service.record_contact,
        application_id, kind=ContactKind(body.kind), on=body.on or today(), note=body.note, if_match=if_match)


@router.post("/members", summary="Add a newborn child to a pending application", **DOC,
             description="Adds a child (person id from registration) while the application is pending. The child is "
                         "covered as the family's other children are: entered on the principal's asylum-seeker "
                         "certificate (a registered application publishes `rsd.certificate.requested.v1` with the "
                         "child in `member_ids`, valid as long as the current certificate) and given derivative "
                         "status with the family at the decision. After a final decision (recognised, status ended, "
                         "closed) it is refused (409 `member_addition_pending`): the child then needs its own "
                         "application or family reunification with a recognised parent. A person already on the "
                         "application: 409 `member_already_on_application`. Scope `rsd:lodge`.")
async def add_member(body: s.ChildIn, request: Request, application_id: str = APP_ID,
                     if_match: str | None = Depends(if_match_header),
                     principal: Principal = Depends(require("rsd:lodge"))):
    return await command(
        request, principal, service.add_child,
        application_id, member_id=body.id, person_id=body.person_id, birth_date=body.birth_date,
        sex=_sex(body.sex), name=body.name, on=body.on or today(), if_match=if_match)


@router.post("/interviews", summary="Schedule an interview", **DOC,
             description="With interpreter language and dialect. Same-gender interviewer or interpreter requests "
                         "are honoured (409 `same_gender_interviewer` / `same_gender_interpreter` otherwise); a legal "
                         "representative attends only with consent (409 `legal_representative_consent`) and never "
                         "interprets (409 `legal_representative_not_interpreter`). Scope `rsd:interview`.")
async def schedule_interview(body: s.ScheduleInterview, request: Request, application_id: str = APP_ID,
                             if_match: str | None = Depends(if_match_header),
                             principal: Principal = Depends(require("rsd:interview"))):
    return await command(
        request, principal, service.schedule_interview,
        application_id, member_id=body.member_id, scheduled_on=body.scheduled_on, interviewer_id=body.interviewer_id,
        interviewer_sex=_sex(body.interviewer_sex), interpreter=_interpreter(body.interpreter),
        legal_representative_id=body.legal_representative_id,
        legal_representative_consent=body.legal_representative_consent,
        same_gender_interviewer_requested=body.same_gender_interviewer_requested,
        same_gender_interpreter_requested=body.same_gender_interpreter_requested, if_match=if_match)


@router.post("/interviews/{interview_id}/rescheduling", summary="Reschedule an interview", **DOC,
             description="Moves a scheduled interview, with a reason; safeguards are checked again. "
                         "Scope `rsd:interview`.")
async def reschedule_interview(body: s.RescheduleInterview, request: Request, application_id: str = APP_ID,
                               interview_id: str = STEP_ID, if_match: str | None = Depends(if_match_header),
                               principal: Principal = Depends(require("rsd:interview"))):
    return await command(
        request, principal, service.reschedule_interview,
        application_id, interview_id, to_date=body.to_date, reason=body.reason, on=body.on or today(),
        interviewer_id=body.interviewer_id, interviewer_sex=_sex(body.interviewer_sex),
        interpreter=_interpreter(body.interpreter), if_match=if_match)


@router.post("/interviews/{interview_id}/no-show", operation_id="recordNoShow", summary="Record a missed interview", **DOC,
             description="The applicant did not attend. After 6 weeks without contact the file may close as "
                         "abandoned. Scope `rsd:interview`.")
async def no_show(body: s.OnDate, request: Request, application_id: str = APP_ID, interview_id: str = STEP_ID,
                  if_match: str | None = Depends(if_match_header),
                  principal: Principal = Depends(require("rsd:interview"))):
    return await command(
        request, principal, service.record_no_show,
        application_id, interview_id, on=body.on or today(), if_match=if_match)


@router.post("/interviews/{interview_id}/record", operation_id="recordInterview", summary="Record an interview as held", **DOC,
             description="The interview took place; its record is encrypted at rest and readable only through "
                         "`GET .../claim`. Scope `rsd:interview`.")
async def interview_held(body: s.InterviewHeldIn, request: Request, application_id: str = APP_ID,
                         interview_id: str = STEP_ID, if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("rsd:interview"))):
    return await command(
        request, principal, service.record_interview_held,
        application_id, interview_id, held_on=body.held_on, record=body.record, if_match=if_match)


@router.post("/assessments", operation_id="recordAssessment", summary="Record the assessment of one member", **DOC,
             description="Credibility findings; each inclusion element (outside the country, well-founded fear, "
                         "persecution, nexus to one of the six grounds, no state protection); exclusion (1D, 1E, "
                         "1F(a)/(b)/(c)). Every adult is assessed individually. The notes are encrypted at rest. "
                         "The assessing officer is the caller. Scope `rsd:assess`.")
async def assess(body: s.AssessmentIn, request: Request, application_id: str = APP_ID,
                 if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:assess"))):
    return await command(
        request, principal, service.record_assessment,
        application_id, _assessment(body, principal), notes=body.notes, if_match=if_match)


@router.post("/recommendation", operation_id="recordRecommendation", summary="Recommend a decision", **DOC,
             description="The eligibility officer (the caller) recommends; needs a held interview of the principal "
                         "(409 `interview_before_decision`) and every adult assessed (409 `individual_assessment`). "
                         "A rejection gives reasons from the categorised list. Scope `rsd:recommend`.")
async def recommend(body: s.RecommendationIn, request: Request, application_id: str = APP_ID,
                    if_match: str | None = Depends(if_match_header),
                    principal: Principal = Depends(require("rsd:recommend"))):
    return await command(
        request, principal, service.recommend,
        application_id, outcome=Outcome(body.outcome), on=body.on or today(),
        rejection_reasons=_reasons(body.rejection_reasons), if_match=if_match)


@router.post("/decision", operation_id="decideApplication", summary="Decide (supervisor, four eyes)", **DOC,
             description="A supervisor who is not the recommending officer decides (409 `four_eyes`); recognised or "
                         "rejected with reasons; derivative status for consenting family members. Publishes "
                         "`rsd.decision.issued.v1` with the members covered. Scope `rsd:decide`.")
async def decide(body: s.DecisionIn, request: Request, application_id: str = APP_ID,
                 if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:decide"))):
    return await command(
        request, principal, service.decide,
        application_id, on=body.on or today(), outcome=Outcome(body.outcome) if body.outcome else None,
        rejection_reasons=_reasons(body.rejection_reasons) if body.rejection_reasons is not None else None,
        member_outcomes=_outcomes(body.member_outcomes), if_match=if_match)


@router.post("/notification", operation_id="notifyDecision", summary="Serve the decision", **DOC,
             description="The written decision was served in a language the applicant understands (letters: "
                         "`GET .../decision-letter`). The appeal window runs from this day. Scope `rsd:lodge`.")
async def notify(body: s.NotificationIn, request: Request, application_id: str = APP_ID,
                 if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:lodge"))):
    return await command(
        request, principal, service.serve_notification,
        application_id, on=body.served_on, language=body.language, if_match=if_match)


@router.post("/extensions", operation_id="extendDeadline", summary="Extend the decision period", **DOC,
             description="With reasons, up to 12 months in all (409 `extension_limit`); each extension requests a "
                         "new certificate. Scope `rsd:decide`.")
async def extend(body: s.ExtensionIn, request: Request, application_id: str = APP_ID,
                 if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:decide"))):
    return await command(
        request, principal, service.extend_decision_period,
        application_id, months=body.months, reason=body.reason, on=body.on or today(), if_match=if_match)


@router.post("/appeals", summary="Lodge an appeal", **DOC,
             description="Against a rejection or a decision ending status, within 30 days of notification plus a "
                         "6-week grace (409 `appeal_window`); suspends removal while pending. Scope `rsd:lodge`.")
async def lodge_appeal(body: s.AppealIn, request: Request, application_id: str = APP_ID,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("rsd:lodge"))):
    return await command(
        request, principal, service.lodge_appeal,
        application_id, lodged_on=body.lodged_on, if_match=if_match)


@router.post("/appeals/decision", summary="Decide the pending appeal", **DOC,
             description="By an officer other than the first-instance decision maker (409 `appeal_independence`): "
                         "`allowed`, `rejected` (the file closes) or `remitted`, the words of every service. Publishes "
                         "`rsd.appeal.decided.v2` (`result` in these words, `member_ids` every member it concerns) "
                         "and, for one deprecation window, `rsd.appeal.decided.v1`. Scope `rsd:decide`.")
async def decide_appeal(body: s.AppealDecisionIn, request: Request, application_id: str = APP_ID,
                        if_match: str | None = Depends(if_match_header),
                        principal: Principal = Depends(require("rsd:decide"))):
    return await command(
        request, principal, service.decide_appeal,
        application_id, on=body.on or today(), outcome=AppealOutcome(body.outcome),
        member_outcomes=_outcomes(body.member_outcomes), if_match=if_match)


@router.post("/closure", operation_id="closeApplication", summary="Close the file", **DOC,
             description="Withdrawal; abandonment (a missed interview and 6 weeks without contact: 409 "
                         "`abandonment`, or `abandonment_despite_contact` when the applicant was in contact within "
                         "those weeks); death; no appeal "
                         "after rejection (after the window and grace). A death (`member_id`, the principal by "
                         "default) while other members remain closes the file for the deceased only: the member is "
                         "shown `deceased`, the others' claim goes on (a new principal after the principal's death) "
                         "and `rsd.application.closed.v1` names only the deceased in `member_ids`. "
                         "Scope `rsd:manage`.")
async def close(body: s.ClosureIn, request: Request, application_id: str = APP_ID,
                if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:manage"))):
    return await command(
        request, principal, service.close,
        application_id, reason=ClosureReason(body.reason), on=body.on or today(), if_match=if_match,
        member_id=body.member_id, new_principal_member_id=body.new_principal_member_id)


@router.post("/reopening", operation_id="reopenApplication", summary="Reopen a closed file", **DOC,
             description="Only on changed circumstances, reliable new evidence, or serious reason to think it was "
                         "improperly decided (409 `reopening_ground`). A new decision period starts. "
                         "Scope `rsd:decide`.")
async def reopen(body: s.ReopeningIn, request: Request, application_id: str = APP_ID,
                 if_match: str | None = Depends(if_match_header), principal: Principal = Depends(require("rsd:decide"))):
    return await command(
        request, principal, service.reopen,
        application_id, ground=ReopeningGround(body.ground) if body.ground else None, reason=body.reason,
        on=body.on or today(), if_match=if_match)


@router.post("/ending/notice", operation_id="sendEndingNotice", summary="Give notice of ending status", **DOC,
             description="Cessation (Art. 1C grounds), cancellation or revocation starts with notice and a chance to "
                         "respond. `member_ids` (default: every member holding status) may name only members who "
                         "hold status now (409 `ending_status_holder`). Scope `rsd:decide`.")
async def ending_notice(body: s.EndingNoticeIn, request: Request, application_id: str = APP_ID,
                        if_match: str | None = Depends(if_match_header),
                        principal: Principal = Depends(require("rsd:decide"))):
    return await command(
        request, principal, service.give_ending_notice,
        application_id, kind=EndingKind(body.kind), grounds=tuple(body.grounds), on=body.on or today(),
        member_ids=tuple(body.member_ids) if body.member_ids else None, if_match=if_match)


@router.post("/ending/response", operation_id="recordEndingResponse", summary="Record the person's response to the notice", **DOC,
             description="The response is encrypted at rest (readable through `GET .../claim`). Scope `rsd:lodge`.")
async def ending_response(body: s.EndingResponseIn, request: Request, application_id: str = APP_ID,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("rsd:lodge"))):
    return await command(
        request, principal, service.record_ending_response,
        application_id, on=body.on or today(), response=body.response, if_match=if_match)


@router.post("/ending/decision", operation_id="decideEnding", summary="Decide on ending status", **DOC,
             description="After the response or the response period (409 `ending_response_opportunity`); the "
                         "compelling-reasons exception is honoured. Status ends for the members named in the "
                         "notice only (each member's `status` becomes `status_ended`); the application stays "
                         "`recognised` while any member holds status. Publishes `rsd.status.ended.v1` with exactly "
                         "those members in `member_ids`. Scope `rsd:decide`.")
async def ending_decision(body: s.EndingDecisionIn, request: Request, application_id: str = APP_ID,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("rsd:decide"))):
    return await command(
        request, principal, service.decide_ending,
        application_id, on=body.on or today(), end_status=body.end_status, compelling_reasons=body.compelling_reasons,
        notified_on=body.notified_on, if_match=if_match)
