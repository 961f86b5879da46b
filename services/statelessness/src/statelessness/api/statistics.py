"""Statistics by UNHCR Refugee Data Finder conventions; cells below the threshold are masked ('*')."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses

from .. import service
from .common import query_day

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])

Cell = int | str


class InquiryStats(BaseModel):
    sent: Cell
    answered: Cell
    answered_late: Cell
    unanswered: Cell
    awaiting: Cell
    reply_rate: float | None = Field(description="Answered over answered or found unanswered; null when masked or none settled")


class Statistics(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": "2026-12-31", "small_cell_threshold": 5,
        "stateless_persons": {"female": {"0-4": "*", "5-11": 0, "12-17": 0, "18-59": 12, "60+": "*", "unknown": 0}},
        "cases": {"opened": 40, "decided": 22, "pending": 18, "recognised": 15, "not_stateless": 7},
        "median_days_to_determination": 151.0,
        "inquiries_by_state": {"UZB": {"sent": 9, "answered": 6, "answered_late": "*", "unanswered": "*", "awaiting": 0, "reply_rate": 0.75}},
        "children": {"flagged": 11, "resolved": 6, "open": 5, "flagged_by_rule": {"stateless_parents": 7, "foundling": "*"}},
        "naturalizations_by_year": {"2026": {"granted": 8, "refused": "*"}}}]})

    as_of: date
    small_cell_threshold: int
    stateless_persons: dict[str, dict[str, Cell]] = Field(description="Recognised stateless, not naturalized: sex x UNHCR age bracket")
    cases: dict[str, Cell]
    median_days_to_determination: float | None
    inquiries_by_state: dict[str, InquiryStats]
    children: dict[str, Cell | dict[str, Cell]]
    naturalizations_by_year: dict[str, dict[str, Cell]]


@router.get(
    "",
    operation_id="getStatistics",
    response_model=Statistics,
    summary="Statelessness statistics",
    description="Stateless persons by sex and age (UNHCR brackets 0-4, 5-11, 12-17, 18-59, 60+, unknown); cases "
                "opened, decided and pending; median days to determination; inquiries by State and reply rate; "
                "children flagged and resolved; naturalizations per year — all as of a day. Counts below the "
                "configured threshold (default 5) are shown as `*`. No personal data leaves.",
    responses=problem_responses(401, 403, 422),
)
async def statistics(
    request: Request,
    as_of: date | None = Query(None, description="The day the figures describe (today when absent)"),
    principal: Principal = Depends(require("statelessness:statistics")),
) -> Statistics:
    return Statistics(**await service.statistics(request.app.state, principal, query_day(as_of)))
