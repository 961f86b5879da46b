"""Contact with the applicant (abandonment is never declared despite it) and a newborn joining a pending file."""

from datetime import date

import pytest
from pana_kit.domain import InvalidInput
from rsd_flows import D1, D2, child, decided, interpreter, lodged, refused, registered, spouse

from rsd.domain import (AppealOutcome, Application, ApplicationState, ClosureReason, ContactKind, MemberOutcome,
                        Outcome, Sex)
from rsd.publishing import contract_events

MISSED = date(2025, 2, 3)  # + 6 weeks = 2025-03-17


def missed_interview():
    app = registered()
    app.schedule_interview(interview_id="i1", member_id="m1", scheduled_on=MISSED, interviewer_id="eo1",
                           interviewer_sex=Sex.FEMALE, interpreter=interpreter())
    app.record_no_show("i1", on=MISSED)
    return app


# ---- contact -------------------------------------------------------------------------------
def test_a_recorded_contact_is_kept_and_moves_the_latest_contact():
    app = registered()
    contact = app.record_applicant_contact(kind=ContactKind.PHONE, on=date(2025, 2, 1), note="  will come  ",
                                           recorded_by="eo1")
    assert contact.note == "will come" and app.contacts == [contact] and app.last_contact_on == date(2025, 2, 1)
    app.record_applicant_contact(kind=ContactKind.LETTER, on=date(2025, 1, 20))  # an earlier letter, noted late
    assert app.last_contact_on == date(2025, 2, 1) and len(app.contacts) == 2
    assert type(app.pending_events[-1]).__name__ == "ContactRecorded"
    assert contract_events(app, [app.pending_events[-1]]) == []  # nothing published


def test_a_contact_before_lodging_or_with_a_long_note_or_no_kind_is_bad_input():
    app = registered()
    with pytest.raises(InvalidInput):
        app.record_applicant_contact(kind=ContactKind.PHONE, on=date(2025, 1, 1))
    with pytest.raises(InvalidInput):
        app.record_applicant_contact(kind=ContactKind.PHONE, on=D2, note="x" * 501)
    with pytest.raises(InvalidInput):
        app.record_applicant_contact(kind="phone", on=D2)
    assert app.contacts == []


def test_abandonment_is_refused_despite_contact_within_the_period():
    app = missed_interview()
    app.record_applicant_contact(kind=ContactKind.THROUGH_REPRESENTATIVE, on=date(2025, 3, 10))
    with refused("abandonment_despite_contact") as info:
        app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 3, 20))  # 6 weeks after the missed interview
    assert "2025-03-10" in info.value.detail
    with refused("abandonment_despite_contact"):
        app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 4, 20))  # the day before 6 weeks after contact
    app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 4, 21))
    assert app.state is ApplicationState.CLOSED


def test_contact_before_the_missed_interview_does_not_stop_abandonment():
    app = registered()
    app.record_applicant_contact(kind=ContactKind.IN_PERSON, on=date(2025, 2, 1))
    app.schedule_interview(interview_id="i1", member_id="m1", scheduled_on=MISSED, interviewer_id="eo1",
                           interviewer_sex=Sex.FEMALE, interpreter=interpreter())
    app.record_no_show("i1", on=MISSED)
    with refused("abandonment"):
        app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 3, 16))
    app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 3, 17))


def test_contacts_are_stored_only_when_recorded_and_load_back():
    app = missed_interview()
    assert "contacts" not in app.to_document()  # a file without contacts stores as it always did
    app.record_applicant_contact(kind=ContactKind.EMAIL, on=date(2025, 3, 1), note="new address")
    again = Application.from_document(app.to_document())
    assert again.contacts == app.contacts and again.last_contact_on == date(2025, 3, 1)
    with refused("abandonment_despite_contact"):
        again.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 3, 20))


# ---- a newborn -------------------------------------------------------------------------------
BORN = date(2025, 2, 14)


def test_a_newborn_joins_a_registered_application_on_the_principals_certificate():
    app = registered(family=[spouse(), child()])
    before = max(c.valid_until for c in app.certificates)
    app.pending_events.clear()
    baby = app.add_child(member_id=None, person_id="p9", birth_date=BORN, on=date(2025, 2, 20), sex=Sex.FEMALE,
                         name="Aisha")
    assert baby.id == "m4" and baby.relationship.value == "child" and baby.added_on == date(2025, 2, 20)
    assert [type(e).__name__ for e in app.pending_events] == ["MemberAdded", "CertificateRequested"]
    request = app.pending_events[-1]
    assert request.person_id == "p1" and request.child_person_ids == ("p3", "p9")
    assert request.issued_on == date(2025, 2, 20) and request.valid_until == before
    (published,) = contract_events(app, [request])
    assert published.member_ids == ["p1", "p3", "p9"] and published.reason == "registration"
    assert app.member_status("m4") == "pending"


def test_a_newborn_is_covered_with_the_family_at_recognition():
    app = registered(family=[spouse(derivative_status_consent=True), child()])
    app.add_child(member_id="baby", person_id="p9", birth_date=BORN, on=date(2025, 2, 20))
    from rsd_flows import interviewed, meets
    interviewed(app)
    app.record_assessment(meets())
    app.record_assessment(meets("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 25))
    app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    assert app.decision.member_outcomes["baby"] is MemberOutcome.DERIVATIVE
    assert app.decision.member_outcomes["m3"] is MemberOutcome.DERIVATIVE
    assert "baby" in app.member_ids_covered and app.member_status("baby") == "recognised"


def test_a_newborn_joins_during_an_appeal_and_is_covered_when_it_is_allowed():
    app = decided()
    app.lodge_appeal(appeal_id="ap1", on=date(2025, 3, 5))
    app.add_child(member_id=None, person_id="p9", birth_date=BORN, on=date(2025, 3, 10))
    app.decide_appeal(decided_by="ao1", on=date(2025, 4, 1), outcome=AppealOutcome.ALLOWED)
    assert app.member_outcome("m2") is MemberOutcome.DERIVATIVE and app.member_status("m2") == "recognised"


def test_a_newborn_before_registration_waits_for_the_registration_certificate():
    app = lodged()
    app.add_child(member_id=None, person_id="p9", birth_date=date(2025, 1, 7), on=D1)
    assert [type(e).__name__ for e in app.pending_events][-1] == "MemberAdded" and app.certificates == []
    app.register(on=D2)
    assert app.certificates[-1].child_person_ids == ("p9",)


@pytest.mark.parametrize("final", ["recognised", "closed"])
def test_no_child_is_added_after_a_final_decision(final):
    app = decided(Outcome.RECOGNISED) if final == "recognised" else decided()
    if final == "closed":
        app.close(reason=ClosureReason.NO_APPEAL, on=date(2025, 6, 1))
    with refused("member_addition_pending") as info:
        app.add_child(member_id=None, person_id="p9", birth_date=BORN, on=date(2025, 6, 2))
    assert "its own application" in info.value.detail and "family reunification" in info.value.detail
    assert [m.person_id for m in app.members] == ["p1"]


def test_a_child_added_twice_an_adult_or_one_not_yet_born_is_refused():
    app = registered(family=[child()])
    with refused("member_already_on_application"):
        app.add_child(member_id=None, person_id="p3", birth_date=BORN, on=date(2025, 2, 20))
    with pytest.raises(InvalidInput):
        app.add_child(member_id="m3", person_id="p9", birth_date=BORN, on=date(2025, 2, 20))
    with pytest.raises(InvalidInput):
        app.add_child(member_id=None, person_id="p9", birth_date=date(2000, 1, 1), on=date(2025, 2, 20))
    with pytest.raises(InvalidInput):
        app.add_child(member_id=None, person_id="p9", birth_date=date(2025, 3, 1), on=date(2025, 2, 20))
    assert len(app.members) == 2


def test_a_newborn_is_stored_with_name_and_day_added_and_older_members_store_as_before():
    app = registered(family=[child()])
    app.add_child(member_id=None, person_id="p9", birth_date=BORN, on=date(2025, 2, 20), name="Aisha")
    doc = app.to_document()
    assert "name" not in doc["members"][1] and doc["members"][2]["name"] == "Aisha"
    again = Application.from_document(doc)
    assert again.members[2].added_on == date(2025, 2, 20) and again.to_document() == doc
