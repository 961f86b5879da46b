from datetime import date

from rsd_flows import child, decided, fails, interviewed, meets, registered, spouse

from rsd.domain import (AppealOutcome, Application, ApplicationKind, ClosureReason, DeadlineKind, DeadlineStatus,
                        DecisionClass, EndingKind, CessationGround, Outcome, ReopeningGround, RsdRules,
                        application_kind, classify_decision, classify_decision_event, deadlines, due_soon,
                        event_to_document)


def kinds(app, today):
    return {d.kind: d.status for d in deadlines(app, today)}


def test_first_instance_deadlines_and_status():
    app = registered()
    found = kinds(app, date(2025, 1, 12))
    assert found[DeadlineKind.FINGERPRINTING] is DeadlineStatus.APPROACHING
    assert found[DeadlineKind.DECISION] is DeadlineStatus.UPCOMING
    assert kinds(app, date(2025, 1, 14))[DeadlineKind.FINGERPRINTING] is DeadlineStatus.OVERDUE
    late = kinds(app, date(2025, 4, 1))
    assert late[DeadlineKind.DECISION] is DeadlineStatus.APPROACHING
    assert DeadlineKind.INTERVIEW in late
    assert DeadlineKind.INTERVIEW not in kinds(interviewed(app), date(2025, 4, 1))
    assert all(d.status is not DeadlineStatus.UPCOMING for d in due_soon(app, date(2025, 4, 1)))


def test_appeal_deadlines_after_rejection():
    found = kinds(decided(), date(2025, 4, 3))
    assert found[DeadlineKind.APPEAL] is DeadlineStatus.OVERDUE
    assert found[DeadlineKind.APPEAL_GRACE] is DeadlineStatus.UPCOMING
    assert DeadlineKind.DECISION not in found


def test_missed_deadlines_flagged_once():
    app = registered()
    app.collect_events()
    assert [e.deadline for e in app.flag_missed_deadlines(date(2025, 1, 20))] == ["fingerprinting"]
    assert app.flag_missed_deadlines(date(2025, 1, 21)) == []


def roundtrip(app: Application) -> Application:
    import json

    doc = json.loads(json.dumps(app.to_document()))
    again = Application.from_document(doc)
    assert again.to_document() == app.to_document()
    return again


def test_document_round_trip_through_full_history():
    app = interviewed(registered(family=[spouse(derivative_status_consent=True), child()]))
    app.record_assessment(meets())
    app.record_assessment(fails("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 20))
    app.issue_decision(decided_by="sup1", on=date(2025, 3, 1))
    app.serve_notification(on=date(2025, 3, 3), language="ru")
    assert app.member_ids_covered == ("m1", "m2", "m3")
    app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.RE_AVAILMENT,),
                           on=date(2025, 6, 2))
    again = roundtrip(app)
    assert again.ending.open and again.state is app.state
    again.record_ending_response(on=date(2025, 6, 3), response="no")
    again.decide_ending(decided_by="sup2", on=date(2025, 6, 4), end_status=True)
    again = roundtrip(again)
    assert again.ending.status_ended and not again.pending_events


def test_document_round_trip_appeal_and_reopen():
    app = decided()
    app.lodge_appeal(appeal_id="ap1", on=date(2025, 3, 5))
    app.decide_appeal(decided_by="ao1", on=date(2025, 4, 1), outcome=AppealOutcome.REJECTED)
    app.reopen(ground=ReopeningGround.NEW_EVIDENCE, reason="new document", on=date(2025, 9, 1))
    again = roundtrip(app)
    assert again.decision is None and len(again.decisions) == 1 and again.cycle == 1


def test_rules_are_supplied_not_stored():
    app = registered(rules=RsdRules(decision_period_months=6))
    again = Application.from_document(app.to_document(), rules=RsdRules(decision_period_months=6))
    assert again.decision_due == app.decision_due == date(2025, 7, 10)


def test_events_serialise_to_json():
    import json

    for event in registered().pending_events:
        json.dumps(event_to_document(event))


def test_statistics_classification():
    assert classify_decision(registered()) is None
    assert classify_decision(decided(Outcome.RECOGNISED)) is DecisionClass.RECOGNISED
    assert classify_decision(decided()) is DecisionClass.REJECTED
    withdrawn = registered()
    withdrawn.close(reason=ClosureReason.WITHDRAWAL, on=date(2025, 2, 1))
    assert classify_decision(withdrawn) is DecisionClass.OTHERWISE_CLOSED
    assert classify_decision_event(None, "abandonment") is DecisionClass.OTHERWISE_CLOSED
    assert classify_decision_event("recognised") is DecisionClass.RECOGNISED
    assert application_kind(registered()) is ApplicationKind.NEW
    assert application_kind(registered(previous_application_id="a0")) is ApplicationKind.REPEAT
    appealed = decided()
    appealed.lodge_appeal(appeal_id="ap1", on=date(2025, 3, 5))
    assert application_kind(appealed) is ApplicationKind.APPEAL


def test_a_stored_document_of_the_earlier_code_loads_and_stores_the_same():
    # Written by the code before the application layer (commit 842af2d): stored rows must keep loading.
    import json
    from pathlib import Path

    stored = json.loads((Path(__file__).parent / "data" / "application_document_v1.json").read_text())
    app = Application.from_document(stored)
    assert app.ending.open and app.member_ids_covered == ("m1", "m2", "m3")
    assert app.to_document() == stored
