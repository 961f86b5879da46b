"""Open rules as settings: one settings field per dataclass field, refused at start with the variable named."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

import pytest
from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from pana_kit.settings import ServiceSettings, SettingsError, env_name, load_settings, rules_from_settings, split_list


@dataclass(frozen=True)
class Rules:
    window_days: int = 30
    limit_days: int = 60
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if self.window_days > self.limit_days:
            raise ValueError("window_days exceeds limit_days")


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")

    window_days: int = Field(30, ge=0)
    limit_days: int = Field(60, ge=0)
    holidays: Annotated[tuple[date, ...], NoDecode] = ()

    _split = field_validator("holidays", mode="before")(lambda cls, v: split_list(v))


def test_a_setting_from_the_environment_reaches_the_rules(monkeypatch):
    monkeypatch.setenv("DEMO_WINDOW_DAYS", "45")
    monkeypatch.setenv("DEMO_HOLIDAYS", "2026-01-01, 2026-01-02")
    settings = load_settings(DemoSettings)
    rules = rules_from_settings(settings, Rules, holidays=frozenset(settings.holidays))
    assert rules == Rules(window_days=45, holidays=frozenset({date(2026, 1, 1), date(2026, 1, 2)}))
    assert env_name(DemoSettings, "window_days") == "DEMO_WINDOW_DAYS"


@pytest.mark.parametrize(("variable", "value"), [("DEMO_WINDOW_DAYS", "-1"), ("DEMO_HOLIDAYS", "2026-13-01")])
def test_an_invalid_value_refuses_start_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings(DemoSettings)


def test_the_dataclass_own_checks_name_the_variables():
    with pytest.raises(SettingsError, match="DEMO_WINDOW_DAYS.*DEMO_LIMIT_DAYS|DEMO_LIMIT_DAYS.*DEMO_WINDOW_DAYS"):
        rules_from_settings(DemoSettings(window_days=90), Rules)
