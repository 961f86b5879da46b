"""Domain events -> the published contract (pana_events). What others may know, no more:
the outcome, never the parents' legal status or nationality."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from pana_events.events import civil_registry as contract
from pana_kit.domain import DomainEvent

from .domain import events as domain
from .domain.request import BirthRequest


def publish(request: BirthRequest, recorded: list[DomainEvent]) -> Iterator[tuple[contract.Event, str]]:
    """The contract events of what the request recorded. The subject is the child's person id,
    so one child's events stay in order."""
    subject = request.person_id or request.request_id
    common = dict(request_id=request.request_id, child_person_id=request.person_id)
    for event in recorded:
        match event:
            case domain.BirthVerified():
                yield contract.BirthVerified(**common, certificate_number=event.certificate_number,
                                             iin=event.child_iin, birth_date=request.child.birth_date), subject
            case domain.BirthNotFound():
                yield contract.BirthNotFound(**common, will_submit=event.will_submit), subject
            case domain.BirthRegistrationSubmitted():
                yield contract.BirthRegistrationSubmitted(
                    **common, submission_id=event.submission_id,
                    registration_deadline=date.fromisoformat(event.registration_deadline), late=event.late), subject
            case domain.BirthRegistered():
                yield contract.BirthRegistered(**common, certificate_number=event.certificate_number,
                                               iin=event.child_iin, submission_id=event.submission_id), subject
            case domain.BirthRegistrationRejected():
                yield contract.BirthRegistrationRejected(**common, reason=event.reason[:2000],
                                                         submission_id=event.submission_id), subject
            case domain.BirthRequestQuarantined():
                yield contract.BirthRequestQuarantined(**common, reason=event.reason[:2000], step=event.step), subject
            case domain.BirthRequestParked():
                yield contract.BirthRequestParked(**common, step=event.step, attempts=event.attempts,
                                                  last_error=event.last_error[:2000]), subject
