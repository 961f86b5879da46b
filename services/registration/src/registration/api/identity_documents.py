"""Identity documents a person holds: typed in, or read from an ICAO 9303 machine-readable zone."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from pana_kit.auth import Principal, require
from pana_kit.domain import InvalidInput
from pana_kit.errors import problem_responses
from pana_kit.http import if_match_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import IdentityDocument, parse_mrz
from .fields import CountryCode, Reason, Strict
from .persons import PersonOut, person_out

router = APIRouter(prefix="/api/v1/persons", tags=["persons"])

DocumentNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                  pattern=r"^[A-Za-z0-9\-/ ]*[A-Za-z0-9][A-Za-z0-9\-/ ]*$")]
MrzText = Annotated[str, StringConstraints(min_length=60, max_length=100, pattern=r"^[A-Za-z0-9< \r\n]+$")]
Kind = Literal["passport", "national_id", "birth_certificate", "residence_permit", "travel_document",
               "marriage_certificate", "driving_licence", "military_id", "other"]
IssueDate = Annotated[date, Field(ge=date(1900, 1, 1))]


class IdentityDocumentIn(Strict):
    """Either the document's fields (`kind` and `number`) or its `mrz`; `issued_on` either way (not in an MRZ)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"mrz": "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
         "issued_on": "2012-04-16", "reason": "passport seen at registration"},
        {"kind": "birth_certificate", "number": "II-AF 123456", "issuing_state": "AFG", "issued_on": "2011-02-01",
         "reason": "copy seen"},
    ]})

    kind: Kind | None = None
    number: DocumentNumber | None = None
    issuing_state: CountryCode | None = None
    issued_on: IssueDate | None = None
    expires_on: IssueDate | None = None
    mrz: MrzText | None = Field(None, description="ICAO 9303 MRZ (TD1 3x30, TD2 2x36, TD3 2x44), lines separated "
                                                   "by newlines; every check digit is verified")
    original_seen: bool = False
    reason: Reason = "identity document recorded"

    @model_validator(mode="after")
    def _one_source(self):
        if self.mrz and (self.number or self.kind or self.issuing_state or self.expires_on):
            raise ValueError("give either mrz or the document's kind, number, issuing_state and expires_on, not both")
        if not self.mrz and not (self.kind and self.number):
            raise ValueError("give either mrz, or kind and number")
        return self


@router.post(
    "/{person_id}/identity-documents",
    response_model=PersonOut,
    summary="Record an identity document the person holds",
    description="From its fields or from an ICAO 9303 machine-readable zone, which is parsed and whose check "
                "digits are verified: a wrong one is 422 `mrz_check_digit` naming the field (`field`). A birth date "
                "after the document's issue date is 422 `birth_date_not_after_document_issue`; an MRZ whose birth "
                "date contradicts the record's exact birth date is 422 `mrz_birth_date_matches_record`. Nothing is "
                "stored on refusal. Needs `If-Match` with the person's ETag; the number joins the duplicate index.",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def add_identity_document(
    person_id: str,
    body: IdentityDocumentIn,
    request: Request,
    response: Response,
    if_match: str | None = Depends(if_match_header),
    principal: Principal = Depends(require("registration:write")),
) -> PersonOut:
    now = datetime.now(timezone.utc)
    if body.mrz:
        mrz = parse_mrz(body.mrz, today=now.date())
        document = IdentityDocument.from_mrz(mrz, issued_on=body.issued_on)
    else:
        mrz = None
        document = IdentityDocument(kind=body.kind, number=body.number.upper(), issuing_state=body.issuing_state,
                                    issued_on=body.issued_on, expires_on=body.expires_on,
                                    original_seen=body.original_seen)
    if document.issued_on and document.issued_on > now.date():
        raise InvalidInput("a document cannot be issued in the future", rule="document_issued_in_past",
                           extra={"field": "issued_on"})
    async with unit_of_work(request) as uow:
        done, row = await service.add_identity_document(uow, person_id[:64], document, mrz=mrz, reason=body.reason,
                                                        now=now, principal=principal, if_match=if_match,
                                                        matching=request.app.state.matching)
    response.headers["ETag"] = done.etag
    return person_out(done.aggregate, row)
