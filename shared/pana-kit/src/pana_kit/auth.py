"""OAuth2 bearer access tokens (RFC 9068 profile) and per-route scopes.

Signatures are checked against configured public keys (EdDSA / RS256) or the identity provider's JWKS, fetched
asynchronously (httpx.AsyncClient: the event loop never waits on it), cached, and fetched again when a token
names a key id the cache lacks (at most every `auth_jwks_min_refresh_seconds`), so a key rotation at the
provider needs no restart. The header's `typ` must be `at+jwt`; `iss`, `aud`, `exp`, `iat`, `sub`,
`client_id`, `jti` are required (RFC 9068 section 2.2), `nbf` is honoured, with a bounded leeway, and
`exp - iat` may not exceed `auth_max_token_lifetime_seconds`. Any token that cannot be read is a 401, never
a 500.

Dev mode (explicit: `<PREFIX>DEV_MODE=true`) also accepts HS256 tokens signed with the dev secret and issued
by `pana-dev` (`pana token`); production never accepts either.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import Problem
from .roles import ROLE_SCOPES, SERVICES, scopes_for
from .settings import DEV_ISSUER, DEV_SECRET, ServiceSettings

log = logging.getLogger("pana.auth")

ASYMMETRIC_ALGS = ["EdDSA", "RS256"]
DEV_ALG = "HS256"
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
#: RFC 9068 section 2.2: the claims every access token carries.
REQUIRED_CLAIMS = ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"]
_KEY_TYPES = {"EdDSA": (Ed25519PublicKey, Ed448PublicKey), "RS256": (RSAPublicKey,)}
#: A token longer than this is not read at all (an access token is a few kilobytes at most).
MAX_TOKEN_CHARS = 16_384

bearer = HTTPBearer(auto_error=False, description="Access token (JWT, RFC 9068). Dev: `pana token --role ROLE`.")


@dataclass(frozen=True)
class Principal:
    subject: str
    client_id: str | None
    roles: tuple[str, ...]
    scopes: frozenset[str]
    office: str | None = None
    team: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def role(self) -> str | None:
        return self.roles[0] if self.roles else None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


class JwksCache:
    """The identity provider's signing keys by key id, fetched with httpx.AsyncClient.

    `keys_for(kid)` answers from the cache while it is fresh and names the key; an unknown key id fetches the
    set again, at most once every `min_refresh` seconds (a flood of tokens with made-up key ids costs one fetch
    per interval, not one per token). A failed fetch keeps the keys it had.
    """

    def __init__(self, url: str, *, min_refresh: float = 30.0, max_age: float = 300.0, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.url = url
        self.min_refresh = min_refresh
        self.max_age = max_age
        self.timeout = timeout
        self.transport = transport
        self.keys: dict[str, Any] = {}  # kid -> public key object
        self.anonymous: list[Any] = []  # keys without a kid
        self.fetched_at: float | None = None
        self.last_attempt: float | None = None
        self.fetches = 0
        self.generation = 0  # one more at every key set fetched (the verifier forgets the tokens it checked)
        self._locks: dict[int, asyncio.Lock] = {}

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        return self._locks.setdefault(id(loop), asyncio.Lock())

    def cached(self, kid: str | None) -> list[Any]:
        if kid is None:
            return [*self.keys.values(), *self.anonymous]
        return [self.keys[kid]] if kid in self.keys else []

    def _fresh(self) -> bool:
        return self.fetched_at is not None and time.monotonic() - self.fetched_at < self.max_age

    def _may_fetch(self) -> bool:
        return self.last_attempt is None or time.monotonic() - self.last_attempt >= self.min_refresh

    async def keys_for(self, kid: str | None) -> list[Any]:
        if self._fresh() and self.cached(kid):
            return self.cached(kid)
        async with self._lock():
            if not (self._fresh() and self.cached(kid)) and self._may_fetch():  # another request may have fetched
                await self.refresh()
        return self.cached(kid)

    async def refresh(self) -> None:
        self.last_attempt = time.monotonic()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
                response = await client.get(self.url, headers={"Accept": "application/json"})
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch from %s failed (%s); keeping %d cached key(s)", self.url, exc, len(self.keys))
            return
        keys: dict[str, Any] = {}
        anonymous: list[Any] = []
        for entry in document.get("keys", []) if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(entry).key
            except Exception:  # a key type or algorithm we do not verify with (e.g. RSA-OAEP encryption keys)
                continue
            kid = entry.get("kid")
            if isinstance(kid, str):
                keys[kid] = key
            else:
                anonymous.append(key)
        self.keys, self.anonymous = keys, anonymous
        self.fetched_at = time.monotonic()
        self.generation += 1
        log.info("JWKS from %s: %d key(s)", self.url, len(keys) + len(anonymous))


class TokenVerifier:
    def __init__(self, settings: ServiceSettings, *, jwks_transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._keys: list[Any] = []
        self.jwks: JwksCache | None = None
        self._verified: dict[str, tuple[Principal, float]] = {}  # token -> (principal, until), insertion ordered
        self._generation = 0  # of the JWKS the cached tokens were checked against
        if settings.auth_public_keys_file:
            self._keys = _load_public_keys(Path(settings.auth_public_keys_file))
        if settings.auth_jwks_url:
            self.jwks = JwksCache(settings.auth_jwks_url, min_refresh=settings.auth_jwks_min_refresh_seconds,
                                  max_age=settings.auth_jwks_cache_seconds, transport=jwks_transport)
        if not self._keys and not self.jwks and not settings.dev_mode:
            raise RuntimeError("no token keys configured: set auth_public_keys_file or auth_jwks_url (or dev_mode for development)")

    # A verified token is remembered (by its exact text) for at most this long, and never past its expiry:
    # a client sends the same token with every request, and checking it again each time was a tenth of a
    # verification. A key withdrawn from the JWKS stops tokens signed with it within this time.
    CACHE_SECONDS = 60.0
    CACHE_SIZE = 10_000

    async def authenticate(self, token: str) -> Principal:
        """`verify`, after fetching the JWKS when the token names a key the cache lacks (never blocks the loop)."""
        now = time.time()
        cache = self._verified
        if self.jwks is not None and self.jwks.generation != self._generation:
            cache.clear()  # the key set changed: a token signed with a withdrawn key must be refused now
            self._generation = self.jwks.generation
        hit = cache.get(token)
        if hit is not None:
            if now < hit[1]:
                return hit[0]
            del cache[token]
        principal = await self._authenticate(token)
        until = min(float(principal.claims["exp"]) + self.settings.auth_leeway_seconds, now + self.CACHE_SECONDS)
        if len(cache) >= self.CACHE_SIZE:
            cache.pop(next(iter(cache)))  # the oldest
        cache[token] = (principal, until)
        return principal

    async def _authenticate(self, token: str) -> Principal:
        if self.jwks is not None:
            header = _header(token)
            if header.get("alg") in ASYMMETRIC_ALGS:
                await self.jwks.keys_for(_kid(header))
        return self.verify(token)

    def verify(self, token: str) -> Principal:
        """The principal of a valid access token; a Problem 401 for every other string (cached keys only)."""
        try:
            return self._verify(token)
        except Problem:
            raise
        except Exception as exc:  # whatever a hostile token provokes in a library: refused, never a 500
            raise _unauthenticated(f"invalid token: {type(exc).__name__}") from exc

    def _verify(self, token: str) -> Principal:
        header = _header(token)
        alg = header.get("alg")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise _unauthenticated("not an access token (typ must be at+jwt)")
        dev_token = alg == DEV_ALG
        issuer = DEV_ISSUER if dev_token else self.settings.auth_issuer
        options = {"require": REQUIRED_CLAIMS}
        common = dict(audience=self.settings.audience, issuer=issuer, leeway=self.settings.auth_leeway_seconds,
                      options=options)
        try:
            if dev_token:
                if not self.settings.dev_mode:
                    raise _unauthenticated("symmetric tokens are accepted only in dev mode")
                claims = jwt.decode(token, self.settings.auth_dev_secret, algorithms=[DEV_ALG], **common)
            elif alg in ASYMMETRIC_ALGS:
                claims = self._decode_asymmetric(token, alg, _kid(header), common)
            else:
                raise _unauthenticated(f"algorithm {alg!r} is not accepted")
        except jwt.ExpiredSignatureError as exc:
            raise _unauthenticated("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _unauthenticated("token not yet valid") from exc
        except jwt.InvalidAudienceError as exc:
            raise _unauthenticated(f"token is not for this service ({self.settings.audience})") from exc
        except jwt.InvalidIssuerError as exc:
            raise _unauthenticated("token issuer is not trusted") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthenticated(f"not an RFC 9068 access token: {exc}") from exc
        except jwt.PyJWTError as exc:
            raise _unauthenticated(f"invalid token: {exc}") from exc
        if not self.settings.dev_mode and claims.get("iss") == DEV_ISSUER:
            raise _unauthenticated("dev tokens are never accepted in production")
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        leeway = self.settings.auth_leeway_seconds
        iat, exp = claims["iat"], claims["exp"]
        if not _is_number(iat) or not _is_number(exp):
            raise _unauthenticated("iat and exp must be numbers")
        if iat > time.time() + leeway:
            raise _unauthenticated("token issued in the future")
        if exp - iat > self.settings.auth_max_token_lifetime_seconds:
            raise _unauthenticated(f"token lifetime {int(exp - iat)} s exceeds the maximum "
                                   f"{self.settings.auth_max_token_lifetime_seconds} s")
        for name in ("sub", "client_id", "jti"):
            if not isinstance(claims[name], str) or not claims[name]:
                raise _unauthenticated(f"claim {name} must be a non-empty string")
        raw_roles = claims.get("roles", [])
        if isinstance(raw_roles, str) or not isinstance(raw_roles, list):
            raise _unauthenticated("claim roles must be a list")
        roles = tuple(r for r in raw_roles if isinstance(r, str) and r in ROLE_SCOPES)
        scope = claims.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise _unauthenticated("claim scope must be a space-separated string")
        for name in ("office", "team"):
            if claims.get(name) is not None and not isinstance(claims[name], str):
                raise _unauthenticated(f"claim {name} must be a string")
        granted = frozenset(scope.split()) if scope else scopes_for(roles)
        return Principal(
            subject=claims["sub"], client_id=claims["client_id"], roles=roles,
            scopes=granted & scopes_for(roles) if roles else granted,
            office=claims.get("office"), team=claims.get("team"), claims=claims,
        )

    def _decode_asymmetric(self, token: str, alg: str, kid: str | None, common: dict) -> dict:
        candidates = list(self._keys)
        if self.jwks is not None:
            candidates += self.jwks.cached(kid)
        usable = [key for key in candidates if isinstance(key, _KEY_TYPES[alg])]
        if not usable:
            raise _unauthenticated(f"no trusted {alg} key" + (f" with key id {kid!r}" if kid else ""))
        last: Exception | None = None
        for key in usable:
            try:
                return jwt.decode(token, key, algorithms=[alg], **common)
            except jwt.InvalidSignatureError as exc:
                last = exc
        raise jwt.InvalidSignatureError("signature matches no trusted key") from last


def _header(token: str) -> dict[str, Any]:
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS:
        raise _unauthenticated("malformed token: too long")
    try:
        header = jwt.get_unverified_header(token)
    except Exception as exc:
        raise _unauthenticated(f"malformed token: {exc}") from exc
    if not isinstance(header, dict):
        raise _unauthenticated("malformed token: the header is not an object")
    return header


def _kid(header: dict[str, Any]) -> str | None:
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _unauthenticated("malformed token: kid must be a string")
    return kid


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _load_public_keys(path: Path) -> list[Any]:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = path.read_text()
    blocks = [b + "-----END PUBLIC KEY-----\n" for b in text.split("-----END PUBLIC KEY-----") if "BEGIN" in b]
    return [load_pem_public_key(b.strip().encode() + b"\n") for b in blocks]


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def bearer_token(request: Request) -> str | None:
    """The access token of `Authorization: Bearer <token>` (what `HTTPBearer` reads), without a dependency."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


async def authorise(request: Request, token: str | None, scope: str) -> Principal:
    """Authenticate the token and check it holds `scope`: 401 without a valid token, 403 without the scope.
    Leaves the principal in `request.state.principal`. The body of `require` and of `rate_limit(scope=...)`."""
    if not token:
        raise Problem(401, "a bearer access token is required", headers={"WWW-Authenticate": "Bearer"})
    principal = await request.app.state.verifier.authenticate(token)
    if not principal.has(scope):
        raise Problem(403, f"this action needs the scope {scope}", type_suffix="insufficient-scope",
                      headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
    request.state.principal = principal
    return principal


def require(scope: str):
    """Dependency: a valid token holding `scope`; 401 without a token, 403 without the scope.

    It runs before the route touches any record, so a refusal never reveals whether
    the record exists.
    """

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        principal = await authorise(request, credentials.credentials if credentials else None, scope)
        read_limiter = getattr(request.app.state, "read_limiter", None)
        if read_limiter is not None:  # per-principal read limit (pana_kit.ratelimit.ReadLimiter), after auth
            read_limiter.check(request, principal)
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_').replace('-', '_')}"
    dependency.required_scope = scope  # read by the route-walking auth test
    return dependency


def mint_dev_token(settings: ServiceSettings, *, role: str, subject: str | None = None, office: str | None = "almaty",
                   audience: list[str] | str | None = None, ttl_seconds: int = 3600, **extra: Any) -> str:
    """A dev-mode token for `role` (HS256 with the dev secret, issuer `pana-dev`); used by `pana token` and tests.

    Only a service in dev mode accepts it. `extra` adds or overrides claims (a test's `iss`, `client_id`, ...).
    """
    if role not in ROLE_SCOPES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLE_SCOPES)}")
    now = int(time.time())
    claims = {
        "iss": DEV_ISSUER,
        "sub": subject or f"{role}-dev",
        "aud": audience or list(SERVICES),
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "client_id": "pana-dev",
        "roles": [role],
        "scope": " ".join(sorted(ROLE_SCOPES[role])),
        "office": office,
        **extra,
    }
    return jwt.encode(claims, settings.auth_dev_secret or DEV_SECRET, algorithm=DEV_ALG, headers={"typ": "at+jwt"})


# -- OpenAPI: OAuth2 with a scope per operation ---------------------------------------------------------

OAUTH2_SCHEME = "OAuth2"


def required_scope(dependant) -> str | None:
    """The scope a route's `require(...)` dependency demands, searched through nested dependencies."""
    for dep in dependant.dependencies:
        scope = getattr(dep.call, "required_scope", None)
        if scope:
            return scope
        nested = required_scope(dep)
        if nested:
            return nested
    return None


def api_routes(app) -> list[tuple[Any, str]]:
    """Every API route of the app with its full path, through included routers."""
    from fastapi.routing import APIRoute

    try:  # FastAPI >= 0.16x keeps included routers as such; walk through them
        from fastapi.routing import _iter_routes_with_context

        pairs = [(route, ctx.path if ctx is not None and ctx.path else getattr(route, "path", ""))
                 for route, ctx in _iter_routes_with_context(app.routes)]
    except ImportError:
        pairs = [(route, getattr(route, "path", "")) for route in app.routes]
    return [(route, path) for route, path in pairs if isinstance(route, APIRoute)]


def route_scopes(app) -> dict[tuple[str, str], str | None]:
    """(METHOD, path) -> the scope its `require(...)` demands (None: no token needed), for every API route."""
    out: dict[tuple[str, str], str | None] = {}
    for route, path in api_routes(app):
        for method in route.methods:
            out[(method, path)] = required_scope(route.dependant)
    return out


def oauth2_urls(settings: ServiceSettings) -> tuple[str, str]:
    """(authorization URL, token URL) of the identity provider (Keycloak's paths under the issuer by default)."""
    base = settings.auth_issuer.rstrip("/") + "/protocol/openid-connect"
    return settings.auth_authorization_url or f"{base}/auth", settings.auth_token_url or f"{base}/token"


#: The officers' client in the identity provider's realm (pana_dev.keycloak_realm.CONSOLE) and the secret the
#: DEVELOPMENT realm gives it (pana_dev.keycloak_realm.dev_secret; a deployment regenerates every secret).
DOCS_CLIENT_ID = "pana-console"
DEV_DOCS_CLIENT_SECRET = "pana-console-dev-secret"


def docs_oauth_settings(settings: ServiceSettings) -> dict[str, Any]:
    """Swagger UI's `initOAuth` for /docs: the officers' client with PKCE, every scope offered. In dev mode the
    development realm's client secret is filled in too, so "Authorize" logs in to a local Keycloak
    (`python -m pana_dev.launchers.keycloak`) in one click; production never shows a secret."""
    from .roles import SCOPES

    init: dict[str, Any] = {"clientId": DOCS_CLIENT_ID, "usePkceWithAuthorizationCodeGrant": True,
                            "appName": "Pana /docs", "scopes": " ".join(SCOPES)}
    if settings.dev_mode:
        init["clientSecret"] = DEV_DOCS_CLIENT_SECRET
    return init


def add_oauth2_to_openapi(app, settings: ServiceSettings) -> None:
    """Declare OAuth2 (client credentials for systems, authorization code for officers) in the app's OpenAPI,
    with each operation's security requirement naming the scope its `require(...)` demands, so an operator
    can authorize in /docs. The plain bearer scheme stays as the alternative (a token pasted in)."""
    from .roles import SCOPES

    default_openapi = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = default_openapi()
        authorization_url, token_url = oauth2_urls(settings)
        components = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        components[OAUTH2_SCHEME] = {
            "type": "oauth2",
            "description": "Access tokens from the identity provider (Keycloak realm `pana`): systems use the "
                           "client credentials flow, officers the authorization code flow (client `pana-console`).",
            "flows": {
                "clientCredentials": {"tokenUrl": token_url, "scopes": dict(SCOPES)},
                "authorizationCode": {"authorizationUrl": authorization_url, "tokenUrl": token_url,
                                      "scopes": dict(SCOPES)},
            },
        }
        scopes = route_scopes(app)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                scope = scopes.get((method.upper(), path))
                if scope and isinstance(operation, dict):
                    operation["security"] = [{OAUTH2_SCHEME: [scope]}, {"HTTPBearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
