"""States of an Application, why it closed, and the records its parts (decision, appeal, deadlines) share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum


class ApplicationState(str, Enum):
    LODGED = "lodged"
    REGISTERED = "registered"  # in first instance: interviews, assessments
    RECOMMENDED = "recommended"  # an eligibility officer has recommended; awaiting the supervisor
    REJECTED = "rejected"  # first-instance rejection; appeal window running
    UNDER_APPEAL = "under_appeal"
    RECOGNISED = "recognised"
    STATUS_ENDED = "status_ended"  # ceased, cancelled or revoked
    CLOSED = "closed"


FIRST_INSTANCE = frozenset({ApplicationState.REGISTERED})
PENDING = frozenset({ApplicationState.LODGED, ApplicationState.REGISTERED, ApplicationState.RECOMMENDED,
                     ApplicationState.REJECTED, ApplicationState.UNDER_APPEAL})


class ClosureReason(str, Enum):
    WITHDRAWAL = "withdrawal"
    ABANDONMENT = "abandonment"
    DEATH = "death"
    NO_APPEAL = "no_appeal"  # no appeal after rejection, window and grace over
    APPEAL_REJECTED = "appeal_rejected"


class ProcessingMode(str, Enum):
    REGULAR = "regular"
    ACCELERATED = "accelerated"  # shorter timelines only; every safeguard stays
    SIMPLIFIED = "simplified"


@dataclass(kw_only=True)
class CertificateRequest:
    member_id: str
    issued_on: date
    valid_until: date
    reason: str
    child_person_ids: tuple[str, ...] = ()
