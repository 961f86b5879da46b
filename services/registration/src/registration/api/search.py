"""Searching the register: by name (fuzzy, any script), document number, IIN, registration number, filters."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from pana_kit import audit
from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.domain import AccessDenied
from pana_kit.http import page_params, purpose_header
from pana_kit.ratelimit import rate_limit

from ..domain import LegalStatus, Person
from .. import service
from ..store.tables import PersonRow
from .fields import LegalStatusValue, SpecificNeedIn

router = APIRouter(prefix="/api/v1/persons", tags=["persons"])
SERVICE = "registration"

NAME_SEARCH_POOL = service.NAME_SEARCH_POOL
LegalStatusIn = LegalStatusValue


class PersonSummary(BaseModel):
    person_id: str
    registration_number: str
    given_name: str
    family_name: str
    patronymic: str | None
    given_name_latin: str | None
    family_name_latin: str | None
    birth_date: date | None
    birth_date_precision: str
    sex: str
    legal_status: LegalStatusValue | None
    household_id: str | None
    merged_into: str | None
    score: float | None = Field(None, description="Name similarity 0..1 when searching by name")


class PersonPage(BaseModel):
    items: list[PersonSummary]
    next_cursor: str | None = None


def _summary(row: PersonRow, score: float | None = None) -> PersonSummary:
    p = Person.from_document(row.document)
    return PersonSummary(person_id=p.person_id, registration_number=row.registration_number,
                         given_name=p.given_name, family_name=p.family_name, patronymic=p.patronymic,
                         given_name_latin=p.given_name_latin, family_name_latin=p.family_name_latin,
                         birth_date=p.birth_date, birth_date_precision=p.birth_date_precision.value, sex=p.sex.value,
                         legal_status=row.legal_status, household_id=row.household_id, merged_into=p.merged_into,
                         score=score)


Name = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$",
                            description="Any part of the name, in any script; fuzzy (e.g. `Mohammad Nurlybekov` "
                                        "finds `Мухаммад Нұрлыбеков`)")]


@router.get(
    "",
    response_model=PersonPage,
    summary="Search the register",
    description="Filters combine (AND). `name` is fuzzy across scripts and spellings through the stored match and "
                "blocking keys: results are ranked by similarity, the best "
                f"{NAME_SEARCH_POOL} at most. Without `name`, results come in a stable order. Cursor pagination; "
                "needs `X-Purpose`. Only persons of the caller's office (the token's `office`), unless the caller "
                "holds `registration:read:national`. Filtering by a sensitive specific need (`survivor_of_sgbv`, "
                "`survivor_of_torture`) needs `registration:search:sensitive` (supervisors; 403 "
                "`sensitive_need_filter_needs_supervisor` otherwise). Each caller may search "
                "`REGISTRATION_SEARCH_RATE_PER_MINUTE` times a minute (default 30; 429 with `Retry-After` past it). "
                "Every search is audited, with one entry per person returned (`search-result`, `person/{id}`).",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def search_persons(
    request: Request,
    name: Name | None = None,
    document_number: str | None = Query(None, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9<\-/ ]+$"),
    iin: str | None = Query(None, pattern=r"^[0-9]{12}$", description="12-digit IIN"),
    registration_number: str | None = Query(None, min_length=1, max_length=40, pattern=r"^[A-Z0-9\-]+$"),
    legal_status: LegalStatusIn | None = None,
    specific_need: SpecificNeedIn | None = None,
    household_id: str | None = Query(None, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$"),
    include_merged: bool = Query(False, description="Also list records merged into another"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(rate_limit("person-search", per_minute=30, scope="registration:read",
                                              setting="search_rate_per_minute")),
) -> PersonPage:
    limit, cursor = page
    filters = {k: v for k, v in dict(name=name, document_number=document_number, iin=iin,
                                      registration_number=registration_number, legal_status=legal_status,
                                      specific_need=specific_need, household_id=household_id).items() if v}
    resource = "persons?" + "&".join(sorted(filters))
    denied: AccessDenied | None = None
    async with request.app.state.db.transaction() as session:
        reader = service.reader(principal)
        try:
            reader.check_need_filter(specific_need)
            office = reader.office_filter()
        except AccessDenied as exc:  # audited, then refused
            await audit.record(session, principal, "search", resource, purpose=purpose, outcome="denied",
                               service=SERVICE)
            denied = exc
        else:
            found = await service.search_persons(
                session, request.app.state.matching, name=name, include_merged=include_merged, cursor=cursor,
                limit=limit, document_number=document_number, iin=iin, registration_number=registration_number,
                legal_status=legal_status, specific_need=specific_need, household_id=household_id, office=office)
            items = [_summary(row, score) for row, score in found.items]
            await audit.record(session, principal, "search", resource + (f"@{office}" if office else "@national"),
                               purpose=purpose, outcome=f"{len(items)} found", service=SERVICE)
            await service.audit_returned(session, principal, [f"person/{i.person_id}" for i in items], purpose=purpose)
    if denied is not None:
        raise denied
    return PersonPage(items=items, next_cursor=found.next_cursor)
