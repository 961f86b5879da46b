"""Per-client token buckets: 429 problem+json with Retry-After, one bucket per client, auth first."""

import httpx
import pytest
from fastapi import Depends, FastAPI
from pana_kit.auth import Principal, TokenVerifier, mint_dev_token, require
from pana_kit.errors import install_problem_handlers
from pana_kit.ratelimit import TokenBucket, rate_limit
from pana_kit.settings import ServiceSettings
from pana_dev.testing import route_scopes


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_refills_at_its_rate():
    clock = Clock()
    bucket = TokenBucket(1.0, 3, clock=clock)
    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("a") == pytest.approx(1.0)
    assert bucket.take("b") == 0  # another client has its own bucket
    clock.now += 2
    assert bucket.take("a") == 0 and bucket.take("a") == 0 and bucket.take("a") > 0
    clock.now += 100
    assert [bucket.take("a") for _ in range(4)][-1] > 0  # never more than the burst


def test_the_number_of_buckets_is_bounded():
    bucket = TokenBucket(1.0, 1, max_keys=3, clock=Clock())
    for key in "abcde":
        bucket.take(key)
    assert len(bucket._buckets) == 3


@pytest.fixture
def app_and_clock():
    settings = ServiceSettings(service_name="registration", dev_mode=True)
    clock = Clock()
    app = FastAPI()
    app.state.verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    limited = rate_limit("verify", per_minute=2, scope="registration:verify", clock=clock)

    @app.get("/verify/{number}")
    async def verify(number: str, principal: Principal = Depends(limited)):
        return {"valid": True}

    after_require = rate_limit("plain", per_minute=1, clock=clock)

    @app.get("/plain", dependencies=[Depends(require("registration:verify")), Depends(after_require)])
    async def plain():
        return {"ok": True}

    return app, settings, clock


async def test_over_the_limit_is_429_with_retry_after(app_and_clock):
    app, settings, clock = app_and_clock
    provider = {"Authorization": "Bearer " + mint_dev_token(settings, role="service-provider", subject="bank-1")}
    other = {"Authorization": "Bearer " + mint_dev_token(settings, role="service-provider", subject="bank-2")}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert [(await client.get("/verify/A1", headers=provider)).status_code for _ in range(2)] == [200, 200]
        r = await client.get("/verify/A1", headers=provider)
        assert r.status_code == 429
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/rate-limited")
        assert int(r.headers["Retry-After"]) == 30
        assert (await client.get("/verify/A1", headers=other)).status_code == 200  # per client
        clock.now += 30
        assert (await client.get("/verify/A1", headers=provider)).status_code == 200

        # Auth comes first and does not use up the bucket.
        officer = {"Authorization": "Bearer " + mint_dev_token(settings, role="registration-officer")}
        for _ in range(5):
            assert (await client.get("/verify/A1")).status_code == 401
            assert (await client.get("/verify/A1", headers=officer)).status_code == 403

        # Listed after require(...): keyed on the principal require found.
        assert (await client.get("/plain", headers=provider)).status_code == 200
        assert (await client.get("/plain", headers=provider)).status_code == 429
        assert (await client.get("/plain", headers=other)).status_code == 200


async def test_the_rate_can_come_from_the_service_settings(app_and_clock):
    _, settings, clock = app_and_clock

    class Settings(ServiceSettings):
        verify_rate_per_minute: int = 1

    app = FastAPI()
    app.state.settings = Settings(service_name="registration", dev_mode=True)
    app.state.verifier = TokenVerifier(app.state.settings)
    install_problem_handlers(app)

    @app.get("/v")
    async def v(_: Principal = Depends(rate_limit("v", per_minute=100, scope="registration:verify",
                                                  setting="verify_rate_per_minute", clock=clock))):
        return {}

    provider = {"Authorization": "Bearer " + mint_dev_token(settings, role="service-provider")}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert [(await client.get("/v", headers=provider)).status_code for _ in range(2)] == [200, 429]


def test_the_route_walk_still_sees_the_scope(app_and_clock):
    app, _, _ = app_and_clock
    assert route_scopes(app)[("GET", "/verify/{number}")] == "registration:verify"


# -- reads per principal, in every service ----------------------------------------------------------------
# On main only /verify was limited: one officer or integrator could read as fast as the server answered.

async def _reads(h, path, role, n, **claims):
    return [await h.client.get(path, headers=h.headers(role, **claims)) for _ in range(n)]


@pytest.mark.parametrize("service, role, path", [
    ("rsd", "eligibility-officer", "/api/v1/applications"),
    ("statelessness", "statelessness-officer", "/api/v1/cases"),
    ("civil-registry-bridge", "civil-registrar", "/api/v1/birth-verifications"),
    ("registration", "registration-officer", "/api/v1/households/h-1"),
])
async def test_reads_are_limited_per_principal_in_every_service(tmp_path, service, role, path):
    import importlib

    from pana_dev.testing import service_harness

    module = {"civil-registry-bridge": "civil_registry_bridge"}.get(service, service)
    create = importlib.import_module(f"{module}.app").create
    settings_cls = {"rsd": "RsdSettings", "statelessness": "StatelessnessSettings",
                    "civil-registry-bridge": "BridgeSettings", "registration": "RegistrationSettings"}[service]
    settings_cls = getattr(importlib.import_module(f"{module}.settings"), settings_cls)
    async with service_harness(create, settings_cls, tmp_path, read_rate_per_minute=3, read_rate_burst=3) as h:
        for _ in range(5):  # refused tokens use up nothing
            assert (await h.client.get(path)).status_code == 401
        first = await _reads(h, path, role, 3)
        assert all(r.status_code != 429 for r in first), [r.text for r in first]
        [over] = await _reads(h, path, role, 1)
        assert over.status_code == 429, over.text
        assert over.headers["content-type"].startswith("application/problem+json")
        assert over.json()["type"].endswith("/rate-limited")
        assert int(over.headers["Retry-After"]) >= 1
        # Another officer of the same client has a bucket of their own.
        [other] = await _reads(h, path, role, 1, subject=f"{role}-2")
        assert other.status_code != 429, other.text
        spec = (await h.client.get("/openapi.json")).json()
        assert "429" in spec["paths"][path.replace("h-1", "{household_id}")]["get"]["responses"]


async def test_document_verification_keeps_its_own_limit_and_the_read_limit_can_be_turned_off(tmp_path):
    from pana_dev.testing import service_harness
    from registration.app import create
    from registration.settings import RegistrationSettings

    async with service_harness(create, RegistrationSettings, tmp_path, read_rate_per_minute=1, read_rate_burst=1,
                               verify_rate_per_minute=5) as h:
        codes = [(await h.client.get("/api/v1/verify/RF0000000001", params={"birth_date": "1990-01-01"},
                                     headers=h.headers("service-provider"))).status_code for _ in range(6)]
        assert 429 not in codes[:5] and codes[5] == 429, codes  # the verify limit (5), not the read limit (1)
    (tmp_path / "off").mkdir()
    async with service_harness(create, RegistrationSettings, tmp_path / "off", read_rate_per_minute=0) as h:
        codes = {(await h.client.get("/api/v1/households/h-1", headers=h.headers("registration-officer"))).status_code
                 for _ in range(30)}
        assert 429 not in codes
