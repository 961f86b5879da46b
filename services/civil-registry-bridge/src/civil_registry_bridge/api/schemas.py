"""Request and response bodies of the bridge API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Field(None, min_length=1, max_length=200)
IIN_PATTERN = r"^\d{12}$"


class PlaceOfBirthIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    in_kazakhstan: bool = Field(description="Born in Kazakhstan: only such births are registered here")
    region: str | None = Field(None, min_length=1, max_length=200)
    locality: str | None = Field(None, min_length=1, max_length=200)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, when outside Kazakhstan")


class ChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surname: str | None = Field(None, min_length=1, max_length=200)
    given_name: str | None = Field(None, min_length=1, max_length=200)
    patronymic: str | None = Field(None, min_length=1, max_length=200)
    birth_date: date
    sex: Literal["male", "female"]
    place_of_birth: PlaceOfBirthIn
    iin: str | None = Field(None, pattern=IIN_PATTERN, description="The child's IIN when known (check digit verified)")


class ParentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    surname: str = Field(min_length=1, max_length=200)
    given_name: str = Field(min_length=1, max_length=200)
    patronymic: str | None = Field(None, min_length=1, max_length=200)
    birth_date: date | None = Field(None, description="May be unknown (undocumented parents)")
    iin: str | None = Field(None, pattern=IIN_PATTERN)
    nationality: str | None = Field(None, min_length=1, max_length=100, description="As stated; 'stateless' and 'unknown' are fine")
    legal_status: str | None = Field(None, min_length=1, max_length=100,
                                     description="As stated; never a reason to refuse (2019 amendments)")
    residence: str | None = Field(None, min_length=1, max_length=200)


class BirthVerificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "verification",
        "child_person_id": "0f8e6c1a-8d7b-4c1e-9f4a-2b7d1e6c3a90",
        "child": {"surname": "Omarov", "given_name": "Alikhan", "birth_date": "2025-03-01", "sex": "male",
                  "place_of_birth": {"in_kazakhstan": True, "region": "Almaty", "locality": "Almaty"}},
        "mother": {"surname": "Omarova", "given_name": "Aigerim", "birth_date": "1998-06-12",
                   "nationality": "stateless", "legal_status": "stateless"},
        "medical_birth_certificate_number": "MBC-2025-ALA-000001",
    }]})

    kind: Literal["verification", "submission"] = Field(
        "verification", description="`verification` finds the birth record (and registers a missing birth in Kazakhstan "
                                    "that has a medical birth certificate); `submission` registers it directly "
                                    "(needs the civil-registry:submit scope)")
    child_person_id: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$",
                                        description="The child's person id in registration, if any (events' subject)")
    child: ChildIn
    mother: ParentIn | None = None
    father: ParentIn | None = None
    medical_birth_certificate_number: str | None = Field(None, min_length=1, max_length=64,
                                                         description="The basis of a birth registration")
    birth_certificate_number: str | None = Field(None, min_length=1, max_length=64,
                                                 description="The registry's birth certificate number, when known")


RequestStatus = Literal["received", "verifying", "verified", "not_found", "submitting", "submitted",
                        "registered", "rejected", "quarantined", "parked"]


class BirthVerification(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "9b2f4a60-1d7c-4e3b-8f5a-6c2d0e9b1a74", "child_person_id": "0f8e3a52-7c1d-4b9e-a6f0-2d4c8b1e5a73", "kind": "verification", "status": "registered",
        "certificate_number": "I-KZ 0123456", "iin": "250301500017", "submission_id": "5d1c…",
        "reason": None, "attempts": 0, "last_error": None, "next_attempt_at": None,
        "received_at": "2026-11-27T10:00:00Z", "updated_at": "2026-11-27T10:00:02Z",
        "registration_deadline": "2025-03-05", "late": True,
    }]})

    id: str
    child_person_id: str | None
    kind: Literal["verification", "submission"]
    status: RequestStatus = Field(description="verified/not_found/registered/rejected/quarantined are settled; "
                                              "the others are in progress (parked = waiting for the reconciler)")
    certificate_number: str | None = Field(description="Birth certificate number, when verified or registered")
    iin: str | None = Field(description="The child's IIN, when verified or registered")
    submission_id: str | None
    reason: str | None = Field(description="Why rejected or quarantined")
    attempts: int = Field(description="Consecutive failed attempts at the current step")
    last_error: str | None
    next_attempt_at: datetime | None
    received_at: datetime
    updated_at: datetime | None
    registration_deadline: date = Field(description="3 working days after birth (MoJ Order No. 112); lateness never refuses")
    late: bool | None = Field(description="Registered or submitted after the deadline (None while not submitted)")


class BirthVerificationPage(BaseModel):
    items: list[BirthVerification]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; absent on the last page")


class IinHints(BaseModel):
    birth_date: date | None = Field(description="Read from the number; a hint only (Resolution No. 853)")
    sex: str | None


class IinAnswer(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"valid": True, "reason": None, "hints": {"birth_date": "1994-09-17", "sex": "female"}},
        {"valid": False, "reason": "an IIN has 12 digits", "hints": None},
    ]})

    valid: bool
    reason: str | None = Field(description="Why it is not an IIN (format or check digit); null when valid")
    hints: IinHints | None = Field(description="Birth date and sex read from the number: hints, never grounds to reject")


class CallbackAck(BaseModel):
    request_id: str
    status: RequestStatus
