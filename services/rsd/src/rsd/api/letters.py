"""Decision letters in Kazakh, Russian and English, as HTML or PDF."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from pana_kit.auth import Principal, require
from pana_kit.domain import RuleViolation
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import purpose_header

from .. import letters
from .applications import _read

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])


@router.get(
    "/{application_id}/decision-letter",
    operation_id="getDecisionLetter",
    summary="The decision letter",
    description="The written decision in Kazakh (`kk`), Russian (`ru`) or English (`en`), as HTML or PDF (with an "
                "embedded Unicode font). States the outcome, the members covered, the categorised reasons of a "
                "rejection and the appeal window; never the claim. 409 `decision_letter` before a decision.",
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}, "description": "The letter"},
               **problem_responses(401, 403, 404, 409, 422, 503)},
    response_class=Response,
)
async def decision_letter(
    request: Request,
    application_id: str = Path(..., max_length=64),
    lang: Literal["kk", "ru", "en"] = Query("ru", description="Language of the letter"),
    format: Literal["html", "pdf"] = Query("html", description="html or pdf"),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("rsd:read")),
):
    _, app, _ = await _read(request, application_id, principal, purpose, "read-decision-letter")
    if app.decision is None:
        raise RuleViolation(rule="decision_letter", detail="there is no decision of the current round to put in a letter")
    if format == "html":
        return HTMLResponse(letters.render_html(app, lang))
    if letters.font_path() is None:
        raise Problem(503, "PDF letters need a Unicode font (DejaVuSans) that this server does not have; use HTML")
    return Response(letters.render_pdf(app, lang), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="decision-{app.id}-{lang}.pdf"'})
