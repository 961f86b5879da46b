"""Domain events -> the published contract (pana_events). What others may know, no more:
the outcome, never the parents' legal status or nationality."""

from __future__ import annotations

from datetime import date

from pana_events.events import civil_registry as contract
from pana_kit.outbox import UnitOfWork

from .domain import events as domain
from .domain.request import BirthRequest


def contract_events(request: BirthRequest, recorded: list) -> list[contract.Event]:
    out: list[contract.Event] = []
    common = dict(request_id=request.request_id, child_person_id=request.person_id)
    for event in recorded:
        match event:
            case domain.BirthVerified():
                out.append(contract.BirthVerified(**common, certificate_number=event.certificate_number,
                                                  iin=event.child_iin, birth_date=request.child.birth_date))
            case domain.BirthNotFound():
                out.append(contract.BirthNotFound(**common, will_submit=event.will_submit))
            case domain.BirthRegistrationSubmitted():
                out.append(contract.BirthRegistrationSubmitted(
                    **common, submission_id=event.submission_id,
                    registration_deadline=date.fromisoformat(event.registration_deadline), late=event.late))
            case domain.BirthRegistered():
                out.append(contract.BirthRegistered(**common, certificate_number=event.certificate_number,
                                                    iin=event.child_iin, submission_id=event.submission_id))
            case domain.BirthRegistrationRejected():
                out.append(contract.BirthRegistrationRejected(**common, reason=event.reason[:2000],
                                                              submission_id=event.submission_id))
            case domain.BirthRequestQuarantined():
                out.append(contract.BirthRequestQuarantined(**common, reason=event.reason[:2000], step=event.step))
            case domain.BirthRequestParked():
                out.append(contract.BirthRequestParked(**common, step=event.step, attempts=event.attempts,
                                                       last_error=event.last_error[:2000]))
    return out


def publish(uow: UnitOfWork, request: BirthRequest) -> None:
    """Write the contract events of what just happened to the outbox (same transaction).
    The subject is the child's person id, so one child's events stay in order."""
    for event in contract_events(request, request.collect_events()):
        uow.emit(event, subject=request.person_id or request.request_id)
