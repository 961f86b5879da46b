"""The auditor's window on a service's audit log: query it and verify its hash chain.

`create_app` adds this router to every service. Both routes need the scope
`audit:read` (role `auditor`); a refusal comes before anything is read. Every
query of the log is itself recorded in the log (action `audit.query` /
`audit.verify`, purpose `audit`), so watching the watchers leaves a trace too.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from . import audit
from .auth import Principal, require
from .errors import Problem, problem_responses
from .http import decode_cursor, encode_cursor
from .metrics import audit_verified
from .tables import AuditEntry

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

_LIKE_ESCAPE = "\\"


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    subject: str = Field(description="Who acted (token `sub`), or `system`")
    client_id: Optional[str] = Field(None, description="The OAuth client the request came through")
    role: Optional[str] = None
    action: str = Field(description="What was done: read, create, decide, verify, ...")
    resource: str = Field(description="Which record, by id (e.g. `household/<id>`)")
    purpose: Optional[str] = Field(None, description="Why, as the caller declared in X-Purpose")
    outcome: str
    trace_id: Optional[str] = None
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: Optional[str] = Field(None, description="Pass as `cursor` for the next (older) page; absent on the last")

    model_config = {"json_schema_extra": {"examples": [{
        "items": [{"seq": 42, "at": "2025-03-01T09:30:00Z", "subject": "officer-17", "client_id": "pana-web",
                   "role": "eligibility-officer", "action": "read", "resource": "application/6f1c…",
                   "purpose": "case-work", "outcome": "ok", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                   "prev_hash": "9a…", "hash": "c3…"}],
        "next_cursor": "eyJiZWZvcmUiOjQyfQ"}]}}


class ChainVerification(BaseModel):
    entries: int = Field(description="Entries checked (up to and including the first broken one)")
    intact: bool
    first_broken_seq: Optional[int] = None
    reason: Optional[str] = None
    head_seq: Optional[int] = Field(None, description="Last entry's seq when intact; keep it with head_hash outside "
                                                      "the database to detect a truncated tail later")
    head_hash: Optional[str] = None
    pending: int = Field(0, description="Entries committed with their command but not yet linked into the chain "
                                        "(the chainer's backlog; normally 0 within moments)")


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _escape_like(text: str) -> str:
    return text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", _LIKE_ESCAPE + "%").replace("_", _LIKE_ESCAPE + "_")


@router.get(
    "", response_model=AuditPage, response_model_exclude_none=True,
    summary="Query the audit log",
    description="Who did what to which record, why and when; newest first, cursor paginated. Filters combine "
                "(AND). `resource` matches exactly, or as a prefix when it ends with `*` (`household/*`). "
                "`since` is inclusive, `until` exclusive (ISO 8601; without an offset, UTC). "
                "Needs `audit:read` (role auditor). The query itself is recorded in the log.",
    responses=problem_responses(400, 401, 403, 422),
)
async def query_audit_log(
    request: Request,
    principal: Principal = Depends(require("audit:read")),
    subject: Optional[str] = Query(None, max_length=200, description="Who acted (exact)"),
    resource: Optional[str] = Query(None, max_length=300, description="Record id (exact), or prefix ending in `*`"),
    action: Optional[str] = Query(None, max_length=100, description="Action (exact)"),
    since: Optional[datetime] = Query(None, description="At or after (ISO 8601)"),
    until: Optional[datetime] = Query(None, description="Before (ISO 8601)"),
    limit: int = Query(50, ge=1, le=500, description="Entries per page (at most 500)"),
    cursor: Optional[str] = Query(None, max_length=200, description="`next_cursor` of the previous page"),
) -> AuditPage:
    since, until = _aware(since), _aware(until)
    if since and until and since >= until:
        raise Problem(400, "`since` must be before `until`", type_suffix="bad-request")
    position = decode_cursor(cursor)
    before = None
    if position is not None:
        before = position.get("before")
        if not isinstance(before, int) or isinstance(before, bool) or before < 1:
            raise Problem(400, "the cursor is not one this service issued", type_suffix="invalid-cursor")

    stmt = select(AuditEntry)
    if subject is not None:
        stmt = stmt.where(AuditEntry.subject == subject)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if resource is not None:
        if resource.endswith("*"):
            stmt = stmt.where(AuditEntry.resource.like(_escape_like(resource[:-1]) + "%", escape=_LIKE_ESCAPE))
        else:
            stmt = stmt.where(AuditEntry.resource == resource)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEntry.at < until)
    if before is not None:
        stmt = stmt.where(AuditEntry.seq < before)
    stmt = stmt.order_by(AuditEntry.seq.desc()).limit(limit + 1)

    service = request.app.state.definition.name
    async with request.app.state.db.transaction() as session:
        rows = list((await session.execute(stmt)).scalars())
        filters = ",".join(f"{k}" for k, v in (("subject", subject), ("resource", resource), ("action", action),
                                                 ("since", since), ("until", until)) if v is not None)
        await audit.record(session, principal, "audit.query", f"audit_log?{filters or 'all'}", purpose="audit",
                           service=service)
    more = len(rows) > limit
    rows = rows[:limit]
    items = [AuditEntryOut(seq=r.seq, at=_aware(r.at), subject=r.subject, client_id=r.client_id, role=r.role,
                           action=r.action, resource=r.resource, purpose=r.purpose, outcome=r.outcome,
                           trace_id=r.trace_id, prev_hash=r.prev_hash, hash=r.hash) for r in rows]
    return AuditPage(items=items, next_cursor=encode_cursor({"before": rows[-1].seq}) if more else None)


@router.get(
    "/verify", response_model=ChainVerification,
    summary="Verify the audit log's hash chain",
    description="Recomputes every entry's hash from its content and the previous entry's hash, and checks each "
                "entry's keyed MAC (its key is not in the database) and that seqs are contiguous. A changed, "
                "removed or reordered row, or a chain recomputed after removing rows, shows as `intact: false` "
                "with the first broken `seq`. The log is also checked against the signed checkpoints kept "
                "outside the database (`pana audit verify` writes them), which shows a removed tail. "
                "Needs `audit:read`. The verification itself is recorded in the log.",
    responses=problem_responses(401, 403),
)
async def verify_audit_log(request: Request, principal: Principal = Depends(require("audit:read"))) -> ChainVerification:
    checkpoints = audit.read_checkpoints(audit.checkpoint_path(request.app.state.settings))
    async with request.app.state.db.session() as session:
        report = await audit.verify_chain(session, checkpoints=checkpoints)
    audit_verified(request.app.state.definition.name, report.intact)
    async with request.app.state.db.transaction() as session:
        await audit.record(session, principal, "audit.verify", "audit_log", purpose="audit",
                           outcome="intact" if report.intact else "broken", service=request.app.state.definition.name)
    return ChainVerification(entries=report.entries, intact=report.intact, first_broken_seq=report.first_broken_seq,
                             reason=report.reason, head_seq=report.head_seq, head_hash=report.head_hash,
                             pending=report.pending)
