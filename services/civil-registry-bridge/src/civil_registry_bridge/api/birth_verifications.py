"""Birth verification requests: asked by other government systems, read by anyone entitled."""

from __future__ import annotations


from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from pana_kit.auth import Principal, require
from pana_kit.domain import utcnow, new_id
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import page_params, purpose_header
from pana_kit.idempotency import idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain.details import ChildDetails, ParentDetails
from ..domain.request import BirthRequest
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
    candidate = BirthRequest.receive(
        request_id=new_id(), kind=body.kind, idempotency_key=idempotency_key, **_details(body),
        medical_birth_certificate_number=body.medical_birth_certificate_number,
        birth_certificate_number=body.birth_certificate_number, person_id=body.child_person_id,
        now=utcnow(), rules=request.app.state.rules,
    )
    for attempt in range(2):
        try:
            async with unit_of_work(request) as uow:
                stored, created = await service.receive(uow, candidate, client=_client(principal), principal=principal)
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


def _details(body: BirthVerificationIn) -> dict:
    doc = body.model_dump(mode="json")
    return dict(child=ChildDetails.from_document(doc["child"]),
                mother=ParentDetails.from_document(doc["mother"], "mother") if doc["mother"] else None,
                father=ParentDetails.from_document(doc["father"], "father") if doc["father"] else None)


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
    found = await service.find(request.app.state.db, child_person_id=child_person_id, status=status, kind=kind,
                               cursor=cursor, limit=limit, principal=principal, purpose=purpose)
    return BirthVerificationPage(items=[view(r) for r in found.items], next_cursor=found.next_cursor)


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
    return view(await service.read(request.app.state.db, request_id, principal=principal, purpose=purpose))
