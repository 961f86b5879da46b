"""Request and response bodies of the rsd API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pana_events.vocabulary import SPECIFIC_NEED_ALIAS_NOTE, AppealOutcome, SpecificNeed, canonical_need

from pana_kit.fields import Day, PastDate
from ..domain.state import ApplicationState

PublicStatus = Literal["lodged", "recommended", "rejected", "under_appeal", "recognised", "status_ended", "closed"]


class ApplicationSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "5b0c7e12-8a3f-4d6b-9c2e-1f5a0b8d3c67", "person_id": "0f8e3a52-7c1d-4b9e-a6f0-2d4c8b1e5a73", "status": "lodged", "stage": "registered", "office": "almaty",
        "officer_id": None, "priority": False, "processing_mode": "regular", "lodged_on": "2026-11-27",
        "registered_on": "2026-11-27", "decision_due": "2027-02-27", "late_lodging": False,
    }]})

    id: str
    person_id: str
    status: PublicStatus = Field(description="Where the application stands. `lodged` covers lodging and registration up to the recommendation; `stage` gives the exact step.")
    stage: ApplicationState = Field(description="The state in the procedure's state machine")
    office: str
    officer_id: str | None
    priority: bool = Field(description="Priority from the applicant's specific needs")
    processing_mode: str
    lodged_on: date
    registered_on: date | None
    decision_due: date | None = Field(description="Three months after registration unless extended "
                                                   "(docs/domain.md, Refugee status determination)")
    late_lodging: bool = Field(description="Lodged after the window; recorded, never a reason to refuse")


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; absent on the last page")


# ---- the application in detail -----------------------------------------------------------
class ApplicationDetail(ApplicationSummary):
    """The summary plus the procedure's steps. Never the claim's text (see `/claim`)."""

    members: list[dict] = Field(default_factory=list, description=(
        "The principal at lodging first: id, person_id, relationship (to that principal), sex, requests; and each "
        "member's own `status` (`pending` | `recognised` | `rejected` | `status_ended` | `deceased` | `closed`), "
        "`outcome` in the decision that stands (`recognised` | `derivative` | `rejected` | null), "
        "`status_ending` (kind, grounds, ended_on) when that member's status ended, `deceased_on`, and "
        "`principal` (true for who carries the claim now)"))
    principal_member_id: str | None = Field(None, description="The member who carries the claim now (another "
                                            "member after the principal's death)")
    fingerprinted_on: date | None = None
    fingerprinting_late: bool = False
    processing_mode_reason: str | None = None
    interviews: list[dict] = Field(default_factory=list, description="Dates, interpreter, attendance; not the record")
    assessments: list[dict] = Field(default_factory=list, description="Structured findings per member")
    recommendation: dict | None = None
    decision: dict | None = None
    extensions: list[dict] = Field(default_factory=list)
    appeals: list[dict] = Field(default_factory=list)
    closures: list[dict] = Field(default_factory=list)
    reopenings: list[dict] = Field(default_factory=list)
    endings: list[dict] = Field(default_factory=list, description="Notices and decisions ending status; not the response text")
    deadlines: list[dict] = Field(default_factory=list, description="Open deadlines with their status today")
    appeal_deadline: date | None = None
    removal_suspended: bool = Field(description="Non-refoulement: pending procedure or appeal, or recognised")
    contacts: list[dict] = Field(default_factory=list, description=(
        "Contacts with the applicant recorded through `POST .../contacts`, oldest first: kind, on, note, "
        "recorded_by"))
    last_contact_on: date | None = Field(None, description=(
        "The latest contact of any kind (lodging, a recorded contact, an interview held, a decision served, an "
        "appeal lodged); abandonment needs a missed interview and 6 weeks without contact after it"))


# ---- commands ------------------------------------------------------------------------------
ID = r"^[A-Za-z0-9._:\-]{1,64}$"
LANG = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
Text = Field(min_length=1, max_length=2000)
Reason = Field(min_length=3, max_length=2000, description="Why, in words (kept in the file)")

SexValue = Literal["female", "male"]
# One specific-needs list (pana_events.vocabulary); rsd's old codes are still accepted, read as their word.
NeedValue = Annotated[Literal[tuple(n.value for n in SpecificNeed)], BeforeValidator(canonical_need)]


class MemberIn(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=ID, description="Member id within the application")
    person_id: str = Field(pattern=ID)
    relationship: Literal["principal", "spouse", "child", "parent", "sibling", "other"]
    sex: SexValue | None = None
    birth_date: Day | None = None
    specific_needs: list[NeedValue] = Field(
        default_factory=list, max_length=len(SpecificNeed),
        description="UNHCR specific needs (one list in every service); those giving priority: survivor_of_torture, "
                    "woman_at_risk, unaccompanied_or_separated_child, older_person_at_risk, disability, "
                    "serious_medical_condition. " + SPECIFIC_NEED_ALIAS_NOTE)
    same_gender_interviewer_requested: bool = False
    same_gender_interpreter_requested: bool = False
    derivative_status_consent: bool = False


class LodgeApplication(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "principal": {"id": "m1", "person_id": "0f8e2c1a", "relationship": "principal", "sex": "female",
                      "birth_date": "1990-05-01", "specific_needs": ["woman_at_risk"]},
        "family": [], "lodged_on": "2026-11-27", "arrived_on": "2026-11-25", "manner_of_arrival": "regular",
        "lodging_language": "ru", "register_on": "2026-11-27", "narrative": "(the applicant's account)",
    }]})
    principal: MemberIn
    family: list[MemberIn] = Field(default_factory=list, max_length=30)
    lodged_on: Day
    arrived_on: Day = Field(description="Arrival, or the day the risk became known")
    manner_of_arrival: Literal["regular", "irregular", "at_border_crossing"]
    lodging_language: Literal["kk", "ru"] = "ru"
    previous_application_id: str | None = Field(None, pattern=ID, description="For a repeat application")
    officer_id: str | None = Field(None, min_length=1, max_length=200, description="Assign at lodging")
    register_on: Day | None = Field(None, description="Register at once (the certificate is requested)")
    narrative: str | None = Field(None, min_length=1, max_length=100_000,
                                  description="The applicant's account; encrypted at rest, never in events")


class OnDate(BaseModel):
    model_config = _STRICT
    on: Day | None = Field(None, description="Day of the step; today when omitted")


class Registration(BaseModel):
    model_config = _STRICT
    registered_on: Day


class Fingerprinting(BaseModel):
    model_config = _STRICT
    fingerprinted_on: Day


class ProcessingModeIn(BaseModel):
    model_config = _STRICT
    mode: Literal["regular", "accelerated", "simplified"]
    reason: str = Reason


class AssignmentIn(BaseModel):
    model_config = _STRICT
    officer_id: str = Field(min_length=1, max_length=200)
    reason: str = Reason
    on: Day | None = None


class InterpreterIn(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=ID)
    language: str = Field(pattern=LANG, description="ISO 639 code, e.g. prs, fa, ru")
    dialect: str | None = Field(None, min_length=1, max_length=100)
    sex: SexValue | None = None


class ScheduleInterview(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "member_id": "m1", "scheduled_on": "2026-12-10", "interviewer_id": "eo-17", "interviewer_sex": "female",
        "interpreter": {"id": "int-4", "language": "prs", "dialect": "kabuli", "sex": "female"},
        "same_gender_interviewer_requested": True, "legal_representative_id": "lr-2",
        "legal_representative_consent": True,
    }]})
    member_id: str = Field(pattern=ID)
    scheduled_on: Day
    interviewer_id: str = Field(min_length=1, max_length=200)
    interviewer_sex: SexValue | None = None
    interpreter: InterpreterIn
    same_gender_interviewer_requested: bool | None = Field(None, description="Record the applicant's request")
    same_gender_interpreter_requested: bool | None = None
    legal_representative_id: str | None = Field(None, pattern=ID)
    legal_representative_consent: bool = False


class RescheduleInterview(BaseModel):
    model_config = _STRICT
    to_date: Day
    reason: str = Reason
    on: Day | None = None
    interviewer_id: str | None = Field(None, min_length=1, max_length=200)
    interviewer_sex: SexValue | None = None
    interpreter: InterpreterIn | None = None


class InterviewHeldIn(BaseModel):
    model_config = _STRICT
    held_on: Day
    record: str = Field(min_length=1, max_length=200_000, description="The interview record; encrypted at rest")


class CredibilityIn(BaseModel):
    model_config = _STRICT
    material_fact: str = Field(min_length=1, max_length=500)
    accepted: bool
    concerns: list[Literal["inconsistent", "contrary_to_country_information", "implausible",
                           "insufficiently_detailed"]] = Field(default_factory=list, max_length=4)


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "member_id": "m1", "assessed_on": "2026-12-15",
        "credibility": [{"material_fact": "detention in 2024", "accepted": True}],
        "outside_country": True, "well_founded_fear": True, "persecution": True,
        "nexus_grounds": ["political_opinion"], "no_state_protection": True, "exclusion": [],
        "notes": "(reasoning)",
    }]})
    member_id: str = Field(pattern=ID)
    assessed_on: Day | None = None
    credibility: list[CredibilityIn] = Field(default_factory=list, max_length=100)
    outside_country: bool
    well_founded_fear: bool
    persecution: bool
    nexus_grounds: list[Literal["race", "religion", "nationality", "citizenship", "particular_social_group",
                                "political_opinion"]] = Field(default_factory=list, max_length=6)
    no_state_protection: bool
    exclusion: list[Literal["1D", "1E", "1F(a)", "1F(b)", "1F(c)"]] = Field(default_factory=list, max_length=5)
    notes: str | None = Field(None, min_length=1, max_length=200_000, description="Reasoning; encrypted at rest")


RejectionReasonValue = Literal[
    "not_related_to_criteria", "insufficiently_detailed", "not_credible_inconsistent",
    "not_credible_contrary_to_country_information", "not_credible_implausible", "harm_not_persecution",
    "fear_not_well_founded", "no_nexus_to_ground", "state_protection_available", "not_outside_country",
    "excluded_1d", "excluded_1e", "excluded_1f"]
MemberOutcomeValue = Literal["recognised", "derivative", "rejected"]


class RecommendationIn(BaseModel):
    model_config = _STRICT
    outcome: Literal["recognised", "rejected"]
    rejection_reasons: list[RejectionReasonValue] = Field(default_factory=list, max_length=13)
    on: Day | None = None


class DecisionIn(BaseModel):
    model_config = _STRICT
    on: Day | None = None
    outcome: Literal["recognised", "rejected"] | None = Field(None, description="Defaults to the recommendation")
    rejection_reasons: list[RejectionReasonValue] | None = Field(None, max_length=13)
    member_outcomes: dict[str, MemberOutcomeValue] = Field(default_factory=dict, max_length=30)


class NotificationIn(BaseModel):
    model_config = _STRICT
    served_on: Day
    language: str = Field(pattern=LANG, description="A language the applicant understands")


class ExtensionIn(BaseModel):
    model_config = _STRICT
    months: int = Field(ge=1, le=12)
    reason: str = Reason
    on: Day | None = None


class AppealIn(BaseModel):
    model_config = _STRICT
    lodged_on: Day


class AppealDecisionIn(BaseModel):
    model_config = _STRICT
    outcome: AppealOutcome = Field(description=(
        "The appeal's result seen from the appellant, the one vocabulary of every service "
        "(pana_events.vocabulary.AppealOutcome): `allowed` (the decision appealed against is overturned), "
        "`rejected` (it stands), `remitted` (back to first instance). `upheld` and `dismissed` were never accepted "
        "here and are refused (422). Published as `result` in rsd.appeal.decided.v2"))
    on: Day | None = None
    member_outcomes: dict[str, MemberOutcomeValue] = Field(default_factory=dict, max_length=30)


class ClosureIn(BaseModel):
    model_config = _STRICT
    reason: Literal["withdrawal", "abandonment", "death", "no_appeal", "appeal_rejected"]
    on: Day | None = None
    member_id: str | None = Field(None, pattern=ID, description="`death` only: the member who died (default: the "
                                  "principal). While other members remain the file stays open for them; only the "
                                  "deceased is named in `rsd.application.closed.v1`")
    new_principal_member_id: str | None = Field(
        None, pattern=ID, description="`death` of the principal only: the living member who carries the claim on "
                                      "(default: the eldest adult remaining member; if none is adult, the eldest)")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "kind": "phone", "on": "2026-03-02", "note": "Called to say she is in hospital; will come next week."}]})
    kind: Literal["in_person", "phone", "letter", "email", "through_representative"] = Field(
        description="How the applicant (or their representative) was in contact")
    on: PastDate | None = Field(None, description="Day of the contact (not in the future); today when omitted")
    note: str | None = Field(None, min_length=1, max_length=500, description="A short note (optional)")


class ChildIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "person_id": "7c1d9e20", "name": "Aisha", "sex": "female", "birth_date": "2026-02-14",
        "relationship": "child", "on": "2026-02-20"}]})
    person_id: str = Field(pattern=ID, description="The child's person id from registration")
    id: str | None = Field(None, pattern=ID, description="Member id within the application (default: the next "
                           "free `mN`)")
    relationship: Literal["child"] = Field("child", description="Only a child is added to a pending application")
    name: str | None = Field(None, min_length=1, max_length=200, description="As registered")
    sex: SexValue | None = None
    birth_date: PastDate
    on: Day | None = Field(None, description="Day the child is added; today when omitted")


class ReopeningIn(BaseModel):
    model_config = _STRICT
    ground: Literal["changed_circumstances", "new_evidence", "improperly_decided"] | None = Field(
        None, description="One of the three grounds; a reopening without one is refused (409)")
    reason: str = Reason
    on: Day | None = None


class EndingNoticeIn(BaseModel):
    model_config = _STRICT
    kind: Literal["cessation", "cancellation", "revocation"]
    grounds: list[str] = Field(min_length=1, max_length=6, description="Cessation: 1C(1)..1C(6); cancellation: "
                               "misrepresentation, another_nationality, exclusion; revocation: 1F(a), 1F(c)")
    member_ids: list[str] | None = Field(None, max_length=30)
    on: Day | None = None


class EndingResponseIn(BaseModel):
    model_config = _STRICT
    on: Day | None = None
    response: str = Field(min_length=1, max_length=100_000, description="The person's answer; encrypted at rest")


class EndingDecisionIn(BaseModel):
    model_config = _STRICT
    end_status: bool
    compelling_reasons: bool = False
    on: Day | None = None
    notified_on: Day | None = None


# ---- reads -----------------------------------------------------------------------------------
class ClaimText(BaseModel):
    kind: str
    ref: str
    text: str
    written_by: str
    written_at: datetime


class Claim(BaseModel):
    application_id: str
    texts: list[ClaimText]


class AssignmentEntry(BaseModel):
    officer_id: str
    assigned_on: date
    reason: str | None


class AssignmentPage(BaseModel):
    items: list[AssignmentEntry]
    next_cursor: str | None = None


class DeadlineEntry(BaseModel):
    application_id: str
    person_id: str
    office: str
    officer_id: str | None
    priority: bool
    stage: ApplicationState
    deadline: str | None = Field(description="fingerprinting, interview, decision, appeal, appeal_grace, "
                                             "certificate_expiry; none when no deadline is open")
    due_on: date | None
    status: Literal["approaching", "overdue", "upcoming"] | None


class DeadlinePage(BaseModel):
    items: list[DeadlineEntry]
    next_cursor: str | None = None


class Statistics(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": "2026-12-31", "office": "almaty", "small_cell_threshold": 5,
        "applications": {"new": {"cases": 120, "persons": 210}, "repeat": {"cases": "*", "persons": 7},
                         "appeal": {"cases": 14, "persons": 20}},
        "decisions": {"recognised": {"cases": 40, "persons": 80}, "rejected": {"cases": 30, "persons": 41},
                      "otherwise_closed": {"cases": 9, "persons": 12}},
        "pending": {"cases": 60, "persons": 101}, "median_days_registration_to_decision": 74,
    }]})
    as_of: date
    office: str
    small_cell_threshold: int
    applications: dict[str, dict[str, int | str]]
    decisions: dict[str, dict[str, int | str]]
    pending: dict[str, int | str]
    median_days_registration_to_decision: float | None
