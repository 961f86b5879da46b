"""Words every service uses the same way: one list each, here in the contract (issue 13).

Services import these for their domain and their API; events carry the values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class SpecificNeed(StrEnum):
    """UNHCR specific-needs categories (proGres), as registration records them and rsd reads them."""

    UNACCOMPANIED_OR_SEPARATED_CHILD = "unaccompanied_or_separated_child"
    CHILD_AT_RISK = "child_at_risk"
    WOMAN_AT_RISK = "woman_at_risk"
    SURVIVOR_OF_TORTURE = "survivor_of_torture"
    SURVIVOR_OF_SGBV = "survivor_of_sgbv"
    DISABILITY = "disability"
    SERIOUS_MEDICAL_CONDITION = "serious_medical_condition"
    OLDER_PERSON_AT_RISK = "older_person_at_risk"
    SINGLE_PARENT_OR_CAREGIVER = "single_parent_or_caregiver"
    PREGNANT_OR_LACTATING = "pregnant_or_lactating"
    FAMILY_UNITY = "family_unity"
    SPECIFIC_LEGAL_AND_PHYSICAL_PROTECTION_NEEDS = "specific_legal_and_physical_protection_needs"

    @classmethod
    def _missing_(cls, value: object) -> "SpecificNeed | None":
        """An old code (rsd's list before there was one list, e.g. in stored applications) reads as its word."""
        return SPECIFIC_NEED_ALIASES.get(value) if isinstance(value, str) else None


# rsd's own codes before issue 13, still accepted where rsd accepted them: old code -> the one word.
SPECIFIC_NEED_ALIASES: dict[str, SpecificNeed] = {
    "torture_survivor": SpecificNeed.SURVIVOR_OF_TORTURE,
    "unaccompanied_child": SpecificNeed.UNACCOMPANIED_OR_SEPARATED_CHILD,
    "separated_child": SpecificNeed.UNACCOMPANIED_OR_SEPARATED_CHILD,
    "older_person_without_support": SpecificNeed.OLDER_PERSON_AT_RISK,
    "disabled_person_without_support": SpecificNeed.DISABILITY,
    "urgent_medical_needs": SpecificNeed.SERIOUS_MEDICAL_CONDITION,
}

SPECIFIC_NEED_ALIAS_NOTE = ("Also accepted, for clients written before the one list, and read as the word after "
                            "the arrow: " + ", ".join(f"{old} -> {new.value}" for old, new in
                                                      SPECIFIC_NEED_ALIASES.items()) + ".")


def canonical_need(value: Any) -> Any:
    """A pydantic before-validator: an old code becomes its word; anything else is left to the enum to judge."""
    return SPECIFIC_NEED_ALIASES.get(value, value) if isinstance(value, str) else value


def specific_needs(values: Any) -> frozenset[SpecificNeed]:
    """Known words (and old codes) from an event's free list; a word this version does not know is skipped."""
    out = set()
    for v in values or ():
        try:
            out.add(SpecificNeed(v))
        except ValueError:
            continue
    return frozenset(out)


class Sex(StrEnum):
    """Sex as a person record holds it (docs/domain.md, Statistics: female, male; unknown when not told).

    No `other`: the population register and UNHCR's statistics know female and male, so a value the register
    would refuse is refused where it is first given (a border referral answers 422), never later. The
    events' older `Sex` type still lists `other` so that no consumer breaks; no service publishes it.
    """

    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


__all__ = ["SPECIFIC_NEED_ALIASES", "SPECIFIC_NEED_ALIAS_NOTE", "Sex", "SpecificNeed", "canonical_need",
           "specific_needs"]
