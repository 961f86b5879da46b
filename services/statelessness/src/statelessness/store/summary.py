"""The statistics' summary (statistics_counts), kept in the transaction of each write that moves it: a case (with
its inquiries), a child's flag, a naturalization track (`_Versioned.add` / `save`) and a person's projection
(`Persons.upsert`). Each row remembers what was counted of it (`tally`); a write adds the difference
(pana_kit.counters). The figures of a day are one aggregate query (`figures_on`)."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from sqlalchemy import delete, select, update

from pana_kit.counters import add_counts, changes_from_json, changes_to_json, moved_counts, sums_up_to

from ..domain.statistics import (
    case_changes, flag_changes, stateless_person_changes, statistics_of_sums, track_changes,
)
from .tables import (
    CaseRow, ChildFlagRow, InquiryRow, NaturalizationTrackRow, PersonRow, StatelessMemberRow, StatisticsCountRow,
)

KEY = ("day", "figure", "shard")


def changes_of(row_type, columns: dict, inquiries=()) -> dict:
    """A row's dated changes from the columns it is written with."""
    if row_type is CaseRow:
        return case_changes(columns["opened_on"], columns.get("decided_on"), columns.get("outcome"),
                            columns.get("recognised_on"), inquiries)
    if row_type is ChildFlagRow:
        return flag_changes(columns["rule"], columns["flagged_on"], columns.get("resolved_on"))
    return track_changes(columns.get("outcome"), columns.get("decided_on"))


def inquiry_facts(case) -> list:
    """A case's inquiries as the inquiries table holds them."""
    return [SimpleNamespace(state=i.state[:3], status=i.status.value, sent_on=i.sent_on, reply_due=i.reply_due,
                            answered_on=i.answered_on) for i in case.inquiries]


class Summary:
    def __init__(self, session):
        self.session = session

    async def counted(self, row_type, row_id: str) -> dict | None:
        tally = (await self.session.execute(select(row_type.tally).where(row_type.id == row_id))).scalar_one_or_none()
        return changes_from_json(tally)

    async def move(self, identity: str, before: dict | None, after: dict | None) -> None:
        await add_counts(self.session, StatisticsCountRow.__table__, moved_counts(identity, before, after), key=KEY)

    async def person_changed(self, person_id: str) -> None:
        """Count the person as stateless (or not) again from their cases, tracks and projection."""
        recognised = [max(o, r) for o, r in (await self.session.execute(
            select(CaseRow.opened_on, CaseRow.recognised_on).where(CaseRow.person_id == person_id,
                                                                   CaseRow.recognised_on.is_not(None)))).all()]
        naturalized = list((await self.session.execute(select(NaturalizationTrackRow.decided_on).where(
            NaturalizationTrackRow.person_id == person_id, NaturalizationTrackRow.outcome == "granted",
            NaturalizationTrackRow.decided_on.is_not(None)))).scalars())
        person = (await self.session.execute(select(PersonRow.sex, PersonRow.birth_date)
                                             .where(PersonRow.person_id == person_id))).first()
        after = stateless_person_changes(recognised, naturalized, person.sex if person else None,
                                         person.birth_date if person else None)
        row = await self.session.get(StatelessMemberRow, person_id)
        before = changes_from_json(row.tally) if row else None
        if (before or {}) == after:
            return
        await self.move(f"person:{person_id}", before, after)
        if row is None:
            self.session.add(StatelessMemberRow(person_id=person_id, tally=changes_to_json(after)))
        else:
            row.tally = changes_to_json(after)

    async def figures_on(self, on: date, threshold: int) -> dict:
        return statistics_of_sums(await sums_up_to(self.session, StatisticsCountRow.__table__, on), on, threshold)

    async def rebuild(self) -> int:
        """Count everything again from the rows (a backfill): what the migration does. Returns the rows counted."""
        await self.session.execute(delete(StatisticsCountRow))
        await self.session.execute(delete(StatelessMemberRow))
        inquiries: dict[str, list] = {}
        for q in await self.session.execute(select(InquiryRow.case_id, InquiryRow.state, InquiryRow.status,
                                                   InquiryRow.sent_on, InquiryRow.reply_due, InquiryRow.answered_on)):
            inquiries.setdefault(q.case_id, []).append(q)
        done, persons = 0, set()
        for row_type in (CaseRow, ChildFlagRow, NaturalizationTrackRow):
            for row in (await self.session.execute(select(row_type))).scalars().all():
                columns = {c: getattr(row, c) for c in ("opened_on", "decided_on", "outcome", "recognised_on", "rule",
                                                       "flagged_on", "resolved_on") if hasattr(row, c)}
                after = changes_of(row_type, columns, inquiries.get(row.id, ()))
                await self.move(row.id, None, after)
                await self.session.execute(update(row_type).where(row_type.id == row.id)
                                           .values(tally=changes_to_json(after)))
                if row_type is not ChildFlagRow:
                    persons.add(row.person_id)
                done += 1
        for person_id in sorted(persons):
            await self.person_changed(person_id)
        return done
