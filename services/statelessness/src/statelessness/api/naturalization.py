"""Facilitated naturalization of recognised stateless residents: tracks, eligibility, outcomes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import etag_of, if_match_header, page_params, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import NaturalizationOutcome, NaturalizationTrack
from . import schemas as s
from .common import ID_PATTERN, query_day, use_cases

router = APIRouter(prefix="/api/v1/naturalization", tags=["naturalization"])
TrackId = Path(..., pattern=ID_PATTERN, description="The track id")


def track_out(t: NaturalizationTrack) -> s.TrackOut:
    return s.TrackOut(track_id=t.track_id, person_id=t.person_id, case_id=t.case_id,
                      lawful_residence_from=t.lawful_residence_from, eligible_from=t.eligible_from,
                      opened_on=t.opened_on, outcome=t.outcome.value if t.outcome else None, decided_on=t.decided_on)


def _reply(track: NaturalizationTrack, version: int, status_code: int = 200) -> JSONResponse:
    return JSONResponse(track_out(track).model_dump(mode="json"), status_code=status_code,
                        headers={"ETag": etag_of(version, track.track_id)})


@router.post(
    "/tracks",
    status_code=201,
    response_model=s.TrackOut,
    summary="Open the naturalization track of a recognised stateless person",
    description="Computes the date from which the person may apply for citizenship: lawful residence plus the "
                "configured years. Only for a case that recognised the person as stateless (409 "
                "`naturalization_for_recognised_stateless`); one track per case. Needs `Idempotency-Key`.",
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def open_track(body: s.OpenTrack, request: Request, idempotency_key: str = Depends(idempotency_key_header),
                     principal: Principal = Depends(require("statelessness:write"))):
    async with unit_of_work(request) as uow:
        idem = Idempotency(uow.session, "statelessness:open-track", idempotency_key, body, principal=principal)
        replay = await idem.replay()
        if replay is not None:
            return replay
        done = await use_cases(request, uow).open_naturalization_track(
            case_id=body.case_id, lawful_residence_from=body.lawful_residence_from,
            opened_on=body.opened_on or date.today(), principal=principal)
        return idem.remember(201, track_out(done.aggregate), {"ETag": done.etag})


@router.get(
    "/tracks/{track_id}",
    response_model=s.TrackOut,
    summary="Read one naturalization track",
    description="With the `ETag` needed to record the outcome. Audited.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_track(request: Request, track_id: str = TrackId, purpose: str = Depends(purpose_header),
                    principal: Principal = Depends(require("statelessness:read"))):
    return _reply(*await service.read_track(request.app.state, track_id, principal, purpose))


@router.post(
    "/tracks/{track_id}/decision",
    operation_id="decideNaturalization",
    response_model=s.TrackOut,
    summary="Record the outcome of a naturalization",
    description="Granted or refused (with reasons). Before the eligibility date: 409 "
                "`naturalization_residence_requirement`. Emits `statelessness.naturalization.decided.v1`, from which "
                "registration's legal status follows. Needs `If-Match`.",
    responses=problem_responses(400, 401, 403, 404, 409, 412, 422, 428),
)
async def decide(body: s.DecideNaturalization, request: Request, track_id: str = TrackId,
                 if_match: str | None = Depends(if_match_header),
                 principal: Principal = Depends(require("statelessness:determine"))):
    async with unit_of_work(request) as uow:
        done = await use_cases(request, uow).decide_naturalization(
            track_id, outcome=NaturalizationOutcome(body.outcome), decided_on=body.decided_on or date.today(),
            reasons=body.reasons, if_match=if_match, principal=principal)
    return _reply(done.aggregate, done.version)


@router.get(
    "/eligible",
    operation_id="listEligiblePersons",
    response_model=s.TrackPage,
    summary="Who may apply for citizenship now, or soon",
    description="`when=now`: undecided tracks whose eligibility date has come; `when=soon`: eligible within the "
                "configured horizon (default 90 days). Earliest eligibility first. Audited.",
    responses=problem_responses(400, 401, 403, 422),
)
async def eligible(
    request: Request,
    when: Literal["now", "soon"] = Query("now"),
    as_of: date | None = Query(None, description="The day to judge by (today when absent)"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("statelessness:read")),
) -> s.TrackPage:
    limit, cursor = page
    found = await service.eligible_tracks(request.app.state, principal, purpose, when=when, today=query_day(as_of),
                                          cursor=cursor, limit=limit)
    return s.TrackPage(items=[track_out(track) for track in found.items], next_cursor=found.next_cursor)
