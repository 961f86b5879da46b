"""The example world of /docs (pana_kit.sandbox): the records registration's documented examples name exist, in
the state those examples need, once per database, and only in dev mode."""

import pytest
from pana_dev.testing import service_harness
from pana_kit.sandbox import sandbox_id
from registration.app import create
from registration.sandbox import SANDBOX
from registration.settings import RegistrationSettings


def _settings(tmp_path, **overrides):
    return {"signing_key_path": str(tmp_path / "signing.pem"), "stateless_certificate_watch_enabled": False,
            "sandbox_examples": True, **overrides}


def _documented(app, operation_id: str) -> dict[str, object]:
    for item in app.openapi()["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return {p["name"]: p.get("example") for p in operation.get("parameters", [])}
    raise AssertionError(operation_id)


async def test_the_documented_certificate_verifies_as_valid_for_its_holder(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path, **_settings(tmp_path)) as reg:
        example = _documented(reg.app, "verifyDocument")
        r = await reg.client.get(f"/api/v1/verify/{example['document_number']}",
                                 params={"birth_date": example["birth_date"]},
                                 headers=reg.headers("service-provider", purpose=None))
        assert r.status_code == 200, r.text
        assert (r.json()["result"], r.json()["status_category"]) == ("valid", "refugee"), r.json()
        person = _documented(reg.app, "getPerson")["person_id"]
        assert person == sandbox_id("registration:person:read")
        r = await reg.client.get(f"/api/v1/persons/{person}", headers=reg.headers("registration-officer"))
        assert r.status_code == 200 and r.json()["given_name"] == "Farhad"


async def test_seeded_once_per_database(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path, **_settings(tmp_path)) as reg:
        first = await reg.published()
    async with service_harness(create, RegistrationSettings, tmp_path, **_settings(tmp_path)) as reg:
        assert await reg.published() == first  # the second start found the marker and created nothing
        r = await reg.client.get(SANDBOX.marker, headers=reg.headers("registration-officer"))
        assert r.status_code == 200


def test_refused_outside_dev_mode(tmp_path):
    settings = RegistrationSettings(dev_mode=False, sandbox_examples=True, database_url="sqlite+aiosqlite:///x.db")
    assert any("SANDBOX_EXAMPLES" in problem for problem in settings.startup_problems())


async def test_without_the_setting_nothing_is_seeded(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path,
                               **_settings(tmp_path, sandbox_examples=False)) as reg:
        assert await reg.published() == []
