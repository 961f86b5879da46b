"""The in-process registration service most tests drive: real app, real database, no broker.

It signs document QR payloads with a key of its own, and the daily coming-of-age certificate pass
is off, so no background pass runs beside a test (tests call that pass with a date of their own).
"""

from __future__ import annotations

import pytest

from pana_dev.testing import service_harness
from registration.app import create
from registration.settings import RegistrationSettings


@pytest.fixture
async def reg(tmp_path):
    async with service_harness(create, RegistrationSettings, tmp_path, signing_key_path=str(tmp_path / "signing.pem"),
                               stateless_certificate_watch_enabled=False) as harness:
        yield harness


# -- a family's certificates through the real flow (the printed-certificate and verification-page tests) --------

FAMILY_BIRTH = "1988-03-21"


async def issue_certificates(reg, key: str, *, birth_date: str = FAMILY_BIRTH, names: dict | None = None,
                             kinds: tuple[str, ...] = ("asylum_seeker_certificate", "refugee_certificate",
                                                       "stateless_person_certificate")) -> dict[str, tuple[str, dict]]:
    """Persons with Cyrillic names (or `names`), one per kind, each given a certificate the way the services do
    it: an asylum-seeker certificate rsd requests, a refugee certificate on recognition, a stateless person's
    certificate on determination. Returns {kind: (person_id, the document as the documents list shows it)}."""
    from datetime import date, timedelta

    from pana_events.events import rsd
    from pana_events.events import statelessness as sl

    today = date.today()
    issued = {}
    for n, kind in enumerate(kinds):
        body = {**(names or {"given_name": "Әлихан", "family_name": "Нұрлыбеков", "patronymic": "Серікұлы"}),
                "birth_date": birth_date, "sex": "male", "citizenship": ["AFG"], "override_reason": "test family"}
        r = await reg.client.post("/api/v1/persons", json=body, headers={
            **reg.headers("registration-officer"), "Idempotency-Key": f"family-{key}-{n}-0001"})
        assert r.status_code == 201, r.text
        pid = r.json()["person_id"]
        if kind == "stateless_person_certificate":
            await reg.deliver(sl.StatelessnessDetermined(case_id=f"c-{key}-{n}", person_id=pid, outcome="stateless",
                                                         decided_on=today), subject=pid)
        else:
            await reg.deliver(rsd.CertificateRequested(application_id=f"a-{key}-{n}", person_id=pid, member_ids=[pid],
                                                       valid_from=today, valid_until=today + timedelta(days=90),
                                                       reason="registration"), subject=pid)
            if kind == "refugee_certificate":
                await reg.deliver(rsd.DecisionIssued(application_id=f"a-{key}-{n}", person_id=pid, member_ids=[pid],
                                                     outcome="recognised", decided_on=today), subject=pid)
        r = await reg.client.get(f"/api/v1/persons/{pid}/documents", headers=reg.headers("registration-officer"))
        [document] = [d for d in r.json()["items"] if d["kind"] == kind and d["status"] == "valid"]
        issued[kind] = (pid, document)
    return issued


@pytest.fixture(scope="session")
def certificates_issued():
    """`await certificates_issued(reg, key)`: see `issue_certificates`."""
    return issue_certificates
