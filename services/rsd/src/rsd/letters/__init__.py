"""Decision letters rendered from templates in Kazakh, Russian and English, as HTML or PDF.

A letter names the people it covers (as registered, in their original script and in Latin), the case reference
(`RSD-2026-000123`) and registration numbers, the deciding authority and its address (offices.toml), the legal
basis, each member's outcome, for a rejection the reasons and the appeal (body, where to lodge, last day), for a
recognition the rights and the certificate to collect, who decided (name from the identity provider's `name`
claim recorded with the decision, title from the office's configuration) and the day it was served.
It never quotes the claim: nothing of the claim's text reaches `letter_context`.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pana_kit.fonts import FAMILY, MissingGlyphs, new_pdf, require_glyphs

from ..domain import Application
from .offices import Office

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("kk", "ru", "en")

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def person_names(registered: Any | None, fallback: str | None = None) -> dict[str, str | None]:
    """`{"name": family and given name as registered, "latin": their Latin form}`; Latin is None when the register
    gave none or it reads the same. `registered` is an applicant of the projection (store.repository.Applicant)."""
    if registered is None or not (registered.given_name or registered.family_name):
        return {"name": fallback or "", "latin": None}
    name = " ".join(n for n in (registered.family_name, registered.given_name) if n)
    latin = " ".join(n for n in (registered.family_name_latin, registered.given_name_latin) if n) or None
    return {"name": name, "latin": latin if latin != name else None}


def letter_context(app: Application, *, reference: str, office: Office, lang: str,
                   applicants: Mapping[str, Any]) -> dict:
    """What a letter says, in `lang`. `applicants`: the registered persons by person id (names, registration number)."""
    decision = app.decision
    outcomes = decision.member_outcomes
    members = []
    for member in app.members:
        if member.id not in outcomes:
            continue  # not decided (deceased before the decision)
        registered = applicants.get(member.person_id)
        members.append({**person_names(registered, member.name), "relationship": member.relationship.value,
                        "outcome": outcomes[member.id].value,
                        "registration_number": getattr(registered, "registration_number", None)})
    principal = applicants.get(app.principal.person_id)
    return {
        "reference": reference,
        "registration_number": getattr(principal, "registration_number", None),
        "addressee": person_names(principal, app.principal.name),
        "authority": office.text("authority", lang),
        "address": office.text("address", lang),
        "decision_maker_title": office.text("decision_maker_title", lang),
        "appeal_body": office.text("appeal_body", lang),
        "appeal_address": office.text("appeal_address", lang),
        "outcome": decision.outcome.value,
        "decided_on": decision.decided_on,
        "served_on": decision.notified_on,
        "decided_by": decision.decided_by,
        "decision_maker_name": decision.decided_by_name,
        "members": members,
        "reasons": [r.value for r in decision.rejection_reasons],
        "appeal_days": app.rules.appeal_window_days,
        "appeal_until": app.appeal_deadline,
    }


def paragraphs(context: dict, lang: str) -> list[str]:
    """The letter's text in `lang`, paragraph by paragraph (the language template is the source)."""
    text = _env.get_template(f"decision.{lang}.txt.j2").render(**context, fmt=_fmt_date)
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def render_html(context: dict, lang: str) -> str:
    return _env.get_template("letter.html.j2").render(lang=lang, paragraphs=paragraphs(context, lang))


def render_pdf(context: dict, lang: str) -> bytes:
    """The letter as an A4 PDF, drawn with the kit's packaged fonts (pana_kit.fonts), so a bare image renders it."""
    text = paragraphs(context, lang)
    # A name in a script no packaged font draws (MissingGlyphs, code points only) is refused, never dropped.
    require_glyphs("".join(text))
    pdf = new_pdf(format="A4")
    pdf.set_title(text[0])
    pdf.set_subject(context["reference"])
    pdf.set_lang(lang)
    pdf.add_page()
    pdf.set_font(FAMILY, size=14)
    pdf.multi_cell(0, 8, text[0], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FAMILY, size=11)
    for paragraph in text[1:]:
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def _fmt_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


__all__ = ["MissingGlyphs", "LANGUAGES", "letter_context", "paragraphs", "render_html", "render_pdf"]
