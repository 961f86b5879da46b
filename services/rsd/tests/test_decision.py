from datetime import date

from rsd_flows import child, decided, fails, interviewed, meets, refused, registered, spouse

from rsd.domain import (ApplicationState, DecisionIssued, ExclusionClause, Ground, MemberOutcome, Outcome,
                        RejectionReason)

REC = date(2025, 2, 20)


def test_six_grounds_of_kazakh_law():
    assert {g.value for g in Ground} == {"race", "religion", "nationality", "citizenship",
                                         "particular_social_group", "political_opinion"}


def test_no_decision_without_principal_interview():
    app = registered()
    app.record_assessment(meets())
    with refused("interview_before_decision"):
        app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)


def test_every_adult_assessed_individually():
    app = interviewed(registered(family=[spouse(), child()]))
    app.record_assessment(meets())
    with refused("individual_assessment"):
        app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)


def test_four_eyes_same_officer_cannot_decide():
    app = interviewed(registered())
    app.record_assessment(meets())
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    with refused("four_eyes"):
        app.issue_decision(decided_by="eo1", on=REC)


def test_decision_requires_recommendation():
    app = interviewed(registered())
    app.record_assessment(meets())
    with refused("recommendation_before_decision"):
        app.issue_decision(decided_by="sup1", on=REC)


def test_rejection_needs_categorised_reasons():
    app = interviewed(registered())
    app.record_assessment(fails())
    with refused("rejection_reasons"):
        app.recommend(officer_id="eo1", outcome=Outcome.REJECTED, on=REC)
    assert RejectionReason.NOT_CREDIBLE_IMPLAUSIBLE.category == "credibility"
    assert RejectionReason.EXCLUDED_1F.category == "exclusion"


def test_recognition_requires_criteria_and_no_exclusion():
    app = interviewed(registered())
    app.record_assessment(meets(exclusion=frozenset({ExclusionClause.ART_1F_B})))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    with refused("recognition_requires_criteria"):
        app.issue_decision(decided_by="sup1", on=REC)


def test_recognised_family_derivative_with_consent_only():
    app = interviewed(registered(family=[spouse(), child()]))
    app.record_assessment(meets())
    app.record_assessment(fails("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    with refused("derivative_status_consent"):
        app.issue_decision(decided_by="sup1", on=REC, member_outcomes={"m2": MemberOutcome.DERIVATIVE})
    decision = app.issue_decision(decided_by="sup1", on=REC)
    assert decision.member_outcomes == {"m1": MemberOutcome.RECOGNISED, "m2": MemberOutcome.REJECTED,
                                        "m3": MemberOutcome.DERIVATIVE}


def test_decision_event_lists_members_covered():
    app = interviewed(registered(family=[spouse(derivative_status_consent=True), child()]))
    app.record_assessment(meets())
    app.record_assessment(fails("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    app.issue_decision(decided_by="sup1", on=REC)
    event = [e for e in app.pending_events if isinstance(e, DecisionIssued)][0]
    assert event.member_ids_covered == ("m1", "m2", "m3")
    assert event.derivative_member_ids == ("m2", "m3")
    assert app.state is ApplicationState.RECOGNISED
    assert not hasattr(event, "narrative")


def test_adult_member_meeting_criteria_recognised_in_own_right():
    app = interviewed(registered(family=[spouse()]))
    app.record_assessment(meets())
    app.record_assessment(meets("m2"))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    assert app.issue_decision(decided_by="sup1", on=REC).member_outcomes["m2"] is MemberOutcome.RECOGNISED


def test_excluded_member_gets_no_derivative_status():
    app = interviewed(registered(family=[spouse(derivative_status_consent=True)]))
    app.record_assessment(meets())
    app.record_assessment(fails("m2").__class__(member_id="m2", assessed_by="eo1", assessed_on=REC,
                                                exclusion=frozenset({ExclusionClause.ART_1F_A})))
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    with refused("exclusion"):
        app.issue_decision(decided_by="sup1", on=REC)


def test_supervisor_may_differ_from_recommendation_with_reasons():
    app = interviewed(registered())
    app.record_assessment(meets())
    app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=REC)
    with refused("rejection_reasons"):
        app.issue_decision(decided_by="sup1", on=REC, outcome=Outcome.REJECTED)
    app.issue_decision(decided_by="sup1", on=REC, outcome=Outcome.REJECTED,
                       rejection_reasons=(RejectionReason.STATE_PROTECTION_AVAILABLE,))
    assert app.state is ApplicationState.REJECTED


def test_notification_served_once_with_language():
    app = decided(notify_on=None)
    app.serve_notification(on=date(2025, 3, 3), language="dari")
    assert app.appeal_deadline == date(2025, 4, 2)
    with refused("notification_once"):
        app.serve_notification(on=date(2025, 3, 4), language="dari")


def test_extensions_with_reasons_up_to_twelve_months():
    app = registered()
    with refused("extension_reason"):
        app.extend_decision_period(months=3, reason="", on=date(2025, 4, 1), by="sup1")
    app.collect_events()
    due = app.extend_decision_period(months=3, reason="country information pending", on=date(2025, 4, 1),
                                     by="sup1")
    assert due == date(2025, 7, 10)
    assert [type(e).__name__ for e in app.pending_events] == ["DecisionPeriodExtended", "CertificateRequested"]
    app.extend_decision_period(months=6, reason="security check", on=date(2025, 7, 1), by="sup1")
    with refused("extension_limit"):
        app.extend_decision_period(months=1, reason="more", on=date(2025, 12, 1), by="sup1")
    assert app.decision_due == date(2026, 1, 10)


def test_no_extension_after_decision():
    with refused("extension_before_decision"):
        decided().extend_decision_period(months=1, reason="x", on=date(2025, 3, 5), by="sup1")
