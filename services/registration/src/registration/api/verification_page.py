"""The verification page for service providers (a clinic, a school): served by registration from its own assets,
nothing from the internet, in Kazakh, Russian and English.

- Offline check: the page verifies a certificate's QR code (`PANA1.<claims>.<signature>`) in the browser with
  WebCrypto's Ed25519 against the published key (`/.well-known/pana-verification-key`, a JWK set the page keeps
  in its storage), and shows what the card says; no server call, no login.
- Online check: after the provider logs in (OIDC authorization code with PKCE at the configured identity
  provider; in dev mode a dev token may be pasted instead), the page calls `GET /api/v1/verify/{number}` —
  the same audited, rate-limited use case as any API client — with the number and the holder's birth date.

These routes are public (no token) and outside the OpenAPI document: a page, its assets, its configuration and
the public key."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse

from pana_kit.auth import oauth2_urls
from pana_kit.errors import Problem

from ..signing import public_jwks

router = APIRouter(include_in_schema=False)
ASSETS = Path(__file__).resolve().parent.parent / "verify_page"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_FILES = {p.name for p in ASSETS.iterdir() if p.suffix in _TYPES}


def _csp(request: Request) -> str:
    """Only this service's own assets; the identity provider's token endpoint is the one other address the page
    may call (the authorization-code exchange)."""
    _, token_url = oauth2_urls(request.app.state.settings)
    idp = urlsplit(token_url)
    connect = "'self'" + (f" {idp.scheme}://{idp.netloc}" if idp.scheme in ("http", "https") else "")
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            f"media-src 'self' blob:; connect-src {connect}; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors 'none'")


@router.get("/verify")
async def page(request: Request):
    return FileResponse(ASSETS / "index.html", media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": _csp(request), "Cache-Control": "no-cache",
        "Permissions-Policy": "camera=(self), microphone=(), geolocation=()"})  # the camera scans QR codes


@router.get("/verify/assets/{name}")
async def asset(name: str):
    if name not in _FILES:
        raise HTTPException(404)
    return FileResponse(ASSETS / name, media_type=_TYPES[Path(name).suffix], headers={"Cache-Control": "no-cache"})


@router.get("/verify/config.json")
async def config(request: Request):
    """What the page needs to log a provider in: the identity provider's endpoints and the page's client."""
    settings = request.app.state.settings
    authorization_url, token_url = oauth2_urls(settings)
    return JSONResponse({
        "authorization_url": authorization_url, "token_url": token_url,
        "client_id": settings.verify_page_client_id, "scope": "openid registration:verify",
        "paste_token": bool(settings.dev_mode),
    }, headers={"Cache-Control": "no-cache"})


@router.get("/.well-known/pana-verification-key")
async def verification_key(request: Request):
    """The Ed25519 public key of document QR codes as a JWK set (`kid` as in the claims); public, cacheable."""
    key = request.app.state.signing_key
    if key is None:
        raise Problem(503, "no signing key is configured for document QR codes")
    return JSONResponse(public_jwks(key), headers={"Cache-Control": "public, max-age=3600"})
