"""Verification on instances of its own (REGISTRATION_ROUTE_GROUPS=verify): service providers never queue behind
officers' matching. Such an instance serves verification and the QR public key, and nothing else."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from pana_dev.testing import route_scopes, service_harness
from registration.app import create
from registration.domain import RegistrationRules, document_number, issue_refugee_certificate
from registration.settings import RegistrationSettings
from registration.store.repository import IssuedDocuments


async def test_a_verify_instance_serves_verification_and_nothing_else(tmp_path):
    number = document_number("refugee_certificate", 2026, 4321)
    async with service_harness(create, RegistrationSettings, tmp_path, route_groups="verify",
                               signing_key_path=str(tmp_path / "k.pem"), run_consumers=True,
                               run_outbox_relay=True) as h:
        paths = {path for _method, path in route_scopes(h.app)}
        assert paths == {"/api/v1/verify/{document_number}", "/api/v1/documents/public-key",
                         "/api/v1/audit", "/api/v1/audit/verify"}, paths
        # an officer's route is not there (404), whoever asks
        r = await h.client.get("/api/v1/persons", headers=h.headers("registration-officer"))
        assert r.status_code == 404
        assert (await h.client.post("/api/v1/persons", json={}, headers=h.headers("registration-officer"))
                ).status_code in (404, 405)
        # nothing consumed or relayed here, whatever the settings said
        assert not h.app.state.settings.run_consumers and not h.app.state.settings.run_outbox_relay
        doc = issue_refugee_certificate(number=number, holder_person_id="p1", holder_birth_date=date(1990, 4, 12),
                                        issued_on=date.today(), rules=RegistrationRules())
        async with h.app.state.db.transaction() as session:
            await IssuedDocuments(session).add(doc)
        r = await h.client.get(f"/api/v1/verify/{number}", params={"birth_date": "1990-04-12"},
                               headers=h.headers("service-provider", purpose=None))
        assert r.status_code == 200 and r.json()["result"] == "valid", r.text
        # the verification page and its key are public and served here (the officers' printing is not)
        assert (await h.client.get("/verify")).status_code == 200
        assert (await h.client.get("/.well-known/pana-verification-key")).status_code == 200
        spec = (await h.client.get("/openapi.json")).json()
        assert "/api/v1/verify/{document_number}" in spec["paths"] and "/api/v1/persons" not in spec["paths"]


async def test_an_officers_instance_has_no_verification(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path, route_groups="officers") as h:
        paths = {path for _method, path in route_scopes(h.app)}
        assert "/api/v1/persons" in paths and "/api/v1/documents/{document_id}/qr" in paths
        assert "/api/v1/verify/{document_number}" not in paths


def test_route_groups_are_checked():
    assert RegistrationSettings(route_groups="verify, officers").served_groups() == {"verify", "officers"}
    assert RegistrationSettings().served_groups() == {"verify", "officers"}
    with pytest.raises(ValidationError):
        RegistrationSettings(route_groups="verify,matching")
