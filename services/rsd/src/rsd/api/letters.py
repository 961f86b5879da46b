"""Decision letters in Kazakh, Russian and English, as HTML or PDF."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from pana_kit.auth import Principal, require
from pana_kit.domain import RuleViolation
from pana_kit.errors import Problem, problem_responses
from pana_kit.http import purpose_header

from .. import letters, service
from .applications import _read

router = APIRouter(prefix="/api/v1/applications", tags=["applications"])

_HTML_EXAMPLE = ('<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Решение по ходатайству о признании '
                 'беженцем</title></head><body><h1>Решение по ходатайству о признании беженцем</h1><p>Номер дела: '
                 'RSD-2026-000123</p>...</body></html>')


@router.get(
    "/{application_id}/decision-letter",
    operation_id="getDecisionLetter",
    summary="The decision letter",
    description="The written decision in Kazakh (`kk`), Russian (`ru`) or English (`en`), as HTML or PDF (with an "
                "embedded Unicode font), ready to serve: the people it covers by name (as registered, and in "
                "Latin), the case reference (`RSD-2026-000123`) and registration numbers, the deciding authority "
                "and its address, the legal basis by article, each member's outcome, for a rejection the reasons "
                "and the appeal (body, where to lodge, last day counted from the day served), for a recognition "
                "the rights and the certificate to collect, the decision-maker's name and title and the date "
                "served. Never the claim. 409 `decision_letter` before a decision, `decision_letter_office` when "
                "the office has no authority configured; 503 for a PDF whose names are in a script the embedded "
                "font lacks (e.g. Arabic; the HTML letter shows them). Scope `rsd:read`.",
    responses={200: {"content": {"text/html": {"example": _HTML_EXAMPLE},
                                 "application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                     "description": "The letter"},
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
    row, app, applicants = await _read(request, application_id, principal, purpose, "read-decision-letter",
                                       reader=service.read_for_letter)
    if app.decision is None:
        raise RuleViolation(rule="decision_letter", detail="there is no decision of the current round to put in a letter")
    office = request.app.state.offices.get(app.office)
    if office is None:
        raise RuleViolation(rule="decision_letter_office",
                            detail=f"office {app.office} has no authority configured for letters (RSD_LETTER_OFFICES_FILE)")
    context = letters.letter_context(app, reference=app.reference or row.id, office=office, lang=lang,
                                     applicants=applicants)
    if format == "html":
        return HTMLResponse(letters.render_html(context, lang))
    try:
        pdf = letters.render_pdf(context, lang)
    except letters.MissingGlyphs as exc:  # a name in a script the packaged font lacks: never drop it silently
        raise Problem(503, f"this letter cannot be printed as PDF: {exc}; use the HTML letter") from exc
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="decision-{context["reference"]}-{lang}.pdf"'})
