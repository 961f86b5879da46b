"""Birth verification requests: asked by other government systems, read by anyone entitled."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from pana_kit import audit
from pana_kit.auth import Principal, require
from pana_kit.domain import NotFound
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import encode_cursor, keyset_after, keyset_position, page_params, purpose_header
from pana_kit.idempotency import idempotency_key_header
from pana_kit.service import unit_of_work

from ..domain.details import ChildDetails, ParentDetails
from ..domain.request import BirthRequest
from ..intake import store_request
from ..store.tables import BirthRequestRow
from ..worker import utcnow
from .schemas import BirthVerification, BirthVerificationIn, BirthVerificationPage, RequestStatus

router = APIRouter(prefix="/api/v1/birth-verifications", tags=["birth-verifications"])


def view(request: BirthRequest) -> BirthVerification:
    late = None
    if request.state in ("submitted", "registered") and request.updated_at is not None:
        late = request.is_late(request.updated_at.date())
    return BirthVerification(
        id=request.request_id, child_person_id=request.person_id, kind=request.kind, status=request.state,
        certificate_number=request.certificate_number, iin=request.child_iin, submission_id=request.submission_id,
        reason=request.reason, attempts=request.attempts, last_error=request.last_error,
        next_attempt_at=request.next_attempt_at, received_at=request.received_at, updated_at=request.updated_at,
        registration_deadline=request.registration_deadline, late=late,
    )


def _client(principal: Principal) -> str:
    return (principal.client_id or "-")[:80] + "/" + principal.subject[:110]


@router.post(
    "",
    status_code=202,
    response_model=BirthVerification,
    summary="Ask for a birth to be verified (or registered)",
    description=(
        "Stores the request and answers at once (**202**); the registry is called in the background and the outcome "
        "is published on `civil-registry.events` (verified, not found, submitted, registered, rejected, quarantined) "
        "and readable here. A birth in Kazakhstan that the registry does not know is submitted for registration on "
        "the basis of the medical birth certificate, **whatever the parents' legal status** (2019 amendments).\n\n"
        "The `Idempotency-Key` makes retries safe: the same key with the same body answers the stored request "
        "(**200**, `Idempotent-Replayed: true`); with a different body **409**. Impossible details (a child born in "
        "the future or before the mother, a malformed IIN) are refused with **422** naming each field; a submission "
        "without a medical birth certificate is **422**, one for a birth abroad **409**."),
    responses={200: {"description": "The same Idempotency-Key again: the stored request", "model": BirthVerification},
               **problem_responses(400, 401, 403, 409, 413, 422)},
)
async def create_birth_verification(
    body: BirthVerificationIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("civil-registry:verify")),
):
    if body.kind == "submission" and not principal.has("civil-registry:submit"):
        raise Problem(403, "a direct submission needs the scope civil-registry:submit", type_suffix="insufficient-scope")
    doc = body.model_dump(mode="json")
    child = ChildDetails.from_document(doc["child"])
    mother = ParentDetails.from_document(doc["mother"], "mother") if doc["mother"] else None
    father = ParentDetails.from_document(doc["father"], "father") if doc["father"] else None
    candidate = BirthRequest.receive(
        request_id=str(uuid.uuid4()), kind=body.kind, idempotency_key=idempotency_key, child=child, mother=mother,
        father=father, medical_birth_certificate_number=body.medical_birth_certificate_number,
        birth_certificate_number=body.birth_certificate_number, person_id=body.child_person_id,
        now=utcnow(), rules=request.app.state.rules,
    )
    for attempt in range(2):
        try:
            async with unit_of_work(request) as uow:
                stored, created = await store_request(uow.session, candidate, client=_client(principal))
                await audit.record(uow.session, principal, "create" if created else "replay",
                                   f"birth-verification/{stored.request_id}", purpose="verification",
                                   service="civil-registry-bridge")
            break
        except IntegrityError:
            if attempt:  # the same key raced in twice; the second read finds the first
                raise Problem(409, "this request is being stored by a concurrent call; retry it")
    if created:
        request.app.state.work.wake.set()
    headers = {"Location": f"/api/v1/birth-verifications/{stored.request_id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(view(stored).model_dump(mode="json"), status_code=202 if created else 200, headers=headers)


@router.get(
    "",
    response_model=BirthVerificationPage,
    summary="List birth verification requests",
    description="Requests filtered by the child's person id, status or kind, oldest first, a page at a time. "
                "Reads are audited with the caller's purpose.",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_birth_verifications(
    request: Request,
    child_person_id: str | None = Query(None, min_length=1, max_length=100, description="Only this child's requests"),
    status: RequestStatus | None = Query(None, description="Only requests in this state"),
    kind: str | None = Query(None, pattern=r"^(verification|submission)$"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("civil-registry:read")),
) -> BirthVerificationPage:
    limit, cursor = page
    stmt = select(BirthRequestRow).order_by(BirthRequestRow.created_at, BirthRequestRow.id).limit(limit + 1)
    if child_person_id:
        stmt = stmt.where(BirthRequestRow.person_id == child_person_id)
    if status:
        stmt = stmt.where(BirthRequestRow.status == status)
    if kind:
        stmt = stmt.where(BirthRequestRow.kind == kind)
    stmt = keyset_after(stmt, BirthRequestRow.created_at, BirthRequestRow.id, keyset_position(cursor))
    async with request.app.state.db.transaction() as session:
        rows = list((await session.execute(stmt)).scalars())
        await audit.record(session, principal, "list", f"birth-verifications?child_person_id={child_person_id or '*'}",
                           purpose=purpose, service="civil-registry-bridge")
    more = len(rows) > limit
    rows = rows[:limit]
    items = [view(BirthRequest.from_document(r.document)) for r in rows]
    next_cursor = encode_cursor({"created_at": rows[-1].created_at.isoformat(), "id": rows[-1].id}) if more else None
    return BirthVerificationPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{request_id}",
    response_model=BirthVerification,
    summary="Read one birth verification request",
    description="Where the request stands; settled outcomes carry the certificate number and the child's IIN, "
                "or the reason for a rejection or quarantine.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_birth_verification(
    request: Request,
    response: Response,
    request_id: str = Path(..., min_length=1, max_length=64),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("civil-registry:read")),
) -> BirthVerification:
    async with request.app.state.db.transaction() as session:
        row = await session.get(BirthRequestRow, request_id)
        await audit.record(session, principal, "read", f"birth-verification/{request_id}", purpose=purpose,
                           outcome="ok" if row else "not_found", service="civil-registry-bridge")
    if row is None:
        raise NotFound(f"no birth verification request {request_id}")
    return view(BirthRequest.from_document(row.document))
