"""Printable certificates (PDF): the card the holder carries, with the signed QR code. Thin route: what the
card says is decided in `domain.certificates`, the layout in `registration.certificates`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from pana_kit.auth import Principal, require
from pana_kit.domain import RuleViolation
from pana_kit.errors import Problem, problem_responses
from pana_kit.fonts import MissingGlyphs
from pana_kit.http import purpose_header

from .. import service
from ..certificates import render_pdf
from ..domain import sign_claims
from ..signing import key_id
from .reading import audited_reading

router = APIRouter(prefix="/api/v1/persons", tags=["persons"])


@router.get(
    "/{person_id}/documents/{document_id}/certificate",
    operation_id="getDocumentCertificate",
    response_class=Response,
    summary="Print a certificate (PDF)",
    description="The asylum-seeker, refugee or stateless person's certificate as a PDF: an A6 card (`size=a6`, "
                "landscape) or an A4 sheet, in Kazakh (`lang=kk`) or Russian (`lang=ru`), with the holder's names "
                "in the original script and in Latin, birth date, document number, issue date and validity, and a "
                "QR code `PANA1.<claims>.<signature>` (Ed25519) that carries only what the card prints; the key is "
                "published at `/.well-known/pana-verification-key` and checked offline by the verification page "
                "`/verify`. **409** for a revoked (`document_revoked`) or replaced (`document_already_replaced`) "
                "document: its successor is printed instead. Needs `X-Purpose`; every print is audited.",
    responses={200: {"content": {"application/pdf": {}}}, **problem_responses(401, 403, 404, 409, 422, 503)},
)
async def print_certificate(
    person_id: str,
    document_id: str,
    request: Request,
    lang: Literal["kk", "ru"] = Query("kk", description="Kazakh or Russian (names always also in Latin)"),
    size: Literal["a6", "a4"] = Query("a6", description="A6 card or A4 sheet"),
    purpose: str = Depends(purpose_header),
    principal: Principal = Depends(require("registration:read")),
) -> Response:
    key = request.app.state.signing_key
    if key is None:
        raise Problem(503, "no signing key is configured for document QR codes")
    refused: RuleViolation | None = None
    async with audited_reading(request) as session:
        try:
            content = await service.printable_certificate(
                session, person_id[:64], document_id[:64], principal=principal, purpose=purpose,
                may_read=service.reader(principal).may_read)
        except RuleViolation as exc:
            refused = exc  # the audit entry of the refused print is kept
    if refused is not None:
        raise refused
    try:
        pdf = render_pdf(content, sign_claims(content.claims(key_id(key)), key), lang, size,
                         verify_url=request.app.state.settings.verify_page_url)
    except MissingGlyphs as exc:  # a name in a script no packaged font draws: never printed with letters dropped
        raise Problem(503, f"this certificate cannot be printed: {exc}") from exc
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{content.number}-{lang}-{size}.pdf"',
        "Cache-Control": "no-store"})
