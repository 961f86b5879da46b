"""`pana` is the kit's command; pana-dev adds its developer commands to it."""

from __future__ import annotations

import importlib

import pytest

from pana_dev.stack import SERVICES
from pana_kit.cli import main


def test_pana_offers_the_kit_and_the_developer_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    for command in ("token", "run", "audit", "keys", "migrations"):
        assert command in listed


def test_pana_token_prints_a_token_last(capsys):
    assert main(["token", "--role", "border-officer"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].count(".") == 2  # a JWT


@pytest.mark.parametrize("spec", SERVICES, ids=lambda s: s.name)
def test_stack_sets_each_service_by_its_own_prefix(spec):
    module = importlib.import_module(f"{spec.module}.settings")
    prefixes = {cls.model_config.get("env_prefix") for cls in vars(module).values()
                if isinstance(cls, type) and cls.__module__ == module.__name__ and hasattr(cls, "model_config")}
    assert spec.env_prefix in prefixes
