"""Population statistics as UNHCR publishes them (legal status x sex x age x country of origin)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from pana_kit import audit
from pana_kit.auth import Principal, require
from pana_kit.domain import InvalidInput
from pana_kit.errors import problem_responses

from .. import service
from .fields import LegalStatusValue

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])
SERVICE = "registration"
COLUMNS = ("legal_status", "sex", "age_bracket", "country_of_origin", "count")


class CellOut(BaseModel):
    legal_status: LegalStatusValue
    sex: str
    age_bracket: Literal["0-4", "5-11", "12-17", "18-59", "60+", "unknown"]
    country_of_origin: str
    count: int | Literal["*"] = Field(description="`*` when below the masking threshold")


class PopulationOut(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{"as_of": "2026-06-30", "threshold": 5, "cells": [
        {"legal_status": "refugee", "sex": "female", "age_bracket": "18-59", "country_of_origin": "AFG", "count": 12},
        {"legal_status": "refugee", "sex": "male", "age_bracket": "0-4", "country_of_origin": "AFG", "count": "*"},
    ]}]}}

    as_of: date
    threshold: int = Field(description="Cells with fewer persons than this are masked (rules)")
    cells: list[CellOut]


@router.get(
    "/population",
    operation_id="getPopulationStatistics",
    response_model=PopulationOut,
    summary="Persons by legal status, sex, age and country of origin",
    description="The population of concern on `as_of` (default today): legal status as projected on that day from "
                "rsd and statelessness facts; age brackets 0-4, 5-11, 12-17, 18-59, 60+, unknown; cells below the "
                "rules' threshold shown as `*`. Merged, deceased and not-yet-registered records are left out. "
                "`format=csv` gives the same rows as CSV. Aggregates only; the request is audited.",
    responses={200: {"content": {"text/csv": {}}}, **problem_responses(401, 403, 422)},
)
async def population(
    request: Request,
    as_of: date | None = Query(None, description="Reference date (YYYY-MM-DD)"),
    format: Literal["json", "csv"] = Query("json"),
    principal: Principal = Depends(require("registration:statistics")),
):
    as_of = as_of or date.today()
    if not date(1900, 1, 1) <= as_of <= date(2200, 1, 1):
        raise InvalidInput("as_of must be between 1900-01-01 and 2200-01-01", rule="statistics_date_in_range",
                           extra={"field": "as_of"})
    async with request.app.state.db.transaction() as session:
        stats = await service.population(session, as_of, request.app.state.rules)
        await audit.record(session, principal, "statistics", f"statistics/population?as_of={as_of}",
                           purpose="statistics", service=SERVICE)
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(stats.rows())
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="population-{as_of}.csv"'})
    return PopulationOut(as_of=stats.as_of, threshold=stats.threshold, cells=[CellOut(**r) for r in stats.rows()])
