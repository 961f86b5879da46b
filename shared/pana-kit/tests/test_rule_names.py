"""Every rule name a service can emit is snake_case (issue 13: one case style in every service's problem+json
`rule`, OpenAPI and AsyncAPI), read from the source so that a new rule cannot bring another style back.

A rule name reaches a client as problem+json `rule` (RuleViolation, InvalidInput, NotFound, ...: `rule=`, or
RuleViolation's first argument), as `rule` in a problem's `errors` list (the bridge's `Problem(field, rule,
detail)`), or in an event (a `...Rule` enum's value, e.g. statelessness' ChildAtRiskRule). The scan reads the
syntax tree of every module under services/*/src and shared/*/src and collects: string literals given as
`rule=` or as RuleViolation's first argument or a field problem's second, the values of `RULE_*` constants, the
values of `"rule"` keys in dict literals, the members of enums named `*Rule`, and the literal parts of an
f-string given as `rule=`.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ERRORS = {"RuleViolation", "AccessDenied", "InvalidInput", "NotFound", "DomainError", "PreconditionFailed", "PreconditionRequired"}


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.AST) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def rule_names(path: Path) -> list[tuple[str, int, str]]:
    """(rule name, line, how found) for one module; f-string parts are checked as fragments."""
    found: list[tuple[str, int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "rule":
                    if (value := _literal(kw.value)) is not None:
                        found.append((value, node.lineno, "rule="))
                    elif isinstance(kw.value, ast.JoinedStr):  # f"{...}_value": each literal part, as a fragment
                        for part in kw.value.values:
                            if (text := _literal(part)) is not None:
                                found.append(("x" + text.strip("_") if text.strip("_") else "x", node.lineno, "f-string"))
            name = _name(node.func)
            if name in ("RuleViolation", "AccessDenied") and node.args and (value := _literal(node.args[0])) is not None:
                found.append((value, node.lineno, "RuleViolation(...)"))
            if (name == "Problem" and len(node.args) >= 2 and _literal(node.args[0]) is not None
                    and (value := _literal(node.args[1])) is not None):  # a field problem: (field, rule, detail)
                found.append((value, node.lineno, "Problem(field, rule, ...)"))
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.startswith("RULE_") for t in targets) and node.value is not None:
                if (value := _literal(node.value)) is not None:
                    found.append((value, node.lineno, "RULE_ constant"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if key is not None and _literal(key) == "rule" and (text := _literal(value)) is not None:
                    found.append((text, node.lineno, '{"rule": ...}'))
        elif isinstance(node, ast.ClassDef) and node.name.endswith("Rule") and any(
                _name(b) in ("StrEnum", "Enum", "str") for b in node.bases):
            for item in node.body:
                if isinstance(item, ast.Assign) and (value := _literal(item.value)) is not None:
                    found.append((value, item.lineno, f"{node.name} member"))
    return found


def every_rule_name() -> dict[str, list[tuple[str, str]]]:
    """Each rule name -> where it is written (path:line, how), over every service and shared package."""
    names: dict[str, list[tuple[str, str]]] = {}
    sources = sorted([*ROOT.glob("services/*/src/**/*.py"), *ROOT.glob("shared/*/src/**/*.py")])
    for path in sources:
        for name, line, how in rule_names(path):
            names.setdefault(name, []).append((f"{path.relative_to(ROOT)}:{line}", how))
    return names


def test_every_rule_name_is_snake_case():
    names = every_rule_name()
    wrong = {name: where for name, where in names.items() if not SNAKE.match(name)}
    assert not wrong, f"rule names are snake_case (e.g. mrz_format): {wrong}"


def test_the_scan_finds_the_rules_of_every_service():
    """Guard against a scan that finds nothing: known rules of each service, by each way of writing one."""
    names = every_rule_name()
    for known in ("mrz_format", "appeal_window", "appeal_by_different_officer", "child_born_after_mother",
                  "field_required", "document_version", "idempotency_key_same_request", "stateless_parents"):
        assert known in names, known
    services = {where.split("/")[1] for places in names.values() for where, _ in places if where.startswith("services/")}
    assert services == {"registration", "rsd", "statelessness", "civil-registry-bridge"}


def test_a_kebab_case_rule_is_caught(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('RULE_X = "child-born-after-mother"\n'
                      'raise RuleViolation("some-rule", "detail")\n'
                      'raise InvalidInput("d", rule="Bad Name")\n'
                      'p = Problem("child.sex", "sex-known", "detail")\n')
    assert [n for n, _, _ in rule_names(module)] == ["child-born-after-mother", "some-rule", "Bad Name", "sex-known"]
    assert not any(SNAKE.match(n) for n, _, _ in rule_names(module))
