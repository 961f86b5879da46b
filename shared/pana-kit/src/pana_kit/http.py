"""Small HTTP conventions shared by every router: ETags, If-Match, cursors, purpose, links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Header, Query
from sqlalchemy import and_, or_

from .application import check_version, etag_of  # noqa: F401 - re-exported for routes
from .errors import Problem
from .paging import InvalidCursor, decode_cursor, encode_cursor  # noqa: F401 - re-exported for routes

PURPOSES = ("case-work", "registration", "verification", "statistics", "audit", "appeal", "legal-aid", "supervision")


def check_if_match(if_match: str | None, current_etag: str) -> None:
    """Updates must name the version they were based on: 428 without it, 412 when stale."""
    check_version(if_match, current_etag)


# The header and query dependencies below do no I/O: declared async, FastAPI runs them on the event loop instead
# of handing each to a worker thread (a thread hop and its wake-up per request: 5 % of a duplicate check's
# event-loop time in py-spy, issue 16).
async def if_match_header(if_match: str | None = Header(None, alias="If-Match", max_length=200,
                                                        description="ETag from the last read of this record")) -> str | None:
    return if_match


def links_from(status: int, parameter: str, *, field: str | None = None, **targets: str) -> dict[int, dict[str, Any]]:
    """A `responses=` entry with OpenAPI links: each target ("METHOD /path") takes its path `parameter` from
    this body's `field` (by default the same name), so clients and stateful fuzzing can go on from here."""
    value = f"$response.body#/{field or parameter}"
    links = {}
    for name, target in targets.items():
        method, path = target.split(" ", 1)
        ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method.lower()
        links[name] = {"operationRef": ref, "parameters": {parameter: value}}
    return {status: {"links": links}}


async def purpose_header(x_purpose: str = Header(..., alias="X-Purpose", min_length=3, max_length=100, pattern=r"^[a-z][a-z\-]*$",
                                                 description=f"Why personal data is read (audited). One of: {', '.join(PURPOSES)}",
                                                 examples=["case-work"])) -> str:
    if x_purpose not in PURPOSES:
        raise Problem(422, f"X-Purpose must be one of: {', '.join(PURPOSES)}", type_suffix="validation-error",
                      errors=[{"field": "X-Purpose", "message": "unknown purpose", "code": "enum"}])
    return x_purpose


async def page_params(limit: int = Query(50, ge=1, le=500, description="Items per page (at most 500)"),
                      cursor: str | None = Query(None, max_length=500,
                                                 description="`next_cursor` of the previous page")) -> tuple[int, dict | None]:
    return limit, decode_cursor(cursor)


def invalid_cursor() -> InvalidCursor:
    return InvalidCursor()


def keyset_position(cursor: dict | None, *, at: str = "created_at", key: str = "id") -> tuple[datetime, str] | None:
    """(timestamp, id) of the last row of the previous page, read from a cursor we issued."""
    if not cursor:
        return None
    try:
        position = datetime.fromisoformat(str(cursor[at])), cursor[key]
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid_cursor() from exc
    if not isinstance(position[1], str):
        raise invalid_cursor()
    return position


def keyset_after(stmt, time_column, id_column, position: tuple[datetime, str] | None):
    """Rows after `position` in (time, id) order: pages stay stable while rows are added."""
    if position is None:
        return stmt
    at, last_id = position
    return stmt.where(or_(time_column > at, and_(time_column == at, id_column > last_id)))


def keyset_cursor(at: datetime, row_id: str, *, at_key: str = "created_at", id_key: str = "id") -> str:
    return encode_cursor({at_key: at.isoformat(), id_key: row_id})
