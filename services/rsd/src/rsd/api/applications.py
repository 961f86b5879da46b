"""Asylum applications: lodging, reading, the claim (deciding roles only), assignment history."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from pana_kit.auth import Principal, require
from pana_kit.domain import AccessDenied
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import encode_cursor, etag_of, page_params, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.paging import InvalidCursor

from .. import service
from ..domain import Application, ArrivalManner, Member, Relationship, Sex, SpecificNeed
from ..store.tables import ApplicationRow
from .case import caseworker
from .schemas import (ApplicationDetail, ApplicationPage, ApplicationSummary, AssignmentEntry, AssignmentPage,
                      Claim, LodgeApplication, MemberIn)
from .views import detail, public_status

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])
APP_ID = Path(..., max_length=64, description="The application's id")


def summary(row: ApplicationRow, app: Application) -> ApplicationSummary:
    return ApplicationSummary(
        id=row.id, person_id=row.person_id, status=public_status(row.status), stage=row.status,
        office=row.office, officer_id=row.officer_id, priority=row.priority, processing_mode=app.processing_mode.value,
        lodged_on=row.lodged_on, registered_on=row.registered_on, decision_due=row.decision_due,
        late_lodging=app.late_lodging,
    )


def _member(m: MemberIn) -> Member:
    return Member(id=m.id, person_id=m.person_id, relationship=Relationship(m.relationship),
                  sex=Sex(m.sex) if m.sex else None, birth_date=m.birth_date,
                  specific_needs=frozenset(SpecificNeed(n) for n in m.specific_needs),
                  same_gender_interviewer_requested=m.same_gender_interviewer_requested,
                  same_gender_interpreter_requested=m.same_gender_interpreter_requested,
                  derivative_status_consent=m.derivative_status_consent)


@router.post(
    "",
    operation_id="lodgeApplication",
    status_code=201,
    response_model=ApplicationDetail,
    summary="Lodge an application directly",
    description="Lodges an application at the caller's office (late lodging is recorded, never refused) and, with "
                "`register_on`, registers it at once. The narrative is encrypted at rest and never published. "
                "Repeat with the same `Idempotency-Key` to retry safely. Scope `rsd:lodge`.",
    responses=problem_responses(401, 403, 409, 422),
)
async def lodge(body: LodgeApplication, request: Request,
                idempotency_key: str = Depends(idempotency_key_header),
                principal: Principal = Depends(require("rsd:lodge"))):
    if not principal.office:
        raise Problem(403, "the access token names no office to lodge the application at")
    async with caseworker(request, principal) as cw:
        idem = Idempotency(cw.uow.session, f"rsd-lodge:{principal.subject}", idempotency_key, body, principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        done = await service.lodge(
            cw, principal=_member(body.principal), family=[_member(m) for m in body.family],
            lodged_on=body.lodged_on, arrived_on=body.arrived_on,
            manner_of_arrival=ArrivalManner(body.manner_of_arrival), officer_id=body.officer_id,
            lodging_language=body.lodging_language, previous_application_id=body.previous_application_id,
            register_on=body.register_on, narrative=body.narrative)
        return idem.remember(201, detail(done.aggregate), headers={
            "ETag": done.etag, "Location": f"/api/v1/applications/{done.aggregate.id}"})


@router.get(
    "",
    response_model=ApplicationPage,
    summary="List applications",
    description="Applications of the caller's office, filtered by person, status or office, oldest first, a page "
                "at a time. Reads of personal data are audited with the caller's purpose.",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_applications(
    request: Request,
    person_id: str | None = Query(None, max_length=64, description="Only this person's applications"),
    status: str | None = Query(None, max_length=40, pattern=r"^[a-z_]+$", description="Only in this stage (domain state)"),
    office: str | None = Query(None, max_length=100),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("rsd:read")),
) -> ApplicationPage:
    limit, cursor = page
    rules = request.app.state.rules
    async with request.app.state.db.transaction() as session:
        found = await service.list_applications(session, rules, principal, purpose=purpose, limit=limit,
                                                cursor=cursor, person_id=person_id, status=status, office=office)
    items = [summary(r, Application.from_document(r.document, rules=rules)) for r in found.items]
    return ApplicationPage(items=items, next_cursor=found.next_cursor)


async def _read(request: Request, application_id: str, principal: Principal, purpose: str, action: str):
    denied: AccessDenied | None = None
    async with request.app.state.db.transaction() as session:
        try:
            return await service.read(session, request.app.state.rules, request.app.state.keyring, principal,
                                      application_id, purpose=purpose, action=action)
        except AccessDenied as exc:  # the refusal's audit entry commits
            denied = exc
    raise denied


@router.get(
    "/{application_id}",
    response_model=ApplicationDetail,
    summary="Read one application",
    description="The application's standing, steps and deadlines (never the claim's text). The `ETag` header is "
                "needed (as `If-Match`) to change it. Only applications of the caller's office are visible.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_application(application_id: str = APP_ID, *, request: Request, response: Response,
                          purpose: str = Depends(purpose_header),
                          principal: Principal = Depends(require("rsd:read"))) -> ApplicationDetail:
    row, app, _ = await _read(request, application_id, principal, purpose, "read")
    response.headers["ETag"] = etag_of(row.version, row.id)
    return detail(app)


@router.get(
    "/{application_id}/claim",
    response_model=Claim,
    summary="Read the claim (the assigned officer and the deciding supervisor only)",
    description="The narrative, interview records, assessment notes and responses to ending notices, decrypted. "
                "Needs the scope `rsd:assess`, and the caller must be the officer the application is assigned to "
                "(its latest assignment) or a supervisor of its office (`rsd:decide`), who decides it; anyone else "
                "gets 403 `claim_reader_not_assigned`. Every read and every refusal is audited.",
    responses=problem_responses(401, 403, 404, 422),
)
async def read_claim(application_id: str = APP_ID, *, request: Request, purpose: str = Depends(purpose_header),
                     principal: Principal = Depends(require("rsd:assess"))) -> Claim:
    row, _, texts = await _read(request, application_id, principal, purpose, "read-claim")
    return Claim(application_id=row.id, texts=texts)


@router.get(
    "/{application_id}/assignments",
    operation_id="listAssignments",
    response_model=AssignmentPage,
    summary="Assignment history",
    description="Every officer the case was assigned to, oldest first, with the reason for each reassignment.",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def assignments(application_id: str = APP_ID, *, request: Request, page: tuple = Depends(page_params),
                      purpose: str = Depends(purpose_header),
                      principal: Principal = Depends(require("rsd:read"))) -> AssignmentPage:
    limit, cursor = page
    start = cursor.get("i") if cursor else 0
    if not isinstance(start, int) or start < 0:
        raise InvalidCursor()
    _, app, _ = await _read(request, application_id, principal, purpose, "read-assignments")
    chunk = app.assignments[start:start + limit]
    more = start + limit < len(app.assignments)
    return AssignmentPage(items=[AssignmentEntry(officer_id=a.officer_id, assigned_on=a.assigned_on, reason=a.reason)
                                 for a in chunk], next_cursor=encode_cursor({"i": start + limit}) if more else None)
