"""A registration number is random and unique. On PostgreSQL it is not probed before the insert: the person's one
statement writes nothing when somebody holds the number, and the registration draws another (issue 16: one round
trip less per registration). Elsewhere the number is probed first, as before."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from pana_dev.testing import service_harness
from registration.app import create
from registration.settings import RegistrationSettings
from registration.store import repository
from registration.store.tables import BlockingKeyRow, MatchRecordRow, PersonRow


def body(given: str, family: str, birth: str) -> dict:
    return {"given_name": given, "family_name": family, "birth_date": birth, "sex": "female",
            "citizenship": ["AFG"], "country_of_origin": "AFG"}


async def taken_number_then_a_free_one(reg, monkeypatch) -> None:
    h = {**reg.headers("registration-officer"), "Idempotency-Key": "number-first-1"}
    first = await reg.client.post("/api/v1/persons", json=body("Malalai", "Wardak", "1991-02-03"), headers=h)
    assert first.status_code == 201, first.text
    taken = first.json()["registration_number"]
    prefix, year, _ = taken.rsplit("-", 2)
    free = f"{prefix}-{year}-00000042"
    drawn = iter([taken, taken, free])
    monkeypatch.setattr(repository, "_random_number", lambda *_: next(drawn))

    h = {**reg.headers("registration-officer"), "Idempotency-Key": "number-second-1"}
    second = await reg.client.post("/api/v1/persons", json=body("Zarghuna", "Ahmadzai", "1975-08-09"), headers=h)
    assert second.status_code == 201, second.text
    assert second.json()["registration_number"] == free
    events = await reg.published("registration.person.registered.v1")
    assert {e["data"]["person_id"]: e["data"]["registration_number"] for e in events} == {
        first.json()["person_id"]: taken, second.json()["person_id"]: free}
    async with reg.app.state.db.session() as session:
        assert (await session.execute(select(PersonRow.registration_number).where(
            PersonRow.person_id == second.json()["person_id"]))).scalar_one() == free
        assert (await session.execute(select(func.count()).select_from(MatchRecordRow))).scalar_one() == 2
        keys = (await session.execute(select(func.count()).select_from(BlockingKeyRow).where(
            BlockingKeyRow.person_id == second.json()["person_id"]))).scalar_one()
        assert keys > 0
    read = await reg.client.get(f"/api/v1/persons/{second.json()['person_id']}",
                                headers={**reg.headers("registration-officer"), "X-Purpose": "case-work"})
    assert read.status_code == 200 and read.json()["registration_number"] == free


async def test_a_number_somebody_holds_is_drawn_again_on_sqlite(reg, monkeypatch):
    await taken_number_then_a_free_one(reg, monkeypatch)


@pytest.mark.parametrize("label", ["registration-number"])
async def test_a_number_somebody_holds_is_drawn_again_in_the_insert_on_postgresql(tmp_path, monkeypatch, label):
    from pana_dev.testing import module_postgres

    with module_postgres(label) as pg:
        pg.create_database("reg")
        async with service_harness(create, RegistrationSettings, tmp_path, database_url=pg.url("reg"),
                                   signing_key_path=str(tmp_path / "signing.pem"),
                                   stateless_certificate_watch_enabled=False) as reg:
            await taken_number_then_a_free_one(reg, monkeypatch)
