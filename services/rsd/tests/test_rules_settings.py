"""The open rules are configuration: RSD_* settings reach the domain's rules; an invalid one refuses start."""

from __future__ import annotations

from datetime import date

import pytest
from api_flows import Api, decided as decided_via_api, harness
from rsd_flows import decided, refused, registered

from pana_kit.settings import SettingsError, load_settings
from rsd.app import create
from rsd.domain import CessationGround, EndingKind, Outcome, ProcessingMode, RsdRules
from rsd.domain.rules import KNOWN_ENDING_GROUNDS
from rsd.settings import RsdSettings


def rules_from_env() -> RsdRules:
    return load_settings(RsdSettings).rules()


def test_the_defaults_are_the_domain_defaults():
    assert RsdSettings().rules() == RsdRules()


def test_appeal_window_from_the_environment(monkeypatch):
    monkeypatch.setenv("RSD_APPEAL_WINDOW_DAYS", "45")
    app = decided(rules=rules_from_env(), notify_on=date(2025, 3, 3))
    assert app.appeal_deadline == date(2025, 4, 17)  # 45 days after notification, not 30


async def test_appeal_window_from_the_environment_through_the_api(monkeypatch, tmp_path):
    monkeypatch.setenv("RSD_APPEAL_WINDOW_DAYS", "45")
    async with harness(tmp_path) as h:
        api = Api(h)
        app_id = await decided_via_api(api)
        assert (await api.get(app_id)).json()["appeal_deadline"] == "2026-04-17"  # served 2026-03-03


def test_certificate_validity_and_accelerated_timeline_from_the_environment(monkeypatch):
    monkeypatch.setenv("RSD_CERTIFICATE_VALIDITY_MONTHS", "6")
    monkeypatch.setenv("RSD_ACCELERATED_DECISION_PERIOD_MONTHS", "2")
    rules = rules_from_env()
    assert rules.certificate_validity_months == 6
    app = registered(rules=rules)
    app.set_processing_mode(mode=ProcessingMode.ACCELERATED, reason="manifestly well-founded")
    assert app.decision_period_months == 2


def test_ending_grounds_from_the_environment(monkeypatch):
    monkeypatch.setenv("RSD_ENDING_GROUNDS", "1C(1), 1C(3),misrepresentation")
    rules = rules_from_env()
    assert rules.ending_grounds == ("1C(1)", "1C(3)", "misrepresentation")
    app = decided(Outcome.RECOGNISED, rules=rules)
    with refused("ending_ground"):  # a Convention ground Kazakhstan's rules (so configured) do not admit
        app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.CEASED_CIRCUMSTANCES,),
                               on=date(2025, 6, 2))
    app.give_ending_notice(kind=EndingKind.CESSATION, grounds=(CessationGround.NEW_NATIONALITY,), on=date(2025, 6, 2))
    assert set(RsdRules().ending_grounds) == set(KNOWN_ENDING_GROUNDS)


@pytest.mark.parametrize(("variable", "value"), [
    ("RSD_APPEAL_WINDOW_DAYS", "29"),  # the law: at least 30 days
    ("RSD_APPEAL_WINDOW_DAYS", "thirty"),
    ("RSD_CERTIFICATE_VALIDITY_MONTHS", "-3"),
    ("RSD_ACCELERATED_DECISION_PERIOD_MONTHS", "-1"),
    ("RSD_ENDING_GROUNDS", "1C(1),homesickness"),
    ("RSD_ENDING_GROUNDS", ""),
])
def test_an_invalid_rule_refuses_start_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable.replace("(", r"\(")):
        create()


def test_inconsistent_periods_refuse_start_naming_both_variables():
    with pytest.raises(SettingsError) as info:
        RsdSettings(decision_period_months=13, decision_period_max_months=12).rules()
    assert "RSD_DECISION_PERIOD_MONTHS" in str(info.value) and "RSD_DECISION_PERIOD_MAX_MONTHS" in str(info.value)



def test_every_rule_is_a_setting_named_in_docs_domain_md():
    from pana_dev.testing import assert_rules_documented
    from rsd.domain.rules import RsdRules
    from rsd.settings import RsdSettings

    assert_rules_documented(RsdRules, RsdSettings)
