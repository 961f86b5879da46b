"""Input types every service's API shares.

Dates are bounded so that a typo (year 20240, 0001) is a 422 naming the field, not a
row that breaks ordering, deadlines or a database's date range later.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator

EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def in_span(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
    return value


def not_future(value: date) -> date:
    if value > date.today():
        raise ValueError("must not be in the future")
    if value < EARLIEST:
        raise ValueError(f"must be after {EARLIEST.isoformat()}")
    return value


#: A day of the procedure: a step, a deadline, a decision (past or future, within the span).
Day = Annotated[date, AfterValidator(in_span)]
#: A day that has happened: a birth, an arrival, a document's issue.
PastDate = Annotated[date, AfterValidator(not_future)]
