"""Request and response bodies of the statelessness API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pana_events.vocabulary import APPEAL_OUTCOME_ALIASES, AppealOutcome
from pana_kit.fields import Day

from .common import ID_PATTERN, STATE_PATTERN
from ..domain.case import CaseStatus, OpeningReason, Outcome
from ..domain.evidence import BroughtBy, EvidenceKind, EvidenceWeight
from ..domain.inquiry import InquiryStatus, StateLink
from ..domain.naturalization import NaturalizationOutcome

Text = Field(min_length=1, max_length=10_000)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ cases
class OpenCase(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "person_id": "0f8e1c2a-person", "birth_date": "1990-05-01", "opened_on": "2026-11-27",
        "reason_note": "applied in person at the Almaty migration service"}]})

    person_id: str = Field(pattern=ID_PATTERN, description="The applicant's person id in registration")
    birth_date: Day | None = Field(None, description="Used for the certificate age (16+) and statistics")
    opened_on: Day | None = Field(None, description="Day the application was received (today when absent)")
    reason_note: str = Field("", max_length=2000, description="Anything the officer records about the opening")


class AddEvidence(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "kind": "document", "source": "expired USSR passport", "weight": "medium", "brought_by": "applicant",
        "received_on": "2026-11-27", "description": "Soviet passport issued 1988 in Shymkent"}]})

    kind: Literal["document", "testimony", "inquiry_result"]
    source: str = Field(min_length=1, max_length=300, description="Where the evidence comes from")
    weight: Literal["low", "medium", "high"]
    brought_by: Literal["applicant", "officer"] = Field(description="The burden of proof is shared: who brought or sought it")
    received_on: Day | None = None
    description: str = Field("", max_length=10_000, description="Free text; encrypted at rest")


class SendInquiry(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"state": "UZB", "link": "birth", "sent_on": "2026-11-27"}]})

    state: str = Field(pattern=STATE_PATTERN, description="ISO 3166-1 alpha-3 code of the State asked")
    link: Literal["birth", "descent", "residence", "marriage"]
    sent_on: Day | None = None


class InquiryAnswerBody(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answer": "denies", "answered_on": "2027-02-01"}]})

    answer: Literal["confirms_national", "denies", "partial"]
    answered_on: Day | None = None
    weight: Literal["low", "medium", "high"] = "high"


class InquiryUnansweredBody(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"found_on": "2027-06-01"}]})

    found_on: Day | None = Field(None, description="Day the missing reply is recorded (after the reply deadline)")


class HoldInterview(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "held_on": "2026-12-10", "interpreter_id": "interp-7", "legal_representative_present": True,
        "notes": "born 1990 in Shymkent; lived in Russia 2005-2019"}]})

    held_on: Day | None = None
    interpreter_id: str | None = Field(None, max_length=100)
    legal_representative_present: bool = False
    notes: str = Field("", max_length=50_000, description="The interview record; encrypted at rest")


class Determine(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "outcome": "stateless", "reasons": "no State considers the person a national; UZB denied, RUS did not reply",
        "decided_on": "2027-03-01"}]})

    outcome: Literal["stateless", "not_stateless"]
    reasons: str = Field(min_length=1, max_length=20_000)
    nationality: str | None = Field(None, pattern=STATE_PATTERN, description="For not_stateless: the nationality found")
    confirmed_nationality_reasons: str | None = Field(
        None, max_length=20_000, description="Needed to recognise someone a State confirmed as its national")
    decided_on: Day | None = None
    notified_on: Day | None = None


class Assign(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"officer_id": "officer-b"}]})

    officer_id: str = Field(min_length=1, max_length=200, description="The officer (token subject) given the case")


class ExtendDeadline(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"new_due": "2027-11-27", "reasons": "awaiting the reply of RUS"}]})

    new_due: Day
    reasons: str = Field(min_length=1, max_length=5000)


class LodgeAppeal(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"lodged_on": "2027-03-10"}]})

    lodged_on: Day | None = None


class DecideAppeal(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "result": "allowed", "reasons": "the confirmation by UZB concerned another person", "decided_on": "2027-04-01"}]})

    outcome: Literal["upheld", "overturned"] | None = Field(None, json_schema_extra={"deprecated": True}, description=(
        "Deprecated (issue 13; accepted for one deprecation period, then removed): the old words, seen from the "
        "DETERMINATION, read as the one vocabulary: `upheld` (the determination stands) is `result` `rejected`, "
        "`overturned` is `result` `allowed`. Send `result`; a request using `outcome` is answered with a "
        "`Deprecation` header"))
    result: AppealOutcome | None = Field(None, description=(
        "The appeal's result seen from the appellant, the one vocabulary of every service "
        "(pana_events.vocabulary.AppealOutcome, the same words as rsd): `allowed` (recognised stateless) or "
        "`rejected` (the determination stands). `remitted` is refused (422 `appeal_result`): this procedure has no "
        "remittal. Give this (or, deprecated, `outcome`); if both, they must agree"))
    reasons: str = Field(min_length=1, max_length=20_000)
    decided_on: Day | None = None

    @model_validator(mode="after")
    def _one_outcome(self) -> "DecideAppeal":
        if self.outcome is None and self.result is None:
            raise ValueError("give the appeal's `result`: allowed | rejected")
        if self.outcome is not None and self.result is not None and APPEAL_OUTCOME_ALIASES[self.outcome] != self.result:
            raise ValueError("`outcome` (deprecated) and `result` disagree: `overturned` is `allowed`, `upheld` is "
                             "`rejected`; send `result` alone")
        return self

    @property
    def appeal_result(self) -> AppealOutcome:
        return self.result or APPEAL_OUTCOME_ALIASES[self.outcome]


class EvidenceOut(BaseModel):
    evidence_id: str
    kind: EvidenceKind
    source: str
    weight: EvidenceWeight
    brought_by: BroughtBy
    received_on: date
    description: str


class InquiryOut(BaseModel):
    inquiry_id: str
    state: str
    link: StateLink
    sent_on: date
    reply_due: date
    status: InquiryStatus
    answer: str | None
    answered_on: date | None
    unanswered_found_on: date | None


class InterviewOut(BaseModel):
    held_on: date
    officer_id: str
    interpreter_id: str | None
    legal_representative_present: bool
    notes: str


class CaseSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b0c7e12-8a3f-4d6b-9c2e-1f5a0b8d3c67", "person_id": "0f8e3a52-7c1d-4b9e-a6f0-2d4c8b1e5a73", "reason": "child_at_risk", "ex_officio": True, "status": "open",
        "opened_on": "2026-11-27", "decision_due": "2027-05-27", "decided_on": None, "outcome": None,
        "recognised_on": None, "overdue": False}]})

    id: str
    person_id: str
    reason: OpeningReason = Field(description="Why the case was opened (ex officio unless `application`)")
    ex_officio: bool
    status: CaseStatus = Field(description="`closed_on_death`: the person died")
    opened_on: date
    decision_due: date = Field(description="Six months after opening unless extended with reasons (at most 12)")
    decided_on: date | None = None
    outcome: Outcome | None = None
    recognised_on: date | None = None
    overdue: bool = False


class CaseDetail(CaseSummary):
    opened_by: str | None
    reason_note: str
    decision_deadline_limit: date
    appeal_until: date | None
    evidence: list[EvidenceOut]
    inquiries: list[InquiryOut]
    interviews: list[InterviewOut]
    extensions: list[dict]
    determination: dict | None
    appeal: dict | None = Field(description=(
        "appeal_id, lodged_on, officer_id, decided_on, reasons; `result` seen from the appellant (`allowed` | "
        "`rejected`, the one vocabulary, as rsd); `outcome` (deprecated, for one deprecation period) the old word "
        "seen from the determination (`upheld`: it stands, the appeal is rejected; `overturned`: allowed)"))


class CasePage(BaseModel):
    items: list[CaseSummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; absent on the last page")


class OverdueInquiry(BaseModel):
    case_id: str
    person_id: str
    inquiry_id: str
    state: str
    sent_on: date
    reply_due: date
    days_overdue: int


class OverdueInquiryPage(BaseModel):
    items: list[OverdueInquiry]
    next_cursor: str | None = None


# ------------------------------------------------------------------ children at risk
class ResolveFlag(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"basis": "kazakh_citizenship_by_birth", "resolved_on": "2027-01-15"},
        {"basis": "other_state_nationality", "nationality": "UZB", "resolved_on": "2027-01-15"}]})

    basis: Literal["kazakh_citizenship_by_birth", "other_state_nationality"]
    nationality: str | None = Field(None, pattern=STATE_PATTERN, description="For other_state_nationality")
    resolved_on: Day | None = None


class ChildFlagOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "flag_id": "9a1f…", "child_person_id": "c-1", "rule": "stateless_parents", "flagged_on": "2026-11-27",
        "status": "open", "birth_date": "2026-11-25", "child_age_days": 2, "days_open": 0,
        "presumed_kazakh_citizen": False, "resolved_on": None, "nationality": None, "resolution_basis": None}]})

    flag_id: str
    child_person_id: str
    rule: str = Field(description="foundling | stateless_parents | parents_of_undetermined_nationality")
    flagged_on: date
    status: Literal["open", "resolved"]
    birth_date: date
    child_age_days: int
    days_open: int
    presumed_kazakh_citizen: bool
    resolved_on: date | None
    nationality: str | None
    resolution_basis: str | None


class ChildFlagPage(BaseModel):
    items: list[ChildFlagOut]
    next_cursor: str | None = None


# ------------------------------------------------------------------ naturalization
class OpenTrack(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"case_id": "5b0c7e12-8a3f-4d6b-9c2e-1f5a0b8d3c67", "lawful_residence_from": "2022-03-01"}]})

    case_id: str = Field(pattern=ID_PATTERN)
    lawful_residence_from: Day
    opened_on: Day | None = None


class DecideNaturalization(Command):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"outcome": "granted", "decided_on": "2031-03-01"}]})

    outcome: Literal["granted", "refused"]
    decided_on: Day | None = None
    reasons: str | None = Field(None, max_length=10_000, description="Required for a refusal")


class TrackOut(BaseModel):
    track_id: str
    person_id: str
    case_id: str
    lawful_residence_from: date
    eligible_from: date
    opened_on: date
    outcome: NaturalizationOutcome | None
    decided_on: date | None


class TrackPage(BaseModel):
    items: list[TrackOut]
    next_cursor: str | None = None
