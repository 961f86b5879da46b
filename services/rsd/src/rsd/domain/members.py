"""People an application covers: the principal applicant and family members."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from pana_events.vocabulary import SpecificNeed
from pana_kit.domain import age_on


class Sex(str, Enum):
    FEMALE = "female"
    MALE = "male"


class Relationship(str, Enum):
    PRINCIPAL = "principal"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER = "other"


# One specific-needs list for every service (pana_events.vocabulary, issue 13); rsd's own codes before it
# (`torture_survivor`, ...) read as their word (SPECIFIC_NEED_ALIASES), in stored applications and in the API.
# The needs that give priority (docs/domain.md, "Refugee status determination", processing modes):
PRIORITY_NEEDS: frozenset[SpecificNeed] = frozenset({
    SpecificNeed.SURVIVOR_OF_TORTURE,
    SpecificNeed.WOMAN_AT_RISK,
    SpecificNeed.UNACCOMPANIED_OR_SEPARATED_CHILD,
    SpecificNeed.OLDER_PERSON_AT_RISK,  # older person without support
    SpecificNeed.DISABILITY,  # disabled person without support
    SpecificNeed.SERIOUS_MEDICAL_CONDITION,  # urgent medical needs
})

class ContactKind(str, Enum):
    """How the applicant (or their representative) was in contact with the office."""

    IN_PERSON = "in_person"
    PHONE = "phone"
    LETTER = "letter"
    EMAIL = "email"
    THROUGH_REPRESENTATIVE = "through_representative"


CONTACT_NOTE_MAX = 500


@dataclass(kw_only=True)
class Contact:
    """One recorded contact with the applicant; any contact restarts the abandonment period."""

    kind: ContactKind
    on: date
    note: str | None = None
    recorded_by: str | None = None


@dataclass(kw_only=True)
class StatusEnding:
    """How one member's refugee status ended (cessation, cancellation or revocation)."""

    kind: str
    grounds: tuple[str, ...]
    ended_on: date


@dataclass(kw_only=True)
class Member:
    id: str
    person_id: str
    relationship: Relationship
    sex: Sex | None = None
    birth_date: date | None = None
    specific_needs: frozenset[SpecificNeed] = field(default_factory=frozenset)
    same_gender_interviewer_requested: bool = False
    same_gender_interpreter_requested: bool = False
    derivative_status_consent: bool = False  # consent to family-reunification status
    # relationship is to the principal at lodging; a later principal is Application.principal_member_id
    status_ending: StatusEnding | None = None  # this member's status ended (the others' is untouched)
    deceased_on: date | None = None  # died; the others' procedure goes on
    name: str | None = None  # as registered; given only for a member added after lodging (a newborn)
    added_on: date | None = None  # joined the pending application after lodging (a newborn)

    @property
    def deceased(self) -> bool:
        return self.deceased_on is not None

    def is_adult(self, on: date, age_of_majority: int = 18) -> bool:
        """Unknown birth date counts as adult, so the person is assessed individually."""
        return self.birth_date is None or age_on(self.birth_date, on) >= age_of_majority
