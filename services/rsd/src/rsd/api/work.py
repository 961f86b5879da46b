"""Work management: deadlines (approaching, overdue) and each officer's queue."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request

from pana_kit import audit
from pana_kit.auth import Principal, require
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import encode_cursor, page_params, purpose_header

from ..store.tables import ApplicationRow
from .case import applications_for, today
from .schemas import DeadlineEntry, DeadlinePage
from ..domain.deadlines import deadline_status

router = APIRouter(prefix="/api/v1", tags=["work"])


def _entry(row: ApplicationRow, on: date, horizon: int) -> DeadlineEntry:
    return DeadlineEntry(application_id=row.id, person_id=row.person_id, office=row.office, officer_id=row.officer_id,
                         priority=row.priority, stage=row.status, deadline=row.next_deadline or "",
                         due_on=row.next_due, status=deadline_status(row.next_due, on, horizon).value)


def _cursor_values(cursor: dict | None, *keys: str) -> tuple | None:
    if not cursor:
        return None
    try:
        return tuple(date.fromisoformat(str(cursor[k])) if k == "due" else
                     (int(cursor[k]) if k == "rank" else str(cursor[k])) for k in keys)
    except (KeyError, ValueError, TypeError) as exc:
        raise Problem(400, "the cursor is not one this service issued", type_suffix="invalid-cursor") from exc


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
    after = _cursor_values(cursor, "due", "id")
    on = today()
    horizon = request.app.state.rules.approaching_days
    async with request.app.state.db.transaction() as session:
        rows = await applications_for(session, request, principal).with_deadlines(
            today=on, overdue=status == "overdue", horizon_days=horizon, limit=limit, officer_id=officer_id,
            office=office, after=after)
        await audit.record(session, principal, "list", f"deadlines?status={status}", purpose=purpose, service="rsd")
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor({"due": rows[-1].next_due.isoformat(), "id": rows[-1].id}) if more else None
    return DeadlinePage(items=[_entry(r, on, horizon) for r in rows], next_cursor=nxt)


@router.get(
    "/queues/mine",
    response_model=DeadlinePage,
    summary="My work queue",
    description="The caller's open cases (assigned to the token's subject): priority cases first, then by the "
                "earliest open deadline.",
    responses=problem_responses(400, 401, 403, 422),
)
async def my_queue(request: Request, page: tuple = Depends(page_params), purpose: str = Depends(purpose_header),
                   principal: Principal = Depends(require("rsd:read"))) -> DeadlinePage:
    from ..store.repository import FAR_FUTURE

    limit, cursor = page
    after = _cursor_values(cursor, "rank", "due", "id")
    on = today()
    horizon = request.app.state.rules.approaching_days
    async with request.app.state.db.transaction() as session:
        rows = await applications_for(session, request, principal).queue(officer_id=principal.subject, limit=limit,
                                                                         after=after)
        await audit.record(session, principal, "list", "queues/mine", purpose=purpose, service="rsd")
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more:
        last = rows[-1]
        nxt = encode_cursor({"rank": 0 if last.priority else 1, "due": (last.next_due or FAR_FUTURE).isoformat(),
                             "id": last.id})
    items = [_entry(r, on, horizon) if r.next_due else
             DeadlineEntry(application_id=r.id, person_id=r.person_id, office=r.office, officer_id=r.officer_id,
                           priority=r.priority, stage=r.status, deadline=None, due_on=None, status=None)
             for r in rows]
    return DeadlinePage(items=items, next_cursor=nxt)
