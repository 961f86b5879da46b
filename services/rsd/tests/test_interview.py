from datetime import date

import pytest
from pana_kit.domain import InvalidInput
from rsd_flows import interpreter, principal, refused, registered

from rsd.domain import InterviewStatus, Sex

ON = date(2025, 2, 3)


def schedule(app, **kw):
    args = dict(interview_id="i1", member_id="m1", scheduled_on=ON, interviewer_id="eo1",
                interviewer_sex=Sex.FEMALE, interpreter=interpreter())
    args.update(kw)
    return app.schedule_interview(**args)


def test_schedule_records_interpreter_language_and_dialect():
    app = registered()
    interview = schedule(app)
    event = app.pending_events[-1]
    assert type(event).__name__ == "InterviewScheduled"
    assert (event.interpreter_language, event.interpreter_dialect) == ("dari", "kabuli")
    assert interview.status is InterviewStatus.SCHEDULED


def test_same_gender_interviewer_requested_is_honoured():
    app = registered(principal=principal(same_gender_interviewer_requested=True))
    with refused("same_gender_interviewer"):
        schedule(app, interviewer_sex=Sex.MALE)
    schedule(app, interviewer_sex=Sex.FEMALE)


def test_same_gender_interpreter_requested_is_honoured():
    app = registered(principal=principal(same_gender_interpreter_requested=True))
    with refused("same_gender_interpreter"):
        schedule(app, interpreter=interpreter(sex=Sex.MALE))


def test_legal_representative_never_interprets():
    app = registered()
    with refused("legal_representative_not_interpreter"):
        schedule(app, legal_representative_id="int1", legal_representative_consent=True)


def test_legal_representative_needs_consent():
    app = registered()
    with refused("legal_representative_consent"):
        schedule(app, legal_representative_id="lawyer1")
    schedule(app, legal_representative_id="lawyer1", legal_representative_consent=True)


def test_interpreter_language_required():
    with pytest.raises(InvalidInput):
        schedule(registered(), interpreter=interpreter(language=" "))


def test_interview_before_registration_or_lodging_refused():
    from rsd_flows import lodged

    with refused("state_transition"):
        schedule(lodged())
    with refused("interview_after_registration"):
        schedule(registered(), scheduled_on=date(2025, 1, 9))


def test_reschedule_needs_reason_and_keeps_history():
    app = registered()
    schedule(app)
    with refused("reschedule_reason"):
        app.reschedule_interview("i1", to_date=date(2025, 2, 10), reason="", on=ON)
    app.reschedule_interview("i1", to_date=date(2025, 2, 10), reason="interpreter ill", on=ON)
    interview = app.interview("i1")
    assert interview.scheduled_on == date(2025, 2, 10)
    assert interview.reschedulings[0].from_date == ON


def test_reschedule_cannot_break_same_gender_request():
    app = registered(principal=principal(same_gender_interviewer_requested=True))
    schedule(app)
    with refused("same_gender_interviewer"):
        app.reschedule_interview("i1", to_date=date(2025, 2, 10), reason="leave", on=ON,
                                 interviewer_id="eo9", interviewer_sex=Sex.MALE)


def test_held_and_no_show_are_final():
    app = registered()
    schedule(app)
    app.record_interview_held("i1", on=ON)
    assert app.principal_interview_held()
    with refused("interview_not_scheduled"):
        app.record_no_show("i1", on=ON)
    schedule(app, interview_id="i2", scheduled_on=date(2025, 3, 1))
    app.record_no_show("i2", on=date(2025, 3, 1))
    with refused("interview_not_scheduled"):
        app.record_interview_held("i2", on=date(2025, 3, 1))
