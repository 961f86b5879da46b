from datetime import date

import pytest
from pana_kit.domain import NotFound, RuleViolation

from registration.domain import (
    BirthRecorded, DeathRecorded, FocalPersonChanged, Household, HouseholdSplit, MarriageRecorded, MemberArrived,
    MemberDeparted, MemberState, Relationship, check_household,
)

D = date(2025, 3, 1)


def family() -> Household:
    h = Household.form(household_id="h-1", focal_person_id="father", formed_on=D)
    h.add_member("mother", "spouse", on=D)
    h.add_member("son", "child", on=D)
    h.add_member("grandma", "parent", on=D)
    h.collect_events()
    return h


def test_second_focal_person_refused():
    h = family()
    with pytest.raises(RuleViolation) as err:
        h.add_member("uncle", Relationship.FOCAL, on=D)
    assert err.value.rule == "one_focal_person"
    assert "uncle" not in h.members


def test_submitted_household_with_two_focal_persons_refused():
    doc = {"household_id": "h", "members": [{"person_id": "a", "relationship": "focal"},
                                           {"person_id": "b", "relationship": "focal"}]}
    with pytest.raises(RuleViolation) as err:
        check_household(doc, formed_on=D)
    assert err.value.rule == "one_focal_person"


def test_cycle_of_relationships_refused():
    h = family()
    # son is the father's child; saying the son is the grandmother's parent closes a cycle
    with pytest.raises(RuleViolation) as err:
        h.relate("son", "parent_of", "grandma")
    assert err.value.rule == "no_cycle_of_relationships"
    assert h.relations == []
    with pytest.raises(RuleViolation):
        h.relate("son", "parent_of", "son")


def test_submitted_household_with_cycle_refused():
    doc = {"household_id": "h", "focal_person_id": "a",
           "members": [{"person_id": "a", "relationship": "focal"}, {"person_id": "b", "relationship": "child"}],
           "relations": [{"person_id": "b", "kind": "parent_of", "related_person_id": "a"}]}
    with pytest.raises(RuleViolation) as err:
        check_household(doc, formed_on=D)
    assert err.value.rule == "no_cycle_of_relationships"


def test_valid_submitted_household():
    doc = {"household_id": "h", "members": [{"person_id": "a", "relationship": "focal"},
                                           {"person_id": "b", "relationship": "child"}]}
    assert check_household(doc, formed_on=D).focal_person_id == "a"


def test_birth_marriage_arrival_departure_events():
    h = family()
    h.record_birth("baby", born_on=D, parent_person_ids=["father", "mother"])
    h.record_birth("grandbaby", born_on=D, parent_person_ids=["son"])
    h.record_marriage("son", "daughter_in_law", married_on=D)
    h.record_arrival("cousin", "other_relative", arrived_on=D)
    h.record_departure("cousin", departed_on=D, reason="resettled")
    h.record_death("grandma", died_on=D)
    kinds = [type(e) for e in h.collect_events()]
    for expected in (BirthRecorded, MarriageRecorded, MemberArrived, MemberDeparted, DeathRecorded):
        assert expected in kinds
    assert h.members["baby"].relationship is Relationship.CHILD
    assert h.members["grandbaby"].relationship is Relationship.GRANDCHILD
    assert h.members["grandma"].state is MemberState.DECEASED
    with pytest.raises(NotFound):
        h.record_departure("grandma", departed_on=D, reason="x")


def test_focal_person_leaving_needs_a_successor():
    h = family()
    with pytest.raises(RuleViolation) as err:
        h.record_death("father", died_on=D)
    assert err.value.rule == "one_focal_person"
    assert h.members["father"].state is MemberState.PRESENT
    h.record_death("father", died_on=D, new_focal_person_id="mother", relationships={"son": "child", "grandma": "other_relative"})
    assert h.focal_person_id == "mother" and h.members["mother"].relationship is Relationship.FOCAL
    assert any(isinstance(e, FocalPersonChanged) for e in h.collect_events())


def test_split():
    h = family()
    h.record_marriage("son", "daughter_in_law", married_on=D)
    new = h.split(["son", "daughter_in_law"], new_household_id="h-2", new_focal_person_id="son", split_on=D,
                  relationships={"daughter_in_law": "spouse"})
    assert new.focal_person_id == "son" and new.members["daughter_in_law"].relationship is Relationship.SPOUSE
    assert new.split_from == "h-1" and h.members["son"].state is MemberState.MOVED
    assert any(isinstance(e, HouseholdSplit) for e in h.collect_events())
    with pytest.raises(RuleViolation):
        h.split(["mother"], new_household_id="h-3", new_focal_person_id="grandma", split_on=D)
    with pytest.raises(RuleViolation):
        h.split(["father"], new_household_id="h-3", new_focal_person_id="father", split_on=D)


def test_round_trip():
    h = family()
    h.record_birth("baby", born_on=D, parent_person_ids=["father"])
    assert Household.from_document(h.to_document()).to_document() == h.to_document()
