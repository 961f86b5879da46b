"""Households (UNHCR registration groups) and continuous registration: arrivals, departures, deaths,
marriages and splits. Each change is an event (`registration.household.changed.v1`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pana_events.events import registration as contract
from pana_kit import audit
from pana_kit.auth import Principal, require
from pana_kit.domain import NotFound, RuleViolation
from pana_kit.errors import problem_responses
from pana_kit.http import check_if_match, etag_of, if_match_header, links_from, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from ..domain import Household, Person
from ..store.repository import Households, Persons
from ..store.tables import HouseholdRow, PersonRow
from .fields import Identifier, PastDate, Reason, Strict

router = APIRouter(prefix="/api/v1/households", tags=["households"])
SERVICE = "registration"

RelationshipIn = Literal["spouse", "child", "stepchild", "parent", "sibling", "grandchild", "grandparent",
                         "other_relative", "non_relative", "unspecified"]


class MemberIn(Strict):
    person_id: Identifier
    relationship: RelationshipIn | Literal["focal"] = Field(description="Relationship to the focal person")


class HouseholdIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "focal_person_id": "0f8e…", "members": [{"person_id": "7a1c…", "relationship": "spouse"}]}]})

    focal_person_id: Identifier
    members: list[MemberIn] = Field(default_factory=list, max_length=50)
    formed_on: PastDate | None = Field(None, description="Defaults to today")


class HouseholdCreated(BaseModel):
    household_id: str


class MemberOut(BaseModel):
    person_id: str
    relationship: str
    state: str
    joined_on: date
    left_on: date | None


class RelationOut(BaseModel):
    person_id: str
    kind: str
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


async def _person_row(session, person_id: str) -> PersonRow:
    row = await session.get(PersonRow, person_id)
    if row is None:
        raise NotFound(f"no person {person_id}")
    if row.document.get("merged_into"):
        raise RuleViolation("merged_record_is_closed", f"{person_id} was merged into {row.document['merged_into']}")
    return row


async def _join(session, person_id: str, household_id: str) -> None:
    """A person belongs to one registration group at a time."""
    row = await _person_row(session, person_id)
    if row.household_id and row.household_id != household_id:
        raise RuleViolation("one_household_per_person", f"{person_id} is a member of household {row.household_id}")
    await Persons(session).set_columns(person_id, household_id=household_id)


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
        idem = Idempotency(uow.session, f"household:{principal.subject}", idempotency_key, body)
        if (replayed := await idem.replay()) is not None:
            return replayed
        formed_on = body.formed_on or date.today()
        household = Household.form(household_id=str(uuid.uuid4()), focal_person_id=body.focal_person_id,
                                   formed_on=formed_on)
        for member in body.members:
            household.add_member(member.person_id, member.relationship, on=formed_on)
        for person_id in household.members:
            await _join(uow.session, person_id, household.household_id)
        await Households(uow.session).add(household)
        household.collect_events()
        await audit.record(uow.session, principal, "form", f"household/{household.household_id}",
                           purpose="registration", service=SERVICE)
        uow.emit(contract.HouseholdChanged(household_id=household.household_id, change="created",
                                           person_id=household.focal_person_id), subject=household.focal_person_id)
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
    async with request.app.state.db.transaction() as session:
        row = await session.get(HouseholdRow, household_id[:64])
        await audit.record(session, principal, "read", f"household/{household_id[:64]}", purpose=purpose,
                           outcome="ok" if row else "not_found", service=SERVICE)
    if row is None:
        raise NotFound(f"no household {household_id[:64]}")
    response.headers["ETag"] = etag_of(row.version, row.household_id)
    return household_out(Household.from_document(row.document), row.version)


async def _change(request: Request, household_id: str, if_match: str | None, principal: Principal, apply):
    """Load, check If-Match, apply a membership change, save, emit; returns the new state."""
    async with unit_of_work(request) as uow:
        households = Households(uow.session)
        household, version = await households.load(household_id[:64])
        check_if_match(if_match, etag_of(version, household.household_id))
        events = await apply(uow, household)
        household.collect_events()
        version = await households.save(household, version)
        await audit.record(uow.session, principal, "change", f"household/{household.household_id}",
                           purpose="registration", service=SERVICE)
        for change, person_id, new_household_id in events:
            uow.emit(contract.HouseholdChanged(household_id=household.household_id, change=change,
                                               person_id=person_id, new_household_id=new_household_id),
                     subject=person_id or household.focal_person_id)
    return household, version


def _respond(response: Response, household: Household, version: int) -> HouseholdOut:
    response.headers["ETag"] = etag_of(version, household.household_id)
    return household_out(household, version)


CHANGE_RESPONSES = problem_responses(401, 403, 404, 409, 412, 422, 428)


@router.post("/{household_id}/arrivals", response_model=HouseholdOut, summary="A member arrives",
             description="A registered person joins the group. Needs `If-Match`.", responses=CHANGE_RESPONSES)
async def record_arrival(household_id: str, body: ArrivalIn, request: Request, response: Response,
                         if_match: str | None = Depends(if_match_header),
                         principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    async def apply(uow, household: Household):
        household.record_arrival(body.person_id, body.relationship, arrived_on=body.arrived_on)
        await _join(uow.session, body.person_id, household.household_id)
        return [("arrival", body.person_id, None)]
    return _respond(response, *await _change(request, household_id, if_match, principal, apply))


@router.post("/{household_id}/departures", response_model=HouseholdOut, summary="A member departs",
             description="A member leaves the group (the focal person names a successor). Needs `If-Match`.",
             responses=CHANGE_RESPONSES)
async def record_departure(household_id: str, body: DepartureIn, request: Request, response: Response,
                           if_match: str | None = Depends(if_match_header),
                           principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    async def apply(uow, household: Household):
        household.record_departure(body.person_id, departed_on=body.departed_on, reason=body.reason,
                                   new_focal_person_id=body.new_focal_person_id, relationships=body.relationships)
        await Persons(uow.session).set_columns(body.person_id, household_id=None)
        return [("departure", body.person_id, None)]
    return _respond(response, *await _change(request, household_id, if_match, principal, apply))


@router.post("/{household_id}/deaths", response_model=HouseholdOut, summary="A member died",
             description="Records the death on the household and on the person's record. Needs `If-Match`.",
             responses=CHANGE_RESPONSES)
async def record_death(household_id: str, body: DeathIn, request: Request, response: Response,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    async def apply(uow, household: Household):
        household.record_death(body.person_id, died_on=body.died_on, new_focal_person_id=body.new_focal_person_id,
                               relationships=body.relationships)
        persons = Persons(uow.session)
        row = await persons.get_row(body.person_id)
        person = Person.from_document(row.document)
        person.record_death(body.died_on, changed_by=principal.subject, reason="death recorded in household",
                            now=datetime.now(timezone.utc))
        await persons.save(person, row.version)
        person.collect_events()
        return [("death", body.person_id, None)]
    return _respond(response, *await _change(request, household_id, if_match, principal, apply))


@router.post("/{household_id}/marriages", response_model=HouseholdOut, summary="A member married",
             description="A spouse from outside the group joins it. Needs `If-Match`.", responses=CHANGE_RESPONSES)
async def record_marriage(household_id: str, body: MarriageIn, request: Request, response: Response,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    async def apply(uow, household: Household):
        await _person_row(uow.session, body.spouse_person_id)
        household.record_marriage(body.person_id, body.spouse_person_id, married_on=body.married_on)
        await _join(uow.session, body.spouse_person_id, household.household_id)
        return [("marriage", body.person_id, None)]
    return _respond(response, *await _change(request, household_id, if_match, principal, apply))


@router.post("/{household_id}/splits", response_model=HouseholdOut, summary="Split the household",
             description="Members move to a new group with their own focal person (returned state is the original "
                         "group; the new group's id is in `registration.household.changed.v1`). Needs `If-Match`.",
             responses=CHANGE_RESPONSES)
async def split_household(household_id: str, body: SplitIn, request: Request, response: Response,
                          if_match: str | None = Depends(if_match_header),
                          principal: Principal = Depends(require("registration:write"))) -> HouseholdOut:
    async def apply(uow, household: Household):
        new = household.split(body.person_ids, new_household_id=str(uuid.uuid4()),
                              new_focal_person_id=body.new_focal_person_id, split_on=body.split_on,
                              relationships=body.relationships)
        new.collect_events()
        await Households(uow.session).add(new)
        persons = Persons(uow.session)
        for person_id in new.members:
            await persons.set_columns(person_id, household_id=new.household_id)
        return [("split", body.new_focal_person_id, new.household_id)]
    return _respond(response, *await _change(request, household_id, if_match, principal, apply))
