"""Statelessness determination cases: opening, evidence, inquiries, interview, determination, appeal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from pana_events.vocabulary import APPEAL_OUTCOME_ALIASES
from pana_kit.application import Outcome as Done
from pana_kit.auth import Principal, require
from pana_kit.documents import to_document
from pana_kit.errors import problem_responses
from pana_kit.http import etag_of, if_match_header, links_from, page_params, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import (
    BroughtBy,
    DeterminationCase,
    EvidenceKind,
    EvidenceWeight,
    InquiryAnswer,
    Outcome,
    StateLink,
)
from ..service import Statelessness
from ..store.repository import case_index
from . import schemas as s
from .common import ID_PATTERN, query_day, use_cases

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
inquiries_router = APIRouter(prefix="/api/v1/inquiries", tags=["inquiries"])

CaseId = Path(..., pattern=ID_PATTERN, description="The case id")
InquiryId = Path(..., pattern=ID_PATTERN, description="The inquiry id")


def summary(*, id: str, person_id: str, reason: str, status: str, opened_on: date, decision_due: date,
            decided_on: date | None, outcome: str | None, recognised_on: date | None, **_) -> s.CaseSummary:
    """A case in a list: from its row's columns, or from the case itself (`case_index`)."""
    return s.CaseSummary(
        id=id, person_id=person_id, reason=reason, ex_officio=reason != "application", status=status,
        opened_on=opened_on, decision_due=decision_due, decided_on=decided_on, outcome=outcome,
        recognised_on=recognised_on, overdue=status == "open" and date.today() > decision_due,
    )


# The deprecated `outcome` words (seen from the determination), shown beside `result` for one period more.
OLD_APPEAL_WORD = {word: old for old, word in APPEAL_OUTCOME_ALIASES.items()}
DEPRECATED_OUTCOME_SINCE = "@1796083200"  # 2026-12-01 (issue 13), as RFC 9745 writes a date


def detail(case: DeterminationCase, request: Request) -> s.CaseDetail:
    rules = request.app.state.rules
    doc = to_document(case)
    return s.CaseDetail(
        **summary(id=case.case_id, **case_index(case)).model_dump(),
        opened_by=case.opened_by, reason_note=case.reason_note,
        decision_deadline_limit=case.decision_deadline_limit(rules), appeal_until=case.appeal_deadline_on(rules),
        evidence=doc["evidence"], inquiries=doc["inquiries"], interviews=doc["interviews"],
        extensions=doc["extensions"], determination=doc["determination"],
        appeal=None if doc["appeal"] is None else {
            **doc["appeal"], "result": case.appeal.outcome.value if case.appeal.outcome else None,
            "outcome": OLD_APPEAL_WORD.get(case.appeal.outcome)},  # deprecated: the old word, one period more
    )


def _with_etag(body: s.CaseDetail, version: int, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code,
                        headers={"ETag": etag_of(version, body.id)})


CaseStep = Callable[[Statelessness], Awaitable[Done[DeterminationCase]]]


async def _step(request: Request, command: CaseStep) -> JSONResponse:
    """Run one of the case's steps in this request's unit of work; answer with the case and its new ETag."""
    async with unit_of_work(request) as uow:
        done = await command(use_cases(request, uow))
    return _with_etag(detail(done.aggregate, request), done.version)


CASE_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422, 428)


# ------------------------------------------------------------------ reads
@router.get(
    "",
    response_model=s.CasePage,
    summary="List cases",
    description="Cases filtered by person or status, oldest first, a page at a time. Reads are audited with the "
                "caller's purpose (`X-Purpose`).",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_cases(
    request: Request,
    person_id: str | None = Query(None, pattern=ID_PATTERN, description="Only this person's cases"),
    status: str | None = Query(None, pattern=r"^(open|determined|under_appeal|closed|closed_on_death)$"),
    reason: str | None = Query(None, pattern=r"^[a-z_]{1,60}$", description="Only cases opened for this reason"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
) -> s.CasePage:
    limit, cursor = page
    found = await service.case_page(request.app.state, principal, purpose, person_id=person_id, status=status,
                                    reason=reason, cursor=cursor, limit=limit)
    return s.CasePage(items=[summary(**row.model_dump()) for row in found.items], next_cursor=found.next_cursor)


@router.get(
    "/{case_id}",
    response_model=s.CaseDetail,
    summary="Read one case",
    description="The whole case: evidence (with who brought it), inquiries, interviews, extensions, determination "
                "and appeal. Only for the officer the case is assigned to and the officers who decided it (403 "
                "`case_reader_not_assigned` for anyone else, whatever their scopes). The `ETag` header is needed "
                "(as `If-Match`) to change it. Audited, refusals too.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_case(
    request: Request,
    case_id: str = CaseId,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
):
    case, version = await service.read_case(request.app.state, case_id, principal, purpose)
    return _with_etag(detail(case, request), version)


# ------------------------------------------------------------------ opening
@router.post(
    "",
    status_code=201,
    response_model=s.CaseDetail,
    summary="Open a case on application",
    description="Opens a determination case for a person who applies. One case per person at a time: a second "
                "opening while one is in the procedure is refused (409 `one_case_at_a_time`). Needs `Idempotency-Key`; "
                "a retry with the same key and body returns the first answer. Emits `statelessness.case.opened.v1`.",
    responses={**links_from(201, "case_id", field="id", GetCase="GET /api/v1/cases/{case_id}",
                            AddEvidence="POST /api/v1/cases/{case_id}/evidence",
                            SendInquiry="POST /api/v1/cases/{case_id}/inquiries",
                            RecordInterview="POST /api/v1/cases/{case_id}/interview",
                            ExtendDeadline="POST /api/v1/cases/{case_id}/extension",
                            Determine="POST /api/v1/cases/{case_id}/determination"),
               **problem_responses(400, 401, 403, 409, 422)},
)
async def open_case(
    body: s.OpenCase,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("statelessness:write")),
):
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, "statelessness:open-case", idempotency_key, body, principal=principal)
        replay = await idem.replay()
        if replay is not None:
            return replay
        done = await use_cases(request, uow).open_on_application(
            person_id=body.person_id, opened_on=body.opened_on or date.today(), birth_date=body.birth_date,
            reason_note=body.reason_note, principal=principal)
        case_id = done.aggregate.case_id
        return idem.remember(201, detail(done.aggregate, request),
                             {"ETag": done.etag, "Location": f"/api/v1/cases/{case_id}"})


# ------------------------------------------------------------------ steps
@router.post("/{case_id}/evidence", response_model=s.CaseDetail, summary="Add evidence",
             description="A document, testimony or inquiry result with its source and weight, and who brought it "
                         "(applicant) or sought it (officer): the burden of proof is shared. The description is "
                         "encrypted at rest. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def add_evidence(body: s.AddEvidence, request: Request, case_id: str = CaseId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.add_evidence(
        case_id, kind=EvidenceKind(body.kind), source=body.source, weight=EvidenceWeight(body.weight),
        brought_by=BroughtBy(body.brought_by), received_on=body.received_on or date.today(),
        description=body.description, if_match=if_match, principal=principal))


@router.post("/{case_id}/inquiries", response_model=s.CaseDetail, summary="Send a nationality inquiry",
             description="Asks a State linked to the person (birth, descent, residence, marriage) whether it considers "
                         "them a national; the reply is due after the configured months (default 6). Refused with 409 "
                         "`confidentiality_of_asylum` when the person is an asylum-seeker or refugee from that State. "
                         "Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def send_inquiry(body: s.SendInquiry, request: Request, case_id: str = CaseId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.send_inquiry(
        case_id, state=body.state, link=StateLink(body.link), sent_on=body.sent_on or date.today(),
        if_match=if_match, principal=principal))


@router.post("/{case_id}/inquiries/{inquiry_id}/answer", response_model=s.CaseDetail, summary="Record a State's reply",
             description="Confirms the person as a national, denies, or partial. Recorded even after the deadline "
                         "(marked late); it becomes evidence. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def answer_inquiry(body: s.InquiryAnswerBody, request: Request, case_id: str = CaseId,
                         inquiry_id: str = InquiryId, if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.record_inquiry_answer(
        case_id, inquiry_id, answer=InquiryAnswer(body.answer), answered_on=body.answered_on or date.today(),
        weight=EvidenceWeight(body.weight), if_match=if_match, principal=principal))


@router.post("/{case_id}/inquiries/{inquiry_id}/unanswered", operation_id="markInquiryUnanswered", response_model=s.CaseDetail,
             summary="Record that a State did not reply",
             description="After the reply deadline with no reply: a finding on which the person can be documented "
                         "as stateless. Before the deadline: 409 `inquiry_reply_deadline`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def inquiry_unanswered(body: s.InquiryUnansweredBody, request: Request, case_id: str = CaseId,
                             inquiry_id: str = InquiryId, if_match: str | None = Depends(if_match_header),
                             principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.record_inquiry_unanswered(
        case_id, inquiry_id, found_on=body.found_on or date.today(), if_match=if_match, principal=principal))


@router.post("/{case_id}/interview", response_model=s.CaseDetail, summary="Record the interview",
             description="The interview held by the calling officer; the notes are encrypted at rest. "
                         "No determination without one. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def hold_interview(body: s.HoldInterview, request: Request, case_id: str = CaseId,
                         if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.hold_interview(
        case_id, held_on=body.held_on or date.today(), interpreter_id=body.interpreter_id,
        legal_representative_present=body.legal_representative_present, notes=body.notes, if_match=if_match,
        principal=principal))


@router.post("/{case_id}/assignment", operation_id="assignCase", response_model=s.CaseDetail, summary="Assign the case to an officer",
             description="The case's evidence, interview records and notes are read by the officer it is assigned to "
                         "and the officers who decided it only (`GET /cases/{case_id}`: 403 "
                         "`case_reader_not_assigned` for anyone else). A case is assigned to the officer who opened "
                         "it (a case opened ex officio, by an event, has no statelessness officer until one takes it); "
                         "this gives it to another (e.g. the officer who hears the appeal), or to the caller. Scope "
                         "`statelessness:write` (statelessness officers only: the supervisor role cannot take a case "
                         "to read it). Audited. `If-Match` is optional (checked when sent).",
             responses=CASE_WRITE_ERRORS)
async def assign(body: s.Assign, request: Request, case_id: str = CaseId,
                 if_match: str | None = Depends(if_match_header),
                 principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.assign(case_id, officer_id=body.officer_id, if_match=if_match,
                                                     principal=principal))


@router.post("/{case_id}/extension", operation_id="extendCase", response_model=s.CaseDetail, summary="Extend the decision deadline",
             description="With reasons, up to the configured maximum from opening (default 12 months): beyond it "
                         "409 `decision_deadline_limit`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def extend(body: s.ExtendDeadline, request: Request, case_id: str = CaseId,
                 if_match: str | None = Depends(if_match_header),
                 principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.extend_decision_deadline(
        case_id, new_due=body.new_due, reasons=body.reasons, extended_on=date.today(), if_match=if_match,
        principal=principal))


@router.post("/{case_id}/determination", operation_id="determineStatelessness", response_model=s.CaseDetail, summary="Determine the case",
             description="The written, reasoned determination by the calling officer: stateless, or not stateless "
                         "(a national of X). Refused without an interview (409 `interview_before_determination`) or "
                         "recognising someone a State confirmed as its national without reasons (409 "
                         "`confirmed_nationality_needs_reasons`). Recognition emits "
                         "`statelessness.determination.issued.v1` with `certificate_eligible`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def determine(body: s.Determine, request: Request, case_id: str = CaseId,
                    if_match: str | None = Depends(if_match_header),
                    principal: Principal = Depends(require("statelessness:determine"))):
    return await _step(request, lambda uc: uc.determine(
        case_id, outcome=Outcome(body.outcome), decided_on=body.decided_on or date.today(), reasons=body.reasons,
        nationality=body.nationality, confirmed_nationality_reasons=body.confirmed_nationality_reasons,
        notified_on=body.notified_on, if_match=if_match, principal=principal))


@router.post("/{case_id}/appeal", response_model=s.CaseDetail, summary="Lodge an appeal",
             description="Against a not-stateless determination, within the window from notification (default 30 "
                         "days): out of time is 409 `appeal_window`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def lodge_appeal(body: s.LodgeAppeal, request: Request, case_id: str = CaseId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    return await _step(request, lambda uc: uc.lodge_appeal(
        case_id, lodged_on=body.lodged_on or date.today(), if_match=if_match, principal=principal))


@router.post("/{case_id}/appeal/decision", response_model=s.CaseDetail, summary="Decide the appeal",
             description="By an officer other than the one who determined the case (409 `appeal_by_different_officer`). "
                         "`result` in the one vocabulary (as rsd): `allowed` recognises the person as stateless and "
                         "publishes `statelessness.appeal.decided.v1` and `statelessness.determination.issued.v1` "
                         "(`stage` `appeal`, `appeal_result` `allowed`); `rejected` closes the case and publishes "
                         "`statelessness.appeal.decided.v1` (`result` `rejected`); `remitted` is refused (422 "
                         "`appeal_result`). The old `outcome` (`upheld` = `rejected`, `overturned` = `allowed`) is "
                         "deprecated: still read for one deprecation period, answered with a `Deprecation` header. "
                         "Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def decide_appeal(body: s.DecideAppeal, request: Request, case_id: str = CaseId,
                        if_match: str | None = Depends(if_match_header),
                        principal: Principal = Depends(require("statelessness:determine"))):
    response = await _step(request, lambda uc: uc.decide_appeal(
        case_id, outcome=body.appeal_result, decided_on=body.decided_on or date.today(),
        reasons=body.reasons, if_match=if_match, principal=principal))
    if body.outcome is not None:  # the deprecated field was used: RFC 9745, deprecated since 2026-12-01
        response.headers["Deprecation"] = DEPRECATED_OUTCOME_SINCE
    return response


# ------------------------------------------------------------------ work list
@inquiries_router.get(
    "/overdue",
    operation_id="listOverdueInquiries",
    response_model=s.OverdueInquiryPage,
    summary="Inquiries past their reply deadline",
    description="Inquiries still awaiting a reply after the deadline, oldest deadline first: each is ready for an "
                "'unanswered' finding. Audited.",
    responses=problem_responses(400, 401, 403, 422),
)
async def overdue_inquiries(
    request: Request,
    as_of: date | None = Query(None, description="The day to judge by (today when absent)"),
    state: str | None = Query(None, pattern=r"^[A-Z]{3}$"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
) -> s.OverdueInquiryPage:
    limit, cursor = page
    today = query_day(as_of)
    found = await service.overdue_inquiries(request.app.state, principal, purpose, today=today, state_code=state,
                                            cursor=cursor, limit=limit)
    items = [s.OverdueInquiry(case_id=r.case_id, person_id=r.person_id, inquiry_id=r.inquiry_id, state=r.state,
                              sent_on=r.sent_on, reply_due=r.reply_due, days_overdue=(today - r.reply_due).days)
             for r in found.items]
    return s.OverdueInquiryPage(items=items, next_cursor=found.next_cursor)
