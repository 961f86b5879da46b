"""Duplicates: checking a person against the register, the review queue, and merging two records."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pana_kit import audit
from pana_kit.ratelimit import rate_limit
from pana_kit.auth import Principal, require
from pana_kit.domain import as_utc
from pana_kit.errors import problem_responses
from pana_kit.http import etag_of, if_match_header, page_params, purpose_header
from pana_kit.service import unit_of_work

from .. import service
from ..domain import IdentityDocument, IdentityDocumentKind, Person
from ..matching import check
from ..store.repository import DuplicateReviews
from ..store.tables import DuplicateReviewRow
from .fields import CountryCode, Identifier, PastDate, Precision, Reason, SexIn, Strict, Text
from .persons import PersonOut, domain_details, person_out

router = APIRouter(tags=["duplicates"])
SERVICE = "registration"

DocumentNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40,
                                                  pattern=r"^[A-Za-z0-9<\-/ ]*[A-Za-z0-9][A-Za-z0-9<\-/ ]*$")]


class DuplicateCheckIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "given_name": "Mohammad", "family_name": "Nurlybekov", "birth_date": "1990-05-04", "sex": "male",
        "country_of_origin": "AFG"}]})

    given_name: Text
    family_name: Text
    patronymic: Text | None = None
    given_name_latin: Text | None = None
    family_name_latin: Text | None = None
    patronymic_latin: Text | None = None
    birth_date: PastDate | None = None
    birth_date_precision: Precision = "exact"
    sex: SexIn = "unknown"
    citizenship: list[CountryCode] = Field(default_factory=list, max_length=5)
    country_of_origin: CountryCode | None = None
    document_numbers: list[DocumentNumber] = Field(default_factory=list, max_length=5,
                                                   description="Numbers of identity documents the person holds")
    limit: int = Field(20, ge=1, le=50, description="At most this many candidates, best first")


class CandidateOut(BaseModel):
    person_id: str
    score: float = Field(description="0..1; at or above the likely threshold registration is refused without override")
    reasons: list[str] = Field(description="Which fields agreed or differed, e.g. `birth_date_day_month_swapped`")
    verdict: Literal["likely_duplicate", "possible_duplicate"]


class DuplicateCheckOut(BaseModel):
    candidates: list[CandidateOut]
    candidate_limit_reached: bool = Field(
        False, description="More people shared a blocking key with the described person than a check compares "
                           "(`candidate_limit`); those beyond it were not scored: narrow the check (birth date, "
                           "document number) before concluding there is no duplicate")


def transient_person(body: DuplicateCheckIn) -> Person:
    """The person described by a check, never stored (the register is not changed by a check)."""
    details = domain_details(body, exclude={"limit", "document_numbers", "given_name", "family_name",
                                            "birth_date", "sex"})
    documents = [IdentityDocument(kind=IdentityDocumentKind.OTHER, number=n.upper()) for n in body.document_numbers]
    return Person.register(person_id=f"check-{uuid.uuid4()}", registered_by="duplicate-check",
                           now=datetime.now(timezone.utc), identity_documents=documents,
                           given_name=body.given_name, family_name=body.family_name, birth_date=body.birth_date,
                           sex=body.sex, **details)


@router.post(
    "/api/v1/persons/duplicate-check",
    operation_id="checkDuplicates",
    response_model=DuplicateCheckOut,
    summary="Check a person against the register for duplicates",
    description="Scores the described person against registered records that share a blocking key (names across "
                "scripts and spellings, identity document numbers), with the configured matching rules. Returns "
                "candidates at or above the review threshold, best first, with the reasons. Nothing is stored; "
                "the check is audited (it tells whether someone is registered). Needs `X-Purpose`.",
    responses=problem_responses(401, 403, 422),
)
async def duplicate_check(
    body: DuplicateCheckIn,
    request: Request,
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
) -> Response:
    # A read: one statement on the read engine (no session, no transaction), then the audit entry is queued for
    # the audit writer's next batch (pana_kit.audit.AuditWriter), as a verification's is: no wait on the audit.
    state = request.app.state
    config = state.matching
    checked = await check(state.db, transient_person(body), config)
    found = checked.results
    state.audit_writer.submit(principal, "duplicate-check", "persons", purpose=purpose,
                              outcome=f"{len(found)} candidates")
    # The body is built here, not by FastAPI from `DuplicateCheckOut` (no model instances, no validation of our
    # own answer, no second serialisation: issue 16); the model stays the documented schema, and a test checks
    # the answers against it.
    out = {"candidates": [{"person_id": c.person_id, "score": c.score, "reasons": list(c.reasons),
                           "verdict": c.verdict} for c in found[:body.limit]],
           "candidate_limit_reached": checked.limit_reached}
    return Response(json.dumps(out, separators=(",", ":")).encode(), media_type="application/json")


# --- merging ---------------------------------------------------------------------------------

class MergeIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "duplicate_person_id": "5b1d0c8e-8c1f-4a59-9a57-2f1c0e7d9a10",
        "reason": "same passport AFG P01234567; registered twice at two offices"}]})

    duplicate_person_id: Identifier = Field(description="The record folded into this one; it is kept, marked "
                                                         "`merged_into`, and refuses further changes")
    reason: Reason


@router.post(
    "/api/v1/persons/{person_id}/merge",
    operation_id="mergePersons",
    response_model=PersonOut,
    summary="Merge a duplicate record into this person",
    description="The record in the path survives; `duplicate_person_id` is marked merged into it, leaves the "
                "duplicate index, and its identity documents and specific needs are carried over. Needs `If-Match` "
                "with the surviving record's ETag. Emits `registration.persons.merged.v1`, which other services "
                "follow. A record merged already, or merging a record into itself, is 409 "
                "(`merged_record_is_closed`, `merge_distinct_records`).",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def merge(
    person_id: str,
    body: MergeIn,
    request: Request,
    response: Response,
    if_match: str | None = Depends(if_match_header),
    principal: Principal = Depends(require("registration:merge")),
) -> PersonOut:
    async with unit_of_work(request) as uow:
        done, row = await service.merge_persons(uow, surviving_id=person_id[:64], merged_id=body.duplicate_person_id[:64],
                                                reason=body.reason, principal=principal, if_match=if_match,
                                                matching=request.app.state.matching)
    response.headers["ETag"] = done.etag
    return person_out(done.aggregate, row)


# --- the review queue ------------------------------------------------------------------------

ReviewState = Literal["open", "overridden", "not_duplicate", "merged"]


class ReviewOut(BaseModel):
    review_id: str
    person_id: str = Field(description="The record being registered when the pair was found")
    candidate_person_id: str = Field(description="The record already in the register")
    score: float
    reasons: list[str]
    state: ReviewState
    override_reason: str | None
    created_at: datetime
    etag: str = Field(description="Send as `If-Match` to resolve this review")


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None = None


def _review_etag(row: DuplicateReviewRow) -> str:
    return etag_of(row.state, row.review_id)


def _review_out(row: DuplicateReviewRow) -> ReviewOut:
    return ReviewOut(review_id=row.review_id, person_id=row.person_id, candidate_person_id=row.candidate_person_id,
                     score=row.score, reasons=list(row.reasons), state=row.state,
                     override_reason=row.override_reason, created_at=as_utc(row.created_at), etag=_review_etag(row))


@router.get(
    "/api/v1/duplicate-reviews",
    response_model=ReviewPage,
    summary="The queue of possible duplicates",
    description="Pairs of records that may be one person, oldest first, a page at a time (`state=open` by "
                "default). Needs `X-Purpose`; rate-limited per caller (`REGISTRATION_LIST_RATE_PER_MINUTE`, default "
                "60; 429 with `Retry-After`); audited with one entry per person the page shows.",
    responses=problem_responses(400, 401, 403, 422, 429),
)
async def list_reviews(
    request: Request,
    state: ReviewState = Query("open", description="Which reviews to list"),
    person_id: Identifier | None = Query(None, description="Only reviews involving this person"),
    page: tuple = Depends(page_params),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(rate_limit("duplicate-review-list", per_minute=60, scope="registration:merge",
                                              setting="list_rate_per_minute")),
) -> ReviewPage:
    limit, cursor = page
    async with request.app.state.db.transaction() as session:
        found = await DuplicateReviews(session).page(state=state, person_id=person_id, cursor=cursor, limit=limit)
        await audit.record(session, principal, "list-duplicate-reviews", f"duplicate-reviews?state={state}",
                           purpose=purpose, outcome=f"{len(found.items)} found", service=SERVICE)
        shown = dict.fromkeys(f"person/{p}" for r in found.items for p in (r.person_id, r.candidate_person_id))
        await service.audit_returned(session, principal, list(shown), purpose=purpose)
    return ReviewPage(items=[_review_out(r) for r in found.items], next_cursor=found.next_cursor)


class ResolutionIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"outcome": "not_duplicate", "reason": "father and son: different passports and birth years"},
        {"outcome": "merge", "reason": "same person, registered twice", "surviving_person_id": None},
    ]})

    outcome: Literal["not_duplicate", "merge"]
    reason: Reason
    surviving_person_id: Identifier | None = Field(
        None, description="For `merge`: which of the two records survives (default: the one registered first, "
                          "`candidate_person_id`)")


@router.post(
    "/api/v1/duplicate-reviews/{review_id}/resolution",
    response_model=ReviewOut,
    summary="Resolve a possible duplicate",
    description="`not_duplicate` closes the review; `merge` merges the two records (as `POST "
                "/persons/{id}/merge`, emitting `registration.persons.merged.v1`). Needs `If-Match` with the "
                "review's `etag`. A review already resolved is 409 (`review_resolved_once`).",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def resolve_review(
    review_id: str,
    body: ResolutionIn,
    request: Request,
    response: Response,
    if_match: str | None = Depends(if_match_header),
    principal: Principal = Depends(require("registration:merge")),
) -> ReviewOut:
    async with unit_of_work(request) as uow:
        row = await service.resolve_review(uow, review_id[:64], outcome=body.outcome, reason=body.reason,
                                           surviving_person_id=body.surviving_person_id, principal=principal,
                                           if_match=if_match, matching=request.app.state.matching)
        out = _review_out(row)
    response.headers["ETag"] = out.etag
    return out
