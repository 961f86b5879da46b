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


# -- invisible characters in text ------------------------------------------------------------------
# A bidi override (U+202E) makes "Karimov" display as another name on a document or a screen; a
# zero-width space makes two spellings of one name compare different (duplicate detection, search).
# Every text a request carries is refused when it holds a Unicode format character (category Cf),
# with one exception: ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER (U+200C, U+200D) are part of the
# spelling of Persian, Dari, Pashto and Indic names (e.g. "علی‌زاده"), so they are accepted between two
# letters or marks, where those scripts use them, and refused anywhere else (leading, trailing, next to a
# space, a digit or another invisible character). The check is `format_character_problem`; the kit's
# `KitMiddleware` applies it to every string of every JSON body and every query parameter of every
# service, and `PlainText` applies it to a pydantic field.

import unicodedata  # noqa: E402

from pydantic_core import PydanticCustomError  # noqa: E402

BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
ZERO_WIDTH = frozenset("\u200b\u2060\ufeff")
JOINERS = frozenset("\u200c\u200d")


def _letter_or_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] in ("L", "M")


def format_character_problem(value: str) -> tuple[str, str] | None:
    """(rule, description) of the first invisible character `value` may not hold, or None.

    Rules: `bidi_control` (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C), `zero_width_character`
    (U+200B, U+2060, U+FEFF, or a joiner not between two letters), `format_character` (any other Cf).
    """
    for i, ch in enumerate(value):
        if ch in JOINERS:
            if 0 < i < len(value) - 1 and _letter_or_mark(value[i - 1]) and _letter_or_mark(value[i + 1]):
                continue
            return "zero_width_character", f"U+{ord(ch):04X} is accepted only between two letters"
        if ch in BIDI_CONTROLS:
            return "bidi_control", f"U+{ord(ch):04X} is a bidirectional control character"
        if ch in ZERO_WIDTH:
            return "zero_width_character", f"U+{ord(ch):04X} is an invisible zero-width character"
        if unicodedata.category(ch) == "Cf":
            return "format_character", f"U+{ord(ch):04X} is an invisible format character"
    return None


def no_format_characters(value: str) -> str:
    """A pydantic validator: the error's type is the rule (e.g. `bidi_control`)."""
    problem = format_character_problem(value)
    if problem is not None:
        raise PydanticCustomError(problem[0], problem[1])
    return value


#: Text without bidi controls or zero-width characters (names, addresses, reasons).
PlainText = Annotated[str, AfterValidator(no_format_characters)]
