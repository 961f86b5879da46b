from datetime import date, timedelta

from rsd_flows import decided, interpreter, refused, registered

from rsd.domain import (AppealOutcome, ApplicationState, ClosureReason, Outcome, ReopeningGround, Sex)

NOTIFIED = date(2025, 3, 3)


def test_appeal_within_window_suspends_removal():
    app = decided()
    appeal = app.lodge_appeal(appeal_id="ap1", on=NOTIFIED + timedelta(days=30))
    assert not appeal.late_within_grace
    assert app.state is ApplicationState.UNDER_APPEAL and app.removal_suspended
    assert app.pending_events[-1].suspends_removal


def test_appeal_in_grace_is_late_but_accepted_after_grace_refused():
    app = decided()
    assert app.lodge_appeal(appeal_id="ap1", on=NOTIFIED + timedelta(days=31)).late_within_grace
    with refused("appeal_window"):
        decided().lodge_appeal(appeal_id="ap1", on=NOTIFIED + timedelta(days=30, weeks=6, hours=24))


def test_appeal_against_recognition_refused():
    with refused("appeal_state"):
        decided(Outcome.RECOGNISED).lodge_appeal(appeal_id="ap1", on=NOTIFIED)


def test_appeal_decided_by_first_instance_officer_refused():
    app = decided()
    app.lodge_appeal(appeal_id="ap1", on=NOTIFIED)
    with refused("appeal_independence"):
        app.decide_appeal(decided_by="sup1", on=date(2025, 4, 1), outcome=AppealOutcome.ALLOWED)
    with refused("appeal_independence"):
        app.decide_appeal(decided_by="eo1", on=date(2025, 4, 1), outcome=AppealOutcome.ALLOWED)


def test_appeal_allowed_recognises_and_rejected_closes():
    app = decided()
    app.lodge_appeal(appeal_id="ap1", on=NOTIFIED)
    app.decide_appeal(decided_by="ao1", on=date(2025, 4, 1), outcome=AppealOutcome.ALLOWED)
    assert app.state is ApplicationState.RECOGNISED and app.member_ids_covered == ("m1",)
    app2 = decided()
    app2.lodge_appeal(appeal_id="ap1", on=NOTIFIED)
    app2.decide_appeal(decided_by="ao1", on=date(2025, 4, 1), outcome=AppealOutcome.REJECTED)
    assert app2.state is ApplicationState.CLOSED and app2.closure.reason is ClosureReason.APPEAL_REJECTED
    assert not app2.removal_suspended


def test_appeal_remitted_returns_to_first_instance():
    app = decided()
    app.lodge_appeal(appeal_id="ap1", on=NOTIFIED)
    app.decide_appeal(decided_by="ao1", on=date(2025, 4, 1), outcome=AppealOutcome.REMITTED)
    assert app.state is ApplicationState.REGISTERED and app.decision is None
    with refused("recommendation_before_decision"):
        app.issue_decision(decided_by="sup2", on=date(2025, 4, 2))


def test_no_appeal_closure_only_after_window_and_grace():
    app = decided()
    grace_end = app.appeal_grace_ends
    with refused("no_appeal_closure"):
        app.close(reason=ClosureReason.NO_APPEAL, on=grace_end)
    app.close(reason=ClosureReason.NO_APPEAL, on=grace_end + timedelta(days=1))
    assert app.state is ApplicationState.CLOSED


def test_appeal_rejected_closure_only_through_appeal():
    with refused("closure_reason"):
        decided().close(reason=ClosureReason.APPEAL_REJECTED, on=date(2025, 6, 1))


def test_abandonment_needs_missed_interview_and_six_weeks():
    app = registered()
    with refused("abandonment"):
        app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 6, 1))
    app.schedule_interview(interview_id="i1", member_id="m1", scheduled_on=date(2025, 2, 3), interviewer_id="eo1",
                           interviewer_sex=Sex.FEMALE, interpreter=interpreter())
    app.record_no_show("i1", on=date(2025, 2, 3))
    with refused("abandonment"):
        app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 3, 16))
    app.record_contact(on=date(2025, 3, 1))
    with refused("abandonment_despite_contact"):
        app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 4, 11))
    app.close(reason=ClosureReason.ABANDONMENT, on=date(2025, 4, 12))


def test_withdrawal_and_death():
    app = registered()
    app.close(reason=ClosureReason.WITHDRAWAL, on=date(2025, 2, 1))
    with refused("state_transition"):
        app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 2))
    with refused("state_transition"):
        decided(Outcome.RECOGNISED).close(reason=ClosureReason.WITHDRAWAL, on=date(2025, 4, 1))


def test_reopening_only_on_three_grounds_and_new_period():
    app = registered()
    app.close(reason=ClosureReason.WITHDRAWAL, on=date(2025, 2, 1))
    with refused("reopening_ground"):
        app.reopen(ground=None, reason="asked again", on=date(2025, 5, 1))
    with refused("reopening_ground"):
        app.reopen(ground="wants to", reason="asked again", on=date(2025, 5, 1))
    due = app.reopen(ground=ReopeningGround.CHANGED_CIRCUMSTANCES, reason="coup at home", on=date(2025, 5, 1))
    assert due == date(2025, 8, 1) and app.state is ApplicationState.REGISTERED
    assert type(app.pending_events[-1]).__name__ == "CertificateRequested"


def test_no_reopening_after_death_or_of_open_file():
    with refused("state_transition"):
        registered().reopen(ground=ReopeningGround.NEW_EVIDENCE, reason="x", on=date(2025, 5, 1))
    app = registered()
    app.close(reason=ClosureReason.DEATH, on=date(2025, 2, 1))
    with refused("reopening_ground"):
        app.reopen(ground=ReopeningGround.NEW_EVIDENCE, reason="x", on=date(2025, 5, 1))
