"""The committed Keycloak realm is the one pana_dev.keycloak_realm builds from pana_kit.roles, and holds what
issue #15 asks: the eight roles, a scope per action, an audience per service, at+jwt tokens, a client per
calling system."""

from __future__ import annotations

import json
from pathlib import Path

from pana_dev.keycloak_realm import CONSOLE, SYSTEMS, VERIFY_PAGE, realm, realm_json
from pana_kit.roles import ROLE_SCOPES, ROLES, SCOPES, SERVICES

COMMITTED = Path(__file__).resolve().parents[3] / "deploy" / "keycloak" / "pana-realm.json"


def test_the_committed_realm_is_generated_from_the_roles():
    assert COMMITTED.read_text() == realm_json(), (
        "deploy/keycloak/pana-realm.json is stale: python -m pana_dev.launchers.keycloak realm > deploy/keycloak/pana-realm.json")


def test_roles_scopes_audiences_and_clients():
    r = json.loads(COMMITTED.read_text())
    assert [role["name"] for role in r["roles"]["realm"]] == list(ROLES)
    scopes = {s["name"]: s for s in r["clientScopes"]}
    assert set(SCOPES) <= set(scopes)
    for service in SERVICES:
        [mapper] = scopes[f"aud-{service}"]["protocolMappers"]
        assert mapper["protocolMapper"] == "oidc-audience-mapper"
        assert mapper["config"]["included.custom.audience"] == service
    # A scope reaches a token only with a role that grants it.
    mappings = {m["clientScope"]: set(m["roles"]) for m in r["scopeMappings"]}
    for scope in SCOPES:
        assert mappings[scope] == {role for role in ROLES if scope in ROLE_SCOPES[role]}
    clients = {c["clientId"]: c for c in r["clients"]}
    assert set(clients) == {*SYSTEMS, CONSOLE, VERIFY_PAGE}
    for client_id, client in clients.items():
        assert client["attributes"]["access.token.header.type.rfc9068"] == "true"
        if client_id == VERIFY_PAGE:  # a page keeps no secret: public, authorization code with PKCE only
            assert client["publicClient"] and "secret" not in client and not client["directAccessGrantsEnabled"]
            assert client["attributes"]["pkce.code.challenge.method"] == "S256"
            assert set(client["defaultClientScopes"]) >= {"registration:verify", "aud-registration"}
        else:
            assert not client["publicClient"] and client["secret"].endswith("-dev-secret")
        assert any(m["config"].get("claim.name") == "client_id" for m in client["protocolMappers"])
    for client_id, (role, services, _) in SYSTEMS.items():
        client = clients[client_id]
        assert client["serviceAccountsEnabled"] and not client["directAccessGrantsEnabled"]
        assert {f"aud-{s}" for s in services} <= set(client["defaultClientScopes"])
        assert ROLE_SCOPES[role] <= set(client["defaultClientScopes"])
        [account] = [u for u in r["users"] if u.get("serviceAccountClientId") == client_id]
        assert account["realmRoles"] == [role]


def test_realm_is_plain_json():
    assert json.loads(realm_json()) == realm()


def test_every_description_fits_keycloaks_column():
    """Keycloak stores descriptions in VARCHAR(255): a longer one makes the realm import fail at start."""
    from pana_dev.keycloak_realm import realm

    r = realm()
    described = [*r["roles"]["realm"], *r.get("clientScopes", []), *r.get("clients", [])]
    too_long = [(d.get("name") or d.get("clientId"), len(d["description"])) for d in described
                if len(d.get("description") or "") > 255]
    assert too_long == []
