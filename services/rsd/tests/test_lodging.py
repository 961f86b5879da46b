from datetime import date

import pytest
from pana_kit.domain import InvalidInput
from rsd_flows import D1, D2, child, event_types, lodged, principal, refused, registered, spouse

from rsd.domain import (ApplicationState, ArrivalManner, CertificateRequested, ProcessingMode, RsdRules,
                        SpecificNeed)


def test_lodging_in_time_is_not_late():
    app = lodged()
    assert not app.late_lodging
    assert app.state is ApplicationState.LODGED
    assert event_types(app) == ["ApplicationLodged"]


def test_late_lodging_is_recorded_never_refused():
    app = lodged(lodged_on=date(2025, 2, 1))
    assert app.late_lodging
    app.register(on=date(2025, 2, 1))
    assert app.state is ApplicationState.REGISTERED


def test_irregular_entry_window_is_one_day():
    assert lodged(manner_of_arrival=ArrivalManner.IRREGULAR, lodged_on=date(2025, 1, 7)).late_lodging is False
    assert lodged(manner_of_arrival=ArrivalManner.IRREGULAR, lodged_on=date(2025, 1, 8)).late_lodging is True


def test_lodging_window_is_configurable():
    assert not lodged(lodged_on=date(2025, 1, 14), rules=RsdRules(lodging_window_days=10)).late_lodging


def test_lodging_in_other_language_or_two_principals_is_invalid():
    with pytest.raises(InvalidInput):
        lodged(lodging_language="en")
    with pytest.raises(InvalidInput):
        lodged(family=[principal(id="m9")])


def test_registration_requests_certificates_for_adults_children_on_principal():
    app = lodged(family=[spouse(), child()])
    app.collect_events()
    due = app.register(on=D2)
    assert due == date(2025, 4, 10)
    certs = [e for e in app.pending_events if isinstance(e, CertificateRequested)]
    assert [c.member_id for c in certs] == ["m1", "m2"]
    assert certs[0].child_person_ids == ("p3",) and certs[1].child_person_ids == ()
    assert certs[0].valid_until == date(2025, 4, 10)


def test_unaccompanied_minor_gets_own_certificate():
    app = lodged(principal=principal(birth_date=date(2010, 1, 1),
                                     specific_needs=frozenset({SpecificNeed.UNACCOMPANIED_OR_SEPARATED_CHILD})))
    app.register(on=D2)
    assert [c.member_id for c in app.certificates] == ["m1"]
    assert app.priority


def test_register_twice_is_refused():
    app = registered()
    with refused("state_transition"):
        app.register(on=D2)


def test_fingerprinting_late_is_flagged():
    app = registered()
    assert app.record_fingerprinting(on=date(2025, 1, 13)) is False
    assert app.record_fingerprinting(on=date(2025, 1, 14)) is True and app.fingerprinting_late


def test_fingerprinting_before_certificate_is_refused():
    with refused("fingerprinting_after_certificate"):
        lodged().record_fingerprinting(on=D1)


def test_priority_from_specific_needs_and_mode_needs_reason():
    app = registered(family=[spouse(specific_needs=frozenset({SpecificNeed.SURVIVOR_OF_TORTURE}))])
    assert app.priority and app.priority_needs == {SpecificNeed.SURVIVOR_OF_TORTURE}
    with refused("processing_mode_reason"):
        app.set_processing_mode(mode=ProcessingMode.ACCELERATED, reason=" ")
    app.set_processing_mode(mode=ProcessingMode.ACCELERATED, reason="torture survivor")
    assert app.decision_due == date(2025, 2, 10)


def test_reassignment_keeps_history():
    app = registered()
    app.reassign(officer_id="eo2", on=date(2025, 1, 20), reason="leave")
    assert app.officer_id == "eo2"
    assert [a.officer_id for a in app.assignments] == ["eo1", "eo2"]
    with pytest.raises(InvalidInput):
        app.reassign(officer_id="eo2", on=date(2025, 1, 21), reason="again")


def test_a_persons_new_needs_change_priority_and_a_stranger_is_refused():
    app = registered()
    person = app.members[0].person_id
    assert not app.priority
    assert app.person_needs_changed(person, frozenset({SpecificNeed.SURVIVOR_OF_TORTURE})) is True
    assert app.priority and app.priority_needs == {SpecificNeed.SURVIVOR_OF_TORTURE}
    assert app.person_needs_changed(person, frozenset({SpecificNeed.SURVIVOR_OF_TORTURE})) is False
    assert app.person_needs_changed(person, frozenset({SpecificNeed.FAMILY_UNITY})) is True and not app.priority
    with pytest.raises(InvalidInput):
        app.person_needs_changed("someone-else", frozenset())
