"""Issue #15, tokens: every malformed token is a 401 (never a 500), RFC 9068 claims, a maximum lifetime,
dev tokens only in dev mode, and a JWKS fetched asynchronously that follows a key rotation without a restart."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends, FastAPI

from pana_kit.auth import Principal, TokenVerifier, mint_dev_token, require
from pana_kit.errors import Problem, install_problem_handlers
from pana_kit.settings import DEV_ISSUER, ServiceSettings

ISSUER = "https://idp.pana.test/realms/pana"


def b64(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj) -> str:
    return b64(json.dumps(obj))


def claims(**over) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "rsd", "sub": "officer-7", "iat": now, "exp": now + 300, "client_id": "rsd-portal",
            "jti": "t-1", "roles": ["supervisor"]}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="module")
def ed_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def production(tmp_path_factory, ed_key) -> ServiceSettings:
    pem = tmp_path_factory.mktemp("keys") / "keys.pem"
    pem.write_bytes(ed_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return ServiceSettings(service_name="rsd", dev_mode=False, auth_issuer=ISSUER, auth_public_keys_file=str(pem))


def signed(key, body: dict, *, alg: str = "EdDSA", **header) -> str:
    return jwt.encode(body, key, algorithm=alg, headers={"typ": "at+jwt", **header})


def raw_signed(key: Ed25519PrivateKey, body: dict, **header) -> str:
    """An EdDSA token whose body the library would not encode (non-string `iss`, ...), signed by hand."""
    signing_input = segment({"alg": "EdDSA", "typ": "at+jwt", **header}) + "." + segment(body)
    return signing_input + "." + b64(key.sign(signing_input.encode()))


def refused(verifier: TokenVerifier, token, reason: str = "") -> str:
    with pytest.raises(Problem) as caught:
        verifier.verify(token)
    assert caught.value.status == 401, (token, caught.value.detail)
    assert reason in caught.value.detail, caught.value.detail
    return caught.value.detail


def malformed_tokens(ed_key) -> dict[str, str]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good_header = segment({"alg": "EdDSA", "typ": "at+jwt"})
    good_body = segment(claims())
    sig = signed(ed_key, claims()).split(".")[2]
    return {
        "empty": "",
        "one segment": "abc",
        "two segments": "abc.def",
        "four segments": "a.b.c.d",
        "garbage segments": "!!!.@@@.###",
        "header not base64": "%%%%." + good_body + "." + sig,
        "header not JSON": b64("not json") + "." + good_body + "." + sig,
        "header a list": segment(["alg", "EdDSA"]) + "." + good_body + "." + sig,
        "header a string": segment("EdDSA") + "." + good_body + "." + sig,
        "typ a number": segment({"alg": "EdDSA", "typ": 7}) + "." + good_body + "." + sig,
        "typ a list": segment({"alg": "EdDSA", "typ": ["at+jwt"]}) + "." + good_body + "." + sig,
        "typ null": segment({"alg": "EdDSA", "typ": None}) + "." + good_body + "." + sig,
        "typ JWT (an ID token)": signed(ed_key, claims(), typ="JWT"),
        "alg a number": segment({"alg": 256, "typ": "at+jwt"}) + "." + good_body + "." + sig,
        "alg a list": segment({"alg": ["EdDSA"], "typ": "at+jwt"}) + "." + good_body + "." + sig,
        "alg none": segment({"alg": "none", "typ": "at+jwt"}) + "." + good_body + ".",
        "alg HS256 with the public key": jwt.encode(claims(), b"not-the-key-not-the-key-not-the-key!", algorithm="HS256",
                                                    headers={"typ": "at+jwt"}),
        "kid a number": segment({"alg": "EdDSA", "typ": "at+jwt", "kid": 5}) + "." + good_body + "." + sig,
        "RS256 token against an Ed25519 key": signed(rsa_key, claims(), alg="RS256"),
        "body not base64": good_header + ".%%%%." + sig,
        "body not JSON": good_header + "." + b64("{{{") + "." + sig,
        "body a list": good_header + "." + segment([1, 2]) + "." + sig,
        "signature garbage": good_header + "." + good_body + ".@@@",
        "signature of another body": good_header + "." + segment(claims(sub="someone-else")) + "." + sig,
        "very long": "a" * 20_000 + "." + good_body + "." + sig,
        "exp a string": signed(ed_key, claims(exp="tomorrow")),
        "iat a string": signed(ed_key, claims(iat="today")),
        "exp a boolean": signed(ed_key, claims(exp=True)),
        "sub a number": signed(ed_key, claims(sub=42)),
        "client_id a list": signed(ed_key, claims(client_id=["a"])),
        "jti empty": signed(ed_key, claims(jti="")),
        "roles a string": signed(ed_key, claims(roles="supervisor")),
        "roles a dict": signed(ed_key, claims(roles={"supervisor": True})),
        "scope a list": signed(ed_key, claims(scope=["rsd:read"])),
        "office a number": signed(ed_key, claims(office=3)),
        "aud a number": signed(ed_key, claims(aud=3)),
        "iss a list": raw_signed(ed_key, claims(iss=[ISSUER])),
        "iss a number": raw_signed(ed_key, claims(iss=1)),
        **{f"missing {name}": signed(ed_key, claims(**{name: None}))
           for name in ("iss", "aud", "exp", "iat", "sub", "client_id", "jti")},
        "lifetime beyond the maximum": signed(ed_key, claims(exp=int(time.time()) + 7200)),
        "issued in the future": signed(ed_key, claims(iat=int(time.time()) + 600, exp=int(time.time()) + 900)),
        "expired": signed(ed_key, claims(iat=int(time.time()) - 900, exp=int(time.time()) - 600)),
        "another audience": signed(ed_key, claims(aud="registration")),
        "another issuer": signed(ed_key, claims(iss="https://evil.example")),
        "the dev issuer": signed(ed_key, claims(iss=DEV_ISSUER)),
        "another Ed25519 key": signed(Ed25519PrivateKey.generate(), claims()),
    }


def test_a_well_formed_token_is_accepted(production, ed_key):
    principal = TokenVerifier(production).verify(signed(ed_key, claims(office="almaty")))
    assert principal.subject == "officer-7" and principal.client_id == "rsd-portal" and principal.office == "almaty"


def test_every_malformed_token_is_a_401_never_a_500(production, ed_key):
    verifier = TokenVerifier(production)
    for name, token in malformed_tokens(ed_key).items():
        with pytest.raises(Problem) as caught:
            verifier.verify(token)
        assert caught.value.status == 401, f"{name}: {caught.value.status} {caught.value.detail}"


def test_malformed_tokens_over_http_are_401_problem_json(production, ed_key):
    app = FastAPI()
    install_problem_handlers(app)
    app.state.verifier = TokenVerifier(production)

    @app.get("/thing")
    async def thing(principal: Principal = Depends(require("rsd:read"))):
        return {"sub": principal.subject}

    async def run():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ok = await client.get("/thing", headers={"Authorization": "Bearer " + signed(ed_key, claims())})
            assert ok.status_code == 200, ok.text
            for name, token in malformed_tokens(ed_key).items():
                if not token:
                    continue
                r = await client.get("/thing", headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 401, f"{name}: {r.status_code} {r.text}"
                assert r.headers["content-type"].startswith("application/problem+json"), name
                assert r.headers["www-authenticate"].startswith("Bearer"), name

    asyncio.run(run())


def test_rfc9068_claims_and_lifetime(production, ed_key):
    verifier = TokenVerifier(production)
    for name in ("iss", "aud", "exp", "iat", "sub", "client_id", "jti"):
        refused(verifier, signed(ed_key, claims(**{name: None})), name)
    refused(verifier, signed(ed_key, claims(), typ="JWT"), "typ must be at+jwt")
    now = int(time.time())
    detail = refused(verifier, signed(ed_key, claims(iat=now, exp=now + 3601)), "lifetime")
    assert "3600" in detail
    verifier.verify(signed(ed_key, claims(iat=now, exp=now + 3600)))  # exactly the maximum is fine
    shorter = production.model_copy(update={"auth_max_token_lifetime_seconds": 300})
    refused(TokenVerifier(shorter), signed(ed_key, claims(iat=now, exp=now + 301)), "lifetime")


def test_dev_tokens_carry_the_dev_issuer_and_production_never_accepts_them(production, ed_key):
    dev = ServiceSettings(service_name="rsd", dev_mode=True, auth_issuer=ISSUER)
    token = mint_dev_token(dev, role="supervisor")
    assert jwt.decode(token, options={"verify_signature": False})["iss"] == DEV_ISSUER
    assert TokenVerifier(dev).verify(token).roles == ("supervisor",)
    refused(TokenVerifier(production), token, "only in dev mode")
    # Signed by a trusted key but issued as a dev token: production refuses that too.
    refused(TokenVerifier(production), signed(ed_key, claims(iss=DEV_ISSUER)), "issuer")
    # In dev mode an HS256 token must come from the dev issuer, not claim the real one.
    refused(TokenVerifier(dev), mint_dev_token(dev, role="supervisor", iss=ISSUER), "issuer")


# -- JWKS: asynchronous, cached, refetched on an unknown kid --------------------------------------------


class JwksServer:
    """A local identity provider's JWKS endpoint whose key set a test can replace (a rotation)."""

    def __init__(self):
        self.document: dict = {"keys": []}
        self.requests = 0
        self.gate: threading.Event | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.requests += 1
                if server.gate is not None:
                    server.gate.wait(30)
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/certs"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, *keys: tuple[str, Ed25519PrivateKey]) -> None:
        entries = []
        for kid, key in keys:
            jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key()))
            entries.append({**jwk, "kid": kid, "use": "sig", "alg": "EdDSA"})
        entries.append({"kty": "RSA", "use": "enc", "kid": "enc-1", "n": "AQAB", "e": "AQAB", "alg": "RSA-OAEP"})
        self.document = {"keys": entries}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server():
    server = JwksServer()
    yield server
    server.close()


def jwks_settings(url: str, **over) -> ServiceSettings:
    return ServiceSettings(service_name="rsd", dev_mode=False, auth_issuer=ISSUER, auth_jwks_url=url, **over)


def test_a_key_rotation_needs_no_restart(jwks_server):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks_server.publish(("k1", old))
    verifier = TokenVerifier(jwks_settings(jwks_server.url, auth_jwks_min_refresh_seconds=0))

    async def run():
        assert (await verifier.authenticate(signed(old, claims(), kid="k1"))).subject == "officer-7"
        assert (await verifier.authenticate(signed(old, claims(sub="b"), kid="k1"))).subject == "b"
        assert jwks_server.requests == 1  # cached
        jwks_server.publish(("k2", new))  # the provider rotates: k1 is gone, k2 signs
        assert (await verifier.authenticate(signed(new, claims(), kid="k2"))).subject == "officer-7"
        assert jwks_server.requests == 2
        with pytest.raises(Problem) as caught:
            await verifier.authenticate(signed(old, claims(), kid="k1"))
        assert caught.value.status == 401

    asyncio.run(run())


def test_unknown_key_ids_refetch_at_most_once_per_interval(jwks_server):
    key = Ed25519PrivateKey.generate()
    jwks_server.publish(("k1", key))
    verifier = TokenVerifier(jwks_settings(jwks_server.url, auth_jwks_min_refresh_seconds=3600))

    async def run():
        await verifier.authenticate(signed(key, claims(), kid="k1"))
        for i in range(20):
            with pytest.raises(Problem) as caught:
                await verifier.authenticate(signed(key, claims(), kid=f"made-up-{i}"))
            assert caught.value.status == 401
        assert jwks_server.requests == 1

    asyncio.run(run())


def test_the_jwks_fetch_does_not_block_the_event_loop(jwks_server):
    """The JWKS endpoint answers only once another coroutine on the same loop has run: a blocking fetch
    would never let that coroutine run and the token would be refused."""
    key = Ed25519PrivateKey.generate()
    jwks_server.publish(("k1", key))
    jwks_server.gate = threading.Event()
    verifier = TokenVerifier(jwks_settings(jwks_server.url))

    async def run():
        async def open_gate():
            while jwks_server.requests == 0:
                await asyncio.sleep(0.01)
            jwks_server.gate.set()

        opener = asyncio.create_task(open_gate())
        principal = await verifier.authenticate(signed(key, claims(), kid="k1"))
        await opener
        assert principal.subject == "officer-7"

    asyncio.run(run())


def test_an_unreachable_jwks_refuses_with_401_and_keeps_cached_keys(jwks_server):
    key = Ed25519PrivateKey.generate()
    jwks_server.publish(("k1", key))
    verifier = TokenVerifier(jwks_settings(jwks_server.url, auth_jwks_min_refresh_seconds=0,
                                           auth_jwks_cache_seconds=1))

    async def run():
        await verifier.authenticate(signed(key, claims(), kid="k1"))
        jwks_server.close()
        verifier.jwks.fetched_at -= 10  # the cache is stale; the provider is down
        assert (await verifier.authenticate(signed(key, claims(), kid="k1"))).subject == "officer-7"
        with pytest.raises(Problem) as caught:
            await verifier.authenticate(signed(key, claims(), kid="k9"))
        assert caught.value.status == 401

    asyncio.run(run())
