"""Assessment of each adult member: credibility, inclusion, exclusion."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from pana_kit.domain import InvalidInput

from .events import AssessmentRecorded


class Ground(str, Enum):
    """The six grounds of the Law "On Refugees"."""

    RACE = "race"
    RELIGION = "religion"
    NATIONALITY = "nationality"  # ethnicity
    CITIZENSHIP = "citizenship"
    PARTICULAR_SOCIAL_GROUP = "particular_social_group"
    POLITICAL_OPINION = "political_opinion"


class ExclusionClause(str, Enum):
    ART_1D = "1D"  # UNRWA
    ART_1E = "1E"  # rights of a national elsewhere
    ART_1F_A = "1F(a)"  # crimes against peace, war crimes, crimes against humanity
    ART_1F_B = "1F(b)"  # serious non-political crime before admission
    ART_1F_C = "1F(c)"  # acts contrary to UN purposes


class CredibilityConcern(str, Enum):
    INCONSISTENT = "inconsistent"
    CONTRARY_TO_COUNTRY_INFORMATION = "contrary_to_country_information"
    IMPLAUSIBLE = "implausible"
    INSUFFICIENTLY_DETAILED = "insufficiently_detailed"


@dataclass(kw_only=True)
class CredibilityFinding:
    material_fact: str
    accepted: bool
    concerns: frozenset[CredibilityConcern] = field(default_factory=frozenset)


@dataclass(kw_only=True)
class Assessment:
    member_id: str
    assessed_by: str
    assessed_on: date
    credibility: list[CredibilityFinding] = field(default_factory=list)
    outside_country: bool = False
    well_founded_fear: bool = False
    persecution: bool = False
    nexus_grounds: frozenset[Ground] = field(default_factory=frozenset)
    no_state_protection: bool = False
    exclusion: frozenset[ExclusionClause] = field(default_factory=frozenset)

    @property
    def inclusion_met(self) -> bool:
        return (self.outside_country and self.well_founded_fear and self.persecution
                and bool(self.nexus_grounds) and self.no_state_protection)

    @property
    def excluded(self) -> bool:
        return bool(self.exclusion)

    @property
    def meets_criteria(self) -> bool:
        return self.inclusion_met and not self.excluded


class AssessmentSteps:
    def record_assessment(self, assessment: Assessment) -> Assessment:
        """Record (or replace) the individual assessment of one member."""
        self._require_first_instance("record an assessment")
        self.member(assessment.member_id)
        if not assessment.assessed_by.strip():
            raise InvalidInput("an assessment names the officer who made it")
        self.assessments[assessment.member_id] = assessment
        self.record(AssessmentRecorded(self.id, assessment.member_id, assessment.assessed_by,
                                       assessment.assessed_on, assessment.meets_criteria))
        return assessment
