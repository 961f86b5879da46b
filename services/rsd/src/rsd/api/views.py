"""The application as the API shows it: facts and steps, never the claim's text."""

from __future__ import annotations

from .schemas import ApplicationDetail
from ..domain import Application
from pana_kit.documents import to_jsonable
from ..domain.deadlines import deadlines
from pana_kit.domain import utcnow

_PUBLIC_STATUS = {"lodged": "lodged", "registered": "lodged"}


def public_status(stage: str) -> str:
    return _PUBLIC_STATUS.get(stage, stage)


def detail(app: Application) -> ApplicationDetail:
    doc = to_jsonable(app)
    endings = [{k: v for k, v in e.items() if k != "response"} | {"responded": e.get("responded_on") is not None}
               for e in doc["endings"]]
    decision = app.decision
    return ApplicationDetail(
        id=app.id, reference=app.reference, person_id=app.person_id, status=public_status(app.state.value),
        stage=app.state.value,
        office=app.office, officer_id=app.officer_id, priority=app.priority,
        processing_mode=app.processing_mode.value, lodged_on=app.lodged_on, registered_on=app.registered_on,
        decision_due=app.decision_due if app.registered_on else None, late_lodging=app.late_lodging,
        members=[_member(app, m) for m in doc["members"]], principal_member_id=app.principal.id,
        fingerprinted_on=app.fingerprinted_on, fingerprinting_late=app.fingerprinting_late,
        processing_mode_reason=app.processing_mode_reason, interviews=doc["interviews"],
        assessments=list(doc["assessments"].values()), recommendation=doc["recommendation"],
        decision=to_jsonable(decision) if decision else None, extensions=doc["extensions"], appeals=doc["appeals"],
        closures=doc["closures"], reopenings=doc["reopenings"], endings=endings,
        deadlines=[{"deadline": d.kind.value, "due_on": d.due_on.isoformat(), "status": d.status.value}
                   for d in deadlines(app, utcnow().date())],
        appeal_deadline=app.appeal_deadline, removal_suspended=app.removal_suspended,
        contacts=doc["contacts"], last_contact_on=app.last_contact_on,
    )


def _member(app: Application, member: dict) -> dict:
    outcome = app.member_outcome(member["id"])
    return {**member, "status": app.member_status(member["id"]), "outcome": outcome.value if outcome else None,
            "principal": member["id"] == app.principal.id}
