from datetime import date, datetime, timedelta, timezone

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from registration.domain import BorderReferral, BorderStatement, RegistrationRules, overdue_referrals

AT = datetime(2025, 3, 1, 14, 0, tzinfo=timezone.utc)


def refer(rid="r-1", **kw):
    args = dict(referral_id=rid, crossing_point="Khorgos", referred_at=AT, referred_by="border-officer-1",
                statement=BorderStatement("fears return to home country", language="dari", interpreter_used=True),
                rules=RegistrationRules())
    args.update(kw)
    return BorderReferral.refer(**args)


def test_window_regular_and_irregular():
    assert refer().registration_due == date(2025, 3, 6)
    assert refer(irregular_entry=True).registration_due == date(2025, 3, 2)
    assert refer(rules=RegistrationRules(registration_window_days=10)).registration_due == date(2025, 3, 11)


def test_overdue_and_late_registration_never_blocks():
    r, s = refer("r-1"), refer("r-2", irregular_entry=True)
    assert overdue_referrals([r, s], date(2025, 3, 6)) == [s]
    assert [x.referral_id for x in overdue_referrals([r, s], date(2025, 3, 7))] == ["r-2", "r-1"]
    r.collect_events()
    r.register(person_id="p-1", registered_at=AT + timedelta(days=10))
    assert r.late is True and r.time_to_registration == timedelta(days=10)
    [event] = r.collect_events()
    assert event.late and event.hours_to_registration == 240.0
    assert not r.is_overdue(date(2025, 4, 1))


def test_on_time_registration_and_refusals():
    r = refer()
    r.register(person_id="p-1", registered_at=AT + timedelta(hours=3))
    assert r.late is False
    with pytest.raises(RuleViolation):
        r.register(person_id="p-2", registered_at=AT + timedelta(hours=4))
    with pytest.raises(InvalidInput):
        refer().register(person_id="p", registered_at=AT - timedelta(hours=1))


def test_round_trip():
    r = refer()
    r.register(person_id="p-1", registered_at=AT + timedelta(hours=3))
    assert BorderReferral.from_document(r.to_document()).to_document() == r.to_document()
