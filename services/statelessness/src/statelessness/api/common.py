"""Small pieces every statelessness router uses: bounded dates, keyset cursors, audit."""

from __future__ import annotations

from datetime import date

from pana_kit import audit
from pana_kit.fields import in_span
from pana_kit.errors import Problem
from pana_kit.http import keyset_after, keyset_position

SERVICE = "statelessness"
STATE_PATTERN = r"^[A-Z]{3}$"
ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,100}$"


def query_day(value: date | None) -> date:
    """A date from a query parameter (today when absent), checked to be in range."""
    if value is None:
        return date.today()
    try:
        return in_span(value)  # the bodies' Day bounds, asked of a query parameter
    except ValueError as exc:
        raise Problem(422, f"dates {exc}", errors=[{"field": "date", "message": "out of range", "code": "range"}])


def after(stmt, model, cursor: dict | None):
    """Keyset pagination on (created_at, id)."""
    return keyset_after(stmt, model.created_at, model.id, keyset_position(cursor))


async def audited(session, principal, action: str, resource: str, *, purpose: str | None = None, outcome: str = "ok"):
    await audit.record(session, principal, action, resource[:300], purpose=purpose, outcome=outcome, service=SERVICE)
