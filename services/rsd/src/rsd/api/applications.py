"""Reading asylum applications."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select

from pana_kit import audit
from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses
from pana_kit.http import encode_cursor, etag_of, page_params, purpose_header

from ..domain import Application
from ..store.tables import ApplicationRow
from .schemas import ApplicationPage, ApplicationSummary

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])

_PUBLIC_STATUS = {"lodged": "lodged", "registered": "lodged"}


def summary(row: ApplicationRow, app: Application) -> ApplicationSummary:
    return ApplicationSummary(
        id=row.id, person_id=row.person_id, status=_PUBLIC_STATUS.get(row.status, row.status), stage=row.status,
        office=row.office, officer_id=row.officer_id, priority=row.priority, processing_mode=app.processing_mode.value,
        lodged_on=row.lodged_on, registered_on=row.registered_on, decision_due=row.decision_due,
        late_lodging=app.late_lodging,
    )


@router.get(
    "",
    response_model=ApplicationPage,
    summary="List applications",
    description="Applications filtered by person, status, office or officer, oldest first, a page at a time. "
                "Reads of personal data are audited with the caller's purpose.",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_applications(
    request: Request,
    person_id: str | None = Query(None, max_length=64, description="Only this person's applications"),
    status: str | None = Query(None, max_length=40, pattern=r"^[a-z_]+$", description="Only in this stage (domain state)"),
    office: str | None = Query(None, max_length=100),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("rsd:read")),
) -> ApplicationPage:
    limit, cursor = page
    stmt = select(ApplicationRow).order_by(ApplicationRow.created_at, ApplicationRow.id).limit(limit + 1)
    if person_id:
        stmt = stmt.where(ApplicationRow.person_id == person_id)
    if status:
        stmt = stmt.where(ApplicationRow.status == status)
    if office:
        stmt = stmt.where(ApplicationRow.office == office)
    if cursor:
        stmt = _after(stmt, cursor)
    async with request.app.state.db.transaction() as session:
        rows = list((await session.execute(stmt)).scalars())
        await audit.record(session, principal, "list", f"applications?person_id={person_id or '*'}", purpose=purpose,
                           service="rsd")
    more = len(rows) > limit
    rows = rows[:limit]
    rules = request.app.state.rules
    items = [summary(r, Application.from_document(r.document, rules=rules)) for r in rows]
    next_cursor = encode_cursor({"created_at": rows[-1].created_at.isoformat(), "id": rows[-1].id}) if more else None
    return ApplicationPage(items=items, next_cursor=next_cursor)


def _after(stmt, cursor: dict):
    from datetime import datetime

    from sqlalchemy import and_, or_

    from pana_kit.errors import Problem

    try:
        created = datetime.fromisoformat(str(cursor["created_at"]))
        last_id = str(cursor["id"])
    except (KeyError, ValueError) as exc:
        raise Problem(400, "the cursor is not one this service issued", type_suffix="invalid-cursor") from exc
    return stmt.where(or_(ApplicationRow.created_at > created,
                          and_(ApplicationRow.created_at == created, ApplicationRow.id > last_id)))


@router.get(
    "/{application_id}",
    response_model=ApplicationSummary,
    summary="Read one application",
    description="The application's standing and deadlines. The `ETag` header is needed (as `If-Match`) to change it.",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_application(
    application_id: str,
    request: Request,
    response: Response,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("rsd:read")),
) -> ApplicationSummary:
    from pana_kit.domain import NotFound

    async with request.app.state.db.transaction() as session:
        row = await session.get(ApplicationRow, application_id[:64])
        await audit.record(session, principal, "read", f"application/{application_id[:64]}", purpose=purpose,
                           outcome="ok" if row else "not_found", service="rsd")
    if row is None:
        raise NotFound(f"no application {application_id[:64]}")
    response.headers["ETag"] = etag_of(row.version, row.id)
    return summary(row, Application.from_document(row.document, rules=request.app.state.rules))
