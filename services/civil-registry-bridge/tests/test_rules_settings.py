"""The open rules are configuration: BRIDGE_* settings reach the domain's rules; an invalid one refuses start."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from bridge_support import Simulator, bridge

from civil_registry_bridge.app import create
from civil_registry_bridge.domain.rules import KAZAKHSTAN_FIXED_HOLIDAYS_2026_2027, BridgeRules
from civil_registry_bridge.settings import BridgeSettings
from pana_kit.settings import SettingsError, load_settings

NAURYZ_EVE = date(2026, 3, 19)  # a Thursday; Nauryz is 21-23 March (Sat-Mon)


def test_kazakhstan_fixed_holidays_of_2026_and_2027_are_the_default():
    holidays = BridgeSettings().rules().public_holidays
    assert holidays == KAZAKHSTAN_FIXED_HOLIDAYS_2026_2027 == BridgeRules().public_holidays
    assert len(holidays) == 28 and {date(2026, 1, 1), date(2026, 12, 16), date(2027, 3, 22)} <= holidays
    # Nauryz Monday is not a working day: Fri 20, Tue 24, Wed 25 (weekends alone would give Tue 24).
    assert BridgeSettings().rules().registration_deadline(NAURYZ_EVE) == date(2026, 3, 25)
    assert BridgeRules(public_holidays=frozenset()).registration_deadline(NAURYZ_EVE) == date(2026, 3, 24)


def test_a_public_holiday_from_the_environment_moves_the_birth_deadline(monkeypatch):
    born = date(2028, 6, 14)  # a Wednesday, outside the shipped years: weekends only -> Mon 19 June
    assert load_settings(BridgeSettings).rules().registration_deadline(born) == date(2028, 6, 19)
    monkeypatch.setenv("BRIDGE_PUBLIC_HOLIDAYS", "2028-06-16, 2028-06-19")
    rules = load_settings(BridgeSettings).rules()
    assert rules.public_holidays == frozenset({date(2028, 6, 16), date(2028, 6, 19)})  # the list replaces the default
    assert rules.registration_deadline(born) == date(2028, 6, 21)  # Thu 15, Tue 20, Wed 21


def test_the_working_days_from_the_environment(monkeypatch):
    monkeypatch.setenv("BRIDGE_BIRTH_REGISTRATION_WORKING_DAYS", "5")
    monkeypatch.setenv("BRIDGE_PUBLIC_HOLIDAYS", "")
    assert load_settings(BridgeSettings).rules().registration_deadline(date(2028, 6, 14)) == date(2028, 6, 21)


async def test_the_api_answers_with_the_configured_deadline(monkeypatch, tmp_path):
    # a birth in the past (the API refuses future births): Wed 11 June 2025, weekends only -> Mon 16 June
    monkeypatch.setenv("BRIDGE_PUBLIC_HOLIDAYS", "2025-06-13,2025-06-16")
    tag = uuid.uuid4().hex[:8]
    doc = {
        "child_person_id": str(uuid.uuid4()),
        "child": {"surname": f"Omarov{tag}", "given_name": "Alikhan", "birth_date": "2025-06-11", "sex": "male",
                  "place_of_birth": {"in_kazakhstan": True, "region": "Almaty", "locality": "Almaty"}},
        "mother": {"surname": f"Omarova{tag}", "given_name": "Aigerim", "birth_date": "1998-06-12",
                   "nationality": "unknown", "legal_status": "undocumented"},
        "medical_birth_certificate_number": f"MBC-{tag}",
    }
    async with bridge(tmp_path, Simulator(), run_worker=False) as h:
        headers = {**h.headers("registration-officer"), "Idempotency-Key": str(uuid.uuid4())}
        r = await h.client.post("/api/v1/birth-verifications", json=doc, headers=headers)
        assert r.status_code in (200, 201, 202), r.text
        assert r.json()["registration_deadline"] == "2025-06-18"  # Thu 12, Tue 17, Wed 18


@pytest.mark.parametrize(("variable", "value"), [
    ("BRIDGE_PUBLIC_HOLIDAYS", "2026-01-01,2026-02-30"),
    ("BRIDGE_PUBLIC_HOLIDAYS", "1 January"),
    ("BRIDGE_BIRTH_REGISTRATION_WORKING_DAYS", "-1"),
    ("BRIDGE_ON_ATTEMPTS_EXHAUSTED", "drop"),
    ("BRIDGE_MINIMUM_MOTHER_AGE", "-5"),
])
def test_an_invalid_rule_refuses_start_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        create()


def test_every_rule_is_a_setting_named_in_docs_domain_md():
    from pana_dev.testing import assert_rules_documented
    from civil_registry_bridge.domain.rules import BridgeRules
    from civil_registry_bridge.settings import BridgeSettings

    assert_rules_documented(BridgeRules, BridgeSettings, renamed={"retry_base_delay": "retry_base_delay_s", "retry_max_delay": "retry_max_delay_s",
                                                         "stuck_after": "stuck_after_s", "status_poll_interval": "status_poll_interval_s"})
