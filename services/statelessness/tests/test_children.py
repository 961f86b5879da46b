from datetime import date

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from statelessness.domain import (
    ChildAtRiskFlag,
    ChildAtRiskResolved,
    ChildAtRiskRule,
    ChildFlaggedAtRisk,
    ParentNationality,
    ResolutionBasis,
    StatelessnessRules,
    assess_child_at_risk,
)

S, U, N = ParentNationality.STATELESS, ParentNationality.UNDETERMINED, ParentNationality.NATIONAL
BORN = date(2024, 3, 1)


@pytest.mark.parametrize(
    ("born_in_kz", "foundling", "parents", "expected"),
    [
        (True, True, [], ChildAtRiskRule.FOUNDLING),
        (True, False, [S, S], ChildAtRiskRule.STATELESS_PARENTS),
        (True, False, [S], ChildAtRiskRule.STATELESS_PARENTS),
        (True, False, [U, U], ChildAtRiskRule.UNDETERMINED_NATIONALITY_PARENTS),
        (True, False, [S, U], ChildAtRiskRule.UNDETERMINED_NATIONALITY_PARENTS),
        (True, False, [S, N], None),
        (True, False, [N, N], None),
        (True, False, [], None),
        (False, False, [S, S], None),
        (False, True, [], None),
    ],
)
def test_assess_child_at_risk(born_in_kz, foundling, parents, expected):
    assert assess_child_at_risk(born_in_kazakhstan=born_in_kz, foundling=foundling, parents=parents) is expected


def _flag(rules, parents=(S, S), foundling=False, permanent=True):
    return ChildAtRiskFlag.raise_for_birth(
        flag_id="f1", child_id="child-1", birth_date=BORN, born_in_kazakhstan=True, foundling=foundling,
        parents=list(parents), parents_reside_permanently=permanent, flagged_on=date(2024, 3, 4), rules=rules,
    )


def test_flag_raised_with_rule_and_presumption(rules):
    flag = _flag(rules, permanent=False)
    assert flag.open and flag.rule is ChildAtRiskRule.STATELESS_PARENTS
    assert flag.collect_events() == [
        ChildFlaggedAtRisk(
            flag_id="f1", child_id="child-1", rule="stateless_parents", flagged_on=date(2024, 3, 4),
            presumed_kazakh_citizen=False,
        )
    ]


def test_no_flag_when_not_at_risk(rules):
    assert _flag(rules, parents=(N, S)) is None


def test_flag_before_birth_invalid(rules):
    with pytest.raises(InvalidInput):
        ChildAtRiskFlag.raise_for_birth(
            flag_id="f1", child_id="c", birth_date=BORN, born_in_kazakhstan=True, foundling=True, parents=[],
            parents_reside_permanently=False, flagged_on=date(2024, 2, 1), rules=rules,
        )


def test_resolve_kazakh_by_birth_where_parents_reside_permanently(rules):
    flag = _flag(rules, permanent=True)
    flag.collect_events()
    flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)
    assert not flag.open and flag.nationality == "KAZ"
    assert flag.collect_events() == [
        ChildAtRiskResolved(
            flag_id="f1", child_id="child-1", basis="kazakh_citizenship_by_birth", nationality="KAZ",
            resolved_on=date(2024, 4, 1),
        )
    ]


def test_kazakh_by_birth_refused_without_permanent_residence(rules):
    flag = _flag(rules, permanent=False)
    with pytest.raises(RuleViolation) as err:
        flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)
    assert err.value.rule == "citizenship_by_birth_requires_permanent_residence"
    assert flag.open


def test_permanent_residence_switch_off_makes_child_citizen():
    rules = StatelessnessRules(child_of_stateless_parents_citizen_requires_permanent_residence=False)
    flag = _flag(rules, permanent=False)
    assert flag.presumed_kazakh_citizen(rules)
    flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)


def test_foundling_is_citizen_by_default(rules):
    flag = _flag(rules, parents=(), foundling=True)
    assert flag.rule is ChildAtRiskRule.FOUNDLING and flag.presumed_kazakh_citizen(rules)
    flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)


def test_foundling_switch_off_refuses_kazakh_by_birth():
    rules = StatelessnessRules(foundlings_are_citizens=False)
    flag = _flag(rules, parents=(), foundling=True)
    assert flag.collect_events()[0].presumed_kazakh_citizen is False
    with pytest.raises(RuleViolation) as err:
        flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)
    assert err.value.rule == "foundlings_are_citizens"


def test_undetermined_parents_refuse_kazakh_by_birth_until_reassessed(rules):
    flag = _flag(rules, parents=(U, S), permanent=True)
    with pytest.raises(RuleViolation) as err:
        flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)
    assert err.value.rule == "citizenship_by_birth_not_established"
    flag.reassess_parents(parents=[S, S], parents_reside_permanently=True)
    assert flag.rule is ChildAtRiskRule.STATELESS_PARENTS
    flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 5, 1), rules=rules)


def test_resolve_with_another_states_nationality(rules):
    flag = _flag(rules, permanent=False)
    flag.resolve(
        basis=ResolutionBasis.OTHER_STATE_NATIONALITY, nationality="kgz", resolved_on=date(2024, 4, 1), rules=rules
    )
    assert flag.nationality == "KGZ" and flag.resolution_basis is ResolutionBasis.OTHER_STATE_NATIONALITY


@pytest.mark.parametrize("nationality", [None, " ", "KAZ", "kz"])
def test_other_state_resolution_needs_a_foreign_state(rules, nationality):
    flag = _flag(rules)
    with pytest.raises(InvalidInput):
        flag.resolve(
            basis=ResolutionBasis.OTHER_STATE_NATIONALITY, nationality=nationality, resolved_on=date(2024, 4, 1),
            rules=rules,
        )


def test_resolve_twice_and_reassess_after_resolution_refused(rules):
    flag = _flag(rules)
    flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 4, 1), rules=rules)
    with pytest.raises(RuleViolation) as err:
        flag.resolve(basis=ResolutionBasis.OTHER_STATE_NATIONALITY, nationality="KGZ", resolved_on=date(2024, 5, 1), rules=rules)
    assert err.value.rule == "child_at_risk_already_resolved"
    with pytest.raises(RuleViolation) as err:
        flag.reassess_parents(parents=[S, S], parents_reside_permanently=True)
    assert err.value.rule == "child_at_risk_already_resolved"


def test_resolve_before_flag_invalid(rules):
    flag = _flag(rules)
    with pytest.raises(InvalidInput):
        flag.resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 3, 1), rules=rules)


# ---- a parent's recorded legal status, read exactly ------------------------------------------------
@pytest.mark.parametrize(("status", "expected"), [
    ("stateless", S), ("Stateless", S), ("stateless_person", S), ("recognised_stateless", S),
    ("not_stateless", N),  # the determination found a nationality: the opposite of stateless
    ("stateless_applicant", U),  # applied, not yet determined: no nationality established, none found lacking
    ("undetermined", U), ("undetermined_nationality", U),
    ("citizen", None), ("refugee", None), ("formerly_stateless", None), ("", None), (None, None),
])
def test_a_parents_status_is_read_by_its_exact_value(status, expected):
    from statelessness.domain import nationality_from_legal_status

    assert nationality_from_legal_status(status) is expected


def test_parents_found_not_stateless_or_only_applying_do_not_make_a_child_of_stateless_parents():
    from statelessness.domain import kazakh_citizen_by_birth
    from statelessness.handlers import parent_nationality

    rules = StatelessnessRules(child_of_stateless_parents_citizen_requires_permanent_residence=False)

    def rule(*statuses):
        return assess_child_at_risk(born_in_kazakhstan=True, foundling=False,
                                    parents=[parent_nationality(s, None) for s in statuses])

    assert rule("not_stateless") is None and rule("not_stateless", "not_stateless") is None
    assert rule("stateless", "not_stateless") is None  # one parent is a national
    applicant = rule("stateless_applicant")
    assert applicant is ChildAtRiskRule.UNDETERMINED_NATIONALITY_PARENTS
    assert not kazakh_citizen_by_birth(applicant, True, rules)  # at risk, but no citizenship presumed on that ground
    stateless = rule("stateless", "stateless")
    assert stateless is ChildAtRiskRule.STATELESS_PARENTS and kazakh_citizen_by_birth(stateless, True, rules)


def test_an_applying_parent_registered_with_no_nationality_is_a_stateless_parent():
    """A parent applying for determination (`stateless_applicant`) whose register entry has no nationality (XXA):
    the entry is the more specific fact, so the child is a child of stateless parents, as before the exact reading."""
    from types import SimpleNamespace

    from statelessness.handlers import parent_nationality

    no_nationality = SimpleNamespace(citizenship_status="undetermined", citizenship=["XXA"])
    national = SimpleNamespace(citizenship_status="national", citizenship=["UZB"])
    assert parent_nationality("stateless_applicant", no_nationality) is S
    assert parent_nationality("stateless_applicant", national) is U
    assert parent_nationality("stateless_applicant", None) is U
    assert parent_nationality("not_stateless", no_nationality) is N  # a determination outweighs the register entry
