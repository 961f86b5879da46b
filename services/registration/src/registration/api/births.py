"""Births into a household, and foundlings: every child born in Kazakhstan is registered,
whatever the parents' status. The civil-registry bridge follows `registration.birth.recorded.v1`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from typing import Annotated

from pydantic import StringConstraints

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from .fields import Identifier, PastDate, Precision, SexIn, Strict, Text
from .persons import NEW_PERSON_LINKS

router = APIRouter(tags=["births"])

CertificateNumber = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9\-/]+$")]


class BirthIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Айгерим", "family_name": "Каримова", "birth_date": "2026-11-20", "sex": "female",
        "place_of_birth": "Almaty", "born_in_kazakhstan": True, "mother_person_id": "0f8e3a52-7c1d-4b9e-a6f0-2d4c8b1e5a73",
        "medical_birth_certificate_number": "MBC-2026-0001", "parents_reside_permanently": False,
    }]})

    given_name: Text
    family_name: Text
    patronymic: Text | None = None
    birth_date: PastDate
    sex: SexIn
    place_of_birth: Text | None = None
    born_in_kazakhstan: bool
    mother_person_id: Identifier | None = None
    father_person_id: Identifier | None = None
    medical_birth_certificate_number: CertificateNumber | None = None
    parents_reside_permanently: bool = False


class FoundlingIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Нұрсұлтан", "family_name": "Табылғанов", "birth_date": "2026-11-01",
        "birth_date_precision": "estimated", "sex": "male", "place_of_birth": "Shymkent"}]})

    given_name: Text
    family_name: Text
    patronymic: Text | None = None
    birth_date: PastDate = Field(description="Estimated when not known")
    birth_date_precision: Precision = "estimated"
    sex: SexIn
    place_of_birth: Text | None = Field(None, description="Where the child was found")
    medical_birth_certificate_number: CertificateNumber | None = None


class ChildRegistered(BaseModel):
    person_id: str
    registration_number: str
    household_id: str | None = None


def _child(body, precision: str = "exact") -> dict:
    return {"given_name": body.given_name, "family_name": body.family_name, "patronymic": body.patronymic,
            "birth_date": body.birth_date, "birth_date_precision": precision, "sex": body.sex}


@router.post(
    "/api/v1/households/{household_id}/births",
    status_code=201,
    response_model=ChildRegistered,
    summary="Record a birth in a household",
    description="Registers the child, adds them to the household next to the parent(s) named (at least one, "
                "present in the household) and emits `registration.birth.recorded.v1` with the parents' legal "
                "status, so that the birth is registered with the civil registry whatever that status is. "
                "Retry safely with the same `Idempotency-Key`.",
    responses={**NEW_PERSON_LINKS, **problem_responses(401, 403, 404, 409, 413, 422)},
)
async def record_birth(
    household_id: str,
    body: BirthIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:write")),
):
    settings = request.app.state.settings
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"birth:{principal.subject}:{household_id[:64]}", idempotency_key, body, principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        child = await service.record_birth(
            uow, household_id[:64], _child(body),
            service.Birth(body.born_in_kazakhstan, body.place_of_birth, body.medical_birth_certificate_number,
                          body.mother_person_id, body.father_person_id, body.parents_reside_permanently),
            principal=principal, office=principal.office or settings.default_office,
            prefix=settings.registration_number_prefix, matching=request.app.state.matching)
        out = ChildRegistered(person_id=child.person_id, registration_number=child.registration_number,
                              household_id=child.household_id)
        return idem.remember(201, out, headers={"Location": f"/api/v1/persons/{child.person_id}"})


@router.post(
    "/api/v1/persons/foundlings",
    status_code=201,
    response_model=ChildRegistered,
    tags=["births"],
    summary="Register a foundling",
    description="A child found in Kazakhstan whose parents are unknown. Emits `registration.birth.recorded.v1` "
                "with `foundling: true` (a foundling is a citizen unless proven otherwise, so the civil registry "
                "and statelessness services follow it). Retry safely with the same `Idempotency-Key`.",
    responses={**NEW_PERSON_LINKS, **problem_responses(401, 403, 409, 413, 422)},
)
async def register_foundling(
    body: FoundlingIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:write")),
):
    settings = request.app.state.settings
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"foundling:{principal.subject}", idempotency_key, body, principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        child = await service.register_foundling(
            uow, _child(body, body.birth_date_precision), place_of_birth=body.place_of_birth,
            medical_birth_certificate_number=body.medical_birth_certificate_number, principal=principal,
            office=principal.office or settings.default_office, prefix=settings.registration_number_prefix,
            matching=request.app.state.matching)
        out = ChildRegistered(person_id=child.person_id, registration_number=child.registration_number)
        return idem.remember(201, out, headers={"Location": f"/api/v1/persons/{child.person_id}"})
