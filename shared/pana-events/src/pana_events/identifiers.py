"""Identifier formats that cross service boundaries.

The IIN (individual identification number) is Kazakhstan's 12-digit personal
number. Its layout and the two-pass check digit are public (docs/domain.md, "Civil registration"); since
Government Resolution No. 853 (2013) an IIN need not match the birth date, so the
date and sex read from it are hints only, never grounds to reject.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

IIN_LENGTH = 12
_FIRST_PASS_WEIGHTS = tuple(range(1, 12))
_SECOND_PASS_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_CENTURY_BY_DIGIT = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}


def iin_check_digit(first_eleven: str) -> int | None:
    """The check digit for 11 leading digits, or None when no digit is valid."""
    digits = [int(c) for c in first_eleven]
    first = sum(w * d for w, d in zip(_FIRST_PASS_WEIGHTS, digits)) % 11
    if first != 10:
        return first
    second = sum(w * d for w, d in zip(_SECOND_PASS_WEIGHTS, digits)) % 11
    return None if second == 10 else second


@dataclass(frozen=True)
class IinHints:
    """What an IIN suggests about its holder; never authoritative."""

    birth_date: date | None
    sex: str | None  # "male" | "female"


@dataclass(frozen=True)
class IinCheck:
    valid: bool
    reason: str | None
    hints: IinHints | None


def check_iin(value: str) -> IinCheck:
    """Validate any string as an IIN: format and check digit decide validity."""
    if len(value) != IIN_LENGTH:
        return IinCheck(False, f"an IIN has exactly {IIN_LENGTH} digits, this has {len(value)} characters", None)
    if not value.isascii() or not value.isdigit():
        return IinCheck(False, "an IIN contains only the digits 0-9", None)
    expected = iin_check_digit(value[:11])
    if expected is None:
        return IinCheck(False, "no check digit is possible for these 11 digits (both passes give 10)", None)
    if expected != int(value[11]):
        return IinCheck(False, f"check digit is {value[11]}, expected {expected}", None)
    return IinCheck(True, None, iin_hints(value))


def iin_hints(value: str) -> IinHints:
    """Birth date and sex as the IIN's layout suggests them (hints only)."""
    digit = int(value[6])
    century = _CENTURY_BY_DIGIT.get(digit)
    sex = None if century is None else ("male" if digit % 2 == 1 else "female")
    birth = None
    if century is not None:
        try:
            birth = date(century + int(value[0:2]), int(value[2:4]), int(value[4:6]))
        except ValueError:
            birth = None
    return IinHints(birth_date=birth, sex=sex)


def make_iin(birth_date: date, sex: str, serial: int) -> str:
    """Compose a valid IIN for a birth date, sex and serial (0-9999).

    Serials whose 11 digits admit no check digit are skipped forward, so the
    result is always valid; used by the civil-registry simulator and tests.
    """
    base = {1800: 1, 1900: 3, 2000: 5}[birth_date.year // 100 * 100]
    century_digit = base if sex == "male" else base + 1
    for candidate in range(serial, serial + 10_000):
        head = f"{birth_date:%y%m%d}{century_digit}{candidate % 10_000:04d}"
        check = iin_check_digit(head)
        if check is not None:
            return head + str(check)
    raise ValueError("no valid IIN for this date and sex")  # unreachable in practice
