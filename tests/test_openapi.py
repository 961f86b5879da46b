"""Every service's OpenAPI document is one an integrator can trust (issue 17), tested in process, no broker.

- the document: verbNoun operationIds unique per document, one Problem component, `security` on every operation,
  an example on every request body, required parameter and JSON response, each valid against its schema;
- schemathesis' explicit-examples phase: every documented example is sent ("Try it out" in /docs) and accepted
  as documented (never refused as not matching the schema; a documented status; the body and the ETag,
  Location and Retry-After headers as documented for that status);
- Redocly CLI (`scripts/redocly`, installed from npm under .cache/) lints each document with zero errors.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import schemathesis
# Compiled here, at collection, not at the first example test: CPython 3.11's AST builder can fail with
# "SystemError: AST constructor recursion depth mismatch" (python/cpython#106905) when a module is compiled while
# another thread of the process compiles too (a service's executor importing lazily), and these modules are
# compiled from source (PYTHONDONTWRITEBYTECODE). Seen once in a quick-suite run.
import schemathesis.specs.openapi.schemas  # noqa: F401

from pana_dev.openapi_checks import (accept_documented_example, cases_without_input, document_problems, examples_schema,
                                     explicit_settings, openapi_app, stop_apps)

ROOT = Path(__file__).resolve().parents[1]


def _registration(directory: Path):
    from registration.app import create
    from registration.settings import RegistrationSettings

    return openapi_app(create, RegistrationSettings, directory, signing_key_path=str(directory / "signing.pem"),
                       stateless_certificate_watch_enabled=False)


def _rsd(directory: Path):
    from rsd.app import create
    from rsd.settings import RsdSettings

    return openapi_app(create, RsdSettings, directory)


def _statelessness(directory: Path):
    from statelessness.app import create
    from statelessness.settings import StatelessnessSettings

    return openapi_app(create, StatelessnessSettings, directory)


def _bridge(directory: Path):
    from civil_registry_bridge.app import create
    from civil_registry_bridge.settings import BridgeSettings

    return openapi_app(create, BridgeSettings, directory)


SERVICES = {"registration": _registration, "rsd": _rsd, "statelessness": _statelessness,
            "civil-registry-bridge": _bridge}


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    built = {name: make(tmp_path_factory.mktemp(name)) for name, make in SERVICES.items()}
    yield built
    stop_apps()


@pytest.fixture(scope="module")
def documents(apps):
    return {name: app.openapi() for name, app in apps.items()}


@pytest.mark.parametrize("service", list(SERVICES))
def test_document_is_one_an_integrator_can_trust(service, documents):
    document = documents[service]
    assert document_problems(document) == []
    text = json.dumps(document)
    assert text.count('"required": ["type", "title", "status", "detail"]') == 1, "the Problem schema is inlined"
    scheme = document["components"]["securitySchemes"]["OAuth2"]
    assert set(scheme["flows"]) == {"clientCredentials", "authorizationCode"}
    open_paths = {"/healthz", "/readyz", "/metrics", "/asyncapi.json"}
    for path in open_paths:
        assert document["paths"][path]["get"]["security"] == [], path


@pytest.mark.parametrize("service", list(SERVICES))
def test_if_match_is_required_where_its_absence_is_428(service, documents):
    checked = 0
    for item in documents[service]["paths"].values():
        for operation in item.values():
            if_match = [p for p in operation.get("parameters", []) if p["name"] == "If-Match"]
            if "428" in operation.get("responses", {}):
                assert if_match and if_match[0]["required"] is True, operation["operationId"]
                assert "ETag" in next(r for s, r in operation["responses"].items() if s.startswith("2"))["headers"]
                checked += 1
    if service != "civil-registry-bridge":
        assert checked, "no operation documents 428"


# -- schemathesis' explicit-examples phase -------------------------------------------------------------------


def _schema_fixture(service: str, name: str):
    @pytest.fixture(scope="module", name=name)
    def schema(apps):
        return examples_schema(apps[service])

    return schema


registration_examples = _schema_fixture("registration", "registration_examples")
rsd_examples = _schema_fixture("rsd", "rsd_examples")
statelessness_examples = _schema_fixture("statelessness", "statelessness_examples")
bridge_examples = _schema_fixture("civil-registry-bridge", "bridge_examples")


@schemathesis.pytest.from_fixture("registration_examples").parametrize()
@explicit_settings()
def test_registration_examples_are_accepted_as_documented(case, apps):
    accept_documented_example(case, apps["registration"])


@schemathesis.pytest.from_fixture("rsd_examples").parametrize()
@explicit_settings()
def test_rsd_examples_are_accepted_as_documented(case, apps):
    accept_documented_example(case, apps["rsd"])


@schemathesis.pytest.from_fixture("statelessness_examples").parametrize()
@explicit_settings()
def test_statelessness_examples_are_accepted_as_documented(case, apps):
    accept_documented_example(case, apps["statelessness"])


@schemathesis.pytest.from_fixture("bridge_examples").parametrize()
@explicit_settings()
def test_bridge_examples_are_accepted_as_documented(case, apps):
    accept_documented_example(case, apps["civil-registry-bridge"])


@pytest.mark.parametrize("service,fixture", [("registration", "registration_examples"), ("rsd", "rsd_examples"),
                                             ("statelessness", "statelessness_examples"),
                                             ("civil-registry-bridge", "bridge_examples")])
def test_operations_without_input_answer_as_documented(service, fixture, apps, request):
    cases = cases_without_input(request.getfixturevalue(fixture))
    assert {case.path for case in cases} >= {"/healthz", "/readyz", "/metrics", "/asyncapi.json"}
    for case in cases:
        accept_documented_example(case, apps[service])


# -- Redocly CLI ------------------------------------------------------------------------------------------


def test_redocly_lint_finds_no_error(documents, tmp_path):
    if not (shutil.which("node") and shutil.which("npm")):
        message = "Redocly CLI needs node and npm (CI installs them: .ci/run); not found on PATH"
        if os.environ.get("PANA_REQUIRE_REDOCLY") == "1":
            pytest.fail(message)
        pytest.skip(message)
    paths = []
    for name, document in documents.items():
        path = tmp_path / f"{name}.openapi.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    result = subprocess.run([str(ROOT / "scripts" / "redocly"), "lint", "--format", "stylish", *paths],
                            capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
