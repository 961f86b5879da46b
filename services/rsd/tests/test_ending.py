from datetime import date

from rsd_flows import decided, refused

from rsd.domain import (AppealOutcome, ApplicationState, CancellationGround, CessationGround, EndingKind,
                        Outcome, RevocationGround)

NOTICE = date(2025, 6, 2)


def recognised():
    return decided(Outcome.RECOGNISED)


def test_each_kind_takes_only_its_grounds():
    assert {g.value for g in CessationGround} == {"1C(1)", "1C(2)", "1C(3)", "1C(4)", "1C(5)", "1C(6)"}
    with refused("ending_ground"):
        recognised().give_ending_notice(kind=EndingKind.REVOCATION, grounds=(CessationGround.RE_AVAILMENT,),
                                        on=NOTICE)
    with refused("ending_ground"):
        recognised().give_ending_notice(kind=EndingKind.CESSATION, grounds=(), on=NOTICE)
    recognised().give_ending_notice(kind=EndingKind.CANCELLATION,
                                    grounds=(CancellationGround.MISREPRESENTATION,), on=NOTICE)


def test_ending_needs_notice_and_chance_to_respond():
    app = recognised()
    with refused("ending_notice"):
        app.decide_ending(decided_by="sup2", on=NOTICE, end_status=True)
    app.give_ending_notice(kind=EndingKind.REVOCATION, grounds=(RevocationGround.ART_1F_A,), on=NOTICE)
    with refused("ending_response_opportunity"):
        app.decide_ending(decided_by="sup2", on=date(2025, 6, 10), end_status=True)
    app.record_ending_response(on=date(2025, 6, 9), response="denies the allegations")
    app.decide_ending(decided_by="sup2", on=date(2025, 6, 10), end_status=True)
    assert app.state is ApplicationState.STATUS_ENDED
    ended = [e for e in app.pending_events if type(e).__name__ == "StatusEnded"][0]
    assert ended.member_ids == ("m1",) and ended.grounds == ("1F(a)",)
    assert "denies" not in repr(app.pending_events)


def test_silence_after_response_period_allows_decision():
    app = recognised()
    app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.NEW_NATIONALITY,), on=NOTICE)
    app.decide_ending(decided_by="sup2", on=date(2025, 7, 3), end_status=True)
    assert app.state is ApplicationState.STATUS_ENDED


def test_compelling_reasons_exception_for_ceased_circumstances():
    app = recognised()
    app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.CEASED_CIRCUMSTANCES,), on=NOTICE)
    app.record_ending_response(on=date(2025, 6, 5), response="x")
    with refused("compelling_reasons_exception"):
        app.decide_ending(decided_by="sup2", on=date(2025, 6, 10), end_status=True, compelling_reasons=True)
    app.decide_ending(decided_by="sup2", on=date(2025, 6, 10), end_status=False, compelling_reasons=True)
    assert app.state is ApplicationState.RECOGNISED and not app.ending.open


def test_appeal_against_ending_by_other_officer_restores_status():
    app = recognised()
    app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.RE_AVAILMENT,), on=NOTICE)
    app.record_ending_response(on=date(2025, 6, 5), response="x")
    app.decide_ending(decided_by="sup2", on=date(2025, 6, 10), end_status=True)
    app.lodge_appeal(appeal_id="ap9", on=date(2025, 6, 20))
    assert app.removal_suspended
    with refused("appeal_independence"):
        app.decide_appeal(decided_by="sup2", on=date(2025, 7, 1), outcome=AppealOutcome.ALLOWED)
    app.decide_appeal(decided_by="ao1", on=date(2025, 7, 1), outcome=AppealOutcome.ALLOWED)
    assert app.state is ApplicationState.RECOGNISED


def test_ending_only_for_recognised():
    with refused("state_transition"):
        decided().give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.RE_AVAILMENT,), on=NOTICE)
