"""What a service needs at run time is inside its package, so an installed wheel (not editable) has it.

The deploy smoke test (tests/deploy) proves it end to end from built wheels; these are the fast checks.
"""

from __future__ import annotations

import importlib
import json
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


# -- the README's walk-through from a fresh shell: nothing on PATH but the system's (no uv, no .venv/bin)

def _fresh_shell_env() -> dict[str, str]:
    import os
    import shutil

    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": "/usr/bin:/bin"}
    uv = shutil.which("uv") or os.path.expanduser("~/.local/bin/uv")
    if os.path.dirname(uv) not in ("/usr/bin", "/bin", os.path.expanduser("~/.local/bin")):
        env["PATH"] += f":{os.path.dirname(uv)}"  # where this machine keeps uv; bootstrap finds ~/.local/bin itself
    return env


def test_make_token_prints_a_dev_token_alone_from_a_fresh_shell():
    import subprocess

    import jwt

    from pana_kit.settings import DEV_ISSUER, DEV_SECRET

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["make", "--no-print-directory", "token", "ROLE=eligibility-officer", "OFFICE=astana"],
                          cwd=root, env=_fresh_shell_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (token,) = done.stdout.split()  # alone on stdout: TOKEN=$(make token ROLE=...) works
    claims = jwt.decode(token, DEV_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["iss"] == DEV_ISSUER and "eligibility-officer" in json.dumps(claims) and "astana" in json.dumps(claims)


def test_make_token_without_a_role_names_the_roles():
    import subprocess

    from pana_kit.roles import ROLES

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(["make", "--no-print-directory", "token"], cwd=root, env=_fresh_shell_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and done.stdout == ""
    assert "make token ROLE=" in done.stderr and all(role in done.stderr for role in ROLES)


def test_make_run_needs_neither_uv_nor_the_venv_on_path():
    """`make run` execs the venv's `pana` (no `uv run`: one sync check, not three)."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    plan = subprocess.run(["make", "--no-print-directory", "-n", "run"], cwd=root, env=_fresh_shell_env(),
                          capture_output=True, text=True, timeout=60).stdout
    assert "scripts/bootstrap" in plan and ".venv/bin/pana run" in plan and "uv run" not in plan


# -- a module-level import of a library the package does not declare fails only where it is installed alone ----

DISTRIBUTIONS = {"registration": "services/registration", "rsd": "services/rsd", "statelessness": "services/statelessness",
                 "civil-registry-bridge": "services/civil-registry-bridge", "pana-kit": "shared/pana-kit",
                 "pana-events": "shared/pana-events"}


def _declared_closure(distribution: str) -> set[str]:
    """The distribution and everything its installed metadata requires, transitively (extras left out: a module
    imported at load must not need one)."""
    import re
    from importlib.metadata import PackageNotFoundError, requires

    seen, todo = set(), [distribution]
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [re.match(r"[A-Za-z0-9_.\-]+", r).group(0) for r in needs if "extra ==" not in r]
    return seen


def _module_level_imports(source: Path) -> set[str]:
    """Top-level names imported when the module loads (not inside a function, not under TYPE_CHECKING)."""
    import ast

    names: set[str] = set()
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for inner in ast.walk(node) if isinstance(node, (ast.Try, ast.If)) else [node]:
            if isinstance(inner, ast.Import):
                names |= {alias.name.split(".")[0] for alias in inner.names}
            elif isinstance(inner, ast.ImportFrom) and inner.level == 0 and inner.module:
                names.add(inner.module.split(".")[0])
    return names


@pytest.mark.parametrize("distribution", sorted(DISTRIBUTIONS))
def test_every_library_imported_at_load_is_a_declared_dependency(distribution):
    """The deploy smoke test found registration importing numpy at load without declaring it (the workspace's
    venv had it through another package; a wheel installed alone did not)."""
    import re
    import sys
    from importlib.metadata import packages_distributions

    providers = packages_distributions()
    allowed = _declared_closure(distribution)
    root = Path(__file__).resolve().parents[1] / DISTRIBUTIONS[distribution] / "src"
    missing = {}
    for source in root.rglob("*.py"):
        for name in _module_level_imports(source) - set(sys.stdlib_module_names):
            given_by = {re.sub(r"[-_.]+", "-", d).lower() for d in providers.get(name, [])}
            if given_by and not given_by & allowed:
                missing.setdefault(name, []).append(str(source.relative_to(root)))
    assert missing == {}, f"{distribution} imports at load what it does not declare: {missing}"
