"""One vocabulary in the contract (issue 13): every old code has exactly one word."""

import pytest
from pana_events.vocabulary import SPECIFIC_NEED_ALIASES, Sex, SpecificNeed, canonical_need, specific_needs


def test_rsds_old_codes_read_as_the_one_list():
    old = {"torture_survivor", "woman_at_risk", "unaccompanied_child", "separated_child",
           "older_person_without_support", "disabled_person_without_support", "urgent_medical_needs"}
    for code in old:
        assert SpecificNeed(code) in SpecificNeed  # stored applications with old codes still load
    assert SpecificNeed("torture_survivor") is SpecificNeed.SURVIVOR_OF_TORTURE
    assert canonical_need("urgent_medical_needs") == "serious_medical_condition"
    assert not set(SPECIFIC_NEED_ALIASES) & {n.value for n in SpecificNeed}


def test_a_need_nobody_knows_is_refused_or_skipped():
    with pytest.raises(ValueError):
        SpecificNeed("torture")
    assert specific_needs(["torture", "family_unity"]) == {SpecificNeed.FAMILY_UNITY}


def test_sex_has_no_other():
    assert [s.value for s in Sex] == ["female", "male", "unknown"]
