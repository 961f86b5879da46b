"""The registry's wire format: JSON with camelCase field names.

These models are the registry's, not Pana's: the bridge adapter maps them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from pana_events.identifiers import check_iin

NATIONALITY_PATTERN = re.compile(r"^(?:[A-Z]{2}|stateless|undetermined)$")
Sex = Literal["male", "female"]


class Wire(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, str_strip_whitespace=True, extra="ignore"
    )


def _check_iin(value: str | None) -> str | None:
    if value is None:
        return None
    result = check_iin(value)
    if not result.valid:
        raise ValueError(f"invalid IIN: {result.reason}")
    return value


def _check_nationality(value: str) -> str:
    if not NATIONALITY_PATTERN.match(value):
        raise ValueError('nationality is an ISO 3166-1 alpha-2 code (e.g. "KZ"), "stateless" or "undetermined"')
    return value


Name = Field(min_length=1, max_length=100)


class Place(Wire):
    country: str = Field("KZ", description="ISO 3166-1 alpha-2")
    region: str | None = None
    locality: str | None = None
    facility: str | None = Field(None, description="medical organisation where the birth took place")


class Address(Wire):
    country: str = Field("KZ", description="ISO 3166-1 alpha-2")
    region: str | None = None
    locality: str | None = None
    street: str | None = None


class RegistryOffice(Wire):
    code: str
    name: str
    kind: Literal["registry_office", "medical_organisation", "gov_for_citizens", "online"]


class Child(Wire):
    iin: str
    surname: str
    given_name: str
    patronymic: str | None = None
    birth_date: date
    birth_time: time | None = None
    place_of_birth: Place
    sex: Sex


class Parent(Wire):
    iin: str | None = Field(None, description="absent for people who never received an IIN")
    surname: str = Name
    given_name: str = Name
    patronymic: str | None = None
    birth_date: date | None = None
    nationality: str = Field(
        "undetermined", description='ISO 3166-1 alpha-2 citizenship, or "stateless" / "undetermined"'
    )
    residence: Address | None = None

    @field_validator("iin")
    @classmethod
    def _valid_iin(cls, v):
        return _check_iin(v)

    @field_validator("nationality")
    @classmethod
    def _valid_nationality(cls, v):
        return _check_nationality(v)


class BirthRecord(Wire):
    certificate_number: str = Field(description='birth certificate, e.g. "I-KZ 0123456"')
    registered_at: datetime
    registry_office: RegistryOffice
    medical_birth_certificate_number: str
    child: Child
    mother: Parent
    father: Parent | None = None


class Person(Wire):
    iin: str
    surname: str
    given_name: str
    patronymic: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    nationality: str | None = Field(None, description="known for parents; null for children (not in a birth record)")
    residence: Address | None = None
    birth_certificate_number: str | None = Field(None, description="when this person's own birth is in the registry")


# --- search -----------------------------------------------------------------------


class ChildCriteria(Wire):
    surname: str = Name
    given_name: str = Name
    birth_date: date


class MotherCriteria(Wire):
    surname: str | None = None
    given_name: str | None = None
    birth_date: date | None = None

    @model_validator(mode="after")
    def _enough(self):
        names = self.surname and self.given_name
        if not names and self.birth_date is None:
            raise ValueError("mother needs surname and givenName, or birthDate, or all three")
        if (self.surname is None) != (self.given_name is None):
            raise ValueError("give the mother's surname and givenName together")
        return self


class BirthRecordSearch(Wire):
    child: ChildCriteria
    mother: MotherCriteria


class SearchResult(Wire):
    matches: list[BirthRecord]


# --- registrations ----------------------------------------------------------------


class ChildIn(Wire):
    surname: str = Name
    given_name: str = Name
    patronymic: str | None = None
    birth_date: date
    birth_time: time | None = None
    place_of_birth: Place | None = None
    sex: Sex


class BirthRegistrationRequest(Wire):
    medical_birth_certificate_number: str = Field(
        min_length=1, max_length=64, description="REQUIRED: the basis of every birth registration"
    )
    child: ChildIn
    mother: Parent
    father: Parent | None = None
    registry_office_code: str | None = None
    callback_url: AnyHttpUrl | None = Field(None, description="POSTed the final submission JSON, best effort")


class Rejection(Wire):
    code: Literal[
        "child_birth_date_in_future",
        "child_born_before_mother",
        "child_born_before_father",
        "duplicate_medical_birth_certificate",
    ]
    message: str


class Submission(Wire):
    submission_id: str
    status: Literal["accepted", "registered", "rejected"]
    accepted_at: datetime
    completed_at: datetime | None = None
    medical_birth_certificate_number: str
    certificate_number: str | None = None
    child_iin: str | None = None
    rejection: Rejection | None = None


class ErrorBody(Wire):
    code: str
    message: str
    details: list | None = None


class ErrorResponse(Wire):
    error: ErrorBody


# --- simulator control (snake_case; not the registry's wire format) ----------------


class FaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int = Field(ge=0)
    error_rate: float = Field(ge=0, le=1)
    timeout_rate: float = Field(ge=0, le=1)
    outage: bool
    registration_delay_s: float = Field(ge=0)
    timeout_s: float = Field(gt=0)
    post_latency_ms: int = Field(ge=0)
    lost_response_rate: float = Field(ge=0, le=1)


class FaultUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: int | None = Field(None, ge=0)
    error_rate: float | None = Field(None, ge=0, le=1)
    timeout_rate: float | None = Field(None, ge=0, le=1)
    outage: bool | None = None
    registration_delay_s: float | None = Field(None, ge=0)
    timeout_s: float | None = Field(None, gt=0)
    post_latency_ms: int | None = Field(None, ge=0)
    lost_response_rate: float | None = Field(None, ge=0, le=1)


class ChildRecordIn(Wire):
    iin: str | None = None
    surname: str = Name
    given_name: str = Name
    patronymic: str | None = None
    birth_date: date
    birth_time: time | None = None
    place_of_birth: Place | None = None
    sex: Sex

    @field_validator("iin")
    @classmethod
    def _valid_iin(cls, v):
        return _check_iin(v)


class BirthRecordIn(Wire):
    """A birth record to add directly (tests); missing numbers are generated."""

    certificate_number: str | None = None
    registered_at: datetime | None = None
    registry_office: RegistryOffice | None = None
    medical_birth_certificate_number: str | None = None
    child: ChildRecordIn
    mother: Parent
    father: Parent | None = None
