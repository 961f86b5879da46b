"""The population statistics' summary (population_counts), kept in the transaction of each change that moves
it: a person registered, corrected, merged or dead (`Persons`), a legal status fact (service/status.py).
Each person's row remembers what was counted of them (`persons.population`); a change adds the difference."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import delete, func, select, update

from pana_kit.counters import add_counts, shard_of

from ..domain import FactKind, PopulationMember, StatusFact, count_changes, project_legal_status
from ..domain.statistics import Cell
from .tables import PersonRow, PopulationCountRow, StatusFactRow

KEY = ("day", "legal_status", "sex", "age_bracket", "country_of_origin", "shard")
REBUILD_BATCH = 2000


def count_rows(person_id: str, deltas: dict[tuple[date, Cell], int]) -> dict[tuple, int]:
    shard = shard_of(person_id)
    return {(day, *cell, shard): n for (day, cell), n in deltas.items()}


class Population:
    def __init__(self, session):
        self.session = session

    async def member(self, person_id: str, *, lock: bool = False) -> PopulationMember | None:
        """What was last counted of the person; `lock` (PostgreSQL): hold their row until commit, so two changes
        to one person count one after the other."""
        stmt = select(PersonRow.population).where(PersonRow.person_id == person_id)
        if lock and self.session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        doc = (await self.session.execute(stmt)).scalar_one_or_none()
        return PopulationMember.from_document(doc) if doc else None

    async def count(self, before: PopulationMember | None, after: PopulationMember | None) -> None:
        """Move the summary by the difference between two states of one person."""
        person_id = (after or before).person_id
        await add_counts(self.session, PopulationCountRow.__table__, count_rows(person_id, count_changes(before, after)),
                         key=KEY)

    async def moved(self, before: PopulationMember | None, after: PopulationMember) -> None:
        """Count the difference and remember `after` on the person's row."""
        if before == after:
            return
        await self.count(before, after)
        await self.session.execute(update(PersonRow).where(PersonRow.person_id == after.person_id)
                                   .values(population=after.to_document()))

    async def on(self, as_of: date) -> dict[Cell, int]:
        """Persons per cell on a day: the sum of the summary's changes up to it."""
        n = func.sum(PopulationCountRow.count)
        cells = (PopulationCountRow.legal_status, PopulationCountRow.sex, PopulationCountRow.age_bracket,
                 PopulationCountRow.country_of_origin)
        rows = await self.session.execute(select(*cells, n).where(PopulationCountRow.day <= as_of).group_by(*cells))
        return {tuple(r[:4]): int(r[4]) for r in rows if r[4]}

    async def rebuild(self) -> int:
        """Count every person again from their documents and facts (a backfill; the migration does the same
        on a synchronous connection). Returns the persons counted."""
        await self.session.execute(delete(PopulationCountRow))
        facts = await facts_by_person(self.session)
        totals: Counter = Counter()
        after, done = "", 0
        while True:
            rows = (await self.session.execute(
                select(PersonRow.person_id, PersonRow.document).where(PersonRow.person_id > after)
                .order_by(PersonRow.person_id).limit(REBUILD_BATCH))).all()
            if not rows:
                break
            members = [member_of(doc, facts.get(pid, ())) for pid, doc in rows]
            for m in members:
                totals.update(count_rows(m.person_id, count_changes(None, m)))
            for m in members:
                await self.session.execute(update(PersonRow).where(PersonRow.person_id == m.person_id)
                                           .values(population=m.to_document()))
            after, done = rows[-1][0], done + len(rows)
        await add_counts(self.session, PopulationCountRow.__table__, totals, key=KEY)
        return done


def member_of(doc: dict, facts) -> PopulationMember:
    return PopulationMember.of_document(doc, project_legal_status(doc["person_id"], facts) if facts else None)


async def facts_by_person(session) -> dict[str, list[StatusFact]]:
    facts: dict[str, list[StatusFact]] = {}
    for r in await session.execute(select(StatusFactRow.person_id, StatusFactRow.kind, StatusFactRow.occurred_on,
                                          StatusFactRow.source_event_id, StatusFactRow.sequence)):
        facts.setdefault(r.person_id, []).append(StatusFact(FactKind(r.kind), r.occurred_on, r.source_event_id,
                                                            r.sequence))
    return facts
