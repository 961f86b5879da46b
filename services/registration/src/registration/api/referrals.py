"""Border referrals: the border service refers a person who asks for asylum."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pana_kit import audit
from pana_kit.ratelimit import rate_limit
from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import page_params, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import BorderReferral, BorderStatement, GroupRelationship
from .fields import PastDate, SexIn, SpecificNeedIn
from .persons import NEW_PERSON_LINKS
from ..store.repository import Referrals

SERVICE = "registration"

router = APIRouter(prefix="/api/v1/border-referrals", tags=["border referrals"])

# Printable text only: control characters in a name corrupt documents and logs.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$")]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class BorderReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12", "sex": "male",
        "citizenship": "AFG", "crossing_point": "Dostyk", "language": "prs", "intent": "asylum",
    }]})

    given_name: Text
    family_name: Text
    patronymic: Text | None = None
    birth_date: PastDate
    # The register's Sex (pana_events.vocabulary; docs/domain.md, Statistics: female, male): `other` was accepted
    # here and refused when the referral was registered, so it is refused here, at once, with 422.
    sex: SexIn
    citizenship: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 3166-1 alpha-3, or ICAO XXA (stateless), XXB/XXC (refugee), XXX (unspecified)")
    crossing_point: Text
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")] = Field(description="ISO 639-3 code of the language spoken")
    intent: Literal["asylum"]
    irregular_entry: bool = Field(False, description="Entered other than at an official crossing point")
    arrived_on: PastDate | None = Field(None, description="Day of arrival, when before the referral")
    statement: LongText | None = Field(None, description="What the person told the border officer (kept in registration only)")
    # The person's own vocabulary: the referral registers a person, and a border-only list
    # ("single_parent", "other") let the API accept needs the register then refused.
    specific_needs: list[SpecificNeedIn] = Field(default_factory=list, max_length=20)
    office: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9\-]{1,49}$")] | None = None


class BorderReferralOut(BaseModel):
    referral_id: str
    person_id: str
    registration_number: str
    registered_at: datetime
    registration_due: date = Field(description="The person must be registered by this day (docs/domain.md, Registration: lodging window)")
    late: bool = Field(description="Registered after the window: recorded, never a bar to the procedure")


@router.post(
    "",
    operation_id="referPerson",
    status_code=201,
    response_model=BorderReferralOut,
    summary="Refer a person who asks for asylum at the border",
    description="Records what was told at the border, registers the person and starts the asylum procedure "
                "(rsd lodges the application from the event). Repeat with the same `Idempotency-Key` to retry safely.",
    responses={**NEW_PERSON_LINKS, **problem_responses(401, 403, 409, 413, 422)},
)
async def refer(
    body: BorderReferralIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:refer")),
):
    settings = request.app.state.settings
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"border-referral:{principal.subject}", idempotency_key, body, principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        referral, person = await service.refer(
            uow, _person_details(body, body.language),
            crossing_point=body.crossing_point, statement=BorderStatement(text=body.statement or "", language=body.language),
            arrived_on=body.arrived_on, irregular_entry=body.irregular_entry, principal=principal,
            office=body.office or principal.office or settings.default_office,
            prefix=settings.registration_number_prefix, rules=request.app.state.rules)
        out = BorderReferralOut(referral_id=referral.referral_id, person_id=person.person_id,
                                registration_number=person.registration_number, registered_at=referral.registered_at,
                                registration_due=referral.registration_due, late=bool(referral.late))
        return idem.remember(201, out, headers={"Location": f"/api/v1/persons/{person.person_id}"})


class GroupMemberIn(BaseModel):
    """One person of a group referred together, with their relationship to the principal."""
    model_config = ConfigDict(extra="forbid")

    relationship: Literal["principal", "spouse", "child", "other"] = Field(
        description="Relationship to the principal; exactly one member is the principal")
    given_name: Text
    family_name: Text
    patronymic: Text | None = None
    birth_date: PastDate
    sex: SexIn
    citizenship: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 3166-1 alpha-3, or ICAO XXA (stateless), XXB/XXC (refugee), XXX (unspecified)")
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")] | None = Field(
        None, description="ISO 639-3 code; the group's language when not given")
    specific_needs: list[SpecificNeedIn] = Field(default_factory=list, max_length=20)


class GroupReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "crossing_point": "Dostyk", "language": "prs", "intent": "asylum", "members": [
            {"relationship": "principal", "given_name": "Aziz", "family_name": "Karimov", "birth_date": "1990-04-12",
             "sex": "male", "citizenship": "AFG"},
            {"relationship": "spouse", "given_name": "Malika", "family_name": "Karimova", "birth_date": "1992-08-01",
             "sex": "female", "citizenship": "AFG"},
            {"relationship": "child", "given_name": "Timur", "family_name": "Karimov", "birth_date": "2018-03-05",
             "sex": "male", "citizenship": "AFG"},
        ]}]})

    crossing_point: Text
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")] = Field(description="ISO 639-3 code of the language spoken")
    intent: Literal["asylum"]
    irregular_entry: bool = Field(False, description="Entered other than at an official crossing point")
    arrived_on: PastDate | None = Field(None, description="Day of arrival, when before the referral")
    statement: LongText | None = Field(None, description="What the principal told the border officer (kept in registration only)")
    office: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9\-]{1,49}$")] | None = None
    # The group's size is a rule (`group_size_limit`, REGISTRATION_GROUP_REFERRAL_MAX_MEMBERS, 422 with the rule);
    # this bound only keeps the body small.
    members: list[GroupMemberIn] = Field(min_length=1, max_length=200)


class GroupMemberOut(BaseModel):
    person_id: str
    registration_number: str
    relationship: str


class GroupReferralOut(BaseModel):
    referral_id: str
    person_id: str = Field(description="The principal")
    household_id: str = Field(description="The registration group formed around the principal")
    members: list[GroupMemberOut] = Field(description="Everyone registered, in the order given")
    registered_at: datetime
    registration_due: date
    late: bool


@router.post(
    "/groups",
    status_code=201,
    response_model=GroupReferralOut,
    summary="Refer a family travelling together at the border",
    description="The principal and the members travelling with them (spouse, child, other) in one request: each "
                "is registered, the household is formed around the principal and one referral is published naming "
                "them all, so rsd lodges ONE application whose members each have their own status (adults their "
                "own asylum-seeker certificate, children on a parent's). Refused with 422 and the rule, storing "
                "nothing: `one_principal` (exactly one), `duplicate_group_member` (the same names and birth date "
                "twice), `child_born_after_parents` (a child born on or before the principal or the spouse), "
                "`group_size_limit` (more than REGISTRATION_GROUP_REFERRAL_MAX_MEMBERS, default 30). "
                "A person referred alone uses `POST /api/v1/border-referrals`, unchanged. Repeat with the same "
                "`Idempotency-Key` to retry safely.",
    responses={**NEW_PERSON_LINKS, **problem_responses(401, 403, 409, 413, 422)},
)
async def refer_group(
    body: GroupReferralIn,
    request: Request,
    idempotency_key: str = Depends(idempotency_key_header),
    principal: Principal = Depends(require("registration:refer")),
):
    settings = request.app.state.settings
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, f"border-referral-group:{principal.subject}", idempotency_key, body,
                           principal=principal)
        if (replayed := await idem.replay()) is not None:
            return replayed
        referral, registered, household_id = await service.refer_group(
            uow, [(GroupRelationship(m.relationship), _person_details(m, m.language or body.language))
                  for m in body.members],
            crossing_point=body.crossing_point,
            statement=BorderStatement(text=body.statement or "", language=body.language,
                                      persons_travelling=len(body.members)),
            arrived_on=body.arrived_on, irregular_entry=body.irregular_entry, principal=principal,
            office=body.office or principal.office or settings.default_office,
            prefix=settings.registration_number_prefix, rules=request.app.state.rules)
        out = GroupReferralOut(
            referral_id=referral.referral_id, person_id=referral.person_id, household_id=household_id,
            members=[GroupMemberOut(person_id=p.person_id, registration_number=p.registration_number,
                                    relationship=rel.value) for rel, p in registered],
            registered_at=referral.registered_at, registration_due=referral.registration_due,
            late=bool(referral.late))
        return idem.remember(201, out, headers={"Location": f"/api/v1/persons/{referral.person_id}"})


def _person_details(m: BorderReferralIn | GroupMemberIn, language: str) -> dict:
    """What registration records of a referred person, alone or in a group."""
    return {"given_name": m.given_name, "family_name": m.family_name, "patronymic": m.patronymic,
            "birth_date": m.birth_date, "sex": m.sex, "citizenships": [m.citizenship],
            "country_of_origin": m.citizenship if m.citizenship not in ("XXA", "XXB", "XXC", "XXX") else None,
            "languages": [language], "specific_needs": m.specific_needs}


class ReferralSummary(BaseModel):
    referral_id: str
    person_id: str | None = Field(description="Null until the person is registered")
    crossing_point: str
    referred_at: datetime
    arrived_on: date
    irregular_entry: bool
    registration_due: date
    registered_at: datetime | None
    late: bool | None = Field(description="Registered after the window (recorded, never a bar to the procedure)")
    overdue: bool = Field(description="Not registered and the window has passed")
    days_overdue: int | None = Field(None, description="Whole days past the due date, for overdue referrals")
    time_to_registration_hours: float | None = Field(description="Referral to registration, in hours")


class ReferralPage(BaseModel):
    items: list[ReferralSummary]
    next_cursor: str | None = None


def referral_summary(referral: BorderReferral, today: date) -> ReferralSummary:
    elapsed = referral.time_to_registration
    overdue = referral.is_overdue(today)
    return ReferralSummary(
        referral_id=referral.referral_id, person_id=referral.person_id, crossing_point=referral.crossing_point,
        referred_at=referral.referred_at, arrived_on=referral.arrived_on, irregular_entry=referral.irregular_entry,
        registration_due=referral.registration_due, registered_at=referral.registered_at, late=referral.late,
        overdue=overdue, days_overdue=(today - referral.registration_due).days if overdue else None,
        time_to_registration_hours=round(elapsed.total_seconds() / 3600, 2) if elapsed is not None else None)


@router.get(
    "",
    response_model=ReferralPage,
    summary="List border referrals (overdue ones first of all)",
    description="Referrals by due date. `overdue=true`: those not yet registered whose registration window "
                "(docs/domain.md, Registration: 5 days after arrival, 1 after irregular entry) has passed — the ones to chase. "
                "`registered=true|false` filters on registration. Each shows the time from referral to "
                "registration. What was said at the border is not listed. Needs `X-Purpose`; rate-limited per caller "
                "(`REGISTRATION_LIST_RATE_PER_MINUTE`, default 60; 429 with `Retry-After`); audited with one entry "
                "per referral returned.",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def list_referrals(
    request: Request,
    overdue: bool = Query(False, description="Only referrals not registered and past their due date"),
    registered: bool | None = Query(None, description="Only registered (true) or not yet registered (false)"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(rate_limit("referral-list", per_minute=60, scope="registration:read",
                                              setting="list_rate_per_minute")),
) -> ReferralPage:
    limit, cursor = page
    today = date.today()
    async with request.app.state.db.transaction() as session:
        found = await Referrals(session).page(overdue=overdue, registered=registered, today=today, cursor=cursor,
                                              limit=limit)
        await audit.record(session, principal, "list-referrals", f"border-referrals?overdue={str(overdue).lower()}",
                           purpose=purpose, outcome=f"{len(found.items)} found", service=SERVICE)
        await service.audit_returned(session, principal, [f"border-referral/{r.referral_id}" for r in found.items],
                                     purpose=purpose)
    return ReferralPage(items=[referral_summary(r, today) for r in found.items], next_cursor=found.next_cursor)
