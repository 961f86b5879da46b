"""Children at risk of statelessness: the flags raised at birth and their resolution."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import etag_of, if_match_header, page_params, purpose_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import ChildAtRiskFlag, ResolutionBasis
from . import schemas as s
from .common import ID_PATTERN, use_cases

router = APIRouter(prefix="/api/v1/children-at-risk", tags=["children-at-risk"])
FlagId = Path(..., pattern=ID_PATTERN, description="The flag id")


def flag_out(flag: ChildAtRiskFlag, rules, today: date | None = None) -> s.ChildFlagOut:
    today = today or date.today()
    end = flag.resolved_on or today
    return s.ChildFlagOut(
        flag_id=flag.flag_id, child_person_id=flag.child_id, rule=flag.rule.value, flagged_on=flag.flagged_on,
        status="open" if flag.open else "resolved", birth_date=flag.birth_date,
        child_age_days=max((today - flag.birth_date).days, 0), days_open=max((end - flag.flagged_on).days, 0),
        presumed_kazakh_citizen=flag.presumed_kazakh_citizen(rules), resolved_on=flag.resolved_on,
        nationality=flag.nationality, resolution_basis=flag.resolution_basis.value if flag.resolution_basis else None,
    )


def _with_etag(out: s.ChildFlagOut, version: int) -> JSONResponse:
    return JSONResponse(out.model_dump(mode="json"), headers={"ETag": etag_of(version, out.flag_id)})


@router.get(
    "",
    response_model=s.ChildFlagPage,
    summary="List children at risk",
    description="Flags raised for children born in Kazakhstan to stateless parents or parents of undetermined "
                "nationality, and foundlings; each names the rule that applied, the child's age and how long the "
                "flag has been open. Filter `open=true` for the work list; `order=oldest_child` or `longest_open` "
                "sorts a page by age or time open. Audited.",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_flags(
    request: Request,
    child_person_id: str | None = Query(None, pattern=ID_PATTERN),
    open: bool | None = Query(None, description="true: open flags only; false: resolved only"),
    rule: str | None = Query(None, pattern=r"^(foundling|stateless_parents|parents_of_undetermined_nationality)$"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
) -> s.ChildFlagPage:
    limit, cursor = page
    found = await service.flag_page(request.app.state, principal, purpose, child_person_id=child_person_id, open=open,
                                    rule=rule, cursor=cursor, limit=limit)
    rules = request.app.state.rules
    return s.ChildFlagPage(items=[flag_out(flag, rules) for flag in found.items], next_cursor=found.next_cursor)


@router.get(
    "/{flag_id}",
    response_model=s.ChildFlagOut,
    summary="Read one flag",
    description="The flag and where it stands. The `ETag` header is needed (as `If-Match`) to resolve it. Audited.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_flag(request: Request, flag_id: str = FlagId, purpose: str = Depends(purpose_header),
                   principal: Principal = Depends(require("statelessness:read"))):
    flag, version = await service.read_flag(request.app.state, flag_id, principal, purpose)
    return _with_etag(flag_out(flag, request.app.state.rules), version)


@router.post(
    "/{flag_id}/resolution",
    response_model=s.ChildFlagOut,
    summary="Resolve a flag: the child's nationality is confirmed",
    description="Kazakh citizenship by birth (foundlings; children of stateless parents residing permanently — "
                "configurable rules) or another State's nationality. A basis the rules do not allow is 409 naming the "
                "rule (e.g. `citizenship_by_birth_requires_permanent_residence`). Emits "
                "`statelessness.child.at_risk_resolved.v1`. Needs `If-Match`.",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
)
async def resolve_flag(body: s.ResolveFlag, request: Request, flag_id: str = FlagId,
                       if_match: str | None = Depends(if_match_header),
                       principal: Principal = Depends(require("statelessness:write"))):
    async with unit_of_work(request) as uow:
        done = await use_cases(request, uow).resolve_flag(
            flag_id, basis=ResolutionBasis(body.basis), resolved_on=body.resolved_on or date.today(),
            nationality=body.nationality, if_match=if_match, principal=principal)
    return _with_etag(flag_out(done.aggregate, request.app.state.rules), done.version)
