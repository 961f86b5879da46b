"""Statistics by UNHCR Refugee Data Finder conventions; cells below the threshold are masked ('*')."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from statistics import median

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from pana_kit.auth import Principal, require
from pana_kit.domain import age_bracket, mask_small_cells
from pana_kit.errors import problem_responses

from ..domain import AGE_BRACKET_LABELS
from ..store.tables import CaseRow, ChildFlagRow, InquiryRow, NaturalizationTrackRow, PersonRow
from .common import audited, query_day

router = APIRouter(prefix="/api/v1/statistics", tags=["statistics"])

Cell = int | str


class InquiryStats(BaseModel):
    sent: Cell
    answered: Cell
    answered_late: Cell
    unanswered: Cell
    awaiting: Cell
    reply_rate: float | None = Field(description="Answered over answered or found unanswered; null when masked or none settled")


class Statistics(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "as_of": "2026-12-31", "small_cell_threshold": 5,
        "stateless_persons": {"female": {"0-4": "*", "5-11": 0, "12-17": 0, "18-59": 12, "60+": "*", "unknown": 0}},
        "cases": {"opened": 40, "decided": 22, "pending": 18, "recognised": 15, "not_stateless": 7},
        "median_days_to_determination": 151.0,
        "inquiries_by_state": {"UZB": {"sent": 9, "answered": 6, "answered_late": "*", "unanswered": "*", "awaiting": 0, "reply_rate": 0.75}},
        "children": {"flagged": 11, "resolved": 6, "open": 5, "flagged_by_rule": {"stateless_parents": 7, "foundling": "*"}},
        "naturalizations_by_year": {"2026": {"granted": 8, "refused": "*"}}}]})

    as_of: date
    small_cell_threshold: int
    stateless_persons: dict[str, dict[str, Cell]] = Field(description="Recognised stateless, not naturalized: sex x UNHCR age bracket")
    cases: dict[str, Cell]
    median_days_to_determination: float | None
    inquiries_by_state: dict[str, InquiryStats]
    children: dict[str, Cell | dict[str, Cell]]
    naturalizations_by_year: dict[str, dict[str, Cell]]


@router.get(
    "",
    response_model=Statistics,
    summary="Statelessness statistics",
    description="Stateless persons by sex and age (UNHCR brackets 0-4, 5-11, 12-17, 18-59, 60+, unknown); cases "
                "opened, decided and pending; median days to determination; inquiries by State and reply rate; "
                "children flagged and resolved; naturalizations per year — all as of a day. Counts below the "
                "configured threshold (default 5) are shown as `*`. No personal data leaves.",
    responses=problem_responses(401, 403, 422),
)
async def statistics(
    request: Request,
    as_of: date | None = Query(None, description="The day the figures describe (today when absent)"),
    principal: Principal = Depends(require("statelessness:statistics")),
) -> Statistics:
    on = query_day(as_of)
    threshold = request.app.state.rules.small_cell_threshold

    def m(n: int) -> Cell:
        return mask_small_cells(n, threshold)

    async with request.app.state.db.transaction() as session:
        cases = (await session.execute(select(
            CaseRow.person_id, CaseRow.opened_on, CaseRow.decided_on, CaseRow.outcome, CaseRow.recognised_on,
        ).where(CaseRow.opened_on <= on))).all()
        naturalized = {r.person_id for r in (await session.execute(select(NaturalizationTrackRow.person_id).where(
            NaturalizationTrackRow.outcome == "granted", NaturalizationTrackRow.decided_on <= on))).all()}
        stateless_ids = {c.person_id for c in cases if c.recognised_on and c.recognised_on <= on} - naturalized
        persons = {}
        if stateless_ids:
            ids = list(stateless_ids)
            for i in range(0, len(ids), 500):
                for p in (await session.execute(select(PersonRow.person_id, PersonRow.sex, PersonRow.birth_date)
                                                .where(PersonRow.person_id.in_(ids[i:i + 500])))).all():
                    persons[p.person_id] = p
        inquiries = (await session.execute(select(
            InquiryRow.state, InquiryRow.status, InquiryRow.sent_on, InquiryRow.reply_due, InquiryRow.answered_on,
        ).where(InquiryRow.sent_on <= on))).all()
        flags = (await session.execute(select(ChildFlagRow.rule, ChildFlagRow.flagged_on, ChildFlagRow.resolved_on)
                                       .where(ChildFlagRow.flagged_on <= on))).all()
        tracks = (await session.execute(select(NaturalizationTrackRow.outcome, NaturalizationTrackRow.decided_on)
                                        .where(NaturalizationTrackRow.decided_on <= on))).all()
        await audited(session, principal, "statistics", f"statistics?as_of={on.isoformat()}", purpose="statistics")

    demo: dict[str, Counter] = {sex: Counter() for sex in ("female", "male", "other", "unknown")}
    for pid in stateless_ids:
        p = persons.get(pid)
        sex = p.sex if p is not None and p.sex in demo else "unknown"
        demo[sex][age_bracket(p.birth_date if p else None, on)] += 1
    stateless_persons = {sex: {b: m(c[b]) for b in AGE_BRACKET_LABELS} for sex, c in demo.items()
                         if sex in ("female", "male") or sum(c.values())}

    decided = [c for c in cases if c.decided_on and c.decided_on <= on]
    days = [(c.decided_on - c.opened_on).days for c in decided]
    case_stats = {
        "opened": m(len(cases)), "decided": m(len(decided)), "pending": m(len(cases) - len(decided)),
        "recognised": m(sum(1 for c in cases if c.recognised_on and c.recognised_on <= on)),
        "not_stateless": m(sum(1 for c in decided if c.outcome == "not_stateless")),
    }

    by_state: dict[str, Counter] = defaultdict(Counter)
    for q in inquiries:
        t = by_state[q.state]
        t["sent"] += 1
        if q.status == "answered" and q.answered_on and q.answered_on <= on:
            t["answered"] += 1
            if q.answered_on > q.reply_due:
                t["answered_late"] += 1
        elif q.status == "unanswered" and q.reply_due < on:
            t["unanswered"] += 1
        else:
            t["awaiting"] += 1
    inquiry_stats = {}
    for state, t in sorted(by_state.items()):
        settled = t["answered"] + t["unanswered"]
        rate = round(t["answered"] / settled, 3) if settled >= max(threshold, 1) else None
        inquiry_stats[state] = InquiryStats(sent=m(t["sent"]), answered=m(t["answered"]),
                                            answered_late=m(t["answered_late"]), unanswered=m(t["unanswered"]),
                                            awaiting=m(t["awaiting"]), reply_rate=rate)

    resolved = sum(1 for f in flags if f.resolved_on and f.resolved_on <= on)
    children = {"flagged": m(len(flags)), "resolved": m(resolved), "open": m(len(flags) - resolved),
                "flagged_by_rule": {rule: m(n) for rule, n in sorted(Counter(f.rule for f in flags).items())}}

    years: dict[str, Counter] = defaultdict(Counter)
    for t in tracks:
        years[str(t.decided_on.year)][t.outcome] += 1
    naturalizations = {y: {"granted": m(c["granted"]), "refused": m(c["refused"])} for y, c in sorted(years.items())}

    return Statistics(as_of=on, small_cell_threshold=threshold, stateless_persons=stateless_persons, cases=case_stats,
                      median_days_to_determination=float(median(days)) if days else None,
                      inquiries_by_state=inquiry_stats, children=children, naturalizations_by_year=naturalizations)
