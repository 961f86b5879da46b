"""The certificates registration issues, as officers manage them: renewal for the next validity period and
replacement of a lost, stolen or damaged document. Thin routes: the rules are in the domain, the steps in
`service.documents`."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import IssuedDocument, effective_status
from .fields import Reason, Strict
from .persons import DocumentOut

router = APIRouter(prefix="/api/v1/persons", tags=["persons"])

_DOC_EXAMPLE = {"document_id": "5d2c7a9e-8b41-4f6a-a0e3-7c9d1e2f3a4b", "number": "RF260081230",
                "kind": "refugee_certificate", "status": "valid", "issued_on": "2026-11-20", "expires_on": "2027-11-19"}


class RenewalIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"note": "holder came in two weeks before expiry"}]})
    note: Reason | None = Field(None, description="Why, for the record (optional)")


class ReplacementIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "lost", "note": "lost on the bus; police report 2026-114"}]})
    reason: Literal["lost", "stolen", "damaged"] = Field(
        description="Why the holder needs a new paper; the old number is revoked with this reason, which "
                    "verification tells (`revocation_reason`)")
    note: Reason | None = Field(None, description="Details, for the record (optional)")


class DocumentChangeOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "issued": _DOC_EXAMPLE,
        "previous": {**_DOC_EXAMPLE, "document_id": "0b6f1f0e-3f1c-4d0e-9c1a-2f7d2a1b9e10", "number": "RF250004711",
                     "issued_on": "2025-11-20", "expires_on": "2026-11-19"},
        "stateless_person_certificate": None}]})

    issued: DocumentOut = Field(description="The new document (print it; its number is what verification takes)")
    previous: DocumentOut = Field(description="The document it replaces, as verification now answers for it")
    stateless_person_certificate: DocumentOut | None = Field(
        None, description="Issued alongside when the holder is a recognised stateless person who has reached the "
                          "age and held none")


def _out(document: IssuedDocument, today: date) -> DocumentOut:
    return DocumentOut(document_id=document.document_id, number=document.document_number, kind=document.kind.value,
                       status=effective_status(document, today).value, issued_on=document.issued_on,
                       expires_on=document.expires_on)


def _change_out(done: service.DocumentChange, today: date) -> DocumentChangeOut:
    extra = done.stateless_certificate
    return DocumentChangeOut(issued=_out(done.issued, today), previous=_out(done.previous, today),
                             stateless_person_certificate=_out(extra, today) if extra else None)


def _fingerprint(person_id: str, document_id: str, body: BaseModel) -> dict[str, Any]:
    return {"person_id": person_id, "document_id": document_id, **body.model_dump(mode="json")}


_RULES_409 = ("**409** with the rule: `document_revoked`, `document_already_replaced`, ")


@router.post(
    "/{person_id}/documents/{document_id}/renewal",
    status_code=201,
    response_model=DocumentChangeOut,
    summary="Renew a certificate for its next validity period",
    description="Issues a new document of the same kind and marks the old one replaced (it stays valid to its own "
                "last day). The new period starts the day after the old one ends (or today, when it has expired) "
                "and lasts the kind's validity: refugee certificate a year, stateless person's certificate 5 years, "
                "asylum-seeker certificate 3 months, and only while the person is an asylum seeker (an extension, "
                "an appeal). " + _RULES_409 + "`renewal_not_backed_by_procedure` (the procedure that issued the "
                "kind no longer backs it: status ended, rejection final, naturalized, deceased) or "
                "`stateless_person_certificate_age`. A recognised stateless holder who has reached 16 and holds no "
                "stateless person's certificate gets it too. Emits `registration.document.issued.v1`; audited. "
                "Retry safely with the same `Idempotency-Key`.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def renew_document(
    person_id: str,
    document_id: str,
    request: Request,
    body: RenewalIn | None = None,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:write")),
) -> DocumentChangeOut:
    body = body or RenewalIn()
    today = date.today()
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"document-renewal:{principal.subject}", idempotency_key,
                           _fingerprint(person_id[:64], document_id[:64], body), principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        done = await service.renew(uow, person_id[:64], document_id[:64], on=today, principal=principal,
                                   rules=request.app.state.rules)
        return idem.remember(201, _change_out(done, today),
                             headers={"Location": f"/api/v1/persons/{person_id[:64]}/documents"})


@router.post(
    "/{person_id}/documents/{document_id}/replacement",
    status_code=201,
    response_model=DocumentChangeOut,
    summary="Replace a lost, stolen or damaged certificate",
    description="Revokes the old number with the reason (verification answers `revoked` with "
                "`revocation_reason`) and issues a new number with the same expiry. " + _RULES_409 +
                "`replacement_of_expired_document` (renew it instead) or `replacement_not_backed_by_procedure`. "
                "Emits `registration.document.revoked.v1` then `registration.document.issued.v1`; audited. "
                "Retry safely with the same `Idempotency-Key`.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def replace_document(
    person_id: str,
    document_id: str,
    body: ReplacementIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:write")),
) -> DocumentChangeOut:
    today = date.today()
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"document-replacement:{principal.subject}", idempotency_key,
                           _fingerprint(person_id[:64], document_id[:64], body), principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        done = await service.replace(uow, person_id[:64], document_id[:64], reason=body.reason, on=today,
                                     principal=principal, rules=request.app.state.rules)
        return idem.remember(201, _change_out(done, today),
                             headers={"Location": f"/api/v1/persons/{person_id[:64]}/documents"})
