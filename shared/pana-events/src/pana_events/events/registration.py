"""Events registration publishes on `registration.events`."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .base import Event
from ..vocabulary import LEGAL_STATUS_NOTE, SpecificNeed
from .common import BirthDatePrecision, CountryCode, Id, LanguageCode, Name, Sex


class PersonRegistered(Event):
    """A person entered the population register (directly or from a referral)."""

    event_type: ClassVar[str] = "registration.person.registered.v1"
    person_id: Id
    registration_number: str
    given_name: Name
    family_name: Name
    given_name_latin: Name | None = Field(None, description="Latin form as registered (as in a passport, or "
                                                             "transliterated at entry); added later, optional")
    family_name_latin: Name | None = Field(None, description="Latin form of the family name, as registered")
    birth_date: date | None = None
    birth_date_precision: BirthDatePrecision = "exact"
    sex: Sex
    citizenship: list[CountryCode] = Field(default_factory=list, description="Empty when none or undetermined")
    citizenship_status: Literal["known", "none", "undetermined"] = "known"
    country_of_origin: CountryCode | None = None
    specific_needs: list[str] = Field(default_factory=list)
    household_id: Id | None = None
    registered_at: datetime
    office: str | None = None


class ReferralMember(BaseModel):
    """A person referred at the border with the principal (a family travelling together), registered with
    them; rsd lodges ONE application for the principal and these members."""

    model_config = ConfigDict(extra="ignore")
    person_id: Id
    relationship: Literal["spouse", "child", "other"] = Field(description="Relationship to the principal")
    birth_date: date | None = None
    sex: Sex | None = None
    specific_needs: list[SpecificNeed] = Field(
        default_factory=list, description="The one list, pana_events.vocabulary.SpecificNeed")


class ReferralRegistered(Event):
    """A person referred at the border asked for asylum and is now registered."""

    event_type: ClassVar[str] = "registration.referral.registered.v1"
    referral_id: Id
    person_id: Id
    crossing_point: str
    referred_at: datetime
    registered_at: datetime
    language: LanguageCode
    intent: Literal["asylum"]
    irregular_entry: bool = False
    late: bool = False
    office: str | None = None
    arrived_on: date | None = Field(
        default=None, description="Day the person arrived (entered Kazakhstan); the lodging window runs from it. "
                                  "Absent in events published before v1 carried it: then the day of the referral")
    members: list[ReferralMember] = Field(
        default_factory=list, description="A group referral's accompanying members (the principal is `person_id`), "
                                          "each registered as a person; one application covers them all. Empty for "
                                          "a person referred alone, and in events published before v1 carried it")


class SpecificNeedsChanged(Event):
    """A registered person's specific needs changed after registration (the whole list as it now is)."""

    event_type: ClassVar[str] = "registration.specific_needs.changed.v1"
    person_id: Id
    specific_needs: list[SpecificNeed] = Field(
        default_factory=list, description="Every need the person now has (empty: none); the one list, "
                                          "pana_events.vocabulary.SpecificNeed")
    changed_on: date


class BirthRecorded(Event):
    """A child was born into a registered household (continuous registration)."""

    event_type: ClassVar[str] = "registration.birth.recorded.v1"
    child_person_id: Id
    household_id: Id | None = None
    given_name: Name
    family_name: Name
    patronymic: str | None = None
    birth_date: date
    sex: Sex
    born_in_kazakhstan: bool
    place_of_birth: str | None = None
    foundling: bool = False
    medical_birth_certificate_number: str | None = None
    mother_person_id: Id | None = None
    father_person_id: Id | None = None
    mother_given_name: str | None = None
    mother_family_name: str | None = None
    mother_birth_date: date | None = None
    mother_status: str | None = Field(default=None, description=(
        "Legal status of the mother: her registration `legal_status` (pana_events.vocabulary.LegalStatus) when she "
        "has one other than `none`, else from her citizenship: `stateless`, `undetermined`, `citizen` or "
        "`foreign_citizen`"))
    father_status: str | None = Field(default=None, description="The father's, in the same words as `mother_status`")
    parents_reside_permanently: bool = False


class LegalStatusChanged(Event):
    """Registration's projection of a person's legal status moved."""

    event_type: ClassVar[str] = "registration.legal_status.changed.v1"
    person_id: Id
    status: str = Field(description=LEGAL_STATUS_NOTE + " Registration publishes no other word")
    previous_status: str | None = Field(default=None, description="The status before, in the same words")
    since: date
    cause_event_id: str | None = None


class PersonDeceased(Event):
    """The population register knows a registered person has died, published once per person whoever recorded
    it first: registration (a death recorded in the household) or rsd (an application closed on a member's
    death, rsd.application.closed.v1 `reason` `death`). The person's legal status is now `deceased` and every
    document of theirs is revoked; rsd records the death in every file the person is on (the others' procedure
    goes on), statelessness closes the person's open determination case."""

    event_type: ClassVar[str] = "registration.person.deceased.v1"
    person_id: Id
    died_on: date


class DocumentIssued(Event):
    """An identity document was issued (certificate number and validity only)."""

    event_type: ClassVar[str] = "registration.document.issued.v1"
    person_id: Id
    document_id: Id
    kind: str
    number: str
    valid_from: date
    valid_until: date | None = None


class DocumentRevoked(Event):
    event_type: ClassVar[str] = "registration.document.revoked.v1"
    person_id: Id
    document_id: Id
    kind: str
    reason: str


class PersonsMerged(Event):
    """Two records were the same person; `merged_person_id` now lives on as `surviving_person_id`."""

    event_type: ClassVar[str] = "registration.persons.merged.v1"
    surviving_person_id: Id
    merged_person_id: Id
    reason: str


class HouseholdChanged(Event):
    """A registration group changed: arrival, departure, death, marriage, split."""

    event_type: ClassVar[str] = "registration.household.changed.v1"
    household_id: Id
    change: Literal["created", "arrival", "departure", "death", "marriage", "split", "birth"]
    person_id: Id | None = None
    new_household_id: Id | None = None
