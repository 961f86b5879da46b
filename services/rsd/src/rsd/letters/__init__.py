"""Decision letters rendered from templates in Kazakh, Russian and English, as HTML or PDF.

A letter states the decision, the members it covers, the categorised reasons of a
rejection and the appeal window. It never quotes the claim.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..domain import Application

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("kk", "ru", "en")
# Shipped with the package (DejaVu Sans, subset to Latin, Greek and Cyrillic; licence beside it), so a letter
# renders in a bare image with no fonts installed. The system's copies are only a fallback.
PACKAGED_FONT = Path(__file__).parent / "fonts" / "DejaVuSans.ttf"
FONT_CANDIDATES = (PACKAGED_FONT,
                   Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                   Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"))

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def letter_context(app: Application) -> dict:
    decision = app.decision
    return {
        "application_id": app.id,
        "office": app.office,
        "person_id": app.person_id,
        "outcome": decision.outcome.value,
        "decided_on": decision.decided_on,
        "members": [{"person_id": m.person_id, "relationship": m.relationship.value,
                     "outcome": decision.member_outcomes.get(m.id).value if decision.member_outcomes.get(m.id) else "rejected"}
                    for m in app.members],
        "reasons": [r.value for r in decision.rejection_reasons],
        "appeal_days": app.rules.appeal_window_days,
        "appeal_until": app.appeal_deadline,
        "notified_on": decision.notified_on,
    }


def paragraphs(app: Application, lang: str) -> list[str]:
    """The letter's text in `lang`, paragraph by paragraph (the language template is the source)."""
    text = _env.get_template(f"decision.{lang}.txt.j2").render(**letter_context(app), fmt=_fmt_date)
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def render_html(app: Application, lang: str) -> str:
    return _env.get_template("letter.html.j2").render(lang=lang, paragraphs=paragraphs(app, lang))


def font_path() -> Path | None:
    return next((p for p in FONT_CANDIDATES if p.exists()), None)


def render_pdf(app: Application, lang: str) -> bytes:
    from fpdf import FPDF

    font = font_path()
    if font is None:  # Kazakh and Russian need a Unicode font; say so rather than print boxes
        raise RuntimeError("no Unicode TTF font (DejaVuSans) on this system for PDF letters")
    pdf = FPDF(format="A4")
    pdf.set_title(f"Decision {app.id}")
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(font))
    pdf.set_font("DejaVu", size=11)
    for paragraph in paragraphs(app, lang):
        pdf.multi_cell(0, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    return bytes(pdf.output())


def _fmt_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"
