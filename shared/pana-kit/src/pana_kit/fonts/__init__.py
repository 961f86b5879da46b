"""The fonts every PDF Pana prints is drawn with (decision letters, certificates), shipped with the kit so a bare
image with no fonts installed still renders them; their licences are beside them.

- DejaVu Sans, subset to Latin, Greek and Cyrillic (Kazakh's letters included): the text of every document.
- Noto Naskh Arabic: names in Arabic script (Arabic, Dari and Farsi, Pashto, Urdu, Kurdish Sorani, Uyghur), which
  many applicants are registered in. Drawn right to left with its letters joined (HarfBuzz shaping).
- Noto Sans Ethiopic: names in Ge'ez script (Tigrinya, Amharic).

A name in a script none of them has is refused (`MissingGlyphs`), never printed with its letters dropped.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).parent
DEJAVU_SANS = HERE / "DejaVuSans.ttf"
NOTO_NASKH_ARABIC = HERE / "NotoNaskhArabic-Regular.ttf"
NOTO_SANS_ETHIOPIC = HERE / "NotoSansEthiopic-Regular.ttf"
LICENSE = HERE / "LICENSE-DejaVu.txt"
LICENSE_NOTO = HERE / "LICENSE-Noto.txt"

FAMILY = "DejaVu"  # what a document sets (`pdf.set_font(FAMILY, size=…)`); the others fill in the letters it lacks
FALLBACKS = (("NotoNaskhArabic", NOTO_NASKH_ARABIC), ("NotoSansEthiopic", NOTO_SANS_ETHIOPIC))


class MissingGlyphs(ValueError):
    """No packaged font can draw some letters of a text: a PDF would silently drop them, so none is made."""


@lru_cache(maxsize=1)
def covered() -> frozenset[int]:
    """Every code point some packaged font draws."""
    from fontTools.ttLib import TTFont

    points: set[int] = set()
    for path in (DEJAVU_SANS, *(path for _, path in FALLBACKS)):
        points.update(TTFont(path).getBestCmap())
    return frozenset(points)


def missing_glyphs(text: str) -> list[str]:
    have = covered()
    return sorted({ch for ch in text if not ch.isspace() and ord(ch) not in have})


def require_glyphs(text: str) -> None:
    """Raise `MissingGlyphs` naming the code points (never the letters: they are a person's name) no font has."""
    missing = missing_glyphs(text)
    if missing:
        raise MissingGlyphs("the PDF fonts have no glyph for U+" + ", U+".join(f"{ord(ch):04X}" for ch in missing))


def new_pdf(**options):
    """An `fpdf.FPDF(**options)` with the packaged fonts added (`FAMILY` first, the others as fallbacks for the
    letters it lacks) and text shaping on, so Arabic script is joined and laid out right to left."""
    from fpdf import FPDF

    pdf = FPDF(**options)
    pdf.add_font(FAMILY, fname=str(DEJAVU_SANS))
    for name, path in FALLBACKS:
        pdf.add_font(name, fname=str(path))
    pdf.set_fallback_fonts([name for name, _ in FALLBACKS], exact_match=False)
    pdf.set_text_shaping(True)
    return pdf
