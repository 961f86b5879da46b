"""Facilitated naturalization of recognised stateless residents: tracks, eligibility, outcomes."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import and_, or_, select

from pana_kit.auth import Principal, require
from pana_kit.documents import from_document
from pana_kit.domain import NotFound, RuleViolation
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import check_if_match, encode_cursor, etag_of, if_match_header, page_params, purpose_header
from pana_kit.idempotency import Idempotency, idempotency_key_header
from pana_kit.service import unit_of_work

from ..domain import NaturalizationOutcome, NaturalizationTrack
from ..publishing import publish_track
from ..store.repository import Cases, NaturalizationTracks
from ..store.tables import NaturalizationTrackRow
from . import schemas as s
from .common import ID_PATTERN, audited, query_day

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
        idem = Idempotency(uow.session, "statelessness:open-track", idempotency_key, body)
        replay = await idem.replay()
        if replay is not None:
            return replay
        case, _ = await Cases(uow.session, request.app.state.keyring).get(body.case_id)
        tracks = NaturalizationTracks(uow.session)
        if await tracks.for_case(body.case_id) is not None:
            raise RuleViolation("one_naturalization_track_per_case", "this case already has a naturalization track")
        track = NaturalizationTrack.open_for(case, track_id=str(uuid.uuid4()),
                                             lawful_residence_from=body.lawful_residence_from,
                                             opened_on=body.opened_on or date.today(), rules=request.app.state.rules)
        tracks.add(track)
        publish_track(uow, track)
        await audited(uow.session, principal, "create", f"naturalization-track/{track.track_id}")
        return idem.remember(201, track_out(track), {"ETag": etag_of(1, track.track_id)})


@router.get(
    "/tracks/{track_id}",
    response_model=s.TrackOut,
    summary="Read one naturalization track",
    description="With the `ETag` needed to record the outcome. Audited.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_track(request: Request, track_id: str = TrackId, purpose: str = Depends(purpose_header),
                    principal: Principal = Depends(require("statelessness:read"))):
    async with request.app.state.db.transaction() as session:
        row = await session.get(NaturalizationTrackRow, track_id)
        await audited(session, principal, "read", f"naturalization-track/{track_id}", purpose=purpose,
                      outcome="ok" if row else "not_found")
    if row is None:
        raise NotFound(f"no naturalization track {track_id}")
    return _reply(from_document(NaturalizationTrack, row.document), row.version)


@router.post(
    "/tracks/{track_id}/decision",
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
        tracks = NaturalizationTracks(uow.session)
        track, row = await tracks.get(track_id)
        check_if_match(if_match, etag_of(row.version, row.id))
        track.decide(outcome=NaturalizationOutcome(body.outcome), decided_on=body.decided_on or date.today(),
                     reasons=body.reasons)
        version = await tracks.save(track, row.version)
        publish_track(uow, track)
        await audited(uow.session, principal, "decide", f"naturalization-track/{track_id}")
    return _reply(track, version)


@router.get(
    "/eligible",
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
    today = query_day(as_of)
    rules = request.app.state.rules
    T = NaturalizationTrackRow
    stmt = select(T).where(T.outcome.is_(None)).order_by(T.eligible_from, T.id).limit(limit + 1)
    if when == "now":
        stmt = stmt.where(T.eligible_from <= today)
    else:
        stmt = stmt.where(T.eligible_from > today, T.eligible_from <= today + timedelta(days=rules.soon_horizon_days))
    if cursor:
        try:
            last, last_id = date.fromisoformat(str(cursor["eligible_from"])), str(cursor["id"])
        except (KeyError, ValueError, TypeError) as exc:
            raise Problem(400, "the cursor is not one this service issued", type_suffix="invalid-cursor") from exc
        stmt = stmt.where(or_(T.eligible_from > last, and_(T.eligible_from == last, T.id > last_id)))
    async with request.app.state.db.transaction() as session:
        rows = list((await session.execute(stmt)).scalars())
        await audited(session, principal, "list", f"naturalization/eligible?when={when}", purpose=purpose)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [track_out(from_document(NaturalizationTrack, r.document)) for r in rows]
    nxt = encode_cursor({"eligible_from": rows[-1].eligible_from.isoformat(), "id": rows[-1].id}) if more else None
    return s.TrackPage(items=items, next_cursor=nxt)
