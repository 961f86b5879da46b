"""What a service needs at run time is inside its package, so an installed wheel (not editable) has it.

The deploy smoke test (tests/deploy) proves it end to end from built wheels; these are the fast checks.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PACKAGES = ("registration", "rsd", "statelessness", "civil_registry_bridge")


@pytest.mark.parametrize("package", PACKAGES)
def test_migrations_are_package_data_found_from_the_package(package):
    module = importlib.import_module(package)
    app = importlib.import_module(f"{package}.app")
    inside = Path(module.__file__).resolve().parent / "migrations"
    assert app.MIGRATIONS == inside, "migrations must be found inside the installed package, not beside src/"
    assert (inside / "env.py").is_file() and any((inside / "versions").glob("0001_*.py"))


def test_pana_migrations_revision_writes_into_the_package(monkeypatch):
    from pana_kit import cli, migrations

    seen = []
    monkeypatch.setattr(migrations, "make_revision", lambda path, message: seen.append((path, message)))
    assert cli.main(["migrations", "revision", "--service", "civil-registry-bridge", "-m", "x"]) == 0
    import civil_registry_bridge

    assert seen == [(Path(civil_registry_bridge.__file__).resolve().parent / "migrations", "x")]
