"""PDF letters carry their own font: a bare image (no fonts installed) must still render Kazakh and Russian."""

from pathlib import Path

from fontTools.ttLib import TTFont

from rsd import letters


def test_the_font_is_package_data_and_preferred():
    from pana_kit import fonts

    assert letters.font_path() == fonts.DEJAVU_SANS == Path(fonts.__file__).parent / "DejaVuSans.ttf"
    assert fonts.LICENSE.is_file()


def test_the_font_has_every_letter_the_templates_use():
    cmap = TTFont(letters.font_path()).getBestCmap()
    from rsd.letters.offices import PACKAGED_OFFICES

    for template in [*sorted(letters.TEMPLATES.glob("decision.*.txt.j2")), PACKAGED_OFFICES]:
        missing = {ch for ch in template.read_text(encoding="utf-8") if ch.strip() and ord(ch) not in cmap}
        assert not missing, f"{template.name}: no glyph for {sorted(missing)}"
    for word in ("Қазақстан Республикасы", "Ә ә Ғ ғ Қ қ Ң ң Ө ө Ұ ұ Ү ү Һ һ І і", "Решение № «ё»", "₸ — …"):
        assert all(ord(ch) in cmap for ch in word if ch.strip()), word


def test_a_pdf_renders_with_the_packaged_font_alone(monkeypatch):
    from fpdf import FPDF

    monkeypatch.setattr(letters, "FONT_CANDIDATES", (letters.PACKAGED_FONT,))
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(letters.font_path()))
    pdf.set_font("DejaVu", size=11)
    pdf.multi_cell(0, 6, "Шешім: босқын мәртебесі берілді. Решение: статус беженца предоставлен.")
    assert bytes(pdf.output()).startswith(b"%PDF")
