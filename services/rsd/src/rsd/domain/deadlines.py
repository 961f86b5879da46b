"""Deadlines of an application for a given day (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from typing import Any, Protocol

from .state import PENDING, ApplicationState, CertificateRequest


class Scheduled(Protocol):
    """What deadlines read of an application (the Application satisfies it; no import of it here)."""

    state: ApplicationState
    fingerprinted_on: date | None
    certificates: list[CertificateRequest]
    rules: Any
    fingerprinting_due: date | None
    interview_due: date | None
    decision_due: date | None
    appeal_deadline: date | None
    appeal_grace_ends: date | None

    def principal_interview_held(self) -> bool: ...


class DeadlineKind(str, Enum):
    FINGERPRINTING = "fingerprinting"
    INTERVIEW = "interview"
    DECISION = "decision"
    APPEAL = "appeal"  # the appeal window
    APPEAL_GRACE = "appeal_grace"  # the file closes after it
    CERTIFICATE_EXPIRY = "certificate_expiry"


class DeadlineStatus(str, Enum):
    UPCOMING = "upcoming"
    APPROACHING = "approaching"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Deadline:
    kind: DeadlineKind
    due_on: date
    status: DeadlineStatus


def deadline_status(due_on: date, today: date, approaching_days: int) -> DeadlineStatus:
    if today > due_on:
        return DeadlineStatus.OVERDUE
    if today >= due_on - timedelta(days=approaching_days):
        return DeadlineStatus.APPROACHING
    return DeadlineStatus.UPCOMING


def deadlines(app: Scheduled, today: date) -> list[Deadline]:
    """Open deadlines of the application, earliest first, each with its status on `today`."""
    found: list[tuple[DeadlineKind, date]] = []
    first_instance = app.state in (ApplicationState.REGISTERED, ApplicationState.RECOMMENDED)
    if app.state in PENDING and app.fingerprinted_on is None and app.fingerprinting_due is not None:
        found.append((DeadlineKind.FINGERPRINTING, app.fingerprinting_due))
    if first_instance and not app.principal_interview_held() and app.interview_due is not None:
        found.append((DeadlineKind.INTERVIEW, app.interview_due))
    if first_instance and app.decision_due is not None:
        found.append((DeadlineKind.DECISION, app.decision_due))
    if app.state is ApplicationState.REJECTED and app.appeal_deadline is not None:
        found.append((DeadlineKind.APPEAL, app.appeal_deadline))
        found.append((DeadlineKind.APPEAL_GRACE, app.appeal_grace_ends))
    if app.state in PENDING and app.certificates:
        found.append((DeadlineKind.CERTIFICATE_EXPIRY, max(c.valid_until for c in app.certificates)))
    horizon = app.rules.approaching_days
    return sorted((Deadline(kind, due, deadline_status(due, today, horizon)) for kind, due in found),
                  key=lambda d: (d.due_on, d.kind.value))


def due_soon(app: Scheduled, today: date) -> list[Deadline]:
    """Only the approaching and overdue deadlines (for work lists)."""
    return [d for d in deadlines(app, today) if d.status is not DeadlineStatus.UPCOMING]
