"""Children at risk of statelessness (docs/domain.md, "Who is who").

A child born in Kazakhstan is at risk when the parents are stateless or of
undetermined nationality, or when the child is a foundling. The flag follows the
child until a nationality is confirmed: Kazakh citizenship by birth (foundlings; a
child of stateless parents residing permanently — both configurable rules) or
another State's nationality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pana_kit.domain import Aggregate, InvalidInput, RuleViolation

from .events import ChildAtRiskResolved, ChildFlaggedAtRisk
from .inquiry import normalise_state
from .rules import StatelessnessRules

KAZAKHSTAN = "KAZ"
_KAZAKHSTAN_CODES = frozenset({"KAZ", "KZ"})


class ParentNationality(StrEnum):
    NATIONAL = "national"  # a national of some State (Kazakhstan or another)
    STATELESS = "stateless"
    UNDETERMINED = "undetermined"


# A parent's recorded legal status (registration's `LegalStatus` values, or what a birth record gives) read as a
# nationality status. Exact values only: a status that merely *contains* "stateless" is not statelessness
# (`not_stateless` is the opposite). docs/domain.md, "Who is who": a child is at risk when born to stateless
# parents or to parents whose nationality is undetermined.
_NATIONALITY_BY_STATUS: dict[str, ParentNationality] = {
    # found stateless (registration `stateless`; the other spellings are what birth records have carried)
    "stateless": ParentNationality.STATELESS,
    "stateless_person": ParentNationality.STATELESS,
    "recognised_stateless": ParentNationality.STATELESS,
    "recognized_stateless": ParentNationality.STATELESS,
    # no nationality established (yet)
    "undetermined": ParentNationality.UNDETERMINED,
    "undetermined_nationality": ParentNationality.UNDETERMINED,
    # applied to be recognised stateless, not yet determined: claims no nationality but is not found stateless,
    # so the nationality is undetermined (the child is at risk, but not presumed a citizen as a child of
    # *stateless* parents)
    "stateless_applicant": ParentNationality.UNDETERMINED,
    # a determination found the person is not stateless: a national of some State
    "not_stateless": ParentNationality.NATIONAL,
}


def nationality_from_legal_status(status: str | None) -> ParentNationality | None:
    """The nationality status a recorded legal status states, or None when it does not say (look elsewhere)."""
    if not status:
        return None
    key = status.strip().lower().replace("-", "_").replace(" ", "_")
    return _NATIONALITY_BY_STATUS.get(key)


class ChildAtRiskRule(StrEnum):
    FOUNDLING = "foundling"
    STATELESS_PARENTS = "stateless_parents"
    UNDETERMINED_NATIONALITY_PARENTS = "parents_of_undetermined_nationality"


class ResolutionBasis(StrEnum):
    KAZAKH_CITIZENSHIP_BY_BIRTH = "kazakh_citizenship_by_birth"
    OTHER_STATE_NATIONALITY = "other_state_nationality"


def assess_child_at_risk(
    *,
    born_in_kazakhstan: bool,
    foundling: bool,
    parents: Sequence[ParentNationality],
) -> ChildAtRiskRule | None:
    """Which at-risk rule applies to a birth, or None.

    `parents` lists the known parents' nationality status (a foundling has none).
    A foundling found in Kazakhstan counts as born there. At risk when every known
    parent is stateless or of undetermined nationality (at least one known).
    """
    if not born_in_kazakhstan:
        return None
    if foundling:
        return ChildAtRiskRule.FOUNDLING
    statuses = [ParentNationality(p) for p in parents]
    if not statuses or ParentNationality.NATIONAL in statuses:
        return None
    if all(p is ParentNationality.STATELESS for p in statuses):
        return ChildAtRiskRule.STATELESS_PARENTS
    return ChildAtRiskRule.UNDETERMINED_NATIONALITY_PARENTS


def kazakh_citizen_by_birth(
    rule: ChildAtRiskRule, parents_reside_permanently: bool, rules: StatelessnessRules
) -> bool:
    """Whether the configured citizenship rules make the child a Kazakh citizen by birth."""
    if rule is ChildAtRiskRule.FOUNDLING:
        return rules.foundlings_are_citizens
    if rule is ChildAtRiskRule.STATELESS_PARENTS:
        return parents_reside_permanently or not rules.child_of_stateless_parents_citizen_requires_permanent_residence
    return False


@dataclass
class ChildAtRiskFlag(Aggregate):
    flag_id: str
    child_id: str
    birth_date: date
    rule: ChildAtRiskRule
    parents_reside_permanently: bool
    flagged_on: date
    resolved_on: date | None = None
    resolution_basis: ResolutionBasis | None = None
    nationality: str | None = None

    @classmethod
    def raise_for_birth(
        cls,
        *,
        flag_id: str,
        child_id: str,
        birth_date: date,
        born_in_kazakhstan: bool,
        foundling: bool,
        parents: Sequence[ParentNationality],
        parents_reside_permanently: bool,
        flagged_on: date,
        rules: StatelessnessRules,
    ) -> ChildAtRiskFlag | None:
        """Flag the child if an at-risk rule applies to the birth; None when it does not."""
        rule = assess_child_at_risk(born_in_kazakhstan=born_in_kazakhstan, foundling=foundling, parents=parents)
        if rule is None:
            return None
        if flagged_on < birth_date:
            raise InvalidInput("a child cannot be flagged before birth")
        flag = cls(
            flag_id=flag_id,
            child_id=child_id,
            birth_date=birth_date,
            rule=rule,
            parents_reside_permanently=parents_reside_permanently,
            flagged_on=flagged_on,
        )
        flag.record(
            ChildFlaggedAtRisk(
                flag_id=flag_id,
                child_id=child_id,
                rule=rule.value,
                flagged_on=flagged_on,
                presumed_kazakh_citizen=flag.presumed_kazakh_citizen(rules),
            )
        )
        return flag

    @property
    def open(self) -> bool:
        return self.resolved_on is None

    def presumed_kazakh_citizen(self, rules: StatelessnessRules) -> bool:
        return kazakh_citizen_by_birth(self.rule, self.parents_reside_permanently, rules)

    def reassess_parents(
        self, *, parents: Sequence[ParentNationality], parents_reside_permanently: bool
    ) -> None:
        """Parents' nationality settled later (e.g. determined stateless): update the applicable rule.

        A parent found to be a national does not end the flag: only a confirmed
        nationality of the child does (resolve()).
        """
        self._require_open()
        if self.rule is ChildAtRiskRule.FOUNDLING:
            return
        rule = assess_child_at_risk(born_in_kazakhstan=True, foundling=False, parents=parents)
        if rule is not None:
            self.rule = rule
        self.parents_reside_permanently = parents_reside_permanently

    def _require_open(self) -> None:
        if not self.open:
            raise RuleViolation(
                rule="child_at_risk_already_resolved",
                detail="the child's nationality is already confirmed; the flag is closed",
            )

    def resolve(
        self,
        *,
        basis: ResolutionBasis,
        resolved_on: date,
        rules: StatelessnessRules,
        nationality: str | None = None,
    ) -> None:
        """Close the flag once the child's nationality is confirmed."""
        self._require_open()
        basis = ResolutionBasis(basis)
        if resolved_on < self.flagged_on:
            raise InvalidInput("a flag cannot be resolved before it was raised")
        if basis is ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH:
            if self.rule is ChildAtRiskRule.FOUNDLING and not rules.foundlings_are_citizens:
                raise RuleViolation(
                    rule="foundlings_are_citizens",
                    detail="under the configured rules a foundling is not a Kazakh citizen by birth",
                )
            if self.rule is ChildAtRiskRule.UNDETERMINED_NATIONALITY_PARENTS:
                raise RuleViolation(
                    rule="citizenship_by_birth_not_established",
                    detail=(
                        "the parents' nationality is undetermined; Kazakh citizenship by birth "
                        "needs them found stateless (and residing permanently)"
                    ),
                )
            if not self.presumed_kazakh_citizen(rules):
                raise RuleViolation(
                    rule="citizenship_by_birth_requires_permanent_residence",
                    detail=(
                        "a child born in Kazakhstan to stateless parents is a citizen "
                        "only if the parents reside permanently"
                    ),
                )
            nationality = KAZAKHSTAN
        else:
            if nationality is None or not nationality.strip():
                raise InvalidInput("name the State whose nationality was confirmed")
            nationality = normalise_state(nationality)
            if nationality in _KAZAKHSTAN_CODES:
                raise InvalidInput("Kazakh citizenship is resolved with basis kazakh_citizenship_by_birth")
        self.resolved_on = resolved_on
        self.resolution_basis = basis
        self.nationality = nationality
        self.record(
            ChildAtRiskResolved(
                flag_id=self.flag_id,
                child_id=self.child_id,
                basis=basis.value,
                nationality=nationality,
                resolved_on=resolved_on,
            )
        )
