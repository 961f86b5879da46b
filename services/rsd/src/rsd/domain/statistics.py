"""Classification helpers for UNHCR Refugee Data Finder statistics (pure)."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from .appeal import AppealAgainst
from .state import ApplicationState

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
        from .state import ClosureReason

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
