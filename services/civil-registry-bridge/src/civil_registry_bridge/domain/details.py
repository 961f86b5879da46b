"""What a birth request says about the child and the parents, and its rules of form.

Parsing (`from_document`) turns API input into values and refuses what cannot be
a date, a sex or an IIN; `validate_birth_details` refuses what cannot be true of a birth
(a child born in the future, before the mother, to an implausibly young mother).

The parents' legal status and nationality are recorded as given and never checked
against a list: since the 2019 amendments every child is registered irrespective of
them, so nothing here (or anywhere in the bridge) may refuse a request because of them.
A mother's birth date or identity may be unknown (undocumented parents, foundlings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pana_kit.domain import InvalidInput, age_on

from .iin import RULE_IIN_WELL_FORMED, check_iin_answer
from .rules import BridgeRules

Sex = Literal["male", "female"]
SEXES: tuple[str, ...] = ("male", "female")
MAX_TEXT = 200

RULE_DATE_VALID = "date_valid"
RULE_REQUIRED = "field_required"
RULE_SEX_KNOWN = "sex_male_or_female"
RULE_TEXT_LENGTH = "text_length"
RULE_NOT_BORN_IN_FUTURE = "child_not_born_in_future"
RULE_BORN_AFTER_MOTHER = "child_born_after_mother"
RULE_BORN_AFTER_FATHER = "child_born_after_father"
RULE_MOTHER_PLAUSIBLE_AGE = "mother_plausible_age"
RULE_PLACE_OF_BIRTH = "place_of_birth_consistent"


@dataclass(frozen=True)
class Problem:
    field: str
    rule: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "detail": self.detail}


def refuse(problems: list[Problem]) -> None:
    """Raise one InvalidInput carrying every problem (rule = the first one's)."""
    if problems:
        raise InvalidInput(
            "; ".join(f"{p.field}: {p.detail}" for p in problems),
            rule=problems[0].rule,
            extra={"errors": [p.as_dict() for p in problems]},
        )


class _Reader:
    """Collects every problem in a document instead of stopping at the first."""

    def __init__(self, doc: Any, prefix: str):
        if not isinstance(doc, dict):
            raise InvalidInput(f"{prefix}: expected an object", rule=RULE_REQUIRED,
                               extra={"errors": [Problem(prefix, RULE_REQUIRED, "expected an object").as_dict()]})
        self.doc = doc
        self.prefix = prefix
        self.problems: list[Problem] = []

    def _field(self, name: str) -> str:
        return f"{self.prefix}.{name}"

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.doc.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problems.append(Problem(self._field(name), RULE_REQUIRED, "is required"))
            return None
        if not isinstance(value, str):
            self.problems.append(Problem(self._field(name), RULE_REQUIRED, "must be text"))
            return None
        value = value.strip()
        if len(value) > MAX_TEXT:
            self.problems.append(Problem(self._field(name), RULE_TEXT_LENGTH, f"at most {MAX_TEXT} characters"))
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self.doc.get(name)
        if value is None:
            if required:
                self.problems.append(Problem(self._field(name), RULE_REQUIRED, "is required"))
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.problems.append(Problem(self._field(name), RULE_DATE_VALID, f"{value!r} is not a calendar date (YYYY-MM-DD)"))
        return parsed

    def sex(self, name: str) -> str | None:
        value = self.doc.get(name)
        if value not in SEXES:
            self.problems.append(Problem(self._field(name), RULE_SEX_KNOWN, f"is one of {', '.join(SEXES)}"))
            return None
        return value

    def iin(self, name: str) -> str | None:
        value = self.doc.get(name)
        if value is None:
            return None
        answer = check_iin_answer(value)
        if not answer["valid"]:
            self.problems.append(Problem(self._field(name), RULE_IIN_WELL_FORMED, answer["reason"]))
            return None
        return value

    def flag(self, name: str) -> bool | None:
        value = self.doc.get(name)
        if not isinstance(value, bool):
            self.problems.append(Problem(self._field(name), RULE_REQUIRED, "is true or false"))
            return None
        return value


def parse_date(value: Any) -> date | None:
    """A `date` from a date or an ISO `YYYY-MM-DD` string; None when it is no calendar date."""
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:  # 2023-02-30, 2023-13-01, ...
        return None


@dataclass(frozen=True)
class PlaceOfBirth:
    in_kazakhstan: bool
    region: str | None = None
    locality: str | None = None
    country: str | None = None  # ISO 3166 alpha-2 when outside Kazakhstan

    @classmethod
    def read(cls, r: _Reader) -> PlaceOfBirth | None:
        in_kz = r.flag("in_kazakhstan")
        region, locality, country = r.text("region"), r.text("locality"), r.text("country")
        if in_kz is None:
            return None
        if in_kz and country is not None and country.upper() not in ("KZ", "KAZ"):
            r.problems.append(Problem(f"{r.prefix}.country", RULE_PLACE_OF_BIRTH,
                                      f"a birth in Kazakhstan cannot have country {country!r}"))
            return None
        return cls(in_kz, region, locality, "KZ" if in_kz else country)


@dataclass(frozen=True, kw_only=True)
class ChildDetails:
    # In the order of the stored documents (pana_kit.documents writes the fields in order).
    surname: str | None = None
    given_name: str | None = None
    patronymic: str | None = None
    birth_date: date
    sex: Sex
    place_of_birth: PlaceOfBirth
    iin: str | None = None  # when a verification already knows it

    @classmethod
    def from_document(cls, doc: Any, prefix: str = "child") -> ChildDetails:
        r = _Reader(doc, prefix)
        values = dict(surname=r.text("surname"), given_name=r.text("given_name"),
                      patronymic=r.text("patronymic"), birth_date=r.day("birth_date", required=True),
                      sex=r.sex("sex"), iin=r.iin("iin"))
        place_doc = doc.get("place_of_birth")
        place = None
        if place_doc is None:
            r.problems.append(Problem(f"{prefix}.place_of_birth", RULE_REQUIRED, "is required"))
        else:
            try:
                place_reader = _Reader(place_doc, f"{prefix}.place_of_birth")
            except InvalidInput as error:
                r.problems.extend(Problem(**e) for e in error.extra["errors"])
            else:
                place = PlaceOfBirth.read(place_reader)
                r.problems.extend(place_reader.problems)
        refuse(r.problems)
        return cls(place_of_birth=place, **values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ParentDetails:
    surname: str
    given_name: str
    patronymic: str | None = None
    birth_date: date | None = None  # may be unknown (undocumented parent)
    iin: str | None = None
    nationality: str | None = None  # as stated; "stateless" and "unknown" are fine
    legal_status: str | None = None  # as stated; never a reason to refuse (2019 amendments)
    residence: str | None = None

    @classmethod
    def from_document(cls, doc: Any, prefix: str) -> ParentDetails:
        r = _Reader(doc, prefix)
        values = dict(surname=r.text("surname", required=True), given_name=r.text("given_name", required=True),
                      patronymic=r.text("patronymic"), birth_date=r.day("birth_date"), iin=r.iin("iin"),
                      nationality=r.text("nationality"), legal_status=r.text("legal_status"),
                      residence=r.text("residence"))
        refuse(r.problems)
        return cls(**values)  # type: ignore[arg-type]


def validate_birth_details(
    child: ChildDetails,
    mother: ParentDetails | None,
    father: ParentDetails | None,
    *,
    today: date,
    rules: BridgeRules,
) -> None:
    """Refuse (InvalidInput, every problem listed) what cannot be true of a birth."""
    problems: list[Problem] = []
    if child.sex not in SEXES:
        problems.append(Problem("child.sex", RULE_SEX_KNOWN, f"is one of {', '.join(SEXES)}"))
    for field, value in (("child.iin", child.iin), ("mother.iin", mother and mother.iin),
                         ("father.iin", father and father.iin)):
        if value is not None:
            answer = check_iin_answer(value)
            if not answer["valid"]:
                problems.append(Problem(field, RULE_IIN_WELL_FORMED, answer["reason"]))
    if child.birth_date > today:
        problems.append(Problem("child.birth_date", RULE_NOT_BORN_IN_FUTURE,
                                f"{child.birth_date} is after today ({today})"))
    if mother is not None and mother.birth_date is not None:
        if mother.birth_date >= child.birth_date:
            problems.append(Problem("mother.birth_date", RULE_BORN_AFTER_MOTHER,
                                    f"the child ({child.birth_date}) is not born after the mother ({mother.birth_date})"))
        elif age_on(mother.birth_date, child.birth_date) < rules.minimum_mother_age:
            problems.append(Problem("mother.birth_date", RULE_MOTHER_PLAUSIBLE_AGE,
                                    f"the mother would be {age_on(mother.birth_date, child.birth_date)} at the birth, "
                                    f"under the minimum of {rules.minimum_mother_age}"))
    if father is not None and father.birth_date is not None and father.birth_date >= child.birth_date:
        problems.append(Problem("father.birth_date", RULE_BORN_AFTER_FATHER,
                                f"the child ({child.birth_date}) is not born after the father ({father.birth_date})"))
    refuse(problems)
