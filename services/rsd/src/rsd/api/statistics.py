"""Statistics as UNHCR publishes them (Refugee Data Finder conventions), for the caller's office."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request

from pana_kit.auth import Principal, require
from pana_kit.domain import mask_small_cells
from pana_kit.errors import Problem, problem_responses

from .. import service
from .case import today
from .schemas import Statistics

router = APIRouter(prefix="/api/v1", tags=["statistics"])


@router.get(
    "/statistics",
    operation_id="getStatistics",
    response_model=Statistics,
    summary="RSD statistics at a date",
    description="Applications (new, repeat, appeal), decisions (recognised, rejected, otherwise closed), pending at "
                "the date, each as cases and persons; median days from registration to first-instance decision. "
                "Counts below the small-cell threshold (default 5) show as `*`. Only the caller's office. "
                "Scope `rsd:statistics`.",
    responses=problem_responses(401, 403, 422),
)
async def statistics(request: Request, as_of: date | None = Query(None, description="Day the figures stand at; today "
                                                                                      "when omitted"),
                     principal: Principal = Depends(require("rsd:statistics"))) -> Statistics:
    on = as_of or today()
    if on.year < 1990 or on.year > 2200:
        raise Problem(422, "as_of is outside the years this service holds")
    threshold = request.app.state.settings.small_cell_threshold
    async with request.app.state.db.transaction() as session:
        t = await service.statistics_tally(session, principal, on)

    def masked(cell: dict) -> dict:
        return {k: mask_small_cells(v, threshold) for k, v in cell.items()}

    return Statistics(
        as_of=on, office=principal.office or "", small_cell_threshold=threshold,
        applications={k: masked(v) for k, v in t["applications"].items()},
        decisions={k: masked(v) for k, v in t["decisions"].items()},
        pending=masked(t["pending"]),
        median_days_registration_to_decision=t["median_days"] if t["decided_cases"] >= threshold else None,
    )
