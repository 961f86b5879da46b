"""The last day to appeal (docs/domain.md: 30 days from notification, calendar days; no working-day rule for it)."""

from datetime import date

import pytest
from pana_kit.domain import InvalidInput
from rsd_flows import decided

from rsd.domain import RsdRules, appeal_deadline


@pytest.mark.parametrize(("served", "days", "last_day"), [
    (date(2026, 3, 3), 30, date(2026, 4, 2)),  # the day served is not counted
    (date(2026, 1, 31), 30, date(2026, 3, 2)),  # across a short February
    (date(2028, 1, 31), 30, date(2028, 3, 1)),  # a leap year's 29 February counts
    (date(2026, 12, 15), 30, date(2027, 1, 14)),  # across the new year
    (date(2026, 12, 31), 30, date(2027, 1, 30)),
    (date(2026, 3, 3), 45, date(2026, 4, 17)),  # a longer window set by RSD_APPEAL_WINDOW_DAYS
])
def test_the_last_day_is_the_day_served_plus_the_window(served, days, last_day):
    assert appeal_deadline(served, days) == last_day


def test_a_last_day_on_a_weekend_or_holiday_stays():
    # The domain gives the appeal window in calendar days and names no working-day rule for it (the birth
    # registration deadline has one; this does not): a Saturday or a public holiday is still the last day.
    assert appeal_deadline(date(2026, 4, 1), 30).weekday() == 4  # Friday 1 May 2026, Unity Day, stays
    assert appeal_deadline(date(2026, 4, 4), 30) == date(2026, 5, 4)
    assert appeal_deadline(date(2026, 9, 5), 30) == date(2026, 10, 5)
    assert appeal_deadline(date(2026, 10, 1), 30) == date(2026, 10, 31)  # a Saturday
    assert date(2026, 10, 31).weekday() == 5


def test_the_window_is_positive():
    with pytest.raises(InvalidInput):
        appeal_deadline(date(2026, 3, 3), 0)


def test_the_application_uses_the_rule_from_the_day_served():
    app = decided(notify_on=date(2026, 1, 31))
    assert app.appeal_deadline == date(2026, 3, 2)
    assert decided(rules=RsdRules(appeal_window_days=60), notify_on=date(2026, 1, 31)).appeal_deadline == date(2026, 4, 1)
    assert decided(notify_on=None).appeal_deadline is None  # not served: no last day yet


def test_the_decision_makers_name_is_kept_with_the_decision_and_stored_only_when_given():
    from rsd.domain import Application, Outcome
    from rsd_flows import interviewed, meets, registered

    def deciding(name):
        app = interviewed(registered())
        app.record_assessment(meets())
        app.recommend(officer_id="eo1", outcome=Outcome.RECOGNISED, on=date(2025, 2, 20))
        app.issue_decision(decided_by="sup1", on=date(2025, 3, 1), decided_by_name=name)
        return app

    named = deciding(" Жұмабаева Айгүл ")
    again = Application.from_document(named.to_document())
    assert again.decision.decided_by_name == "Жұмабаева Айгүл"
    for blank in (None, "  "):
        doc = deciding(blank).to_document()
        assert "decided_by_name" not in doc["decisions"][0]  # a file stored as it always was
        assert Application.from_document(doc).decision.decided_by_name is None
