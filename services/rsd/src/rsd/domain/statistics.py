"""Classification helpers for UNHCR Refugee Data Finder statistics (pure)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from pana_kit.domain import median_of_counts

from .appeal import AppealAgainst, AppealOutcome
from .state import ApplicationState, ClosureReason

if TYPE_CHECKING:
    from .application import Application


class DecisionClass(str, Enum):
    RECOGNISED = "recognised"
    REJECTED = "rejected"
    OTHERWISE_CLOSED = "otherwise_closed"


class ApplicationKind(str, Enum):
    NEW = "new"
    REPEAT = "repeat"
    APPEAL = "appeal"


def classify_decision(app: Application) -> DecisionClass | None:
    """The application's last substantive outcome, or None while nothing is decided or closed."""
    if app.state in (ApplicationState.RECOGNISED, ApplicationState.STATUS_ENDED):
        return DecisionClass.RECOGNISED
    if app.state in (ApplicationState.REJECTED, ApplicationState.UNDER_APPEAL):
        return DecisionClass.REJECTED
    if app.state is ApplicationState.CLOSED:
        reason = app.closure.reason
        if reason in (ClosureReason.NO_APPEAL, ClosureReason.APPEAL_REJECTED):
            return DecisionClass.REJECTED
        if app.decision is not None and app.decision.outcome.value == "recognised":
            return DecisionClass.RECOGNISED
        return DecisionClass.OTHERWISE_CLOSED
    return None


def classify_decision_event(outcome: str | None, closure_reason: str | None = None) -> DecisionClass:
    """From event facts: DecisionIssued.outcome / AppealDecided.outcome or ApplicationClosed.reason."""
    if outcome in ("recognised", "allowed"):
        return DecisionClass.RECOGNISED
    if outcome == "rejected" or closure_reason in ("no_appeal", "appeal_rejected"):
        return DecisionClass.REJECTED
    return DecisionClass.OTHERWISE_CLOSED


def application_kind(app: Application) -> ApplicationKind:
    """appeal while an appeal against the decision exists; repeat for a later or reopened claim; else new."""
    if any(a.against is AppealAgainst.DECISION for a in app.appeals):
        return ApplicationKind.APPEAL
    if app.previous_application_id is not None or app.reopenings:
        return ApplicationKind.REPEAT
    return ApplicationKind.NEW


def _open_on(app: Application, as_of) -> bool:
    """Pending at a date (first instance or appeal), replayed from the file's dated steps."""
    steps: list[tuple] = [(app.lodged_on, 0, True)]
    for d in app.decisions:
        steps.append((d.decided_on, 1, False))
    for a in app.appeals:
        if a.against is AppealAgainst.DECISION:
            steps.append((a.lodged_on, 2, True))
            if a.decided_on is not None and a.outcome is not AppealOutcome.REMITTED:
                steps.append((a.decided_on, 3, False))
    for c in app.closures:
        steps.append((c.closed_on, 4, False))
    for r in app.reopenings:
        steps.append((r.reopened_on, 5, True))
    past = [s for s in steps if s[0] <= as_of]
    return bool(past) and max(past, key=lambda s: (s[0], s[1]))[2]


def tally(apps, as_of) -> dict:
    """Counts as UNHCR publishes them, cases and persons, unmasked; and days registration -> decision."""
    def cell() -> dict:
        return {"cases": 0, "persons": 0}

    applications = {k.value: cell() for k in ApplicationKind}
    decisions = {k.value: cell() for k in DecisionClass}
    pending = cell()
    days: list[int] = []

    def add(bucket: dict, persons: int) -> None:
        bucket["cases"] += 1
        bucket["persons"] += persons

    for app in apps:
        if app.lodged_on > as_of:
            continue
        persons = len(app.members)
        add(applications["repeat" if app.previous_application_id else "new"], persons)
        for r in app.reopenings:
            if r.reopened_on <= as_of:
                add(applications["repeat"], persons)
        for d in app.decisions:
            if d.decided_on <= as_of:
                covered = len(d.member_ids_covered)
                if d.outcome.value == "recognised":
                    add(decisions["recognised"], covered)
                else:
                    add(decisions["rejected"], persons)
                if app.registered_on is not None and d.round == 0:
                    days.append((d.decided_on - app.registered_on).days)
        for a in app.appeals:
            if a.against is not AppealAgainst.DECISION or a.lodged_on > as_of:
                continue
            add(applications["appeal"], persons)
            if a.decided_on is not None and a.decided_on <= as_of:
                if a.outcome is AppealOutcome.ALLOWED:
                    add(decisions["recognised"], persons)
                elif a.outcome is AppealOutcome.REJECTED:
                    add(decisions["rejected"], persons)
        for c in app.closures:
            if c.closed_on <= as_of and c.reason in (ClosureReason.WITHDRAWAL, ClosureReason.ABANDONMENT,
                                                     ClosureReason.DEATH):
                add(decisions["otherwise_closed"], persons)
        if _open_on(app, as_of):
            add(pending, persons)
    days.sort()
    median = None
    if days:
        mid = len(days) // 2
        median = float(days[mid]) if len(days) % 2 else (days[mid - 1] + days[mid]) / 2
    return {"applications": applications, "decisions": decisions, "pending": pending, "median_days": median,
            "decided_cases": len(days)}


# --- the summary the statistics are read from (kept by the write path) ----------------------------------------

def _add(out: dict, day, figure: str, persons: int) -> None:
    out[(day, f"{figure}.cases")] = out.get((day, f"{figure}.cases"), 0) + 1
    out[(day, f"{figure}.persons")] = out.get((day, f"{figure}.persons"), 0) + persons


def tally_changes(app: Application) -> dict[tuple, int]:
    """What one application adds to the statistics' summary: (day, figure) -> amount from that day on, so that the
    figures `tally` gives on a day are the sums of every application's changes up to it (`tally_of_sums`). Nothing
    counts before the application is lodged."""
    lodged = app.lodged_on
    out: dict[tuple, int] = {}
    persons = len(app.members)
    _add(out, lodged, "applications.repeat" if app.previous_application_id else "applications.new", persons)
    for r in app.reopenings:
        _add(out, max(r.reopened_on, lodged), "applications.repeat", persons)
    for d in app.decisions:
        on = max(d.decided_on, lodged)
        if d.outcome.value == "recognised":
            _add(out, on, "decisions.recognised", len(d.member_ids_covered))
        else:
            _add(out, on, "decisions.rejected", persons)
        if app.registered_on is not None and d.round == 0:
            key = (on, f"days.{(d.decided_on - app.registered_on).days}")
            out[key] = out.get(key, 0) + 1
    for a in app.appeals:
        if a.against is not AppealAgainst.DECISION:
            continue
        appealed = max(a.lodged_on, lodged)
        _add(out, appealed, "applications.appeal", persons)
        if a.decided_on is not None:
            if a.outcome is AppealOutcome.ALLOWED:
                _add(out, max(a.decided_on, appealed), "decisions.recognised", persons)
            elif a.outcome is AppealOutcome.REJECTED:
                _add(out, max(a.decided_on, appealed), "decisions.rejected", persons)
    for c in app.closures:
        if c.reason in (ClosureReason.WITHDRAWAL, ClosureReason.ABANDONMENT, ClosureReason.DEATH):
            _add(out, max(c.closed_on, lodged), "decisions.otherwise_closed", persons)
    # pending: open or not changes only on the days of the file's steps
    days = sorted({lodged, *(d.decided_on for d in app.decisions), *(a.lodged_on for a in app.appeals),
                   *(a.decided_on for a in app.appeals if a.decided_on), *(c.closed_on for c in app.closures),
                   *(r.reopened_on for r in app.reopenings)})
    was_open = False
    for day in (d for d in days if d >= lodged):
        now_open = _open_on(app, day)
        if now_open != was_open:
            sign = 1 if now_open else -1
            out[(day, "pending.cases")] = out.get((day, "pending.cases"), 0) + sign
            out[(day, "pending.persons")] = out.get((day, "pending.persons"), 0) + sign * persons
            was_open = now_open
    return {k: n for k, n in out.items() if n}


def tally_of_sums(sums: dict[str, int]) -> dict:
    """`tally`'s figures from the summary's sums up to a day (figure -> sum)."""
    def cell(figure: str) -> dict:
        return {"cases": sums.get(f"{figure}.cases", 0), "persons": sums.get(f"{figure}.persons", 0)}

    days = {int(k.split(".", 1)[1]): n for k, n in sums.items() if k.startswith("days.") and n}
    return {"applications": {k.value: cell(f"applications.{k.value}") for k in ApplicationKind},
            "decisions": {k.value: cell(f"decisions.{k.value}") for k in DecisionClass},
            "pending": cell("pending"), "median_days": median_of_counts(days), "decided_cases": sum(days.values())}
