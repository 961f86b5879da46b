"""What every service's HTTP surface carries: security headers, no CORS unless configured, quiet logs."""

import logging

import pytest
from pana_kit.logs import redact
from pana_dev.testing import assert_no_personal_data, capture_json_logs, service_harness
from rsd.app import create
from rsd.settings import RsdSettings


async def test_security_headers_on_api_and_docs(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path) as h:
        for path in ("/healthz", "/api/v1/audit", "/does-not-exist"):
            r = await h.client.get(path)
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["strict-transport-security"].startswith("max-age=")
            assert r.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        docs = await h.client.get("/docs")
        assert docs.status_code == 200 and "default-src 'self'" in docs.headers["content-security-policy"]


async def test_a_response_that_sets_its_own_policy_keeps_it():
    """A page with its own assets (registration's /verify) sets its CSP, caching and permissions; the middleware
    adds only the defaults it did not set, one header of each name."""
    import httpx
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse
    from pana_kit.middleware import KitMiddleware

    app = FastAPI()

    @app.get("/page")
    async def page():
        return PlainTextResponse("ok", headers={"Content-Security-Policy": "default-src 'self'",
                                                "Cache-Control": "no-cache", "Permissions-Policy": "camera=(self)"})

    @app.get("/api")
    async def api():
        return PlainTextResponse("ok")

    wrapped = KitMiddleware(app, "hygiene-test", max_bytes=1024)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as client:
        own = await client.get("/page")
        assert own.headers.get_list("content-security-policy") == ["default-src 'self'"]
        assert own.headers.get_list("cache-control") == ["no-cache"]
        assert own.headers.get_list("permissions-policy") == ["camera=(self)"]
        assert own.headers["x-frame-options"] == "DENY"  # the defaults it did not set
        strict = await client.get("/api")
        assert strict.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert strict.headers["cache-control"] == "no-store"


async def test_cors_is_off_unless_configured(tmp_path):
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "Authorization"}
    (tmp_path / "a").mkdir()
    async with service_harness(create, RsdSettings, tmp_path / "a") as h:
        r = await h.client.options("/api/v1/audit", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
        r = await h.client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    (tmp_path / "b").mkdir()
    async with service_harness(create, RsdSettings, tmp_path / "b", cors_origins=["https://portal.gov.kz"]) as h:
        r = await h.client.options("/api/v1/audit", headers={**preflight, "Origin": "https://portal.gov.kz"})
        assert r.headers["access-control-allow-origin"] == "https://portal.gov.kz"
        r = await h.client.options("/api/v1/audit", headers=preflight)
        assert r.headers.get("access-control-allow-origin") != "https://evil.example"


async def test_an_unexpected_error_logs_the_route_template_not_the_path_or_query(tmp_path):
    with capture_json_logs("rsd") as logs:
        async with service_harness(create, RsdSettings, tmp_path) as h:
            @h.app.get("/api/v1/boom/{person_id}")
            async def boom(person_id: str):
                raise RuntimeError("boom")

            import httpx

            transport = httpx.ASGITransport(app=h.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
                r = await client.get("/api/v1/boom/Aliya-Nurlanovna?birth=1990-05-17")
            assert r.status_code == 500
            assert r.headers["content-type"].startswith("application/problem+json")
    lines = [rec for rec in logs.records if rec["logger"] == "pana.errors"]
    assert lines and lines[0]["message"] == "unhandled error on GET /api/v1/boom/{person_id}"
    assert_no_personal_data(logs.text, ["Aliya", "Nurlanovna", "1990-05-17"])


def test_assert_no_personal_data_finds_names_and_dates_in_any_spelling():
    assert_no_personal_data('{"message": "application 6f1c read"}', ["Aliya Nurlanovna", "1990-05-17"])
    for text in ('{"message": "read ALIYA"}', '{"message": "born 17.05.1990"}', '{"message": "\\u0410\\u0439\\u0433\\u0443\\u043b\\u044c"}'):
        with pytest.raises(AssertionError, match="personal data"):
            assert_no_personal_data(text, ["Aliya", "1990-05-17", "Айгуль"])
    with pytest.raises(ValueError):
        assert_no_personal_data("", ["Al"])


def test_library_exception_texts_are_redacted():
    pydantic_text = "1 validation error\nname\n  String too short [type=string_too_short, input_value='Aliya', input_type=str]"
    assert "Aliya" not in redact(pydantic_text)
    sql_text = "(sqlite3.IntegrityError) UNIQUE failed\n[SQL: INSERT INTO persons (name) VALUES (?)]\n[parameters: ('Aliya', '1990-05-17')]"
    assert "Aliya" not in redact(sql_text) and "[SQL: INSERT" in redact(sql_text)
    pg_text = 'DETAIL:  Key (iin)=(900517400123) already exists.'
    assert "900517400123" not in redact(pg_text) and "Key (iin)" in redact(pg_text)


def test_captured_logs_are_json_lines():
    with capture_json_logs("kit") as logs:
        logging.getLogger("pana.test").info("application %s read", "6f1c")
    assert logs.records[-1]["message"] == "application 6f1c read" and logs.records[-1]["service"] == "kit"


async def test_a_nul_character_in_the_url_is_a_422_problem_not_a_database_error(tmp_path):
    """PostgreSQL refuses NUL in text; the kit refuses it in URLs first, for every route (found by fuzzing)."""
    async with service_harness(create, RsdSettings, tmp_path) as h:
        auditor = {**h.headers("auditor"), "X-Purpose": "audit"}
        for url in ("/api/v1/audit?subject=a%00b", "/api/v1/applications/app%00id", "/api/v1/audit?action=%00"):
            r = await h.client.get(url, headers=auditor)
            assert r.status_code == 422, (url, r.text)
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["errors"][0]["code"] == "nul_character"
            assert r.headers["x-content-type-options"] == "nosniff"
        assert (await h.client.get("/api/v1/audit?subject=ab", headers=auditor)).status_code == 200


async def test_a_body_over_the_limit_is_413_whether_announced_or_streamed(tmp_path):
    async with service_harness(create, RsdSettings, tmp_path, max_body_bytes=4096) as h:
        headers = {**h.headers("eligibility-officer"), "Content-Type": "application/json"}
        big = b'{"narrative": "' + b"x" * 8192 + b'"}'
        r = await h.client.post("/api/v1/applications", content=big, headers=headers)
        assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json", r.text

        async def chunks():
            for _ in range(4):
                yield b"x" * 2048

        r = await h.client.post("/api/v1/applications", content=chunks(), headers=headers)
        assert r.status_code == 413, r.text


async def test_docs_can_authorize_at_the_identity_provider(tmp_path):
    """/docs offers the officers' client with PKCE; its policy lets Swagger fetch a token from the identity
    provider's origin (and no other); the development realm's client secret is filled in only in dev mode."""
    from pana_dev.keycloak_realm import CONSOLE, dev_secret
    from pana_kit.auth import DEV_DOCS_CLIENT_SECRET, DOCS_CLIENT_ID, docs_oauth_settings

    assert (DOCS_CLIENT_ID, DEV_DOCS_CLIENT_SECRET) == (CONSOLE, dev_secret(CONSOLE))
    issuer = "http://127.0.0.1:18080/realms/pana"
    async with service_harness(create, RsdSettings, tmp_path, auth_issuer=issuer) as h:
        docs = await h.client.get("/docs")
        assert docs.status_code == 200
        assert "connect-src 'self' http://127.0.0.1:18080" in docs.headers["content-security-policy"]
        assert f'"clientId": "{CONSOLE}"' in docs.text and '"usePkceWithAuthorizationCodeGrant": true' in docs.text
        assert DEV_DOCS_CLIENT_SECRET in docs.text  # dev mode: one click against the development realm
        scheme = (await h.client.get("/openapi.json")).json()["components"]["securitySchemes"]["OAuth2"]
        assert scheme["flows"]["authorizationCode"]["authorizationUrl"] == f"{issuer}/protocol/openid-connect/auth"
    production = RsdSettings(dev_mode=False, auth_issuer=issuer)
    assert "clientSecret" not in docs_oauth_settings(production)
