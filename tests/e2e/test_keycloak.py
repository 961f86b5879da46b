"""Issue #15: a real identity provider. Keycloak (deploy/keycloak/pana-realm.json) issues the tokens; the four
services run in production mode (dev mode off) and trust only its issuer and JWKS.

Systems log in with client credentials, officers with a password grant (enabled in the development realm only);
every service answers one read and one write. A dev token (the HS256 key in the repository) and a token for
another audience are refused.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import date

import httpx
import pytest

from pana_dev.keycloak_realm import CONSOLE, DEV_PASSWORD, dev_secret
from pana_kit.auth import mint_dev_token
from pana_kit.settings import ServiceSettings
from support import HTTP_TIMEOUT, referral_body

pytestmark = pytest.mark.e2e

SERVICES = ("registration", "rsd", "statelessness", "civil-registry-bridge")


def system_token(keycloak, client_id: str) -> str:
    return keycloak.client_credentials(client_id, dev_secret(client_id))


def officer_token(keycloak, username: str) -> str:
    return keycloak.password_grant(CONSOLE, dev_secret(CONSOLE), username, DEV_PASSWORD)


def bearer(token: str, *, key: bool = False, purpose: str | None = "case-work") -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if purpose:
        headers["X-Purpose"] = purpose
    if key:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers


def decoded(token: str) -> tuple[dict, dict]:
    def part(s: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))

    header, body, _ = token.split(".")
    return part(header), part(body)


def expect(response: httpx.Response, *codes: int) -> dict:
    assert response.status_code in codes, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json()


def test_keycloak_issues_rfc9068_access_tokens(keycloak):
    header, claims = decoded(system_token(keycloak, "border-system"))
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    for name in ("iss", "aud", "exp", "iat", "sub", "client_id", "jti"):
        assert claims.get(name), (name, claims)
    assert claims["iss"] == keycloak.issuer and claims["client_id"] == "border-system"
    assert claims["aud"] in ("registration", ["registration"]) and claims["roles"] == ["border-officer"]
    assert claims["scope"].split() == ["registration:refer"]
    _, officer = decoded(officer_token(keycloak, "registration.officer"))
    assert officer["client_id"] == CONSOLE and officer["office"] == "almaty"
    assert "registration:read" in officer["scope"].split() and "rsd:decide" not in officer["scope"].split()
    assert set(officer["aud"]) == set(SERVICES)


def test_every_service_reads_and_writes_with_keycloak_tokens(production_stack, keycloak):
    stack = production_stack
    today = date.today().isoformat()

    # registration: the border system refers (client credentials); a registration officer reads (password grant)
    referral = expect(httpx.post(stack.url("registration") + "/api/v1/border-referrals", json=referral_body(3),
                                 headers=bearer(system_token(keycloak, "border-system"), key=True, purpose=None),
                                 timeout=HTTP_TIMEOUT), 201)
    registrar = officer_token(keycloak, "registration.officer")
    person = expect(httpx.get(f"{stack.url('registration')}/api/v1/persons/{referral['person_id']}",
                              headers=bearer(registrar), timeout=HTTP_TIMEOUT), 200)
    assert person["person_id"] == referral["person_id"]

    # rsd: an eligibility officer lodges and lists
    eligibility = officer_token(keycloak, "eligibility.officer")
    member = {"id": "m1", "person_id": str(uuid.uuid4()), "relationship": "principal", "sex": "female",
              "birth_date": "1990-05-01"}
    lodged = expect(httpx.post(stack.url("rsd") + "/api/v1/applications", json={
        "principal": member, "lodged_on": today, "arrived_on": today, "manner_of_arrival": "regular",
        "register_on": today}, headers=bearer(eligibility, key=True, purpose=None), timeout=HTTP_TIMEOUT), 201)
    listed = expect(httpx.get(stack.url("rsd") + "/api/v1/applications", params={"person_id": member["person_id"]},
                              headers=bearer(eligibility), timeout=HTTP_TIMEOUT), 200)
    assert [a["id"] for a in listed["items"]] == [lodged["id"]]

    # statelessness: a statelessness officer opens a case and lists
    slo = officer_token(keycloak, "statelessness.officer")
    person_id = str(uuid.uuid4())
    case = expect(httpx.post(stack.url("statelessness") + "/api/v1/cases", json={
        "person_id": person_id, "birth_date": "1990-05-01", "reason_note": "applied in person"},
        headers=bearer(slo, key=True, purpose=None), timeout=HTTP_TIMEOUT), 201)
    cases = expect(httpx.get(stack.url("statelessness") + "/api/v1/cases", params={"person_id": person_id},
                             headers=bearer(slo), timeout=HTTP_TIMEOUT), 200)
    assert [c["id"] for c in cases["items"]] == [case["id"]]

    # civil-registry-bridge: the civil registry's system asks for a birth verification and lists
    civil = system_token(keycloak, "civil-registry")
    tag = uuid.uuid4().hex[:8]
    verification = expect(httpx.post(stack.url("civil-registry-bridge") + "/api/v1/birth-verifications", json={
        "child_person_id": str(uuid.uuid4()),
        "child": {"surname": f"Omarov{tag}", "given_name": "Alikhan", "birth_date": today, "sex": "male",
                  "place_of_birth": {"in_kazakhstan": True, "region": "Almaty", "locality": "Almaty"}},
        "mother": {"surname": f"Omarova{tag}", "given_name": "Aigerim", "birth_date": "1998-06-12",
                   "nationality": "unknown", "legal_status": "undocumented"},
        "medical_birth_certificate_number": f"MBC-{tag}"},
        headers=bearer(civil, key=True, purpose=None), timeout=HTTP_TIMEOUT), 201, 202)
    verifications = expect(httpx.get(stack.url("civil-registry-bridge") + "/api/v1/birth-verifications",
                                     headers=bearer(civil), timeout=HTTP_TIMEOUT), 200)
    assert verification["id"] in [v["id"] for v in verifications["items"]]

    # the oversight body's system reads every service's audit log
    auditor = system_token(keycloak, "audit-system")
    for service in SERVICES:
        expect(httpx.get(stack.url(service) + "/api/v1/audit", headers=bearer(auditor, purpose="audit"),
                         timeout=HTTP_TIMEOUT), 200)


def test_production_refuses_dev_tokens_and_tokens_for_another_audience(production_stack, keycloak):
    stack = production_stack
    dev = mint_dev_token(ServiceSettings(), role="supervisor")
    for service in SERVICES:
        r = httpx.get(stack.url(service) + "/api/v1/audit", headers=bearer(dev, purpose="audit"), timeout=HTTP_TIMEOUT)
        assert r.status_code == 401, (service, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    # The service providers' portal holds tokens for registration only.
    portal = system_token(keycloak, "service-provider-portal")
    r = httpx.get(stack.url("rsd") + "/api/v1/applications", params={"person_id": "p-1"}, headers=bearer(portal),
                  timeout=HTTP_TIMEOUT)
    assert r.status_code == 401 and "not for this service" in r.json()["detail"], r.text
    # The border system's token is for registration, but only to refer: reading persons is a 403.
    border = system_token(keycloak, "border-system")
    r = httpx.get(stack.url("registration") + "/api/v1/persons", params={"name": "x"}, headers=bearer(border),
                  timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, r.text
    # An officer without the role gets no scope it grants, whatever the client may ask for.
    eligibility = officer_token(keycloak, "eligibility.officer")
    r = httpx.post(stack.url("statelessness") + "/api/v1/cases", json={"person_id": "p-1", "birth_date": "1990-05-01"},
                   headers=bearer(eligibility, key=True, purpose=None), timeout=HTTP_TIMEOUT)
    assert r.status_code == 403, r.text


def test_z_a_key_rotation_at_keycloak_needs_no_restart(production_stack, keycloak):
    """A new signing key with a higher priority at Keycloak: its tokens carry a key id the services have not
    seen, they fetch the JWKS again (asynchronously, at most every AUTH_JWKS_MIN_REFRESH_SECONDS) and accept them."""
    from support import wait_for

    stack = production_stack
    url = stack.url("rsd") + "/api/v1/audit"
    auditor = system_token(keycloak, "audit-system")
    expect(httpx.get(url, headers=bearer(auditor, purpose="audit"), timeout=HTTP_TIMEOUT), 200)  # JWKS cached
    old_kid = decoded(auditor)[0]["kid"]
    admin = {"Authorization": f"Bearer {keycloak.admin_token()}"}
    realm = expect(httpx.get(f"{keycloak.url}/admin/realms/pana", headers=admin, timeout=HTTP_TIMEOUT), 200)
    created = httpx.post(f"{keycloak.url}/admin/realms/pana/components", headers=admin, timeout=HTTP_TIMEOUT, json={
        "name": "rotated-rsa", "providerId": "rsa-generated", "providerType": "org.keycloak.keys.KeyProvider",
        "parentId": realm["id"], "config": {"priority": ["500"], "enabled": ["true"], "active": ["true"],
                                            "keySize": ["2048"], "algorithm": ["RS256"]}})
    assert created.status_code == 201, created.text
    rotated = system_token(keycloak, "audit-system")
    assert decoded(rotated)[0]["kid"] != old_kid
    wait_for(lambda: httpx.get(url, headers=bearer(rotated, purpose="audit"), timeout=HTTP_TIMEOUT).status_code == 200,
             timeout=120, what="rsd to accept a token signed with Keycloak's new key")
