"""The open rules are configuration: STATELESSNESS_* settings reach the domain's rules; an invalid one refuses start."""

from __future__ import annotations

from datetime import date

import pytest

from pana_kit.settings import SettingsError, load_settings
from statelessness.app import create, rules_from
from statelessness.domain import ChildAtRiskFlag, ChildAtRiskRule, Outcome, StatelessnessRules
from statelessness.settings import StatelessnessSettings


@pytest.fixture
def refused(case, rules):
    """A case determined not stateless, notified on 3 June 2024."""
    case.hold_interview(held_on=date(2024, 3, 1), officer_id="o1")
    case.determine(outcome=Outcome.NOT_STATELESS, nationality="UZB", officer_id="o1", decided_on=date(2024, 6, 1),
                   notified_on=date(2024, 6, 3), reasons="r", rules=rules)
    return case


def rules_from_env() -> StatelessnessRules:
    return rules_from(load_settings(StatelessnessSettings))


def test_the_defaults_are_the_domain_defaults():
    assert StatelessnessSettings().rules() == StatelessnessRules()


def test_appeal_window_from_the_environment(monkeypatch, refused):
    monkeypatch.setenv("STATELESSNESS_APPEAL_WINDOW_DAYS", "45")
    assert refused.appeal_deadline_on(rules_from_env()) == date(2024, 7, 18)  # 45 days after 3 June


def test_certificate_validity_from_the_environment(monkeypatch):
    monkeypatch.setenv("STATELESSNESS_CERTIFICATE_VALIDITY_YEARS", "10")
    monkeypatch.setenv("STATELESSNESS_CERTIFICATE_MIN_AGE", "18")
    rules = rules_from_env()
    assert (rules.certificate_validity_years, rules.certificate_min_age) == (10, 18)


@pytest.mark.parametrize(("variable", "value", "foundling", "permanent", "citizen"), [
    ("STATELESSNESS_FOUNDLINGS_ARE_CITIZENS", "false", True, True, False),
    ("STATELESSNESS_FOUNDLINGS_ARE_CITIZENS", "true", True, True, True),
    ("STATELESSNESS_CHILD_OF_STATELESS_PARENTS_CITIZEN_REQUIRES_PERMANENT_RESIDENCE", "false", False, False, True),
    ("STATELESSNESS_CHILD_OF_STATELESS_PARENTS_CITIZEN_REQUIRES_PERMANENT_RESIDENCE", "true", False, False, False),
])
def test_the_child_citizenship_switches_from_the_environment(monkeypatch, variable, value, foundling, permanent,
                                                             citizen):
    monkeypatch.setenv(variable, value)
    rules = rules_from_env()
    flag = ChildAtRiskFlag.raise_for_birth(
        flag_id="f1", child_id="child-1", birth_date=date(2024, 3, 1), born_in_kazakhstan=True, foundling=foundling,
        parents=[] if foundling else ["stateless", "stateless"], parents_reside_permanently=permanent,
        flagged_on=date(2024, 3, 4), rules=rules)
    assert flag.rule is (ChildAtRiskRule.FOUNDLING if foundling else ChildAtRiskRule.STATELESS_PARENTS)
    assert flag.presumed_kazakh_citizen(rules) is citizen


@pytest.mark.parametrize(("variable", "value"), [
    ("STATELESSNESS_APPEAL_WINDOW_DAYS", "0"),
    ("STATELESSNESS_APPEAL_WINDOW_DAYS", "-30"),
    ("STATELESSNESS_CERTIFICATE_VALIDITY_YEARS", "0"),
    ("STATELESSNESS_FOUNDLINGS_ARE_CITIZENS", "perhaps"),
    ("STATELESSNESS_INQUIRY_REPLY_MONTHS", "six"),
])
def test_an_invalid_rule_refuses_start_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        create()


def test_a_decision_maximum_below_the_due_period_refuses_start(monkeypatch):
    # Before, the service silently raised the maximum to the due period; now the inconsistency is refused.
    monkeypatch.setenv("STATELESSNESS_DECISION_DUE_MONTHS", "9")
    monkeypatch.setenv("STATELESSNESS_DECISION_MAX_MONTHS", "6")
    with pytest.raises(SettingsError, match="STATELESSNESS_DECISION_MAX_MONTHS"):
        create()


def test_every_rule_is_a_setting_named_in_docs_domain_md():
    from pana_dev.testing import assert_rules_documented
    from statelessness.domain.rules import StatelessnessRules
    from statelessness.settings import StatelessnessSettings

    assert_rules_documented(StatelessnessRules, StatelessnessSettings)
