from datetime import date

import pytest
from pana_kit.documents import to_document
from pana_kit.domain import InvalidInput

from civil_registry_bridge.domain import details as d
from civil_registry_bridge.domain.details import ChildDetails, ParentDetails, parse_date, validate_birth_details
from civil_registry_bridge.domain.rules import BridgeRules

TODAY = date(2024, 6, 14)


def rules_of(error: InvalidInput) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in error.extra["errors"]]


@pytest.mark.parametrize("value", ["2023-02-29", "2024-02-30", "2024-13-01", "2024-00-10", "2024-06-31",
                                   "20240612", "12.06.2024", "", "yesterday", 20240612])
def test_impossible_or_malformed_dates_are_not_dates(value):
    assert parse_date(value) is None


def test_leap_day_is_a_date():
    assert parse_date("2024-02-29") == date(2024, 2, 29)


def test_child_with_impossible_birth_date_is_refused(child_doc):
    child_doc["birth_date"] = "2024-02-30"
    with pytest.raises(InvalidInput) as refused:
        ChildDetails.from_document(child_doc)
    assert rules_of(refused.value) == [("child.birth_date", d.RULE_DATE_VALID)]
    assert "2024-02-30" in refused.value.detail


def test_every_problem_is_reported_at_once(child_doc):
    child_doc.update(birth_date="2024-04-31", sex="x", iin="123")
    del child_doc["place_of_birth"]
    with pytest.raises(InvalidInput) as refused:
        ChildDetails.from_document(child_doc)
    assert set(rules_of(refused.value)) == {
        ("child.birth_date", d.RULE_DATE_VALID), ("child.sex", d.RULE_SEX_KNOWN),
        ("child.iin", "iin_well_formed"), ("child.place_of_birth", d.RULE_REQUIRED),
    }


def test_mother_with_impossible_birth_date_and_malformed_iin(mother_doc):
    mother_doc.update(birth_date="1995-02-29", iin="950301400123")
    with pytest.raises(InvalidInput) as refused:
        ParentDetails.from_document(mother_doc, "mother")
    assert set(rules_of(refused.value)) == {("mother.birth_date", d.RULE_DATE_VALID),
                                            ("mother.iin", "iin_well_formed")}


def test_parent_needs_a_name(mother_doc):
    mother_doc.update(surname="  ", given_name=None)
    with pytest.raises(InvalidInput) as refused:
        ParentDetails.from_document(mother_doc, "mother")
    assert {f for f, _ in rules_of(refused.value)} == {"mother.surname", "mother.given_name"}


def test_mother_birth_date_may_be_unknown(mother_doc):
    del mother_doc["birth_date"]
    assert ParentDetails.from_document(mother_doc, "mother").birth_date is None


def test_place_of_birth_in_kazakhstan_with_another_country_is_refused(child_doc):
    child_doc["place_of_birth"] = {"in_kazakhstan": True, "country": "UZ"}
    with pytest.raises(InvalidInput) as refused:
        ChildDetails.from_document(child_doc)
    assert refused.value.rule == d.RULE_PLACE_OF_BIRTH


def test_place_of_birth_must_say_whether_in_kazakhstan(child_doc):
    child_doc["place_of_birth"] = {"region": "Almaty"}
    with pytest.raises(InvalidInput):
        ChildDetails.from_document(child_doc)
    child_doc["place_of_birth"] = "Almaty"
    with pytest.raises(InvalidInput):
        ChildDetails.from_document(child_doc)


def test_overlong_names_are_refused(child_doc):
    child_doc["surname"] = "A" * 201
    with pytest.raises(InvalidInput) as refused:
        ChildDetails.from_document(child_doc)
    assert refused.value.rule == d.RULE_TEXT_LENGTH


def validate(child_doc, mother_doc=None, father_doc=None, rules=BridgeRules()):
    validate_birth_details(
        ChildDetails.from_document(child_doc),
        ParentDetails.from_document(mother_doc, "mother") if mother_doc else None,
        ParentDetails.from_document(father_doc, "father") if father_doc else None,
        today=TODAY, rules=rules,
    )


def test_plausible_birth_passes(child_doc, mother_doc, father_doc):
    validate(child_doc, mother_doc, father_doc)


def test_child_born_in_the_future_is_refused(child_doc, mother_doc):
    child_doc["birth_date"] = "2024-06-15"
    with pytest.raises(InvalidInput) as refused:
        validate(child_doc, mother_doc)
    assert refused.value.rule == d.RULE_NOT_BORN_IN_FUTURE


def test_child_born_today_is_fine(child_doc, mother_doc):
    child_doc["birth_date"] = TODAY.isoformat()
    validate(child_doc, mother_doc)


@pytest.mark.parametrize("mother_birth", ["2024-06-12", "2024-06-13", "2030-01-01"])
def test_child_born_before_or_with_the_mother_is_refused(child_doc, mother_doc, mother_birth):
    mother_doc["birth_date"] = mother_birth
    with pytest.raises(InvalidInput) as refused:
        validate(child_doc, mother_doc)
    assert rules_of(refused.value) == [("mother.birth_date", d.RULE_BORN_AFTER_MOTHER)]


def test_child_born_before_the_father_is_refused(child_doc, mother_doc, father_doc):
    father_doc["birth_date"] = "2024-06-13"
    with pytest.raises(InvalidInput) as refused:
        validate(child_doc, mother_doc, father_doc)
    assert refused.value.rule == d.RULE_BORN_AFTER_FATHER


def test_implausibly_young_mother_is_refused(child_doc, mother_doc):
    mother_doc["birth_date"] = "2016-01-01"  # 8 at the birth
    with pytest.raises(InvalidInput) as refused:
        validate(child_doc, mother_doc)
    assert refused.value.rule == d.RULE_MOTHER_PLAUSIBLE_AGE
    assert "8" in refused.value.detail


def test_minimum_mother_age_is_configurable(child_doc, mother_doc):
    mother_doc["birth_date"] = "2010-06-13"  # 13 at the birth (one day short of 14)
    validate(child_doc, mother_doc)
    with pytest.raises(InvalidInput):
        validate(child_doc, mother_doc, rules=BridgeRules(minimum_mother_age=14))
    mother_doc["birth_date"] = "2010-06-12"  # 14 exactly
    validate(child_doc, mother_doc, rules=BridgeRules(minimum_mother_age=14))


def test_unknown_mother_is_not_refused(child_doc):
    validate(child_doc, None, None)  # foundling: no parents known


def test_details_round_trip(child_doc, mother_doc):
    child = ChildDetails.from_document(child_doc)
    mother = ParentDetails.from_document(mother_doc, "mother")
    assert ChildDetails.from_document(to_document(child)) == child
    assert ParentDetails.from_document(to_document(mother), "mother") == mother
