"""OAuth2 bearer access tokens (RFC 9068 profile) and per-route scopes.

Signatures are checked against configured public keys (EdDSA / RS256) or a JWKS
URL; `iss`, `aud`, `exp`, `nbf` are enforced with a bounded leeway. The
symmetric dev key works only in dev mode. `alg: none` never verifies.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import Problem
from .roles import ROLE_SCOPES, SERVICES, scopes_for
from .settings import ServiceSettings

ASYMMETRIC_ALGS = ["EdDSA", "RS256"]
DEV_ALG = "HS256"
ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}

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


class TokenVerifier:
    def __init__(self, settings: ServiceSettings):
        self.settings = settings
        self._keys: list[Any] = []
        self._jwks: jwt.PyJWKClient | None = None
        if settings.auth_public_keys_file:
            self._keys = _load_public_keys(Path(settings.auth_public_keys_file))
        if settings.auth_jwks_url:
            self._jwks = jwt.PyJWKClient(settings.auth_jwks_url, cache_keys=True, lifespan=300)
        if not self._keys and not self._jwks and not settings.dev_mode:
            raise RuntimeError("no token keys configured: set auth_public_keys_file or auth_jwks_url (or dev_mode for development)")

    def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _unauthenticated(f"malformed token: {exc}") from exc
        alg = header.get("alg")
        if header.get("typ", "").lower() not in ACCESS_TOKEN_TYPES:
            raise _unauthenticated("not an access token (typ must be at+jwt)")
        options = {"require": ["exp", "iat", "iss", "aud", "sub"]}
        common = dict(audience=self.settings.audience, issuer=self.settings.auth_issuer,
                      leeway=self.settings.auth_leeway_seconds, options=options)
        try:
            if alg == DEV_ALG:
                if not self.settings.dev_mode:
                    raise _unauthenticated("symmetric tokens are accepted only in dev mode")
                claims = jwt.decode(token, self.settings.auth_dev_secret, algorithms=[DEV_ALG], **common)
            elif alg in ASYMMETRIC_ALGS:
                claims = self._decode_asymmetric(token, alg, common)
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
        except jwt.PyJWTError as exc:
            raise _unauthenticated(f"invalid token: {exc}") from exc
        if "nbf" not in claims and claims.get("iat", 0) > time.time() + self.settings.auth_leeway_seconds:
            raise _unauthenticated("token issued in the future")
        roles = tuple(r for r in claims.get("roles", []) if r in ROLE_SCOPES)
        granted = frozenset(str(claims.get("scope", "")).split()) if claims.get("scope") else scopes_for(roles)
        return Principal(
            subject=str(claims["sub"]), client_id=claims.get("client_id"), roles=roles,
            scopes=granted & scopes_for(roles) if roles else granted,
            office=claims.get("office"), team=claims.get("team"), claims=claims,
        )

    def _decode_asymmetric(self, token: str, alg: str, common: dict) -> dict:
        if self._jwks is not None:
            key = self._jwks.get_signing_key_from_jwt(token).key
            return jwt.decode(token, key, algorithms=ASYMMETRIC_ALGS, **common)
        last: Exception | None = None
        for key in self._keys:
            try:
                return jwt.decode(token, key, algorithms=ASYMMETRIC_ALGS, **common)
            except jwt.InvalidSignatureError as exc:
                last = exc
        raise jwt.InvalidSignatureError("signature matches no trusted key") from last


def _load_public_keys(path: Path) -> list[Any]:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = path.read_text()
    blocks = [b + "-----END PUBLIC KEY-----\n" for b in text.split("-----END PUBLIC KEY-----") if "BEGIN" in b]
    return [load_pem_public_key(b.strip().encode() + b"\n") for b in blocks]


def _unauthenticated(detail: str) -> Problem:
    return Problem(401, detail, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def require(scope: str):
    """Dependency: a valid token holding `scope`; 401 without a token, 403 without the scope.

    It runs before the route touches any record, so a refusal never reveals whether
    the record exists.
    """

    async def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Principal:
        if credentials is None or not credentials.credentials:
            raise Problem(401, "a bearer access token is required", headers={"WWW-Authenticate": "Bearer"})
        principal = request.app.state.verifier.verify(credentials.credentials)
        if not principal.has(scope):
            raise Problem(403, f"this action needs the scope {scope}", type_suffix="insufficient-scope",
                          headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'})
        request.state.principal = principal
        read_limiter = getattr(request.app.state, "read_limiter", None)
        if read_limiter is not None:  # per-principal read limit (pana_kit.ratelimit.ReadLimiter), after auth
            read_limiter.check(request, principal)
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_').replace('-', '_')}"
    dependency.required_scope = scope  # read by the route-walking auth test
    return dependency


def mint_dev_token(settings: ServiceSettings, *, role: str, subject: str | None = None, office: str | None = "almaty",
                   audience: list[str] | str | None = None, ttl_seconds: int = 8 * 3600, **extra: Any) -> str:
    """A dev-mode token for `role` (HS256 with the dev secret); used by `pana token` and tests."""
    if role not in ROLE_SCOPES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLE_SCOPES)}")
    now = int(time.time())
    claims = {
        "iss": settings.auth_issuer,
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
    return jwt.encode(claims, settings.auth_dev_secret, algorithm=DEV_ALG, headers={"typ": "at+jwt"})
