"""Statelessness determination cases: opening, evidence, inquiries, interview, determination, appeal."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Callable

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, or_, select

from pana_kit.auth import Principal, require
from pana_kit.documents import to_document
from pana_kit.domain import RuleViolation
from pana_kit.errors import problem_responses
from pana_kit.http import (check_if_match, encode_cursor, etag_of, if_match_header, links_from, page_params,
                           purpose_header)
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from ..domain import (
    AppealOutcome,
    BroughtBy,
    DeterminationCase,
    Evidence,
    EvidenceKind,
    EvidenceWeight,
    InquiryAnswer,
    OpeningReason,
    Outcome,
    StateLink,
)
from ..publishing import publish_case
from ..store.repository import Cases, Persons
from ..store.tables import CaseRow, InquiryRow
from . import schemas as s
from .common import ID_PATTERN, after, audited, query_day

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
inquiries_router = APIRouter(prefix="/api/v1/inquiries", tags=["inquiries"])

CaseId = Path(..., pattern=ID_PATTERN, description="The case id")
InquiryId = Path(..., pattern=ID_PATTERN, description="The inquiry id")


def summary(row: CaseRow, today: date | None = None) -> s.CaseSummary:
    today = today or date.today()
    return s.CaseSummary(
        id=row.id, person_id=row.person_id, reason=row.reason, ex_officio=row.reason != "application",
        status=row.status, opened_on=row.opened_on, decision_due=row.decision_due, decided_on=row.decided_on,
        outcome=row.outcome, recognised_on=row.recognised_on, overdue=row.status == "open" and today > row.decision_due,
    )


def detail(case: DeterminationCase, row: CaseRow, request: Request) -> s.CaseDetail:
    rules = request.app.state.rules
    doc = to_document(case)
    return s.CaseDetail(
        **summary(row).model_dump(),
        opened_by=case.opened_by, reason_note=case.reason_note,
        decision_deadline_limit=case.decision_deadline_limit(rules), appeal_until=case.appeal_deadline_on(rules),
        evidence=doc["evidence"], inquiries=doc["inquiries"], interviews=doc["interviews"],
        extensions=doc["extensions"], determination=doc["determination"], appeal=doc["appeal"],
    )


def _with_etag(body: s.CaseDetail, version: int, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code,
                        headers={"ETag": etag_of(version, body.id)})


CASE_WRITE_ERRORS = problem_responses(400, 401, 403, 404, 409, 412, 422, 428)


async def _command(request: Request, case_id: str, if_match: str | None, principal: Principal, action: str,
                   step: Callable[[DeterminationCase], None]) -> JSONResponse:
    """Load, check If-Match, apply one domain step, save, publish and audit — in one transaction."""
    async with unit_of_work(request) as uow:
        cases = Cases(uow.session, request.app.state.keyring)
        case, row = await cases.get(case_id)
        check_if_match(if_match, etag_of(row.version, row.id))
        # The confidentiality projection only grows: a State once feared stays feared.
        case.update_feared_states(case.feared_states | await Persons(uow.session).feared_states(case.person_id))
        step(case)
        version = await cases.save(case, row.version)
        publish_case(uow, case)
        await audited(uow.session, principal, action, f"case/{case_id}")
        row = await cases.get_row(case_id)
        body = detail(case, row, request)
    return _with_etag(body, version)


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
    status: str | None = Query(None, pattern=r"^(open|determined|under_appeal|closed)$"),
    reason: str | None = Query(None, pattern=r"^[a-z_]{1,60}$", description="Only cases opened for this reason"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
) -> s.CasePage:
    limit, cursor = page
    stmt = select(CaseRow).order_by(CaseRow.created_at, CaseRow.id).limit(limit + 1)
    if person_id:
        stmt = stmt.where(CaseRow.person_id == person_id)
    if status:
        stmt = stmt.where(CaseRow.status == status)
    if reason:
        stmt = stmt.where(CaseRow.reason == reason)
    stmt = after(stmt, CaseRow, cursor)
    async with request.app.state.db.transaction() as session:
        rows = list((await session.execute(stmt)).scalars())
        await audited(session, principal, "list", f"cases?person_id={person_id or '*'}", purpose=purpose)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor({"created_at": rows[-1].created_at.isoformat(), "id": rows[-1].id}) if more else None
    return s.CasePage(items=[summary(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{case_id}",
    response_model=s.CaseDetail,
    summary="Read one case",
    description="The whole case: evidence (with who brought it), inquiries, interviews, extensions, determination "
                "and appeal. The `ETag` header is needed (as `If-Match`) to change it. Audited.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_case(
    request: Request,
    case_id: str = CaseId,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
):
    async with request.app.state.db.transaction() as session:
        row = await session.get(CaseRow, case_id)
        await audited(session, principal, "read", f"case/{case_id}", purpose=purpose,
                      outcome="ok" if row else "not_found")
    if row is None:
        from pana_kit.domain import NotFound

        raise NotFound(f"no case {case_id}")
    from ..store.repository import case_from_row

    case = case_from_row(row, request.app.state.keyring)
    return _with_etag(detail(case, row, request), row.version)


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
        idem = Idempotency(uow.session, "statelessness:open-case", idempotency_key, body)
        replay = await idem.replay()
        if replay is not None:
            return replay
        cases = Cases(uow.session, request.app.state.keyring)
        if await cases.active_for_person(body.person_id) is not None:
            raise RuleViolation("one_case_at_a_time", "this person already has a case in the procedure")
        opened_on = body.opened_on or date.today()
        persons = Persons(uow.session)
        person = await persons.get(body.person_id)
        birth_date = body.birth_date or (person.birth_date if person else None)
        case = DeterminationCase.open(
            case_id=str(uuid.uuid4()), person_id=body.person_id, reason=OpeningReason.APPLICATION,
            opened_on=opened_on, rules=request.app.state.rules, birth_date=birth_date, opened_by=principal.subject,
            reason_note=body.reason_note, feared_states=await persons.feared_states(body.person_id),
        )
        row = cases.add(case)
        publish_case(uow, case)
        await audited(uow.session, principal, "create", f"case/{case.case_id}")
        out = detail(case, row, request)
        headers = {"ETag": etag_of(1, case.case_id), "Location": f"/api/v1/cases/{case.case_id}"}
        return idem.remember(201, out, headers)


# ------------------------------------------------------------------ steps
@router.post("/{case_id}/evidence", response_model=s.CaseDetail, summary="Add evidence",
             description="A document, testimony or inquiry result with its source and weight, and who brought it "
                         "(applicant) or sought it (officer): the burden of proof is shared. The description is "
                         "encrypted at rest. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def add_evidence(body: s.AddEvidence, request: Request, case_id: str = CaseId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    item = Evidence(evidence_id=str(uuid.uuid4()), kind=EvidenceKind(body.kind), source=body.source,
                    weight=EvidenceWeight(body.weight), brought_by=BroughtBy(body.brought_by),
                    received_on=body.received_on or date.today(), description=body.description)
    return await _command(request, case_id, if_match, principal, "add-evidence", lambda c: c.add_evidence(item))


@router.post("/{case_id}/inquiries", response_model=s.CaseDetail, summary="Send a nationality inquiry",
             description="Asks a State linked to the person (birth, descent, residence, marriage) whether it considers "
                         "them a national; the reply is due after the configured months (default 6). Refused with 409 "
                         "`confidentiality_of_asylum` when the person is an asylum-seeker or refugee from that State. "
                         "Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def send_inquiry(body: s.SendInquiry, request: Request, case_id: str = CaseId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    rules = request.app.state.rules
    return await _command(request, case_id, if_match, principal, "send-inquiry", lambda c: c.send_inquiry(
        inquiry_id=str(uuid.uuid4()), state=body.state, link=StateLink(body.link),
        sent_on=body.sent_on or date.today(), rules=rules))


@router.post("/{case_id}/inquiries/{inquiry_id}/answer", response_model=s.CaseDetail, summary="Record a State's reply",
             description="Confirms the person as a national, denies, or partial. Recorded even after the deadline "
                         "(marked late); it becomes evidence. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def answer_inquiry(body: s.InquiryAnswerBody, request: Request, case_id: str = CaseId,
                         inquiry_id: str = InquiryId, if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("statelessness:write"))):
    return await _command(request, case_id, if_match, principal, "answer-inquiry", lambda c: c.record_inquiry_answer(
        inquiry_id=inquiry_id, answer=InquiryAnswer(body.answer), answered_on=body.answered_on or date.today(),
        weight=EvidenceWeight(body.weight)))


@router.post("/{case_id}/inquiries/{inquiry_id}/unanswered", response_model=s.CaseDetail,
             summary="Record that a State did not reply",
             description="After the reply deadline with no reply: a finding on which the person can be documented "
                         "as stateless. Before the deadline: 409 `inquiry_reply_deadline`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def inquiry_unanswered(body: s.InquiryUnansweredBody, request: Request, case_id: str = CaseId,
                             inquiry_id: str = InquiryId, if_match: str | None = Depends(if_match_header),
                             principal: Principal = Depends(require("statelessness:write"))):
    return await _command(request, case_id, if_match, principal, "inquiry-unanswered",
                          lambda c: c.record_inquiry_unanswered(inquiry_id=inquiry_id, today=body.found_on or date.today()))


@router.post("/{case_id}/interview", response_model=s.CaseDetail, summary="Record the interview",
             description="The interview held by the calling officer; the notes are encrypted at rest. "
                         "No determination without one. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def hold_interview(body: s.HoldInterview, request: Request, case_id: str = CaseId,
                         if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("statelessness:write"))):
    return await _command(request, case_id, if_match, principal, "interview", lambda c: c.hold_interview(
        held_on=body.held_on or date.today(), officer_id=principal.subject, interpreter_id=body.interpreter_id,
        legal_representative_present=body.legal_representative_present, notes=body.notes))


@router.post("/{case_id}/extension", response_model=s.CaseDetail, summary="Extend the decision deadline",
             description="With reasons, up to the configured maximum from opening (default 12 months): beyond it "
                         "409 `decision_deadline_limit`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def extend(body: s.ExtendDeadline, request: Request, case_id: str = CaseId,
                 if_match: str | None = Depends(if_match_header),
                 principal: Principal = Depends(require("statelessness:write"))):
    rules = request.app.state.rules
    return await _command(request, case_id, if_match, principal, "extend", lambda c: c.extend_decision_deadline(
        new_due=body.new_due, reasons=body.reasons, extended_on=date.today(), rules=rules))


@router.post("/{case_id}/determination", response_model=s.CaseDetail, summary="Determine the case",
             description="The written, reasoned determination by the calling officer: stateless, or not stateless "
                         "(a national of X). Refused without an interview (409 `interview_before_determination`) or "
                         "recognising someone a State confirmed as its national without reasons (409 "
                         "`confirmed_nationality_needs_reasons`). Recognition emits "
                         "`statelessness.determination.issued.v1` with `certificate_eligible`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def determine(body: s.Determine, request: Request, case_id: str = CaseId,
                    if_match: str | None = Depends(if_match_header),
                    principal: Principal = Depends(require("statelessness:determine"))):
    rules = request.app.state.rules
    return await _command(request, case_id, if_match, principal, "determine", lambda c: c.determine(
        outcome=Outcome(body.outcome), officer_id=principal.subject, decided_on=body.decided_on or date.today(),
        reasons=body.reasons, rules=rules, nationality=body.nationality,
        confirmed_nationality_reasons=body.confirmed_nationality_reasons, notified_on=body.notified_on))


@router.post("/{case_id}/appeal", response_model=s.CaseDetail, summary="Lodge an appeal",
             description="Against a not-stateless determination, within the window from notification (default 30 "
                         "days): out of time is 409 `appeal_window`. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def lodge_appeal(body: s.LodgeAppeal, request: Request, case_id: str = CaseId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    rules = request.app.state.rules
    return await _command(request, case_id, if_match, principal, "lodge-appeal", lambda c: c.lodge_appeal(
        appeal_id=str(uuid.uuid4()), lodged_on=body.lodged_on or date.today(), rules=rules))


@router.post("/{case_id}/appeal/decision", response_model=s.CaseDetail, summary="Decide the appeal",
             description="By an officer other than the one who determined the case (409 `appeal_by_different_officer`). "
                         "Overturning recognises the person as stateless. Needs `If-Match`.",
             responses=CASE_WRITE_ERRORS)
async def decide_appeal(body: s.DecideAppeal, request: Request, case_id: str = CaseId,
                        if_match: str | None = Depends(if_match_header),
                        principal: Principal = Depends(require("statelessness:determine"))):
    rules = request.app.state.rules
    return await _command(request, case_id, if_match, principal, "decide-appeal", lambda c: c.decide_appeal(
        outcome=AppealOutcome(body.outcome), officer_id=principal.subject, decided_on=body.decided_on or date.today(),
        reasons=body.reasons, rules=rules))


# ------------------------------------------------------------------ work list
@inquiries_router.get(
    "/overdue",
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
    stmt = (select(InquiryRow).where(InquiryRow.status == "sent", InquiryRow.reply_due < today)
            .order_by(InquiryRow.reply_due, InquiryRow.case_id, InquiryRow.inquiry_id).limit(limit + 1))
    if state:
        stmt = stmt.where(InquiryRow.state == state)
    if cursor:
        try:
            due, cid, iid = date.fromisoformat(str(cursor["due"])), str(cursor["case"]), str(cursor["inq"])
        except (KeyError, ValueError, TypeError) as exc:
            from pana_kit.errors import Problem

            raise Problem(400, "the cursor is not one this service issued", type_suffix="invalid-cursor") from exc
        stmt = stmt.where(or_(InquiryRow.reply_due > due,
                              and_(InquiryRow.reply_due == due, InquiryRow.case_id > cid),
                              and_(InquiryRow.reply_due == due, InquiryRow.case_id == cid, InquiryRow.inquiry_id > iid)))
    async with request.app.state.db.transaction() as session:
        rows = list((await session.execute(stmt)).scalars())
        await audited(session, principal, "list", "inquiries/overdue", purpose=purpose)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [s.OverdueInquiry(case_id=r.case_id, person_id=r.person_id, inquiry_id=r.inquiry_id, state=r.state,
                              sent_on=r.sent_on, reply_due=r.reply_due, days_overdue=(today - r.reply_due).days)
             for r in rows]
    nxt = encode_cursor({"due": rows[-1].reply_due.isoformat(), "case": rows[-1].case_id, "inq": rows[-1].inquiry_id}) if more else None
    return s.OverdueInquiryPage(items=items, next_cursor=nxt)
