"""Small pieces every statelessness router uses: bounded dates, ids, the use cases of a request."""

from __future__ import annotations

from datetime import date

from fastapi import Request

from pana_kit.errors import Problem
from pana_kit.fields import in_span

from ..service import Statelessness

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


def use_cases(request: Request, uow) -> Statelessness:
    """The procedure's commands in this request's unit of work."""
    return Statelessness(uow, rules=request.app.state.rules, keyring=request.app.state.keyring)
