"""publishing.publish: the only place registration's contract events are made, from recorded domain events."""

from datetime import date, datetime, timedelta, timezone

from pana_events.events import registration as contract

from registration.domain import BorderReferral, BorderStatement, Household, Person, RegistrationRules
from registration.publishing import publish

AT = datetime(2026, 3, 1, 14, 0, tzinfo=timezone.utc)


def published(aggregate):
    return list(publish(aggregate, aggregate.collect_events()))


def test_a_late_referral_publishes_late_and_the_office():
    referral = BorderReferral.refer(referral_id="r-1", crossing_point="Khorgos", referred_at=AT, referred_by="border",
                                    statement=BorderStatement("fear", language="prs"), rules=RegistrationRules())
    referral.register(person_id="p-1", registered_at=AT + timedelta(days=10), office="almaty")
    [(event, subject)] = published(referral)  # BorderReferralReceived is not published
    assert isinstance(event, contract.ReferralRegistered) and subject == "p-1"
    assert (event.late, event.office, event.language, event.intent) == (True, "almaty", "prs", "asylum")


def test_a_referral_publishes_the_arrival_day_the_window_ran_from():
    """rsd lodges with the real arrival day (issue 13: late referrals looked on time in rsd)."""
    referral = BorderReferral.refer(referral_id="r-1", crossing_point="Khorgos", referred_at=AT, referred_by="border",
                                    statement=BorderStatement("fear", language="prs"), rules=RegistrationRules(),
                                    arrived_on=date(2026, 2, 20), irregular_entry=True)
    referral.register(person_id="p-1", registered_at=AT + timedelta(hours=2), office="almaty")
    [(event, _)] = published(referral)
    assert (event.arrived_on, event.late, event.irregular_entry) == (date(2026, 2, 20), True, True)
    assert event.model_dump(mode="json")["arrived_on"] == "2026-02-20"


def test_a_registration_publishes_its_number_office_and_household():
    person = Person.register(person_id="p-1", registered_by="officer", now=AT, given_name="Aziz",
                             family_name="Karimov", sex="male", citizenships=["AFG"], registration_number="KZR-26-1",
                             office="almaty", household_id="h-1")
    [(event, subject)] = published(person)
    assert (event.registration_number, event.office, event.household_id, subject) == ("KZR-26-1", "almaty", "h-1", "p-1")
    person.update({"ethnicity": "Tajik"}, changed_by="officer", reason="told", now=AT)
    assert published(person) == []  # a correction is not published


def test_household_changes_publish_household_changed_about_the_person():
    household = Household.form(household_id="h-1", focal_person_id="p-1", formed_on=date(2026, 1, 1))
    household.add_member("p-2", "spouse", on=date(2026, 1, 1))
    assert [(e.change, e.person_id, s) for e, s in published(household)] == [("created", "p-1", "p-1")]
    new = household.split(["p-2"], new_household_id="h-2", new_focal_person_id="p-2", split_on=date(2026, 2, 1))
    assert published(new) == []  # the group split off is published as the split
    [(event, subject)] = published(household)
    assert (event.change, event.person_id, event.new_household_id, subject) == ("split", "p-2", "h-2", "p-2")


def test_changed_specific_needs_are_published_for_rsd():
    """Issue 13: needs changed after registration never reached rsd."""
    person = Person.register(person_id="p-1", registered_by="officer", now=AT, given_name="Aziz",
                             family_name="Karimov", sex="male", citizenships=["AFG"], registration_number="KZR-26-1")
    person.collect_events()
    person.update({"specific_needs": ["woman_at_risk", "survivor_of_torture"]}, changed_by="officer", reason="told",
                  now=AT + timedelta(days=3))
    [(event, subject)] = published(person)
    assert isinstance(event, contract.SpecificNeedsChanged) and subject == "p-1"
    assert event.model_dump(mode="json") == {"person_id": "p-1", "changed_on": "2026-03-04",
                                             "specific_needs": ["survivor_of_torture", "woman_at_risk"]}
