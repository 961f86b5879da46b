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


def test_appeal_outcome_is_one_list_and_the_old_words_are_only_aliases():
    from pana_events.vocabulary import APPEAL_OUTCOME_ALIASES, AppealOutcome

    assert [o.value for o in AppealOutcome] == ["allowed", "rejected", "remitted"]
    assert not set(APPEAL_OUTCOME_ALIASES) & {o.value for o in AppealOutcome}
    with pytest.raises(ValueError):
        AppealOutcome("upheld")  # the enum itself never reads an old word: `upheld` meant opposite things


def test_every_event_carrying_an_appeal_result_uses_the_one_list():
    from pana_events.events import rsd, statelessness
    from pana_events.vocabulary import AppealOutcome

    words = sorted(o.value for o in AppealOutcome)
    for model, field in ((rsd.AppealDecidedV2, "result"), (statelessness.AppealDecided, "result")):
        schema = model.model_json_schema()
        assert sorted(schema["$defs"]["AppealOutcome"]["enum"]) == words, model.event_type
        assert schema["properties"][field]["$ref"].endswith("AppealOutcome")


def test_each_procedure_status_is_a_legal_status():
    from pana_events.vocabulary import ASYLUM_PROCEDURE_STATUSES, STATELESSNESS_PROCEDURE_STATUSES, LegalStatus

    assert set(ASYLUM_PROCEDURE_STATUSES) | set(STATELESSNESS_PROCEDURE_STATUSES) < set(LegalStatus)
    assert set(ASYLUM_PROCEDURE_STATUSES) & set(STATELESSNESS_PROCEDURE_STATUSES) == {LegalStatus.NONE}
