"""The civil-registry simulator: a FastAPI application outside the product."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import datetime

import httpx
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.routing import compile_path

from pana_events.identifiers import check_iin

from .config import SimConfig
from .data import KZ_TZ
from .gate import REGISTRY_PREFIX, RegistryGate, Stats
from .models import (
    BirthRecord,
    BirthRecordIn,
    BirthRecordSearch,
    BirthRegistrationRequest,
    ErrorResponse,
    FaultSettings,
    FaultUpdate,
    Person,
    SearchResult,
    Submission,
)
from .store import Conflict, RegistryStore

log = logging.getLogger("civil_registry_simulator")

DESCRIPTION = """\
A stand-in for Kazakhstan's civil registry, for running and testing Pana. **Not part of
the product.** The `/registry/v1` API is the registry's wire format (JSON, camelCase
field names, dates `YYYY-MM-DD`, times `HH:MM:SS`, timestamps ISO 8601 with `+05:00`).
Every `/registry` call needs `Authorization: Bearer <api key>`; errors are
`{"error": {"code", "message"}}`. `/sim/v1` controls faults and reads call counts
(no authentication). See `deploy/civil-registry-simulator/README.md`.
"""

# For call counting (by template) before routing, e.g. when a fault answers first.
REGISTRY_ENDPOINTS = [
    ("GET", "/registry/v1/persons/{iin}"),
    ("POST", "/registry/v1/birth-records/search"),
    ("GET", "/registry/v1/birth-records/{certificate_number}"),
    ("POST", "/registry/v1/birth-registrations"),
    ("GET", "/registry/v1/birth-registrations/{submission_id}"),
]

ERRORS = {401: {"model": ErrorResponse, "description": "missing or wrong API key"},
          503: {"model": ErrorResponse, "description": "registry outage"}}


def _err(status: int, code: str, message: str, details=None, headers=None) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    if details is not None:
        body["error"]["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


class SimState:
    def __init__(self, config: SimConfig):
        self.config = config
        self.api_key = config.api_key
        self.faults = FaultSettings(**asdict(config.faults))
        self.rng = random.Random(config.seed ^ 0x5EED)
        self.stats = Stats()
        self.store = RegistryStore(config.seed)
        self.store.seed(config.records)
        self.tasks: set[asyncio.Task] = set()
        self.endpoints = [(m, t, compile_path(t)[0]) for m, t in REGISTRY_ENDPOINTS]


def create_app(config: SimConfig | None = None) -> FastAPI:
    config = config or SimConfig.from_env()
    sim = SimState(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        for task in list(sim.tasks):
            task.cancel()
        if sim.tasks:
            await asyncio.gather(*sim.tasks, return_exceptions=True)

    app = FastAPI(
        title="Civil registry simulator",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "registry", "description": "The civil registry's API (wire format for the bridge adapter)."},
            {"name": "simulator", "description": "Test control: faults, call counts, test records."},
        ],
    )
    app.state.sim = sim
    app.add_middleware(RegistryGate, sim=sim)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()
        ]
        if not request.url.path.startswith(REGISTRY_PREFIX):
            return JSONResponse({"detail": details}, status_code=422)
        code = "invalid_request"
        if any("medicalBirthCertificateNumber" in map(str, d["loc"]) for d in details):
            code = "missing_medical_birth_certificate" if any(
                d["type"] == "missing" and d["loc"][-1] == "medicalBirthCertificateNumber" for d in details
            ) else "invalid_medical_birth_certificate"
        return _err(422, code, "the request does not match the registry's format", details)

    registry = APIRouter(
        prefix="/registry/v1", tags=["registry"], responses=ERRORS,
        dependencies=[Depends(HTTPBearer(auto_error=False, description="the registry API key"))],
    )

    @registry.get(
        "/persons/{iin}", response_model=Person, response_model_exclude_none=False,
        responses={400: {"model": ErrorResponse, "description": "not a valid IIN"},
                   404: {"model": ErrorResponse, "description": "no person with this IIN"}},
        summary="Person by IIN",
    )
    async def get_person(iin: str):
        check = check_iin(iin)
        if not check.valid:
            return _err(400, "invalid_iin", check.reason or "invalid IIN")
        person = await sim.store.person(iin)
        if person is None:
            return _err(404, "person_not_found", f"no person with IIN {iin}")
        return person

    @registry.get(
        "/birth-records/{certificate_number}", response_model=BirthRecord,
        responses={404: {"model": ErrorResponse, "description": "no such certificate"}},
        summary="Birth record by certificate number (e.g. 'I-KZ 0123456', URL-encoded)",
    )
    async def get_birth_record(certificate_number: str):
        record = await sim.store.record(certificate_number)
        if record is None:
            return _err(404, "birth_record_not_found", f"no birth record {certificate_number}")
        return record

    @registry.post(
        "/birth-records/search", response_model=SearchResult,
        responses={422: {"model": ErrorResponse}},
        summary="Find birth records by child and mother details (case-insensitive, exact match)",
    )
    async def search_birth_records(query: BirthRecordSearch):
        return SearchResult(matches=await sim.store.search(query))

    @registry.post(
        "/birth-registrations", status_code=202, response_model=Submission,
        responses={409: {"model": ErrorResponse, "description": "Idempotency-Key reused with a different body"},
                   422: {"model": ErrorResponse, "description": "malformed, e.g. no medical birth certificate"}},
        summary="Submit a birth registration (answered asynchronously)",
    )
    async def submit_birth_registration(
        body: BirthRegistrationRequest,
        response: Response,
        idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
    ):
        try:
            entry, created = await sim.store.submit(body, idempotency_key)
        except Conflict as exc:
            return _err(409, "idempotency_key_reused", str(exc))
        sid = entry.submission.submission_id
        response.headers["Location"] = f"/registry/v1/birth-registrations/{sid}"
        if created:
            sim.stats.registrations["created"] += 1
            task = asyncio.create_task(_process(sim, sid))
            sim.tasks.add(task)
            task.add_done_callback(sim.tasks.discard)
        else:
            sim.stats.registrations["replayed"] += 1
            response.headers["Idempotent-Replayed"] = "true"
        return entry.submission

    @registry.get(
        "/birth-registrations/{submission_id}", response_model=Submission,
        responses={404: {"model": ErrorResponse}}, summary="Status of a submission (poll)",
    )
    async def get_birth_registration(submission_id: str):
        submission = await sim.store.submission(submission_id)
        if submission is None:
            return _err(404, "submission_not_found", f"no submission {submission_id}")
        return submission

    app.include_router(registry)

    simr = APIRouter(prefix="/sim/v1", tags=["simulator"])

    @simr.get("/faults", response_model=FaultSettings)
    async def get_faults():
        return sim.faults

    @simr.put("/faults", response_model=FaultSettings, summary="Change fault knobs (only those given)")
    async def put_faults(update: FaultUpdate):
        sim.faults = sim.faults.model_copy(update=update.model_dump(exclude_none=True))
        return sim.faults

    @simr.get("/stats", summary="Calls served by endpoint and outcome; submissions; callbacks")
    async def get_stats():
        return {**sim.stats.snapshot(), "records": await sim.store.count()}

    @simr.delete("/stats", status_code=204, summary="Reset the counters")
    async def reset_stats():
        sim.stats.reset()

    @simr.post("/records", status_code=201, response_model=BirthRecord, summary="Add a birth record (tests)")
    async def add_record(body: BirthRecordIn):
        try:
            return await sim.store.add_record(body)
        except Conflict as exc:
            return _err(409, "conflict", str(exc))

    app.include_router(simr)

    @app.get("/healthz", tags=["simulator"])
    async def healthz():
        return {"status": "ok", "records": await sim.store.count()}

    return app


async def _process(sim: SimState, submission_id: str) -> None:
    delay = sim.faults.registration_delay_s
    if delay:
        await asyncio.sleep(delay)
    result = await sim.store.decide(submission_id, datetime.now(KZ_TZ).date())
    sim.stats.registrations[result.status] += 1
    entry = sim.store.submissions[submission_id]
    if entry.request.callback_url is not None:
        await _deliver(sim, str(entry.request.callback_url), result)


def sign_callback(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """The signature headers of one callback delivery: `X-Registry-Timestamp` (Unix seconds) and
    `X-Registry-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`."""
    ts = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Registry-Timestamp": str(ts), "X-Registry-Signature": f"sha256={digest}"}


async def _deliver(sim: SimState, url: str, result: Submission) -> None:
    payload = result.model_dump(mode="json", by_alias=True)
    body = json.dumps(payload, separators=(",", ":")).encode()
    backoff = sim.config.callback_backoff_s
    headers = {"X-Registry-Event": "birth-registration.completed",
               "X-Registry-Submission-Id": result.submission_id}
    async with httpx.AsyncClient(timeout=sim.config.callback_timeout_s) as client:
        for attempt in range(1, sim.config.callback_attempts + 1):
            sim.stats.callbacks["attempts"] += 1
            try:
                # Signed afresh each attempt: a new timestamp, so a retry is not a replay.
                signed = {**headers, "Content-Type": "application/json",
                          **sign_callback(sim.config.callback_secret, body)}
                r = await client.post(url, content=body, headers=signed)
                if r.status_code < 300:
                    sim.stats.callbacks["delivered"] += 1
                    return
            except httpx.HTTPError as exc:
                log.info("callback %s attempt %d failed: %s", url, attempt, exc)
            if attempt < sim.config.callback_attempts:
                await asyncio.sleep(backoff * 2 ** (attempt - 1))
    sim.stats.callbacks["failed"] += 1
