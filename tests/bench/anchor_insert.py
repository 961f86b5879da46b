"""The anchor for registration's write path (bench_registration.py --only e): a bare FastAPI app under the same
uvicorn settings as a service, inserting the same kind of row (person id, number, search columns, JSON document)
into PostgreSQL with one Core statement per request. What the register's POST costs beyond that is the service.

    python tests/bench/anchor_insert.py --port P --database-url postgresql+asyncpg://...
"""

from __future__ import annotations

import argparse
import secrets
import uuid
from datetime import date, datetime, timezone

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import JSON, Column, Date, DateTime, MetaData, String, Table
from sqlalchemy.ext.asyncio import create_async_engine

metadata = MetaData()
anchor = Table("anchor_persons", metadata,
               Column("person_id", String(64), primary_key=True), Column("registration_number", String(40)),
               Column("family_name", String(200)), Column("given_name", String(200)), Column("birth_date", Date),
               Column("sex", String(20)), Column("document", JSON), Column("created_at", DateTime(timezone=True)))


class PersonIn(BaseModel):
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    model_config = {"extra": "allow"}


def create(url: str) -> FastAPI:
    engine = create_async_engine(url, pool_size=20)
    app = FastAPI()

    @app.on_event("startup")
    async def tables():
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        except Exception:  # noqa: BLE001 - another worker created it meanwhile (--workers): it is there now
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.post("/api/v1/persons", status_code=201)
    async def register(body: PersonIn):
        person_id = str(uuid.uuid4())
        number = f"ANC-{secrets.randbelow(10**8):08d}"
        async with engine.begin() as conn:
            await conn.execute(anchor.insert().values(
                person_id=person_id, registration_number=number, family_name=body.family_name,
                given_name=body.given_name, birth_date=body.birth_date, sex=body.sex,
                document=body.model_dump(mode="json"), created_at=datetime.now(timezone.utc)))
        return {"person_id": person_id, "registration_number": number}

    return app


def from_environment() -> FastAPI:
    """One worker's app (`--workers` > 1): uvicorn's workers each build theirs, as `pana_kit.serve` does."""
    import os

    return create(os.environ["ANCHOR_DATABASE_URL"])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--database-url", required=True)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (as <PREFIX>WORKERS for a service)")
    a = p.parse_args()
    # as pana_kit.serve runs a service
    options = dict(host="127.0.0.1", port=a.port, log_config=None, access_log=False, timeout_graceful_shutdown=10,
                   server_header=False)
    if a.workers > 1:
        import os
        import sys
        from pathlib import Path

        os.environ["ANCHOR_DATABASE_URL"] = a.database_url
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        uvicorn.run("anchor_insert:from_environment", factory=True, workers=a.workers,
                    app_dir=str(Path(__file__).resolve().parent), **options)
    else:
        uvicorn.run(create(a.database_url), **options)
