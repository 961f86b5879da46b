"""The Keycloak realm `pana`, built from pana_kit.roles (the one place roles map to scopes).

`deploy/keycloak/pana-realm.json` is this realm written out (`python -m pana_dev.launchers.keycloak realm`); a
test keeps the two equal. What it holds:

- the eight roles (realm roles, pana_kit.roles.ROLES), put into access tokens as the `roles` claim;
- one client scope per action (pana_kit.roles.SCOPES: `registration:read`, `rsd:decide`, ...), listed in the
  token's `scope` claim only when the user holds a role granting it (the scope's role scope mappings); a
  service grants only those the token's roles hold as well;
- one audience client scope per service (`aud-registration`, ... with an audience mapper), so a token names
  exactly the services its client calls;
- one confidential client per calling system, its service account holding that system's role; plus
  `pana-console`, the officers' client (authorization code for /docs; the password grant is enabled in this
  development realm only, for tests);
- access tokens with the RFC 9068 header `typ: at+jwt` (client attribute `access.token.header.type.rfc9068`),
  and `client_id` in every token (a hardcoded claim per client: Keycloak adds it only to service accounts);
- officers as users in development (office `almaty`), passwords and client secrets marked `dev`.

Client secrets and passwords here are for development and tests: a deployment imports the realm and then
regenerates every client secret and creates its own users (docs/architecture.md, "Identity provider").
"""

from __future__ import annotations

import json
from typing import Any

from pana_kit.roles import ROLE_SCOPES, ROLES, SCOPES, SERVICES

REALM = "pana"
DEV_PASSWORD = "pana-dev-password"
ACCESS_TOKEN_LIFESPAN_S = 300


def dev_secret(client_id: str) -> str:
    return f"{client_id}-dev-secret"


#: The calling systems: client id -> (its role, the services it calls, what it is).
SYSTEMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "border-system": ("border-officer", ("registration",), "The border service's system: refers arrivals"),
    "civil-registry": ("civil-registrar", ("civil-registry-bridge",),
                       "The civil registry's office system: birth verification and registration"),
    "service-provider-portal": ("service-provider", ("registration",),
                                "Service providers (clinics, schools, banks): verify a document"),
    "audit-system": ("auditor", SERVICES, "The oversight body's system: reads the audit logs"),
    "integration-system": ("integration-system", SERVICES,
                           "Another government system: subscribes to events by webhook (docs/webhooks.md)"),
}

#: The officers' client: users log in (authorization code; password grant in development only).
CONSOLE = "pana-console"

#: The verification page's client (registration's /verify): a public client (a page keeps no secret), the
#: authorization code flow with PKCE (S256) only; service providers log in and get `registration:verify`.
VERIFY_PAGE = "pana-verify"

#: Development users: username -> (role, office).
OFFICERS: dict[str, tuple[str, str | None]] = {
    "registration.officer": ("registration-officer", "almaty"),
    "eligibility.officer": ("eligibility-officer", "almaty"),
    "supervisor": ("supervisor", "almaty"),
    "statelessness.officer": ("statelessness-officer", "almaty"),
    "civil.registrar": ("civil-registrar", "almaty"),
    "border.officer": ("border-officer", "almaty"),
    "auditor": ("auditor", None),
    "service.provider": ("service-provider", None),  # a clinic's clerk, on the verification page
}

SERVICE_PORTS = (8001, 8002, 8003, 8004)


def _role_description(role: str) -> str:
    """Keycloak keeps a role's description in 255 characters: the scopes, cut short with a count when too many."""
    scopes = sorted(ROLE_SCOPES[role])
    text = f"Pana role {role}: " + ", ".join(scopes)
    if len(text) <= 255:
        return text
    return f"Pana role {role}: {len(scopes)} scopes (see pana_kit.roles)"


def _scope(name: str, description: str, mappers: list[dict] | None = None, in_token: bool = True) -> dict:
    return {
        "name": name, "description": description, "protocol": "openid-connect",
        "attributes": {"include.in.token.scope": str(in_token).lower(), "display.on.consent.screen": "false"},
        "protocolMappers": mappers or [],
    }


def _mapper(name: str, kind: str, **config: str) -> dict:
    return {"name": name, "protocol": "openid-connect", "protocolMapper": kind, "consentRequired": False,
            "config": config}


def _client(client_id: str, description: str, *, scopes: list[str], service_account: bool, login: bool) -> dict:
    return {
        "clientId": client_id, "name": client_id, "description": description, "enabled": True,
        "protocol": "openid-connect", "publicClient": False, "clientAuthenticatorType": "client-secret",
        "secret": dev_secret(client_id), "serviceAccountsEnabled": service_account,
        "standardFlowEnabled": login, "directAccessGrantsEnabled": login, "implicitFlowEnabled": False,
        "fullScopeAllowed": True, "consentRequired": False,
        "redirectUris": [f"http://{host}:{port}/docs/oauth2-redirect" for port in SERVICE_PORTS
                         for host in ("127.0.0.1", "localhost")] if login else [],
        "webOrigins": ["+"] if login else [],
        "attributes": {"access.token.header.type.rfc9068": "true", "pkce.code.challenge.method": "S256" if login else "",
                       "use.refresh.tokens": "true" if login else "false"},
        "protocolMappers": [_mapper("client_id", "oidc-hardcoded-claim-mapper", **{
            "claim.name": "client_id", "claim.value": client_id, "jsonType.label": "String",
            "access.token.claim": "true", "id.token.claim": "false", "userinfo.token.claim": "false",
            "introspection.token.claim": "true"})],
        "defaultClientScopes": ["basic", "pana-claims", *scopes],
        "optionalClientScopes": [],
    }


def _verify_page_client() -> dict:
    client = _client(VERIFY_PAGE, "Service providers check a document on registration's verification page",
                     service_account=False, login=True, scopes=["registration:verify", "aud-registration"])
    client.update({
        "publicClient": True, "directAccessGrantsEnabled": False, "webOrigins": ["+"],
        "redirectUris": [f"http://{host}:8001/verify" for host in ("127.0.0.1", "localhost")]})
    del client["secret"]
    return client


def _user_profile() -> dict:
    def attr(name: str, display: str, **extra: Any) -> dict:
        return {"name": name, "displayName": display, "permissions": {"view": ["admin", "user"], "edit": ["admin"]},
                "multivalued": False, **extra}

    return {
        "attributes": [
            attr("username", "${username}", validations={"length": {"min": 3, "max": 255},
                                                         "username-prohibited-characters": {}}),
            attr("email", "${email}", validations={"email": {}, "length": {"max": 255}}),
            attr("firstName", "${firstName}", validations={"length": {"max": 255}}),
            attr("lastName", "${lastName}", validations={"length": {"max": 255}}),
            attr("office", "Office", validations={"length": {"max": 64}}),
        ],
        "groups": [],
    }


def realm() -> dict[str, Any]:
    """The realm representation, as Keycloak 26 imports it (`kc.sh start --import-realm`)."""
    scopes = [
        _scope("basic", "sub and auth_time in every token", [
            _mapper("sub", "oidc-sub-mapper", **{"access.token.claim": "true", "introspection.token.claim": "true"}),
        ], in_token=False),
        _scope("pana-claims", "The Pana roles and the officer's office", [
            _mapper("roles", "oidc-usermodel-realm-role-mapper", **{
                "claim.name": "roles", "jsonType.label": "String", "multivalued": "true", "access.token.claim": "true",
                "id.token.claim": "false", "userinfo.token.claim": "false", "introspection.token.claim": "true"}),
            _mapper("office", "oidc-usermodel-attribute-mapper", **{
                "user.attribute": "office", "claim.name": "office", "jsonType.label": "String",
                "access.token.claim": "true", "id.token.claim": "false", "userinfo.token.claim": "false",
                "introspection.token.claim": "true"}),
        ], in_token=False),
        *[_scope(name, description) for name, description in SCOPES.items()],
        *[_scope(f"aud-{service}", f"Tokens for the {service} service", [
            _mapper(f"audience {service}", "oidc-audience-mapper", **{
                "included.custom.audience": service, "access.token.claim": "true", "id.token.claim": "false",
                "introspection.token.claim": "true"})], in_token=False) for service in SERVICES],
    ]
    clients = []
    for client_id, (role, services, description) in SYSTEMS.items():
        clients.append(_client(client_id, description, service_account=True, login=False,
                               scopes=[*sorted(ROLE_SCOPES[role]), *(f"aud-{s}" for s in services)]))
    clients.append(_client(CONSOLE, "Officers log in to Pana", service_account=False, login=True,
                           scopes=[*SCOPES, *(f"aud-{s}" for s in SERVICES)]))
    clients.append(_verify_page_client())
    users = []
    for username, (role, office) in OFFICERS.items():
        first, _, last = username.partition(".")
        users.append({
            "username": username, "enabled": True, "emailVerified": True, "email": f"{username}@pana.test",
            "firstName": first.title(), "lastName": (last or "officer").title(),
            "attributes": {"office": [office]} if office else {},
            "credentials": [{"type": "password", "value": DEV_PASSWORD, "temporary": False}],
            "realmRoles": [role], "requiredActions": [],
        })
    for client_id, (role, _services, _description) in SYSTEMS.items():
        users.append({"username": f"service-account-{client_id}", "enabled": True, "serviceAccountClientId": client_id,
                      "realmRoles": [role]})
    return {
        "realm": REALM, "displayName": "Pana", "enabled": True, "sslRequired": "external",
        "accessTokenLifespan": ACCESS_TOKEN_LIFESPAN_S, "ssoSessionIdleTimeout": 1800,
        "registrationAllowed": False, "resetPasswordAllowed": False, "bruteForceProtected": True,
        "roles": {"realm": [{"name": role, "description": _role_description(role)}
                            for role in ROLES]},
        "clientScopes": scopes,
        # A scope reaches a token only when its user holds one of the roles that grant it.
        "scopeMappings": [{"clientScope": name, "roles": [role for role in ROLES if name in ROLE_SCOPES[role]]}
                          for name in SCOPES],
        "defaultDefaultClientScopes": ["basic", "pana-claims"],
        "defaultOptionalClientScopes": [],
        "clients": clients,
        "users": users,
        "components": {"org.keycloak.userprofile.UserProfileProvider": [{
            "providerId": "declarative-user-profile", "subComponents": {},
            "config": {"kc.user.profile.config": [json.dumps(_user_profile())]}}]},
    }


def realm_json() -> str:
    return json.dumps(realm(), indent=2, sort_keys=False) + "\n"
