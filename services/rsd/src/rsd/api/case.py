"""What every command on one application does: find it in the caller's office, check If-Match,
apply a domain step, save, publish the contract events, audit, answer with the new ETag."""

from __future__ import annotations

from datetime import date
from typing import Callable

from fastapi import Request
from fastapi.responses import JSONResponse

from pana_kit import audit
from pana_kit.auth import Principal
from pana_kit.domain import utcnow
from pana_kit.http import check_if_match, etag_of
from pana_kit.service import unit_of_work

from .views import detail
from ..domain import Application
from ..publishing import publish
from ..store.repository import Applications, ClaimTexts

COMMAND_ERRORS = (401, 403, 404, 409, 412, 422, 428)


def today() -> date:
    return utcnow().date()


def applications_for(session, request: Request, principal: Principal) -> Applications:
    """The repository as this caller may see it: their office only."""
    return Applications(session, request.app.state.rules, office=principal.office)


async def change(request: Request, application_id: str, if_match: str | None, principal: Principal,
                 step: Callable[[Application, ClaimTexts], None], *, action: str) -> JSONResponse:
    async with unit_of_work(request) as uow:
        repo = applications_for(uow.session, request, principal)
        row = await repo.get_row(application_id)
        check_if_match(if_match, etag_of(row.version, row.id))
        app = Application.from_document(row.document, rules=request.app.state.rules)
        step(app, ClaimTexts(uow.session, request.app.state.keyring))
        version = await repo.save(app, row.version)
        publish(uow, app)
        await audit.record(uow.session, principal, action, f"application/{app.id}", purpose="case-work", service="rsd")
    body = detail(app, version=version).model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": etag_of(version, app.id)})
