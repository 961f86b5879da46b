"""IIN checks: format and the two-pass check digit decide; date and sex are hints only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path

from pana_kit.auth import Principal, require
from pana_kit.errors import problem_responses

from ..domain.iin import check_iin_answer
from .schemas import IinAnswer

router = APIRouter(prefix="/api/v1/iin", tags=["iin"])


@router.get(
    "/{iin}",
    response_model=IinAnswer,
    summary="Check an IIN",
    description=(
        "Answers for **any** string: `valid` is decided by the format (12 digits) and the two-pass check digit; "
        "`reason` says why a number is not an IIN. The birth date and sex read from the number are `hints` only and "
        "never a reason to reject (Government Resolution No. 853, 2013). An invalid IIN is a **200** answer, not an "
        "error; only a path longer than 64 characters is refused (**422**). The registry is not consulted."),
    responses=problem_responses(401, 403, 422),
)
async def check_iin(
    iin: str = Path(..., max_length=64, description="The number to check, as given", examples=["940917498078"]),
    principal: Principal = Depends(require("iin:check")),
) -> IinAnswer:
    return IinAnswer.model_validate(check_iin_answer(iin))
