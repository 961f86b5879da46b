"""The statistics' summary (statistics_counts), kept in the transaction of each save of an application
(`Applications.add` / `save`): each row remembers what was counted of it (`applications.tally`), a save adds the
difference (pana_kit.counters). Read per office and day with one aggregate query."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from pana_kit.counters import add_counts, changes_from_json, changes_to_json, moved_counts, sums_up_to

from ..domain.statistics import tally_changes, tally_of_sums
from .tables import ApplicationRow, StatisticsCountRow

KEY = ("office", "day", "figure", "shard")
BACKFILL_BATCH = 500
stored = changes_to_json


class Statistics:
    def __init__(self, session):
        self.session = session

    async def counted(self, application_id: str) -> tuple[str | None, dict[tuple, int] | None]:
        """The office and changes last counted of an application (None: never counted)."""
        row = (await self.session.execute(select(ApplicationRow.office, ApplicationRow.tally)
                                          .where(ApplicationRow.id == application_id))).first()
        return (row.office, changes_from_json(row.tally)) if row and row.tally is not None else (None, None)

    async def move(self, application_id: str, before: tuple[str | None, dict | None], office: str,
                   after: dict[tuple, int]) -> list:
        """Move the summary from what was counted (`before`: office, changes) to `after`; the stored form."""
        old_office, old = before
        await add_counts(self.session, StatisticsCountRow.__table__,
                         moved_counts(application_id, old, after, before_scope=(old_office,), after_scope=(office,)),
                         key=KEY)
        return stored(after)

    async def tally(self, office: str | None, as_of: date) -> dict:
        """`tally`'s figures for an office (None: none) on a day, from the summary."""
        return tally_of_sums(await sums_up_to(self.session, StatisticsCountRow.__table__, as_of, office=office or ""))

    async def backfill(self, application) -> int:
        """Count every application not counted yet (stored before the summary existed, or around the write path),
        batch by batch; `application(row)` opens a row. Idempotent. Returns how many were counted."""
        done = 0
        while True:
            rows = list((await self.session.execute(
                select(ApplicationRow).where(ApplicationRow.tally.is_(None)).order_by(ApplicationRow.id)
                .limit(BACKFILL_BATCH))).scalars())
            if not rows:
                return done
            for row in rows:
                tally = await self.move(row.id, (None, None), row.office, tally_changes(application(row)))
                await self.session.execute(update(ApplicationRow).where(ApplicationRow.id == row.id)
                                           .values(tally=tally))
            done += len(rows)
