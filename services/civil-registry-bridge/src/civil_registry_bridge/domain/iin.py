"""IIN checks as the bridge answers them (`GET /api/v1/iin/{iin}`).

Validity is format plus the two-pass check digit (`pana_events.identifiers.check_iin`);
the birth date and sex read from the number are hints only and never grounds to
reject (Government Resolution No. 853, 2013).
"""

from __future__ import annotations

from typing import Any

from pana_events.identifiers import check_iin
from pana_kit.domain import InvalidInput

RULE_IIN_WELL_FORMED = "iin_well_formed"


def check_iin_answer(value: Any) -> dict[str, Any]:
    """`{"valid", "reason", "hints"}` for any value; hints are `{"birth_date", "sex"}` or None."""
    if not isinstance(value, str):
        return {"valid": False, "reason": "an IIN is a string of 12 digits", "hints": None}
    result = check_iin(value)
    hints = None
    if result.hints is not None:
        birth = result.hints.birth_date
        hints = {"birth_date": birth.isoformat() if birth else None, "sex": result.hints.sex}
    return {"valid": result.valid, "reason": result.reason, "hints": hints}


def require_iin(value: str, field: str) -> str:
    """The IIN unchanged, or InvalidInput naming the field and why the number is not an IIN."""
    answer = check_iin_answer(value)
    if not answer["valid"]:
        raise InvalidInput(
            f"{field}: {answer['reason']}",
            rule=RULE_IIN_WELL_FORMED,
            extra={"errors": [{"field": field, "rule": RULE_IIN_WELL_FORMED, "detail": answer["reason"]}]},
        )
    return value
