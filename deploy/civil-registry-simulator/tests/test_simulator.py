from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from pana_events.identifiers import check_iin, make_iin
from civil_registry_simulator import SimConfig, create_app, sign_callback
from civil_registry_simulator import gate
from civil_registry_simulator.config import FaultConfig
from pana_dev.testing import eventually, wait_for

# Deadlines below only bound a failure (a busy two-core machine can be slow); nothing waits for a fixed time.



API_KEY = "test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_app(records: int = 200, **faults):
    faults.setdefault("registration_delay_s", 0.05)
    return create_app(SimConfig(api_key=API_KEY, records=records, seed=7, faults=FaultConfig(**faults),
                                callback_backoff_s=0.05))


@pytest.fixture
def app():
    return make_app()


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://registry",
                                 headers=AUTH) as c:
        yield c
    for task in list(app.state.sim.tasks):
        task.cancel()


class Receiver:
    """A tiny callback receiver on a real port (127.0.0.1)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.fail_first = 0
        self.event = asyncio.Event()
        self.port = free_port()
        api = FastAPI()

        @api.post("/callback")
        async def callback(request: Request):
            self.received.append({"body": await request.json(), "headers": dict(request.headers),
                                  "raw": await request.body()})
            self.event.set()
            return {"ok": True}

        @api.post("/flaky")
        async def flaky(request: Request):
            from fastapi.responses import JSONResponse

            if self.fail_first > 0:
                self.fail_first -= 1
                return JSONResponse({"no": True}, status_code=500)
            self.received.append({"body": await request.json(), "headers": dict(request.headers)})
            self.event.set()
            return {"ok": True}

        self.server = uvicorn.Server(uvicorn.Config(api, host="127.0.0.1", port=self.port, log_level="warning"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
async def receiver():
    r = Receiver()
    task = asyncio.create_task(r.server.serve())
    await eventually(lambda: r.server.started or task.done(), what="the callback receiver to listen")
    assert r.server.started, "the callback receiver did not start"
    yield r
    r.server.should_exit = True
    await task


R = "/registry/v1"


def registration(mbc: str = "MBC-2025-ALA-000001", **child) -> dict:
    c = {"surname": "Omarov", "givenName": "Alikhan", "patronymic": "Nurlan uly", "birthDate": "2025-03-01",
         "birthTime": "04:15:00", "sex": "male",
         "placeOfBirth": {"country": "KZ", "region": "Almaty", "locality": "Almaty", "facility": "Perinatal centre No. 1"}}
    c.update(child)
    return {
        "medicalBirthCertificateNumber": mbc,
        "child": c,
        "mother": {"surname": "Omarova", "givenName": "Aigerim", "birthDate": "1998-06-12", "nationality": "stateless",
                   "residence": {"country": "KZ", "region": "Almaty", "locality": "Almaty"}},
        "father": {"surname": "Omarov", "givenName": "Nurlan", "birthDate": "1995-01-20", "nationality": "UZ"},
    }


async def wait_final(client, sid: str, timeout: float = 60.0) -> dict:
    async def decided():
        body = (await client.get(f"{R}/birth-registrations/{sid}")).json()
        return body if body["status"] != "accepted" else None

    return await eventually(decided, timeout=timeout, what=f"submission {sid} decided")


async def callbacks_settled(client, outcome: str) -> dict:
    """The callback counters once a delivery has ended with `outcome` (delivered or failed)."""
    async def counters():
        callbacks = (await client.get("/sim/v1/stats")).json()["callbacks"]
        return callbacks if callbacks[outcome] else None

    return await eventually(counters, what=f"a callback {outcome}")


# --- seed data -----------------------------------------------------------------------------


def test_seed_is_deterministic_and_every_iin_valid():
    a = create_app(SimConfig(records=1000, seed=11)).state.sim.store
    b = create_app(SimConfig(records=1000, seed=11)).state.sim.store
    assert len(a.records) == 1000
    assert [r.model_dump() for r in a.records.values()] == [r.model_dump() for r in b.records.values()]
    iins = [r.child.iin for r in a.records.values()]
    assert len(set(iins)) == 1000
    for iin in a.persons:
        assert check_iin(iin).valid, iin
    for r in a.records.values():
        assert r.certificate_number.startswith("I-KZ ") and len(r.certificate_number) == 12
        hints = check_iin(r.child.iin).hints
        assert hints.birth_date == r.child.birth_date and hints.sex == r.child.sex
        assert r.mother.birth_date < r.child.birth_date
    assert len({r.medical_birth_certificate_number for r in a.records.values()}) == 1000
    nationalities = {r.mother.nationality for r in a.records.values()}
    assert {"KZ", "stateless"} <= nationalities
    c = create_app(SimConfig(records=50, seed=12)).state.sim.store
    assert set(c.records) != set(list(a.records)[:50])


async def test_person_and_certificate_lookup(app, client):
    record = next(iter(app.state.sim.store.records.values()))
    r = await client.get(f"{R}/persons/{record.child.iin}")
    assert r.status_code == 200
    assert r.json()["birthCertificateNumber"] == record.certificate_number
    assert r.json()["givenName"] == record.child.given_name
    if record.mother.iin:
        m = (await client.get(f"{R}/persons/{record.mother.iin}")).json()
        assert m["sex"] == "female" and m["nationality"] == record.mother.nationality
    r = await client.get(f"{R}/birth-records/{record.certificate_number}")
    assert r.status_code == 200 and r.json()["child"]["iin"] == record.child.iin
    assert set(r.json()) == {"certificateNumber", "registeredAt", "registryOffice", "medicalBirthCertificateNumber",
                             "child", "mother", "father"}
    assert (await client.get(f"{R}/birth-records/I-KZ 00000001")).status_code == 404
    unknown = make_iin(date(1901, 1, 1), "male", 1)
    r = await client.get(f"{R}/persons/{unknown}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "person_not_found"
    r = await client.get(f"{R}/persons/12345")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_iin"


async def test_search_case_insensitive_by_names_or_birth_date(app, client):
    record = next(iter(app.state.sim.store.records.values()))
    child = {"surname": record.child.surname.upper(), "givenName": f"  {record.child.given_name.lower()} ",
             "birthDate": record.child.birth_date.isoformat()}
    by_names = {"child": child, "mother": {"surname": record.mother.surname.lower(),
                                           "givenName": record.mother.given_name.upper()}}
    r = await client.post(f"{R}/birth-records/search", json=by_names)
    assert r.status_code == 200
    assert record.certificate_number in [m["certificateNumber"] for m in r.json()["matches"]]
    by_date = {"child": child, "mother": {"birthDate": record.mother.birth_date.isoformat()}}
    assert record.certificate_number in [
        m["certificateNumber"] for m in (await client.post(f"{R}/birth-records/search", json=by_date)).json()["matches"]
    ]
    wrong = {"child": child, "mother": {"surname": "Nobody", "givenName": "Nobody"}}
    assert (await client.post(f"{R}/birth-records/search", json=wrong)).json() == {"matches": []}
    wrong_date = {"child": child, "mother": {"surname": record.mother.surname, "givenName": record.mother.given_name,
                                             "birthDate": "1900-01-01"}}
    assert (await client.post(f"{R}/birth-records/search", json=wrong_date)).json() == {"matches": []}
    r = await client.post(f"{R}/birth-records/search", json={"child": child, "mother": {}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


# --- registrations -------------------------------------------------------------------------


async def test_submission_registered_with_callback(client, receiver):
    body = registration() | {"callbackUrl": f"{receiver.url}/callback"}
    r = await client.post(f"{R}/birth-registrations", json=body)
    assert r.status_code == 202
    sub = r.json()
    assert sub["status"] == "accepted" and sub["submissionId"]
    assert r.headers["location"].endswith(sub["submissionId"])
    await asyncio.wait_for(receiver.event.wait(), 60)
    cb = receiver.received[0]
    assert cb["body"]["submissionId"] == sub["submissionId"]
    assert cb["body"]["status"] == "registered"
    assert cb["headers"]["x-registry-event"] == "birth-registration.completed"
    # Signed over "<timestamp>.<raw body>" with the shared callback secret (the bridge checks it).
    timestamp = cb["headers"]["x-registry-timestamp"]
    assert abs(int(timestamp) - time.time()) < 120
    expected = hmac.new(SimConfig().callback_secret.encode(), timestamp.encode() + b"." + cb["raw"],
                        hashlib.sha256).hexdigest()
    assert cb["headers"]["x-registry-signature"] == f"sha256={expected}"
    assert sign_callback(SimConfig().callback_secret, cb["raw"], timestamp=int(timestamp)) == {
        "X-Registry-Timestamp": timestamp, "X-Registry-Signature": f"sha256={expected}"}
    final = await wait_final(client, sub["submissionId"])
    assert final == cb["body"]
    assert check_iin(final["childIin"]).valid
    assert check_iin(final["childIin"]).hints.birth_date == date(2025, 3, 1)
    record = (await client.get(f"{R}/birth-records/{final['certificateNumber']}")).json()
    assert record["child"]["iin"] == final["childIin"]
    assert record["mother"]["nationality"] == "stateless"  # registered whatever the parents' status
    person = (await client.get(f"{R}/persons/{final['childIin']}")).json()
    assert person["birthCertificateNumber"] == final["certificateNumber"]
    found = await client.post(f"{R}/birth-records/search", json={
        "child": {"surname": "omarov", "givenName": "ALIKHAN", "birthDate": "2025-03-01"},
        "mother": {"surname": "Omarova", "givenName": "Aigerim"}})
    assert [m["certificateNumber"] for m in found.json()["matches"]] == [final["certificateNumber"]]


async def test_callback_retried_after_failures(client, receiver, app):
    receiver.fail_first = 2
    body = registration("MBC-RETRY-1") | {"callbackUrl": f"{receiver.url}/flaky"}
    await client.post(f"{R}/birth-registrations", json=body)
    await asyncio.wait_for(receiver.event.wait(), 60)
    assert len(receiver.received) == 1
    assert await callbacks_settled(client, "delivered") == {"attempts": 3, "delivered": 1, "failed": 0}


async def test_callback_gives_up_when_unreachable(client, app):
    body = registration("MBC-NOWHERE") | {"callbackUrl": f"http://127.0.0.1:{free_port()}/cb"}
    sid = (await client.post(f"{R}/birth-registrations", json=body)).json()["submissionId"]
    assert (await wait_final(client, sid))["status"] == "registered"
    assert await callbacks_settled(client, "failed") == {"attempts": 4, "delivered": 0, "failed": 1}


@pytest.mark.parametrize(
    "change, code",
    [
        ({"child": {"birthDate": (date.today() + timedelta(days=3)).isoformat()}}, "child_birth_date_in_future"),
        ({"child": {"birthDate": "1990-01-01"}}, "child_born_before_mother"),
        ({"father": {"birthDate": "2025-04-01"}}, "child_born_before_father"),
    ],
)
async def test_rejections(client, change, code):
    body = registration()
    for part, fields in change.items():
        body[part] = {**body[part], **fields}
    sid = (await client.post(f"{R}/birth-registrations", json=body)).json()["submissionId"]
    final = await wait_final(client, sid)
    assert final["status"] == "rejected"
    assert final["rejection"]["code"] == code and final["rejection"]["message"]
    assert final["certificateNumber"] is None and final["childIin"] is None


async def test_duplicate_medical_certificate_rejected(app, client):
    existing = next(iter(app.state.sim.store.records.values()))
    sid = (await client.post(f"{R}/birth-registrations",
                             json=registration(existing.medical_birth_certificate_number))).json()["submissionId"]
    final = await wait_final(client, sid)
    assert final["rejection"]["code"] == "duplicate_medical_birth_certificate"
    assert existing.certificate_number in final["rejection"]["message"]
    # two submissions of one new birth without a key: the second is a duplicate
    a = (await client.post(f"{R}/birth-registrations", json=registration("MBC-NEW-1"))).json()["submissionId"]
    b = (await client.post(f"{R}/birth-registrations", json=registration("MBC-NEW-1"))).json()["submissionId"]
    assert (await wait_final(client, a))["status"] == "registered"
    assert (await wait_final(client, b))["rejection"]["code"] == "duplicate_medical_birth_certificate"


async def test_medical_certificate_is_required(client):
    body = registration()
    del body["medicalBirthCertificateNumber"]
    r = await client.post(f"{R}/birth-registrations", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "missing_medical_birth_certificate"
    r = await client.post(f"{R}/birth-registrations", json=registration("   "))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_medical_birth_certificate"
    bad = registration()
    bad["mother"]["iin"] = "123456789012"
    r = await client.post(f"{R}/birth-registrations", json=bad)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    stats = (await client.get("/sim/v1/stats")).json()
    assert stats["registrations"]["created"] == 0


async def test_idempotency_key(client):
    headers = {"Idempotency-Key": "req-42"}
    first = await client.post(f"{R}/birth-registrations", json=registration("MBC-IDEM"), headers=headers)
    second = await client.post(f"{R}/birth-registrations", json=registration("MBC-IDEM"), headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["submissionId"] == second.json()["submissionId"]
    assert second.headers["idempotent-replayed"] == "true"
    final = await wait_final(client, first.json()["submissionId"])
    third = await client.post(f"{R}/birth-registrations", json=registration("MBC-IDEM"), headers=headers)
    assert third.json() == final and final["status"] == "registered"
    conflict = await client.post(f"{R}/birth-registrations", json=registration("MBC-OTHER"), headers=headers)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_key_reused"
    stats = (await client.get("/sim/v1/stats")).json()
    assert stats["registrations"]["created"] == 1 and stats["registrations"]["replayed"] == 2
    assert stats["registrations"]["registered"] == 1
    ep = stats["calls"]["by_endpoint"]["POST /registry/v1/birth-registrations"]
    assert ep == {"total": 4, "by_outcome": {"202": 3, "409": 1}}


async def test_concurrent_same_key_is_one_submission(client):
    headers = {"Idempotency-Key": "burst"}
    rs = await asyncio.gather(*[
        client.post(f"{R}/birth-registrations", json=registration("MBC-BURST"), headers=headers) for _ in range(20)
    ])
    assert len({r.json()["submissionId"] for r in rs}) == 1
    assert (await client.get("/sim/v1/stats")).json()["registrations"]["created"] == 1


# --- auth, faults, stats ------------------------------------------------------------------


async def test_auth_required(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as anon:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_KEY}"}):
            r = await anon.get(f"{R}/persons/000000000000", headers=headers)
            assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
            assert r.headers["www-authenticate"].startswith("Bearer")
        r = await anon.post(f"{R}/birth-registrations", json=registration())
        assert r.status_code == 401
        assert (await anon.get("/healthz")).status_code == 200
        assert (await anon.get("/sim/v1/faults")).status_code == 200
        stats = (await anon.get("/sim/v1/stats")).json()
        assert stats["registrations"]["created"] == 0
        assert stats["calls"]["by_endpoint"]["GET /registry/v1/persons/{iin}"]["by_outcome"] == {"401": 3}


async def test_outage_at_run_time(app, client):
    record = next(iter(app.state.sim.store.records.values()))
    r = await client.put("/sim/v1/faults", json={"outage": True})
    assert r.status_code == 200 and r.json()["outage"] is True
    for path in (f"{R}/persons/{record.child.iin}", f"{R}/birth-records/{record.certificate_number}"):
        r = await client.get(path)
        assert r.status_code == 503 and r.headers["retry-after"] == "30"
    r = await client.post(f"{R}/birth-registrations", json=registration())
    assert r.status_code == 503
    assert (await client.get("/healthz")).status_code == 200
    await client.put("/sim/v1/faults", json={"outage": False})
    assert (await client.get(f"{R}/persons/{record.child.iin}")).status_code == 200
    stats = (await client.get("/sim/v1/stats")).json()
    assert stats["registrations"]["created"] == 0
    assert stats["calls"]["by_endpoint"]["GET /registry/v1/persons/{iin}"]["by_outcome"] == {"outage": 1, "200": 1}
    assert stats["calls"]["by_endpoint"]["POST /registry/v1/birth-registrations"]["by_outcome"] == {"outage": 1}
    assert (await client.put("/sim/v1/faults", json={"error_rate": 2})).status_code == 422
    assert (await client.put("/sim/v1/faults", json={"no_such_knob": 1})).status_code == 422


async def test_error_timeout_latency_and_lost_response(app, client):
    record = next(iter(app.state.sim.store.records.values()))
    url = f"{R}/persons/{record.child.iin}"
    await client.put("/sim/v1/faults", json={"error_rate": 1.0})
    r = await client.get(url)
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    await client.put("/sim/v1/faults", json={"error_rate": 0.0, "timeout_rate": 1.0, "timeout_s": 0.3})
    t = time.monotonic()
    r = await client.get(url)
    assert r.status_code == 504 and time.monotonic() - t >= 0.3
    await client.put("/sim/v1/faults", json={"timeout_rate": 0.0, "latency_ms": 200})
    t = time.monotonic()
    assert (await client.get(url)).status_code == 200 and time.monotonic() - t >= 0.2
    # lost response: processed, but the caller sees 502 — a retry with the same key is safe
    await client.put("/sim/v1/faults", json={"latency_ms": 0, "lost_response_rate": 1.0})
    h = {"Idempotency-Key": "lost-1"}
    assert (await client.post(f"{R}/birth-registrations", json=registration("MBC-LOST"), headers=h)).status_code == 502
    await client.put("/sim/v1/faults", json={"lost_response_rate": 0.0})
    assert (await client.post(f"{R}/birth-registrations", json=registration("MBC-LOST"), headers=h)).status_code == 202
    stats = (await client.get("/sim/v1/stats")).json()
    assert stats["calls"]["by_endpoint"]["GET /registry/v1/persons/{iin}"]["by_outcome"] == {
        "injected_error": 1, "injected_timeout": 1, "200": 1}
    assert stats["registrations"]["created"] == 1 and stats["registrations"]["replayed"] == 1
    assert (await client.get("/sim/v1/faults")).json() == {
        "latency_ms": 0, "error_rate": 0.0, "timeout_rate": 0.0, "outage": False, "registration_delay_s": 0.05,
        "timeout_s": 0.3, "post_latency_ms": 0, "lost_response_rate": 0.0}


async def test_error_rate_is_a_share(app, client):
    record = next(iter(app.state.sim.store.records.values()))
    await client.put("/sim/v1/faults", json={"error_rate": 0.3})
    codes = [(await client.get(f"{R}/persons/{record.child.iin}")).status_code for _ in range(300)]
    assert 50 < codes.count(500) < 130 and codes.count(200) == 300 - codes.count(500)


async def test_callback_can_arrive_before_the_submit_response(client, receiver, monkeypatch):
    # The registry holds its answer back for post_latency_ms; here that hold lasts until the callback has
    # arrived (at most a minute), so the order under test does not depend on how busy the machine is.
    async def hold_until_the_callback(_seconds: float) -> None:
        try:
            await asyncio.wait_for(receiver.event.wait(), 60)
        except TimeoutError:
            pass  # answer anyway: the assertion below names what went wrong

    monkeypatch.setattr(gate, "asyncio", SimpleNamespace(sleep=hold_until_the_callback))
    await client.put("/sim/v1/faults", json={"registration_delay_s": 0, "post_latency_ms": 500})
    body = registration("MBC-EARLY") | {"callbackUrl": f"{receiver.url}/callback"}
    r = await client.post(f"{R}/birth-registrations", json=body)
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    assert receiver.received and receiver.received[0]["body"]["submissionId"] == r.json()["submissionId"]


async def test_stats_count_and_reset(app, client):
    record = next(iter(app.state.sim.store.records.values()))
    for _ in range(3):
        await client.get(f"{R}/persons/{record.child.iin}")
    await client.get(f"{R}/birth-registrations/nope")
    await client.get(f"{R}/nowhere")
    stats = (await client.get("/sim/v1/stats")).json()
    assert stats["calls"]["total"] == 5
    assert stats["calls"]["by_endpoint"]["GET /registry/v1/persons/{iin}"] == {"total": 3, "by_outcome": {"200": 3}}
    assert stats["calls"]["by_endpoint"]["GET /registry/v1/birth-registrations/{submission_id}"]["by_outcome"] == {"404": 1}
    assert stats["calls"]["by_endpoint"]["GET <unmatched>"]["by_outcome"] == {"404": 1}
    assert stats["records"] == 200
    assert (await client.delete("/sim/v1/stats")).status_code == 204
    assert (await client.get("/sim/v1/stats")).json()["calls"]["total"] == 0


async def test_add_record_for_tests(client):
    body = {"child": {"surname": "Test", "givenName": "Baby", "birthDate": "2024-05-05", "sex": "female"},
            "mother": {"surname": "Testova", "givenName": "Mama", "birthDate": "1990-02-02", "nationality": "undetermined"},
            "certificateNumber": "I-KZ 9999999", "medicalBirthCertificateNumber": "MBC-T-1"}
    r = await client.post("/sim/v1/records", json=body)
    assert r.status_code == 201
    rec = r.json()
    assert check_iin(rec["child"]["iin"]).valid and rec["child"]["iin"].startswith("240505")
    assert (await client.get(f"{R}/birth-records/I-KZ 9999999")).json() == rec
    assert (await client.post("/sim/v1/records", json=body)).status_code == 409


def test_openapi_documents_the_registry():
    spec = make_app(records=5).openapi()
    for path in ("/registry/v1/persons/{iin}", "/registry/v1/birth-records/{certificate_number}",
                 "/registry/v1/birth-records/search", "/registry/v1/birth-registrations",
                 "/registry/v1/birth-registrations/{submission_id}", "/sim/v1/faults", "/sim/v1/stats"):
        assert path in spec["paths"], path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    req = spec["components"]["schemas"]["BirthRegistrationRequest"]
    assert "medicalBirthCertificateNumber" in req["required"]


def test_env_knobs(monkeypatch):
    for k, v in {"SIM_LATENCY_MS": "50", "SIM_ERROR_RATE": "0.1", "SIM_TIMEOUT_RATE": "0.05", "SIM_OUTAGE": "true",
                 "SIM_REGISTRATION_DELAY_S": "2", "SIM_SEED": "99", "SIM_RECORDS": "10", "SIM_API_KEY": "k"}.items():
        monkeypatch.setenv(k, v)
    c = SimConfig.from_env()
    assert c.api_key == "k" and c.records == 10 and c.seed == 99
    assert c.faults == FaultConfig(latency_ms=50, error_rate=0.1, timeout_rate=0.05, outage=True,
                                   registration_delay_s=2.0)
    assert SimConfig.from_env(records=3).records == 3


def test_entrypoint_serves_on_localhost():
    port = free_port()
    env = {**os.environ, "SIM_RECORDS": "20", "SIM_API_KEY": "cli-key", "SIM_REGISTRATION_DELAY_S": "0.05"}
    proc = subprocess.Popen([sys.executable, "-m", "civil_registry_simulator", "--host", "127.0.0.1", "--port", str(port)],
                            env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200 or proc.poll() is not None, interval=0.05,
                 what="the simulator to serve")
        assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "records": 20}
        h = {"Authorization": "Bearer cli-key"}
        sid = httpx.post(f"{base}{R}/birth-registrations", json=registration(), headers=h).json()["submissionId"]
        def decided():
            status = httpx.get(f"{base}{R}/birth-registrations/{sid}", headers=h).json()["status"]
            return status if status != "accepted" else None

        status = wait_for(decided, interval=0.02, what=f"submission {sid} decided")
        assert status == "registered"
    finally:
        proc.terminate()
        proc.wait(10)
