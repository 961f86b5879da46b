"""Households (UNHCR registration groups) and continuous registration: arrivals, departures, deaths,
marriages and splits. Each change is an event (`registration.household.changed.v1`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import etag_of, if_match_header, links_from, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import Household
from ..domain.household import MemberState, RelationKind, Relationship
from ..store.repository import Households
from .fields import Identifier, PastDate, Reason, Strict
from .reading import audited_reading

router = APIRouter(prefix="/api/v1/households", tags=["households"])

RelationshipIn = Literal["spouse", "child", "stepchild", "parent", "sibling", "grandchild", "grandparent",
                         "other_relative", "non_relative", "unspecified"]


class MemberIn(Strict):
    person_id: Identifier
    relationship: RelationshipIn | Literal["focal"] = Field(description="Relationship to the focal person")


class HouseholdIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "focal_person_id": "0f8e3a52-7c1d-4b9e-a6f0-2d4c8b1e5a73", "members": [{"person_id": "7a1c9d03-5e2b-4f8a-b1c6-9d0e3f7a2b48", "relationship": "spouse"}]}]})

    focal_person_id: Identifier
    members: list[MemberIn] = Field(default_factory=list, max_length=50)
    formed_on: PastDate | None = Field(None, description="Defaults to today")


class HouseholdCreated(BaseModel):
    household_id: str


class MemberOut(BaseModel):
    person_id: str
    relationship: Relationship
    state: MemberState
    joined_on: date
    left_on: date | None


class RelationOut(BaseModel):
    person_id: str
    kind: RelationKind
    related_person_id: str


class HouseholdOut(BaseModel):
    household_id: str
    focal_person_id: str
    split_from: str | None
    members: list[MemberOut]
    relations: list[RelationOut]
    version: int


class ArrivalIn(Strict):
    person_id: Identifier
    relationship: RelationshipIn
    arrived_on: PastDate


class DepartureIn(Strict):
    person_id: Identifier
    departed_on: PastDate
    reason: Reason
    new_focal_person_id: Identifier | None = Field(None, description="Needed when the focal person leaves")
    relationships: dict[Identifier, RelationshipIn] | None = Field(None, max_length=50,
                                                                    description="Relationships to the new focal person")


class DeathIn(Strict):
    person_id: Identifier
    died_on: PastDate
    new_focal_person_id: Identifier | None = None
    relationships: dict[Identifier, RelationshipIn] | None = Field(None, max_length=50)


class MarriageIn(Strict):
    person_id: Identifier
    spouse_person_id: Identifier
    married_on: PastDate


class SplitIn(Strict):
    person_ids: list[Identifier] = Field(min_length=1, max_length=50)
    new_focal_person_id: Identifier
    split_on: PastDate
    relationships: dict[Identifier, RelationshipIn] | None = Field(None, max_length=50)


def household_out(household: Household, version: int) -> HouseholdOut:
    doc = household.to_document()
    return HouseholdOut(household_id=household.household_id, focal_person_id=household.focal_person_id,
                        split_from=household.split_from, members=[MemberOut(**m) for m in doc["members"]],
                        relations=[RelationOut(**r) for r in doc["relations"]], version=version)


@router.post(
    "",
    status_code=201,
    response_model=HouseholdCreated,
    summary="Form a household",
    description="A registration group: one focal person and members with their relationship to them. Two focal "
                "persons (`one_focal_person`), a person in two groups (`one_household_per_person`) or a cycle of "
                "relationships (`no_cycle_of_relationships`) are refused with 409 and nothing is stored.",
    responses={**links_from(201, "household_id", GetHousehold="GET /api/v1/households/{household_id}",
                            RecordBirth="POST /api/v1/households/{household_id}/births"),
               **problem_responses(401, 403, 404, 409, 422)},
)
async def form_household(
    body: HouseholdIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:write")),
):
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"household:{principal.subject}", idempotency_key, body, principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        household = await service.form_household(
            uow, focal_person_id=body.focal_person_id, members=[(m.person_id, m.relationship) for m in body.members],
            formed_on=body.formed_on or date.today(), principal=principal)
        return idem.remember(201, HouseholdCreated(household_id=household.household_id),
                             headers={"Location": f"/api/v1/households/{household.household_id}"})


@router.get(
    "/{household_id}",
    response_model=HouseholdOut,
    summary="Read a household",
    description="Members (present, departed, deceased, moved) and recorded relations. Needs `X-Purpose`; audited. "
                "The `ETag` is needed (as `If-Match`) for membership changes.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_household(
    household_id: str,
    request: Request,
    response: Response,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
) -> HouseholdOut:
    async with audited_reading(request) as session:
        row = await service.audited_read(session, await Households(session).find_row(household_id[:64]),
                                         principal=principal, action="read", resource=f"household/{household_id[:64]}",
                                         purpose=purpose, what=f"household {household_id[:64]}")
    response.headers["ETag"] = etag_of(row.version, row.household_id)
    return household_out(Household.from_document(row.document), row.version)


async def _change(request: Request, household_id: str, if_match: str | None, principal: Principal, change):
    async with unit_of_work(request) as uow:
        done = await service.change_household(uow, household_id[:64], change, principal=principal, if_match=if_match)
    return done.aggregate, done.version


def _respond(response: Response, household: Household, version: int) -> HouseholdOut:
    response.headers["ETag"] = etag_of(version, household.household_id)
    return household_out(household, version)


CHANGE_RESPONSES = problem_responses(401, 403, 404, 409, 412, 422, 428)


@router.post("/{household_id}/arrivals", response_model=HouseholdOut, summary="A member arrives",
             description="A registered person joins the group. Needs `If-Match`.", responses=CHANGE_RESPONSES)
async def record_arrival(household_id: str, body: ArrivalIn, request: Request, response: Response,
                         if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    return _respond(response, *await _change(request, household_id, if_match, principal,
                                             service.arrival(body.person_id, body.relationship, body.arrived_on)))


@router.post("/{household_id}/departures", response_model=HouseholdOut, summary="A member departs",
             description="A member leaves the group (the focal person names a successor). Needs `If-Match`.",
             responses=CHANGE_RESPONSES)
async def record_departure(household_id: str, body: DepartureIn, request: Request, response: Response,
                           if_match: str | None = Depends(if_match_header),
                           principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    return _respond(response, *await _change(request, household_id, if_match, principal,
                                             service.departure(body.person_id, departed_on=body.departed_on, reason=body.reason, new_focal_person_id=body.new_focal_person_id, relationships=body.relationships)))


@router.post("/{household_id}/deaths", response_model=HouseholdOut, summary="A member died",
             description="Records the death on the household and on the person's record. Needs `If-Match`.",
             responses=CHANGE_RESPONSES)
async def record_death(household_id: str, body: DeathIn, request: Request, response: Response,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    return _respond(response, *await _change(request, household_id, if_match, principal,
                                             service.death(body.person_id, died_on=body.died_on, new_focal_person_id=body.new_focal_person_id, relationships=body.relationships, principal=principal)))


@router.post("/{household_id}/marriages", response_model=HouseholdOut, summary="A member married",
             description="A spouse from outside the group joins it. Needs `If-Match`.", responses=CHANGE_RESPONSES)
async def record_marriage(household_id: str, body: MarriageIn, request: Request, response: Response,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    return _respond(response, *await _change(request, household_id, if_match, principal,
                                             service.marriage(body.person_id, body.spouse_person_id, body.married_on)))


@router.post("/{household_id}/splits", response_model=HouseholdOut, summary="Split the household",
             description="Members move to a new group with their own focal person (returned state is the original "
                         "group; the new group's id is in `registration.household.changed.v1`). Needs `If-Match`.",
             responses=CHANGE_RESPONSES)
async def split_household(household_id: str, body: SplitIn, request: Request, response: Response,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    return _respond(response, *await _change(request, household_id, if_match, principal,
                                             service.split(body.person_ids, new_focal_person_id=body.new_focal_person_id, split_on=body.split_on, relationships=body.relationships)))
