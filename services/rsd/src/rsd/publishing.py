"""Domain events -> the published contract (pana_events). What others may know, no more.

The only place rsd builds contract events: `publish` is the kit's publisher
(`pana_kit.application`), each event with the file's person (the principal at lodging) as its subject and
`person_id`, so one application's events keep one key even after the principal's death. `member_ids` name
exactly the persons an event concerns."""

from __future__ import annotations

from typing import Iterator

from pana_events.events import rsd as contract
from pana_kit.domain import DomainEvent

from .domain import Application
from .domain import events as domain


def publish(app: Application, recorded: list[DomainEvent]) -> Iterator[tuple[contract.Event, str]]:
    for event in contract_events(app, recorded):
        yield event, app.person_id


def contract_events(app: Application, recorded: list[DomainEvent]) -> list[contract.Event]:
    out: list[contract.Event] = []
    for event in recorded:
        match event:
            case domain.ApplicationRegistered():
                out.append(contract.ApplicationLodged(
                    application_id=app.id, person_id=app.person_id, member_ids=[m.person_id for m in app.members],
                    lodged_on=app.lodged_on, registered_on=event.registered_on, decision_due=event.decision_due,
                    processing_mode=app.processing_mode.value, late_lodging=app.late_lodging, office=app.office,
                ))
            case domain.CertificateRequested():
                out.append(contract.CertificateRequested(
                    application_id=app.id, person_id=event.person_id,
                    member_ids=[event.person_id, *event.child_person_ids], valid_from=event.issued_on,
                    valid_until=event.valid_until, reason="extension" if event.reason == "extension" else "registration",
                ))  # a newborn's request ("newborn") and the one moving children to a new principal after a death
                # ("principal_deceased") go out as "registration": the children are registered in the file
            case domain.InterviewScheduled():
                out.append(contract.InterviewScheduled(application_id=app.id, person_id=app.person_id,
                                                       interview_id=event.interview_id, scheduled_for=event.scheduled_on))
            case domain.DecisionIssued():
                out.append(contract.DecisionIssued(
                    application_id=app.id, person_id=app.person_id, member_ids=_person_ids(app, event.member_ids_covered),
                    outcome="recognised" if event.outcome == "recognised" else "rejected", decided_on=event.decided_on,
                ))
            case domain.DecisionPeriodExtended():
                out.append(contract.DecisionPeriodExtended(application_id=app.id, person_id=app.person_id,
                                                           decision_due=event.decision_due))
            case domain.AppealLodged():
                out.append(contract.AppealLodged(application_id=app.id, person_id=app.person_id, lodged_on=event.lodged_on))
            case domain.AppealDecided():
                against = _appeal_against(app, event.appeal_id)
                # v2 in the one vocabulary, naming every member it concerns; v1 beside it for one deprecation
                # window (docs/events.md), for consumers outside Pana that still read it
                out.append(contract.AppealDecidedV2(
                    application_id=app.id, person_id=app.person_id, appeal_id=event.appeal_id, against=against,
                    result=event.outcome,
                    member_ids=_person_ids(app, event.member_ids_concerned or event.member_ids_covered
                                           or (app.principal.id,)),
                    allowed_member_ids=_person_ids(app, event.member_ids_covered if event.outcome == "allowed" else ()),
                    decided_on=event.decided_on,
                ))
                out.append(contract.AppealDecided(
                    application_id=app.id, person_id=app.person_id, member_ids=_person_ids(app, event.member_ids_covered),
                    outcome="upheld" if event.outcome == "allowed" else "dismissed", decided_on=event.decided_on,
                    result=event.outcome, against=against,
                ))
            case domain.ApplicationClosed():
                # member_ids: exactly whose file closes (a death while others remain: the deceased alone)
                closed = event.member_ids or tuple(m.id for m in app.members)
                out.append(contract.ApplicationClosed(application_id=app.id, person_id=app.person_id,
                                                      member_ids=_person_ids(app, closed),
                                                      reason=event.reason, closed_on=event.closed_on))
            case domain.ApplicationReopened():
                out.append(contract.ApplicationReopened(application_id=app.id, person_id=app.person_id,
                                                        ground=event.ground, reopened_on=event.reopened_on))
            case domain.StatusEnded():
                out.append(contract.StatusEnded(application_id=app.id, person_id=app.person_id,
                                                member_ids=_person_ids(app, event.member_ids), ending=event.kind,
                                                ground=",".join(event.grounds), ended_on=event.ended_on))
            case domain.DeadlineMissed():
                out.append(contract.DeadlineMissed(application_id=app.id, person_id=app.person_id,
                                                   deadline=event.deadline, due=event.due_on))
    return out


def _appeal_against(app: Application, appeal_id: str) -> str | None:
    return next((a.against.value for a in app.appeals if a.id == appeal_id), None)


def _person_ids(app: Application, member_ids) -> list[str]:
    by_id = {m.id: m.person_id for m in app.members}
    return [by_id.get(mid, mid) for mid in member_ids]

