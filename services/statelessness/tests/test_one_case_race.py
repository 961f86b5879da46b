"""Issue 15 (a product race): an application (POST /cases) arriving at the same moment as the ex-officio opening
(registration.person.registered.v1 of a person without a nationality) both passed the "one case at a time" check
and opened two cases for one person. A partial unique index (migration 0005) now holds the rule in the database:
the loser answers 409 problem+json (request) or finds the case when its event is handled again (no duplicate,
no dead letter).

The race is made deterministic: both paths pass their check before either inserts, then the winner inserts first
and the loser's insert waits for it (PostgreSQL blocks on the unique index until the winner commits)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from pana_dev.testing import module_postgres, service_harness
from pana_events.events import registration as reg
from pana_kit.migrations import packaged_migrations, upgrade
from sqlalchemy import func, select
from statelessness.app import create
from statelessness.settings import StatelessnessSettings
from statelessness.store.repository import Cases
from statelessness.store.tables import CaseRow

@pytest.fixture(scope="module")
def postgres():
    with module_postgres("statelessness") as pg:
        yield pg


def _stateless_person(person_id: str) -> reg.PersonRegistered:
    return reg.PersonRegistered(person_id=person_id, registration_number="KZR-26-9", given_name="Timur",
                                family_name="Aliev", sex="male", citizenship=[], citizenship_status="none",
                                registered_at=datetime(2026, 11, 2, 9, tzinfo=timezone.utc))


def _race(monkeypatch, winner: str) -> None:
    """Both openings pass their check, then `winner` ("application" or "event") inserts first."""
    checked = asyncio.Barrier(2)
    winner_added = asyncio.Event()
    first_checks = {"in_procedure": True, "any_for_person": True}

    def after_check(name):
        real = getattr(Cases, name)

        async def check(self, person_id):
            found = await real(self, person_id)
            if first_checks[name]:  # the first look only: the event handled again looks without waiting
                first_checks[name] = False
                await checked.wait()
            return found
        monkeypatch.setattr(Cases, name, check)

    after_check("in_procedure")  # the application's check
    after_check("any_for_person")  # the ex-officio opening's check
    real_add = Cases.add

    async def add(self, case):
        path = "event" if self.source_event_id else "application"
        if path == winner:
            try:
                return await real_add(self, case)
            finally:
                winner_added.set()
        await winner_added.wait()
        return await real_add(self, case)  # waits on the index until the winner commits, then is refused
    monkeypatch.setattr(Cases, "add", add)


@pytest.mark.parametrize("winner", ["application", "event"])
async def test_an_application_and_the_ex_officio_opening_at_once_open_one_case(postgres, tmp_path, monkeypatch, winner):
    name = f"sl_{uuid.uuid4().hex[:8]}"
    postgres.create_database(name)
    async with service_harness(create, StatelessnessSettings, tmp_path, database_url=postgres.url(name),
                               keyring_file=str(tmp_path / "keyring.json"), consumer_retry_backoff_ms=1) as svc:
        _race(monkeypatch, winner)
        headers = {**svc.headers("statelessness-officer", subject="officer-a"), "Idempotency-Key": "race-0001"}
        response, outcome = await asyncio.gather(
            svc.client.post("/api/v1/cases", json={"person_id": "p-race"}, headers=headers),
            svc.deliver(_stateless_person("p-race"), subject="p-race"))
        monkeypatch.undo()

        assert outcome.name == "handled"  # never dead-lettered, whichever lost
        if winner == "application":
            assert response.status_code == 201, response.text
        else:  # on crypt-merge: 201 and a second case
            assert response.status_code == 409, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["rule"] == "one_case_at_a_time"
        async with svc.app.state.db.session() as session:
            cases = (await session.execute(select(CaseRow.reason).where(CaseRow.person_id == "p-race"))).scalars().all()
        assert len(cases) == 1
        assert cases == ["application" if winner == "application" else "registered_without_citizenship"]
        assert len(await svc.published("statelessness.case.opened.v1")) == 1
        # The key was not spent on the refusal: the same request again gets the same refusal, not a replayed 409.
        again = await svc.client.post("/api/v1/cases", json={"person_id": "p-race"}, headers=headers)
        assert again.status_code == (201 if winner == "application" else 409)


def test_the_migration_refuses_two_cases_in_the_procedure_and_then_the_index_holds(tmp_path):
    db_file = tmp_path / "s.db"
    url = f"sqlite+aiosqlite:///{db_file}"
    migrations = packaged_migrations("statelessness")
    upgrade(migrations, url, "0004")
    engine = sa.create_engine(f"sqlite:///{db_file}")
    now = datetime.now(timezone.utc)
    insert = sa.text("INSERT INTO cases (id, person_id, reason, status, opened_on, decision_due, version, document, "
                     "created_at, updated_at) VALUES (:id, :p, 'application', :status, '2026-01-01', '2026-07-01', 1, "
                     "'{}', :now, :now)")
    with engine.begin() as c:
        for case_id, status in (("c-1", "open"), ("c-2", "under_appeal"), ("c-3", "closed")):
            c.execute(insert, {"id": case_id, "p": "p-1", "status": status, "now": now})
    with pytest.raises(RuntimeError, match="c-1, c-2"):
        upgrade(migrations, url, "head")
    with engine.begin() as c:
        c.execute(sa.text("UPDATE cases SET status = 'closed' WHERE id = 'c-2'"))
    upgrade(migrations, url, "head")
    with engine.begin() as c:
        c.execute(insert, {"id": "c-4", "p": "p-1", "status": "determined", "now": now})  # out of the procedure: fine
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as c:
        c.execute(insert, {"id": "c-5", "p": "p-1", "status": "open", "now": now})
    with engine.begin() as c:
        assert c.execute(select(func.count()).select_from(sa.table("cases"))).scalar_one() == 4
    engine.dispose()


async def test_merging_two_persons_who_each_have_a_case_in_the_procedure_keeps_one_per_person(tmp_path):
    """With the index, re-pointing the merged record's open case to a surviving person who has one would be refused
    (and the event dead-lettered after its retries): it stays under the merged id for an officer to close."""
    async with service_harness(create, StatelessnessSettings, tmp_path, keyring_file=str(tmp_path / "keyring.json"),
                               consumer_retry_backoff_ms=1) as svc:
        headers = svc.headers("statelessness-officer", subject="officer-a")
        for person_id in ("p-new", "p-old"):
            r = await svc.client.post("/api/v1/cases", json={"person_id": person_id},
                                      headers={**headers, "Idempotency-Key": f"open-{person_id}-0001"})
            assert r.status_code == 201, r.text
        merged = reg.PersonsMerged(surviving_person_id="p-new", merged_person_id="p-old", reason="duplicate")
        assert (await svc.deliver(merged, subject="p-new")).name == "handled"
        async with svc.app.state.db.session() as session:
            rows = (await session.execute(select(CaseRow.person_id, CaseRow.status))).all()
        assert sorted(rows) == [("p-new", "open"), ("p-old", "open")]
