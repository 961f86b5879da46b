"""The rows the statistics are counted from, as of a day (counted in domain/statistics.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from ..domain.statistics import StatisticsFacts
from .tables import CaseRow, ChildFlagRow, InquiryRow, NaturalizationTrackRow, PersonRow

_IN_CHUNK = 500  # ids per IN (...) list


async def statistics_facts(session, on: date) -> StatisticsFacts:
    cases = (await session.execute(select(
        CaseRow.person_id, CaseRow.opened_on, CaseRow.decided_on, CaseRow.outcome, CaseRow.recognised_on,
    ).where(CaseRow.opened_on <= on))).all()
    naturalized = {r.person_id for r in (await session.execute(select(NaturalizationTrackRow.person_id).where(
        NaturalizationTrackRow.outcome == "granted", NaturalizationTrackRow.decided_on <= on))).all()}
    stateless_ids = {c.person_id for c in cases if c.recognised_on and c.recognised_on <= on} - naturalized
    persons = {}
    ids = list(stateless_ids)
    for i in range(0, len(ids), _IN_CHUNK):
        for p in (await session.execute(select(PersonRow.person_id, PersonRow.sex, PersonRow.birth_date)
                                        .where(PersonRow.person_id.in_(ids[i:i + _IN_CHUNK])))).all():
            persons[p.person_id] = p
    inquiries = (await session.execute(select(
        InquiryRow.state, InquiryRow.status, InquiryRow.sent_on, InquiryRow.reply_due, InquiryRow.answered_on,
    ).where(InquiryRow.sent_on <= on))).all()
    flags = (await session.execute(select(ChildFlagRow.rule, ChildFlagRow.flagged_on, ChildFlagRow.resolved_on)
                                   .where(ChildFlagRow.flagged_on <= on))).all()
    tracks = (await session.execute(select(NaturalizationTrackRow.outcome, NaturalizationTrackRow.decided_on)
                                    .where(NaturalizationTrackRow.decided_on <= on))).all()
    return StatisticsFacts(cases=cases, stateless_ids=stateless_ids, persons=persons, inquiries=inquiries, flags=flags,
                           tracks=tracks)
