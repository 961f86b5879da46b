"""Persons: registering (with duplicate matching), reading, correcting and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import etag_of, if_match_header, links_from, page_params, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import Person, effective_status
from ..domain.countries import NO_CITIZENSHIP, UNDETERMINED
from ..domain.person import MaritalStatus
from ..pages import offset_of, offset_page
from ..publishing import citizenship_status
from ..store.repository import IssuedDocuments, Persons
from ..store.tables import PersonRow
from .reading import audited_reading
from .fields import (
    AddressIn, ContactIn, CountryCode, LanguageCode, LegalStatusValue, PastDate, Precision, Reason, SexIn, Specifics,
    Strict, Text,
)

# What can follow any answer that registered a person (OpenAPI links).
NEW_PERSON_LINKS = links_from(201, "person_id", GetPerson="GET /api/v1/persons/{person_id}",
                              UpdatePerson="PATCH /api/v1/persons/{person_id}",
                              PersonHistory="GET /api/v1/persons/{person_id}/history",
                              AddIdentityDocument="POST /api/v1/persons/{person_id}/identity-documents")

router = APIRouter(prefix="/api/v1/persons", tags=["persons"])

MaritalIn = Literal["single", "married", "engaged", "divorced", "separated", "widowed", "unknown"]


class PersonDetails(Strict):
    patronymic: Text | None = None
    given_name_latin: Text | None = Field(None, description="Latin form as in a passport; transliterated when absent")
    family_name_latin: Text | None = None
    patronymic_latin: Text | None = None
    birth_date_precision: Precision = "exact"
    citizenship: list[CountryCode] = Field(default_factory=list, max_length=5, description=(
        "ISO 3166-1 alpha-3, or ICAO 9303 XXA (stateless), XXB/XXC (refugee), XXX (unspecified)"))
    citizenship_status: Literal["known", "none", "undetermined"] | None = Field(
        None, description="`none`: no citizenship; `undetermined`: not yet established. Defaults from `citizenship`.")
    country_of_origin: CountryCode | None = None
    ethnicity: Text | None = None
    languages: list[LanguageCode] = Field(default_factory=list, max_length=10, description="ISO 639-3 codes")
    interpreter_needed: bool = False
    marital_status: MaritalIn = "unknown"
    address: AddressIn | None = Field(None, description="Address in Kazakhstan")
    contacts: list[ContactIn] = Field(default_factory=list, max_length=10)
    specific_needs: Specifics = Field(default_factory=list, description="UNHCR specific-needs categories")


class PersonIn(PersonDetails):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Мухаммад", "family_name": "Каримов", "birth_date": "1990-04-12", "sex": "male",
        "citizenship": ["AFG"], "country_of_origin": "AFG", "languages": ["prs"], "interpreter_needed": True,
        "specific_needs": ["survivor_of_torture"],
    }]})

    given_name: Text
    family_name: Text
    birth_date: PastDate
    sex: SexIn
    override_reason: Reason | None = Field(
        None, description="Register despite a likely duplicate; the reason is recorded and audited")


class PersonPatch(Strict):
    """Only the fields sent change; `reason` says why (kept in the history)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "family_name_latin": "Karimov", "reason": "spelling as in the passport"}]})

    given_name: Text | None = None
    family_name: Text | None = None
    patronymic: Text | None = None
    given_name_latin: Text | None = None
    family_name_latin: Text | None = None
    patronymic_latin: Text | None = None
    birth_date: PastDate | None = None
    birth_date_precision: Precision | None = None
    sex: SexIn | None = None
    citizenship: list[CountryCode] | None = Field(None, max_length=5)
    citizenship_status: Literal["known", "none", "undetermined"] | None = None
    country_of_origin: CountryCode | None = None
    ethnicity: Text | None = None
    languages: list[LanguageCode] | None = Field(None, max_length=10)
    interpreter_needed: bool | None = None
    marital_status: MaritalIn | None = None
    address: AddressIn | None = None
    contacts: list[ContactIn] | None = Field(None, max_length=10)
    specific_needs: Specifics | None = None
    reason: Reason


class Candidate(BaseModel):
    person_id: str
    score: float
    reasons: list[str]


class PersonCreated(BaseModel):
    person_id: str
    registration_number: str
    registered_at: datetime
    given_name_latin: str | None
    family_name_latin: str | None
    possible_duplicates: list[Candidate] = Field(default_factory=list,
                                                 description="Queued for review; registration went ahead")
    candidate_limit_reached: bool = Field(False, description="More people shared a blocking key than the matching "
                                                             "compares (`candidate_limit`); those beyond were not")


class IdentityDocumentOut(BaseModel):
    kind: str
    number: str
    issuing_state: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None


class PersonOut(BaseModel):
    person_id: str
    registration_number: str
    given_name: str
    family_name: str
    patronymic: str | None
    given_name_latin: str | None
    family_name_latin: str | None
    patronymic_latin: str | None
    name_script: str
    birth_date: date | None
    birth_date_precision: str
    sex: str
    citizenship: list[str]
    citizenship_status: Literal["known", "none", "undetermined"]
    country_of_origin: str | None
    ethnicity: str | None
    languages: list[str]
    interpreter_needed: bool
    marital_status: MaritalStatus
    address: dict[str, Any] | None
    contacts: list[dict[str, Any]]
    specific_needs: list[str]
    household_id: str | None
    legal_status: LegalStatusValue | None = Field(description="Projection of rsd and statelessness decisions per procedure, "
                                                  "combined by the precedence table; never edited by hand")
    identity_documents: list[dict[str, Any]]
    biometric_reference: str | None
    date_of_death: date | None
    merged_into: str | None
    iin: str | None = Field(None, description="From the civil registry")
    birth_certificate_number: str | None = Field(None, description="From the civil registry")
    registered_at: datetime
    version: int


class ChangeOut(BaseModel):
    changed_by: str
    changed_at: datetime
    reason: str
    fields: list[str]
    previous: dict[str, Any]


class DocumentOut(BaseModel):
    document_id: str
    number: str = Field(description="The number printed on the document (what `GET /api/v1/verify/{number}` takes)")
    kind: Literal["asylum_seeker_certificate", "refugee_certificate", "stateless_person_certificate",
                  "statelessness_procedure_certificate"]
    status: Literal["valid", "expired", "revoked"] = Field(
        description="As of today, the same answer verification gives for this number")
    issued_on: date
    expires_on: date = Field(description="The last day it is valid")


class DocumentsPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "items": [
            {"document_id": "0b6f1f0e-3f1c-4d0e-9c1a-2f7d2a1b9e10", "number": "AS260004711", "kind":
             "asylum_seeker_certificate", "status": "revoked", "issued_on": "2026-11-02", "expires_on": "2027-02-01"},
            {"document_id": "5d2c7a9e-8b41-4f6a-a0e3-7c9d1e2f3a4b", "number": "RF260081230", "kind":
             "refugee_certificate", "status": "valid", "issued_on": "2026-11-20", "expires_on": "2027-11-19"}],
        "next_cursor": None}]})

    items: list[DocumentOut]
    next_cursor: str | None = None


class HistoryPage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str | None = None


def domain_details(body: BaseModel, *, exclude: set[str]) -> dict[str, Any]:
    """Request fields -> the Person aggregate's field names (citizenship + status -> citizenships)."""
    return service.person_fields(body.model_dump(exclude_unset=True, exclude=exclude))


def person_out(person: Person, row: PersonRow) -> PersonOut:
    doc = person.to_document()
    return PersonOut(
        person_id=person.person_id, registration_number=row.registration_number, given_name=person.given_name,
        family_name=person.family_name, patronymic=person.patronymic, given_name_latin=person.given_name_latin,
        family_name_latin=person.family_name_latin, patronymic_latin=person.patronymic_latin,
        name_script=person.name_script, birth_date=person.birth_date,
        birth_date_precision=person.birth_date_precision.value, sex=person.sex.value,
        citizenship=[c for c in person.citizenships if c not in (NO_CITIZENSHIP, UNDETERMINED)],
        citizenship_status=citizenship_status(person), country_of_origin=person.country_of_origin,
        ethnicity=person.ethnicity, languages=list(person.languages), interpreter_needed=person.interpreter_needed,
        marital_status=person.marital_status.value, address=doc["address"], contacts=doc["contacts"],
        specific_needs=doc["specific_needs"], household_id=row.household_id, legal_status=row.legal_status,
        identity_documents=doc["identity_documents"], biometric_reference=person.biometric_reference,
        date_of_death=person.date_of_death, merged_into=person.merged_into, iin=person.iin,
        birth_certificate_number=person.birth_certificate_number, registered_at=person.registered_at,
        version=row.version,
    )


@router.post(
    "",
    status_code=201,
    response_model=PersonCreated,
    summary="Register a person",
    description="Registers a person in the population register after duplicate matching across scripts. A likely "
                "duplicate is refused with **409** (`rule: likely_duplicate`) listing `candidates`, unless "
                "`override_reason` is given (recorded and audited). Possible duplicates go to the review queue. "
                "Emits `registration.person.registered.v1`. Retry safely with the same `Idempotency-Key`.",
    responses={**NEW_PERSON_LINKS, **problem_responses(401, 403, 409, 413, 422)},
)
async def register_person(
    body: PersonIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:write")),
):
    settings = request.app.state.settings
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"person:{principal.subject}", idempotency_key, body, principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        done = await service.register_person(
            uow, body.model_dump(exclude_unset=True, exclude={"override_reason"}) | {
                "given_name": body.given_name, "family_name": body.family_name, "birth_date": body.birth_date,
                "sex": body.sex},
            override_reason=body.override_reason, principal=principal,
            office=principal.office or settings.default_office, prefix=settings.registration_number_prefix,
            matching=request.app.state.matching)
        person = done.person
        out = PersonCreated(person_id=person.person_id, registration_number=person.registration_number,
                            registered_at=person.registered_at, given_name_latin=person.given_name_latin,
                            family_name_latin=person.family_name_latin,
                            possible_duplicates=[Candidate(**c.to_document()) for c in done.possible_duplicates],
                            candidate_limit_reached=done.candidate_limit_reached)
        response = idem.remember(201, out, headers={"Location": f"/api/v1/persons/{person.person_id}"})
        await service.record_audits(uow, done)  # last: the audit append holds writers back until the commit
        return response


async def read_person(session, principal: Principal, person_id: str, purpose: str, action: str = "read"):
    """Load a person for a read, auditing the read whether or not the person exists."""
    found = await Persons(session).find_row(person_id[:64])
    row = await service.audited_read(session, found, principal=principal,
                                     action=action, resource=f"person/{person_id[:64]}", purpose=purpose,
                                     what=f"person {person_id[:64]}",
                                     visible=found is None or service.reader(principal).may_read(found.office))
    return row, Person.from_document(row.document)


@router.get(
    "/{person_id}",
    response_model=PersonOut,
    summary="Read a person's record",
    description="The full record with its stored Latin transliteration and legal status. Needs `X-Purpose`; "
                "every read is audited. The `ETag` header is needed (as `If-Match`) to change it.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_person(
    person_id: str,
    request: Request,
    response: Response,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
) -> PersonOut:
    async with audited_reading(request) as session:
        row, person = await read_person(session, principal, person_id, purpose)
    response.headers["ETag"] = etag_of(row.version, row.person_id)
    return person_out(person, row)


@router.patch(
    "/{person_id}",
    response_model=PersonOut,
    summary="Correct or complete a person's record",
    description="Changes only the fields sent; `reason` is required and kept in the history with who and when. "
                "Needs `If-Match` with the ETag of the last read (428 without, 412 when stale). Legal status is "
                "not a field here: it follows decisions made in rsd and statelessness.",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def update_person(
    person_id: str,
    body: PersonPatch,
    request: Request,
    response: Response,
    if_match: str | None = Depends(if_match_header),
    principal: Principal = Depends(require("registration:write")),
) -> PersonOut:
    async with unit_of_work(request) as uow:
        done, row = await service.update_person(uow, person_id[:64], body.model_dump(exclude_unset=True, exclude={"reason"}),
                                                reason=body.reason, principal=principal, if_match=if_match,
                                                matching=request.app.state.matching)
    response.headers["ETag"] = done.etag
    return person_out(done.aggregate, row)


@router.get(
    "/{person_id}/history",
    operation_id="getPersonHistory",
    response_model=HistoryPage,
    summary="A person's change history",
    description="Who changed what, when and why (with the previous values), oldest first, a page at a time. "
                "Needs `X-Purpose`; audited.",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def person_history(
    person_id: str,
    request: Request,
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
) -> HistoryPage:
    limit, cursor = page
    start = offset_of(cursor)
    async with audited_reading(request) as session:
        _, person = await read_person(session, principal, person_id, purpose, action="read-history")
    entries = offset_page(person.history, start, limit)
    return HistoryPage(
        items=[ChangeOut(changed_by=h.changed_by, changed_at=h.changed_at, reason=h.reason, fields=list(h.fields),
                         previous=h.previous) for h in entries.items],
        next_cursor=entries.next_cursor)


@router.get(
    "/{person_id}/documents",
    operation_id="listPersonDocuments",
    response_model=DocumentsPage,
    summary="The documents issued to a person",
    description="Every certificate registration issued to the person as holder (asylum-seeker, refugee, stateless "
                "person), oldest first, a page at a time: its number (to print, or to tell the holder), kind, "
                "dates and status as of today (`valid`, `expired` or `revoked`: the answer "
                "`GET /api/v1/verify/{number}` gives for it). Children entered on a parent's asylum-seeker "
                "certificate appear on the parent's list. Needs `X-Purpose`; every read is audited, also of an "
                "unknown person (404).",
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def person_documents(
    person_id: str,
    request: Request,
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
) -> DocumentsPage:
    limit, cursor = page
    async with audited_reading(request) as session:
        await read_person(session, principal, person_id, purpose, action="read-documents")
        documents = await IssuedDocuments(session).page_of(person_id[:64], cursor=cursor, limit=limit)
    today = date.today()
    return DocumentsPage(items=[
        DocumentOut(document_id=d.document_id, number=d.document_number, kind=d.kind.value,
                    status=effective_status(d, today).value, issued_on=d.issued_on, expires_on=d.expires_on)
        for d in documents.items], next_cursor=documents.next_cursor)
