"""Work management: deadlines (approaching, overdue) and each officer's queue."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import page_params, purpose_header

from .. import service
from ..domain.deadlines import deadline_status
from ..store.tables import ApplicationRow
from .case import today
from .schemas import DeadlineEntry, DeadlinePage

router = APIRouter(prefix="/api/v1", tags=["work"])


def _entry(row: ApplicationRow, on: date, horizon: int) -> DeadlineEntry:
    return DeadlineEntry(application_id=row.id, person_id=row.person_id, office=row.office, officer_id=row.officer_id,
                         priority=row.priority, stage=row.status, deadline=row.next_deadline or "",
                         due_on=row.next_due, status=deadline_status(row.next_due, on, horizon).value)


@router.get(
    "/deadlines",
    response_model=DeadlinePage,
    summary="Deadlines approaching or overdue",
    description="Applications of the caller's office whose earliest open deadline (fingerprinting, interview, "
                "decision, appeal window, certificate) is overdue, or falls within the approaching horizon "
                "(default 14 days). Filter by officer or office; earliest first, a page at a time.",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_deadlines(
    request: Request,
    status: Literal["approaching", "overdue"] = Query(..., description="approaching or overdue"),
    officer_id: str | None = Query(None, max_length=200),
    office: str | None = Query(None, max_length=100),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("rsd:read")),
) -> DeadlinePage:
    limit, cursor = page
    on = today()
    async with request.app.state.db.transaction() as session:
        found = await service.deadlines(session, request.app.state.rules, principal, on=on,
                                        overdue=status == "overdue", purpose=purpose, limit=limit, cursor=cursor,
                                        officer_id=officer_id, office=office)
    horizon = request.app.state.rules.approaching_days
    return DeadlinePage(items=[_entry(r, on, horizon) for r in found.items], next_cursor=found.next_cursor)


@router.get(
    "/queues/mine",
    operation_id="getMyQueue",
    response_model=DeadlinePage,
    summary="My work queue",
    description="The caller's open cases (assigned to the token's subject): priority cases first, then by the "
                "earliest open deadline.",
    responses=problem_responses(400, 401, 403, 422),
)
async def my_queue(request: Request, page: tuple = Depends(page_params), purpose: str = Depends(purpose_header),
                   principal: Principal = Depends(require("rsd:read"))) -> DeadlinePage:
    limit, cursor = page
    on = today()
    async with request.app.state.db.transaction() as session:
        found = await service.my_queue(session, request.app.state.rules, principal, purpose=purpose, limit=limit,
                                       cursor=cursor)
    horizon = request.app.state.rules.approaching_days
    items = [_entry(r, on, horizon) if r.next_due else
             DeadlineEntry(application_id=r.id, person_id=r.person_id, office=r.office, officer_id=r.officer_id,
                           priority=r.priority, stage=r.status, deadline=None, due_on=None, status=None)
             for r in found.items]
    return DeadlinePage(items=items, next_cursor=found.next_cursor)
