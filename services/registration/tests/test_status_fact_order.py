"""Facts of one day replay in the order registration learned them, never in the database's row order.

CI once saw a statelessness case opened and determined on one day replayed as determined-then-opened on
PostgreSQL: the person stayed `stateless_applicant`, no stateless person's certificate was issued and the
procedure certificate stayed valid."""

from datetime import date

from sqlalchemy import delete, insert, select

from registration.domain import FactKind, LegalStatus, StatusFact, project_legal_status
from registration.store.repository import StatusFacts
from registration.store.tables import StatusFactRow

DAY = date(2026, 12, 1)


async def test_a_case_opened_and_determined_on_one_day_replays_in_arrival_order(reg):
    db = reg.app.state.db
    async with db.transaction() as session:
        facts = StatusFacts(session)
        # source ids that sort the wrong way round: "…:first_instance" < "…:opened"
        assert await facts.add("p1", StatusFact(FactKind.STATELESSNESS_APPLICATION_LODGED, DAY, "case-1:opened"))
        assert await facts.add("p1", StatusFact(FactKind.STATELESSNESS_DETERMINED, DAY, "case-1:first_instance"))
        assert not await facts.add("p1", StatusFact(FactKind.STATELESSNESS_DETERMINED, DAY, "case-1:first_instance"))
    async with db.transaction() as session:  # the database may return rows in any order: put the first last
        opened = (await session.execute(select(StatusFactRow).where(StatusFactRow.source_event_id == "case-1:opened"))
                  ).scalar_one()
        values = {c.name: getattr(opened, c.name) for c in StatusFactRow.__table__.columns}
        await session.execute(delete(StatusFactRow).where(StatusFactRow.source_event_id == "case-1:opened"))
        await session.execute(insert(StatusFactRow).values(**values))
    async with db.transaction() as session:
        stored = await StatusFacts(session).of("p1")
        assert [f.source_event_id for f in stored] == ["case-1:opened", "case-1:first_instance"]
        assert project_legal_status("p1", stored).status is LegalStatus.STATELESS
        on_day = (await StatusFacts(session).known_on(DAY))["p1"]
        assert project_legal_status("p1", on_day).status is LegalStatus.STATELESS


async def test_an_earlier_day_still_comes_first_whatever_the_arrival(reg):
    async with reg.app.state.db.transaction() as session:
        facts = StatusFacts(session)
        await facts.add("p2", StatusFact(FactKind.STATELESSNESS_DETERMINED, DAY, "case-2:first_instance"))
        await facts.add("p2", StatusFact(FactKind.STATELESSNESS_APPLICATION_LODGED, date(2026, 11, 2), "case-2:opened"))
        stored = await facts.of("p2")
    assert [f.source_event_id for f in stored] == ["case-2:opened", "case-2:first_instance"]
    assert project_legal_status("p2", stored).status is LegalStatus.STATELESS
