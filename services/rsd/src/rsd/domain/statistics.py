"""Classification helpers for UNHCR Refugee Data Finder statistics (pure)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

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
