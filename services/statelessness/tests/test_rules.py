import pytest

from statelessness.domain import StatelessnessRules


def test_defaults_follow_domain_md():
    r = StatelessnessRules()
    assert r.inquiry_reply_months == 6
    assert (r.decision_due_months, r.decision_max_months) == (6, 12)
    assert r.appeal_window_days == 30
    assert (r.certificate_min_age, r.certificate_validity_years) == (16, 5)
    assert r.naturalization_residence_years == 5
    assert r.child_of_stateless_parents_citizen_requires_permanent_residence is True
    assert r.foundlings_are_citizens is True
    assert r.soon_horizon_days == 90
    assert r.small_cell_threshold == 5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"decision_due_months": 6, "decision_max_months": 3},
        {"appeal_window_days": 0},
        {"inquiry_reply_months": -1},
        {"naturalization_residence_years": -1},
    ],
)
def test_inconsistent_rules_are_rejected(kwargs):
    with pytest.raises(ValueError):
        StatelessnessRules(**kwargs)
