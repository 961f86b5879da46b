"""ICAO Doc 9303 machine-readable zones: TD1 (3x30), TD2 (2x36) and TD3 (2x44).

Every check digit is verified; a wrong one is refused with `InvalidInput` naming the
field (rule `mrz_check_digit`, `extra["field"]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Sequence

from pana_kit.domain import InvalidInput

_ALLOWED = re.compile(r"^[A-Z0-9<]+$")


_VALUES = {**{str(d): d for d in range(10)}, **{chr(c): c - 55 for c in range(ord("A"), ord("Z") + 1)}, "<": 0}
# Per position, each character's value times the position's weight (longer than any field checked: TD3's composite
# has 39 characters).
_WEIGHTED = tuple({ch: v * (7, 3, 1)[i % 3] for ch, v in _VALUES.items()} for i in range(96))


def check_digit(value: str) -> int:
    """ICAO 9303 check digit: weights 7, 3, 1; digits as such, A..Z = 10..35, '<' = 0."""
    if len(value) <= len(_WEIGHTED):
        try:  # a table lookup per character (every document-number check, twice per verification: issue 16)
            return sum(map(dict.__getitem__, _WEIGHTED, value)) % 10
        except KeyError:
            pass  # any other character: the loop below decides (other digits count as theirs; the rest refused)
    total = 0
    for i, ch in enumerate(value):
        if ch.isdigit():
            v = int(ch)
        elif "A" <= ch <= "Z":
            v = ord(ch) - 55
        elif ch == "<":
            v = 0
        else:
            raise InvalidInput(f"character {ch!r} is not allowed in an MRZ", rule="mrz_format")
        total += v * (7, 3, 1)[i % 3]
    return total % 10


@dataclass(frozen=True)
class MachineReadableZone:
    format: str  # TD1, TD2, TD3
    document_code: str  # P, I, A, C, ...
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str  # M, F or X (unspecified)
    expiry_date: date | None
    optional_data: str


def _verify(field_name: str, value: str, digit: str) -> None:
    if digit == "<" and set(value) <= {"<"}:
        return  # empty optional field with no check digit
    if not digit.isdigit() or int(digit) != check_digit(value):
        raise InvalidInput(
            f"MRZ check digit of {field_name} is wrong",
            rule="mrz_check_digit",
            extra={"field": field_name},
        )


def _clean(value: str) -> str:
    return value.replace("<", " ").strip()


def _names(field: str) -> tuple[str, str]:
    surname, _, given = field.partition("<<")
    return _clean(surname), re.sub(r"\s+", " ", _clean(given))


def _yymmdd(value: str, field_name: str) -> tuple[int, int, int] | None:
    if "<" in value:
        return None  # unknown parts are filled with '<'
    if not value.isdigit():
        raise InvalidInput(f"MRZ {field_name} is not a date", rule="mrz_format", extra={"field": field_name})
    return int(value[:2]), int(value[2:4]), int(value[4:6])


def _birth(value: str, today: date) -> date | None:
    parts = _yymmdd(value, "birth_date")
    if parts is None:
        return None
    yy, mm, dd = parts
    year = 2000 + yy if 2000 + yy <= today.year else 1900 + yy
    return _date(year, mm, dd, "birth_date")


def _expiry(value: str, today: date) -> date | None:
    parts = _yymmdd(value, "expiry_date")
    if parts is None:
        return None
    yy, mm, dd = parts
    year = 2000 + yy if 2000 + yy < today.year + 50 else 1900 + yy
    return _date(year, mm, dd, "expiry_date")


def _date(year: int, month: int, day: int, field_name: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput(f"MRZ {field_name} is not a calendar date", rule="mrz_format",
                           extra={"field": field_name}) from None


def _sex(value: str) -> str:
    if value in ("M", "F"):
        return value
    if value in ("<", "X"):
        return "X"
    raise InvalidInput("MRZ sex must be M, F or <", rule="mrz_format", extra={"field": "sex"})


def _lines(mrz: str | Sequence[str]) -> list[str]:
    raw = mrz.splitlines() if isinstance(mrz, str) else list(mrz)
    lines = [line.strip().replace(" ", "").upper() for line in raw if line.strip()]
    for line in lines:
        if not _ALLOWED.match(line):
            raise InvalidInput("an MRZ holds only A-Z, 0-9 and '<'", rule="mrz_format")
    return lines


def parse_mrz(mrz: str | Sequence[str], *, today: date) -> MachineReadableZone:
    """Parse and verify an MRZ given as text (lines separated by newlines) or as lines.

    `today` resolves two-digit years (a birth year cannot be in the future).
    """
    lines = _lines(mrz)
    shape = (len(lines), {len(line) for line in lines})
    if shape == (3, {30}):
        return _td1(lines, today)
    if shape == (2, {36}):
        return _td2(lines, today)
    if shape == (2, {44}):
        return _td3(lines, today)
    raise InvalidInput(
        "an MRZ has 3 lines of 30 (TD1), 2 of 36 (TD2) or 2 of 44 characters (TD3)",
        rule="mrz_format",
    )


def _td1(lines: list[str], today: date) -> MachineReadableZone:
    l1, l2, l3 = lines
    number, number_cd, optional1 = l1[5:14], l1[14], l1[15:30]
    if number_cd == "<" and optional1.strip("<"):
        # long document number: continues in the optional field, ended by its check digit
        rest = optional1.rstrip("<")
        number, number_cd, optional1 = number + rest[:-1], rest[-1], ""
    _verify("document_number", number, number_cd)
    _verify("birth_date", l2[0:6], l2[6])
    _verify("expiry_date", l2[8:14], l2[14])
    _verify("composite", l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29])
    surname, given = _names(l3)
    return MachineReadableZone(
        format="TD1", document_code=_clean(l1[0:2]), issuing_state=_clean(l1[2:5]),
        surname=surname, given_names=given, document_number=_clean(number),
        nationality=_clean(l2[15:18]), birth_date=_birth(l2[0:6], today), sex=_sex(l2[7]),
        expiry_date=_expiry(l2[8:14], today), optional_data=_clean(optional1 + l2[18:29]),
    )


def _td2(lines: list[str], today: date) -> MachineReadableZone:
    l1, l2 = lines
    _verify("document_number", l2[0:9], l2[9])
    _verify("birth_date", l2[13:19], l2[19])
    _verify("expiry_date", l2[21:27], l2[27])
    _verify("composite", l2[0:10] + l2[13:20] + l2[21:35], l2[35])
    surname, given = _names(l1[5:36])
    return MachineReadableZone(
        format="TD2", document_code=_clean(l1[0:2]), issuing_state=_clean(l1[2:5]),
        surname=surname, given_names=given, document_number=_clean(l2[0:9]),
        nationality=_clean(l2[10:13]), birth_date=_birth(l2[13:19], today), sex=_sex(l2[20]),
        expiry_date=_expiry(l2[21:27], today), optional_data=_clean(l2[28:35]),
    )


def _td3(lines: list[str], today: date) -> MachineReadableZone:
    l1, l2 = lines
    _verify("document_number", l2[0:9], l2[9])
    _verify("birth_date", l2[13:19], l2[19])
    _verify("expiry_date", l2[21:27], l2[27])
    _verify("personal_number", l2[28:42], l2[42])
    _verify("composite", l2[0:10] + l2[13:20] + l2[21:43], l2[43])
    surname, given = _names(l1[5:44])
    return MachineReadableZone(
        format="TD3", document_code=_clean(l1[0:2]), issuing_state=_clean(l1[2:5]),
        surname=surname, given_names=given, document_number=_clean(l2[0:9]),
        nationality=_clean(l2[10:13]), birth_date=_birth(l2[13:19], today), sex=_sex(l2[20]),
        expiry_date=_expiry(l2[21:27], today), optional_data=_clean(l2[28:42]),
    )
