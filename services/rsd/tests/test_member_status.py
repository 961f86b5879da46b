"""Status per member: ending status for some members, and a member's death, leave the others alone."""

from datetime import date

import pytest
from pana_kit.domain import InvalidInput
from rsd_flows import child, fails, interviewed, meets, refused, registered, spouse

from rsd.domain import (AppealOutcome, ApplicationClosed, ApplicationState, CessationGround, ClosureReason,
                        EndingKind, Outcome, StatusEnded, StatusRestored)

NOTICE = date(2025, 6, 2)
DECIDED = date(2025, 6, 10)


def recognised_family(family=None):
    """Principal recognised; spouse (consenting) and child derivative."""
    app = interviewed(registered(family=family or [spouse(derivative_status_consent=True), child()]))
    app.record_assessment(meets())
    app.record_assessment(fails("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 20))
    app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    app.serve_notification(on=date(2025, 3, 3), language="dari")
    assert app.member_ids_holding_status == ("m1", "m2", "m3")
    return app


def end_for(app, member_ids, on=NOTICE):
    app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.RE_AVAILMENT,), on=on,
                           member_ids=member_ids)
    app.record_ending_response(on=on, response="x")
    app.decide_ending(decided_by="sup2", on=on + (DECIDED - NOTICE), end_status=True)
    return app


def events(app, kind):
    return [e for e in app.pending_events if isinstance(e, kind)]


def test_ending_the_spouse_alone_leaves_the_principal_and_the_file_recognised():
    app = end_for(recognised_family(), ("m2",))
    assert app.state is ApplicationState.RECOGNISED
    assert app.member_status("m2") == "status_ended" and app.member("m2").status_ending.kind == "cessation"
    assert app.member("m2").status_ending.grounds == ("1C(1)",)
    assert app.member("m2").status_ending.ended_on == DECIDED
    assert app.member_status("m1") == app.member_status("m3") == "recognised"
    assert app.member_ids_holding_status == ("m1", "m3")
    assert [e.member_ids for e in events(app, StatusEnded)] == [("m2",)]


def test_the_file_ends_only_when_every_recognised_member_has_lost_status():
    app = end_for(recognised_family(), ("m2",))
    end_for(app, ("m1", "m3"), on=date(2025, 9, 1))
    assert app.state is ApplicationState.STATUS_ENDED
    assert [e.member_ids for e in events(app, StatusEnded)] == [("m2",), ("m1", "m3")]


def test_ending_a_member_who_is_not_recognised_is_refused():
    app = interviewed(registered(family=[spouse()]))  # adult spouse without consent: rejected
    app.record_assessment(meets())
    app.record_assessment(fails("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 20))
    app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    assert app.member_status("m2") == "rejected"
    with refused("ending_status_holder"):
        app.give_ending_notice(kind=EndingKind.CESSATION, grounds=("1C(1)",), on=NOTICE, member_ids=("m2",))
    with pytest.raises(InvalidInput):
        app.give_ending_notice(kind=EndingKind.CESSATION, grounds=("1C(1)",), on=NOTICE, member_ids=("m9",))


def test_ending_twice_is_refused():
    app = end_for(recognised_family(), ("m2",))
    with refused("ending_notice"):
        app.decide_ending(decided_by="sup2", on=date(2025, 6, 20), end_status=True)
    with refused("ending_status_holder"):
        app.give_ending_notice(kind=EndingKind.CESSATION, grounds=("1C(1)",), on=date(2025, 7, 1),
                               member_ids=("m2",))
    end_for(app, None, on=date(2025, 9, 1))  # the default: everyone who still holds status
    assert app.state is ApplicationState.STATUS_ENDED
    with refused("state_transition"):
        app.give_ending_notice(kind=EndingKind.CESSATION, grounds=("1C(1)",), on=date(2025, 12, 1))


def test_an_allowed_appeal_against_a_partial_ending_restores_only_those_members():
    app = end_for(recognised_family(), ("m2",))
    app.lodge_appeal(appeal_id="ap1", on=date(2025, 6, 20))
    app.decide_appeal(decided_by="ao1", on=date(2025, 7, 1), outcome=AppealOutcome.ALLOWED)
    assert [e.member_ids for e in events(app, StatusRestored)] == [("m2",)]
    assert app.member_ids_holding_status == ("m1", "m2", "m3") and app.state is ApplicationState.RECOGNISED
    with refused("appeal_state"):  # nothing left to appeal against
        app.lodge_appeal(appeal_id="ap2", on=date(2025, 7, 2))


def test_an_allowed_appeal_after_a_later_ending_restores_only_the_last_ending_members():
    app = end_for(recognised_family(), ("m2",))
    end_for(app, ("m1", "m3"), on=date(2025, 9, 1))
    app.lodge_appeal(appeal_id="ap1", on=date(2025, 9, 20))
    app.decide_appeal(decided_by="ao1", on=date(2025, 10, 1), outcome=AppealOutcome.ALLOWED)
    assert app.state is ApplicationState.RECOGNISED
    assert app.member_status("m2") == "status_ended" and app.member_ids_holding_status == ("m1", "m3")


def test_a_stored_whole_file_ending_loads_with_each_member_ended():
    app = end_for(recognised_family(), None)
    doc = app.to_document()
    for member in doc["members"]:
        member.pop("status_ending")  # as stored before status was kept per member
    loaded = type(app).from_document(doc)
    assert [loaded.member_status(m) for m in ("m1", "m2", "m3")] == ["status_ended"] * 3


# ---- death -------------------------------------------------------------------------------------------
def family():
    return [spouse(), child(), child(id="m4", person_id="p4", birth_date=date(2015, 1, 1))]


def closed_events(app):
    return events(app, ApplicationClosed)


def test_the_principals_death_lets_the_family_go_on_with_the_eldest_adult_as_principal():
    app = registered(family=family())
    assert app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1)) is None
    assert app.state is ApplicationState.REGISTERED and app.member_status("m1") == "deceased"
    assert app.principal.id == "m2" and app.person_id == "p1"  # the file keeps its person (and events' key)
    (closed,) = closed_events(app)
    assert closed.member_ids == ("m1",) and closed.reason == "death" and not closed.file_closed
    assert closed.new_principal_member_id == "m2"
    assert [app.member_status(m) for m in ("m2", "m3", "m4")] == ["pending"] * 3


def test_the_new_principal_may_be_named_and_without_adults_is_the_eldest_child():
    app = registered(family=family())
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1), new_principal_member_id="m3")
    assert app.principal.id == "m3"
    app = registered(family=[child(), child(id="m4", person_id="p4", birth_date=date(2015, 1, 1))])
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1))
    assert app.principal.id == "m4"  # born 2015: older than m3 (2018)
    with pytest.raises(InvalidInput):
        registered(family=family()).close(reason=ClosureReason.DEATH, on=date(2025, 2, 1),
                                          new_principal_member_id="m1")


def test_the_claim_goes_on_to_a_decision_for_the_living_under_the_new_principal():
    app = registered(family=[spouse()])
    app.close(reason=ClosureReason.DEATH, on=date(2025, 1, 20))
    interviewed(app, "m2")
    app.record_assessment(meets("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 20))
    decision = app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    assert {m: o.value for m, o in decision.member_outcomes.items()} == {"m2": "recognised"}
    assert app.member_status("m1") == "deceased" and app.member_status("m2") == "recognised"


def test_a_non_principals_death_touches_only_that_member():
    app = registered(family=family())
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1), member_id="m3")
    assert app.principal.id == "m1" and app.member_status("m3") == "deceased"
    assert closed_events(app)[0].member_ids == ("m3",) and closed_events(app)[0].new_principal_member_id is None
    with refused("member_deceased"):
        app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 2), member_id="m3")
    with pytest.raises(InvalidInput):  # a new principal only when the principal died
        app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 2), member_id="m4", new_principal_member_id="m2")


def test_the_death_of_the_only_member_left_closes_the_file_as_before():
    app = registered(family=[spouse()])
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1), member_id="m2")
    assert app.state is ApplicationState.REGISTERED
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 3))
    assert app.state is ApplicationState.CLOSED and app.closure.reason is ClosureReason.DEATH
    assert [e.member_ids for e in closed_events(app)] == [("m2",), ("m1",)]
    assert closed_events(app)[-1].file_closed
    alone = registered()
    alone.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1))
    assert alone.state is ApplicationState.CLOSED and alone.member_status("m1") == "deceased"


def test_a_recognised_principals_death_does_not_end_the_derivative_holders_status():
    app = recognised_family()
    app.close(reason=ClosureReason.DEATH, on=date(2025, 5, 1))
    assert app.state is ApplicationState.RECOGNISED and app.member_ids_holding_status == ("m2", "m3")
    assert app.principal.id == "m2"


def test_withdrawal_names_only_the_living():
    app = registered(family=[spouse()])
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1))
    app.close(reason=ClosureReason.WITHDRAWAL, on=date(2025, 2, 5))
    assert closed_events(app)[-1].member_ids == ("m2",) and app.state is ApplicationState.CLOSED
    with pytest.raises(InvalidInput):
        registered().close(reason=ClosureReason.WITHDRAWAL, on=date(2025, 2, 5), member_id="m1")


def test_a_recognised_principals_death_with_no_other_status_holder_closes_the_file():
    app = interviewed(registered(family=[spouse()]))  # the spouse, not consenting, is rejected
    app.record_assessment(meets())
    app.record_assessment(fails("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 20))
    app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    with pytest.raises(InvalidInput):  # the rejected spouse cannot carry a recognised file
        app.close(reason=ClosureReason.DEATH, on=date(2025, 5, 1), new_principal_member_id="m2")
    assert not app.member("m1").deceased
    app.close(reason=ClosureReason.DEATH, on=date(2025, 5, 1))
    assert app.state is ApplicationState.CLOSED and closed_events(app)[-1].member_ids == ("m1",)


def test_a_death_told_by_registration_is_recorded_once_and_never_in_a_closed_file():
    app = recognised_family()
    assert app.person_died("p3", DECIDED) is True
    assert app.member("m3").deceased and app.state is ApplicationState.RECOGNISED
    assert app.member_status("m1") == app.member_status("m2") == "recognised"
    assert app.person_died("p3", DECIDED) is False  # known already
    assert app.person_died("someone-else", DECIDED) is False
    closed = recognised_family()
    for m in ("m1", "m2", "m3"):
        closed.person_died(closed.member(m).person_id, DECIDED)
    assert closed.state is ApplicationState.CLOSED
    assert [e.member_ids for e in events(closed, ApplicationClosed)][-1] == ("m3",)


# ---- the children's certificate after the principal's death (issue 13) ------------------------------
def requested_after(app, on):
    from rsd.domain.events import CertificateRequested
    return [(e.person_id, e.child_person_ids, e.reason) for e in app.pending_events
            if isinstance(e, CertificateRequested) and e.issued_on == on]


def test_the_principals_death_moves_the_children_onto_the_new_principals_certificate():
    """Children are entered on the principal's certificate; it ends with the death, so the new principal gets a
    certificate naming them, valid as long as the current ones (rsd.certificate.requested.v1)."""
    app = registered(family=family())
    died = date(2025, 2, 1)
    app.close(reason=ClosureReason.DEATH, on=died)
    assert requested_after(app, died) == [("p2", ("p3", "p4"), "principal_deceased")]
    assert app.certificates[-1].valid_until == app.certificates[0].valid_until


def test_without_an_adult_each_child_gets_their_own_certificate():
    app = registered(family=[child(), child(id="m4", person_id="p4", birth_date=date(2015, 1, 1))])
    died = date(2025, 2, 1)
    app.close(reason=ClosureReason.DEATH, on=died)
    assert sorted(requested_after(app, died)) == [("p3", (), "principal_deceased"), ("p4", (), "principal_deceased")]


def test_a_child_named_principal_beside_an_adult_goes_on_the_adults_certificate():
    app = registered(family=family())
    died = date(2025, 2, 1)
    app.close(reason=ClosureReason.DEATH, on=died, new_principal_member_id="m3")
    assert requested_after(app, died) == [("p2", ("p3", "p4"), "principal_deceased")]


def test_no_new_certificate_without_children_or_for_a_non_principals_death():
    app = registered(family=[spouse()])
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1))
    assert requested_after(app, date(2025, 2, 1)) == []
    app = registered(family=family())
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1), member_id="m2")
    assert requested_after(app, date(2025, 2, 1)) == []
