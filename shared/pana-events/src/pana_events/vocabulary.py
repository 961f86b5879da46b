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


# Needs whose mere presence on a record discloses violence suffered (sexual and gender-based violence,
# torture): a search filtering by them lists the survivors, so it needs a supervisor's scope
# (registration: `registration:search:sensitive`). Defined once, here, next to the list.
SENSITIVE_SPECIFIC_NEEDS: frozenset[SpecificNeed] = frozenset({
    SpecificNeed.SURVIVOR_OF_SGBV,
    SpecificNeed.SURVIVOR_OF_TORTURE,
})


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


class AppealOutcome(StrEnum):
    """An appeal's result, seen from the appellant, in rsd and statelessness alike (HTTP and events).

    Before issue 13 rsd.appeal.decided.v1's `outcome` read `upheld` when the appellant won, and
    statelessness' API read `upheld` when the determination stood (the appellant lost): the two words
    are gone from the one list (`APPEAL_OUTCOME_ALIASES` reads statelessness' old words for a deprecation
    period).
    """

    ALLOWED = "allowed"  # the appellant won: the decision appealed against is overturned
    REJECTED = "rejected"  # the decision appealed against stands
    REMITTED = "remitted"  # sent back to first instance for a new decision: still pending


# statelessness' API words before the one list (seen from the determination), read as the one word.
APPEAL_OUTCOME_ALIASES: dict[str, AppealOutcome] = {
    "overturned": AppealOutcome.ALLOWED,
    "upheld": AppealOutcome.REJECTED,
}


class LegalStatus(StrEnum):
    """A person's legal status as registration shows it (`legal_status`): the one word other systems read.

    Each procedure's own status in registration's projection (the asylum and the statelessness track) is one
    of these words too (`ASYLUM_PROCEDURE_STATUSES`, `STATELESSNESS_PROCEDURE_STATUSES`); the combined status
    is death, then citizenship (naturalization, or confirmed by birth), then the track status that comes first in registration's precedence
    table (docs/domain.md, Registration).
    """

    ASYLUM_SEEKER = "asylum_seeker"
    REFUGEE = "refugee"
    REJECTED_ASYLUM_SEEKER = "rejected_asylum_seeker"
    FORMER_ASYLUM_SEEKER = "former_asylum_seeker"  # closed: withdrawn, abandoned
    FORMER_REFUGEE = "former_refugee"  # cessation, cancellation, revocation
    STATELESS_APPLICANT = "stateless_applicant"
    STATELESS = "stateless"
    NOT_STATELESS = "not_stateless"  # statelessness determination rejected
    CITIZEN_AFTER_NATURALIZATION = "citizen_after_naturalization"
    CITIZEN = "citizen"  # a Kazakh citizen by birth, confirmed (a child at risk of statelessness resolved)
    DECEASED = "deceased"
    NONE = "none"


# The words each procedure's own status takes (`none`: no fact of that procedure).
ASYLUM_PROCEDURE_STATUSES: tuple[LegalStatus, ...] = (
    LegalStatus.NONE, LegalStatus.ASYLUM_SEEKER, LegalStatus.REFUGEE, LegalStatus.REJECTED_ASYLUM_SEEKER,
    LegalStatus.FORMER_ASYLUM_SEEKER, LegalStatus.FORMER_REFUGEE)
STATELESSNESS_PROCEDURE_STATUSES: tuple[LegalStatus, ...] = (
    LegalStatus.NONE, LegalStatus.STATELESS_APPLICANT, LegalStatus.STATELESS, LegalStatus.NOT_STATELESS)

LEGAL_STATUS_NOTE = ("One of pana_events.vocabulary.LegalStatus: " + ", ".join(s.value for s in LegalStatus) + ".")


__all__ = ["APPEAL_OUTCOME_ALIASES", "ASYLUM_PROCEDURE_STATUSES", "AppealOutcome", "LEGAL_STATUS_NOTE", "LegalStatus",
           "SPECIFIC_NEED_ALIASES", "SPECIFIC_NEED_ALIAS_NOTE", "STATELESSNESS_PROCEDURE_STATUSES", "Sex",
           "SpecificNeed", "canonical_need", "specific_needs"]
