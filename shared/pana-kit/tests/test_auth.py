"""Access tokens: what is accepted and every way a token is refused."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pana_kit.auth import TokenVerifier, mint_dev_token
from pana_kit.errors import Problem
from pana_kit.roles import ROLE_SCOPES, scopes_for
from pana_kit.settings import ServiceSettings


def dev(**kw) -> ServiceSettings:
    return ServiceSettings(service_name="rsd", dev_mode=True, **kw)


def refused(verifier: TokenVerifier, token: str, reason: str) -> None:
    with pytest.raises(Problem) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    assert reason in caught.value.detail, caught.value.detail


def test_a_dev_token_carries_the_roles_scopes():
    settings = dev()
    principal = TokenVerifier(settings).verify(mint_dev_token(settings, role="supervisor", office="shymkent"))
    assert principal.roles == ("supervisor",)
    assert principal.scopes == ROLE_SCOPES["supervisor"]
    assert principal.office == "shymkent"


def test_expired_and_not_yet_valid_tokens_are_refused():
    settings = dev(auth_leeway_seconds=5)
    verifier = TokenVerifier(settings)
    refused(verifier, mint_dev_token(settings, role="supervisor", ttl_seconds=-60), "expired")
    now = int(time.time())
    early = jwt.encode({"iss": "pana-dev", "aud": "rsd", "sub": "x", "iat": now, "nbf": now + 600,
                        "exp": now + 1200, "roles": ["supervisor"], "client_id": "c", "jti": "j"}, settings.auth_dev_secret, algorithm="HS256",
                       headers={"typ": "at+jwt"})
    refused(verifier, early, "not yet valid")


def test_wrong_signature_audience_issuer_and_type_are_refused():
    settings = dev()
    verifier = TokenVerifier(settings)
    refused(verifier, mint_dev_token(dev(auth_dev_secret="another-secret-another-secret-0123456789"), role="supervisor"), "invalid token")
    refused(verifier, mint_dev_token(settings, role="supervisor", audience=["registration"]), "not for this service")
    refused(verifier, mint_dev_token(settings, role="supervisor", iss="https://evil.example"), "issuer")
    now = int(time.time())
    id_token = jwt.encode({"iss": settings.auth_issuer, "aud": "rsd", "sub": "x", "iat": now, "exp": now + 60},
                          settings.auth_dev_secret, algorithm="HS256", headers={"typ": "JWT"})
    refused(verifier, id_token, "not an access token")


def test_alg_none_is_refused():
    settings = dev()
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()).rstrip(b"=")
    now = int(time.time())
    body = base64.urlsafe_b64encode(json.dumps({"iss": settings.auth_issuer, "aud": "rsd", "sub": "x", "iat": now,
                                                "exp": now + 60, "roles": ["supervisor"]}).encode()).rstrip(b"=")
    refused(TokenVerifier(settings), (header + b"." + body + b".").decode(), "not accepted")


def test_garbage_is_refused():
    refused(TokenVerifier(dev()), "not.a.token", "malformed")


def test_symmetric_tokens_only_in_dev_mode(tmp_path):
    key = Ed25519PrivateKey.generate()
    pem = tmp_path / "keys.pem"
    pem.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    production = ServiceSettings(service_name="rsd", dev_mode=False, auth_public_keys_file=str(pem))
    verifier = TokenVerifier(production)
    refused(verifier, mint_dev_token(production, role="supervisor"), "only in dev mode")
    now = int(time.time())
    claims = {"iss": production.auth_issuer, "aud": "rsd", "sub": "officer-7", "iat": now, "exp": now + 60,
              "client_id": "rsd-portal", "jti": "t-1", "roles": ["eligibility-officer"], "scope": "rsd:read rsd:decide"}
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"typ": "at+jwt"})
    principal = verifier.verify(token)
    # A scope the role does not hold is not granted, whatever the token says.
    assert principal.scopes == {"rsd:read"}
    other = Ed25519PrivateKey.generate()
    refused(verifier, jwt.encode(claims, other, algorithm="EdDSA", headers={"typ": "at+jwt"}), "no trusted key")


def test_production_without_keys_does_not_start():
    with pytest.raises(RuntimeError, match="no token keys"):
        TokenVerifier(ServiceSettings(service_name="rsd", dev_mode=False))


def test_every_role_has_scopes_and_unknown_roles_grant_nothing():
    assert all(ROLE_SCOPES.values())
    assert scopes_for(["root"]) == frozenset()


async def test_a_verified_token_is_remembered_until_its_expiry_at_most(monkeypatch):
    """The same token on every request is checked once (issue 16), never trusted past its exp (+ leeway) or for
    longer than CACHE_SECONDS."""
    settings = dev(auth_leeway_seconds=0)
    verifier = TokenVerifier(settings)
    token = mint_dev_token(settings, role="supervisor", ttl_seconds=30)
    calls = []
    original = verifier.verify
    monkeypatch.setattr(verifier, "verify", lambda t: calls.append(t) or original(t))
    first = await verifier.authenticate(token)
    assert await verifier.authenticate(token) is first and len(calls) == 1
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 31)  # past its exp: not taken from the cache
    try:
        await verifier.authenticate(token)
    except Problem:
        pass
    assert len(calls) == 2
