"""PDF letters carry their own fonts (pana_kit.fonts): a bare image (no fonts installed) must still render Kazakh and
Russian, and the names of applicants registered in Arabic or Ge'ez script."""

from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from pana_kit import fonts
from rsd import letters


def test_the_fonts_are_package_data_with_their_licences():
    assert fonts.DEJAVU_SANS == Path(fonts.__file__).parent / "DejaVuSans.ttf"
    for path in (fonts.DEJAVU_SANS, fonts.NOTO_NASKH_ARABIC, fonts.NOTO_SANS_ETHIOPIC, fonts.LICENSE,
                 fonts.LICENSE_NOTO):
        assert path.is_file(), path


def test_the_font_has_every_letter_the_templates_use():
    cmap = TTFont(fonts.DEJAVU_SANS).getBestCmap()
    from rsd.letters.offices import PACKAGED_OFFICES

    for template in [*sorted(letters.TEMPLATES.glob("decision.*.txt.j2")), PACKAGED_OFFICES]:
        missing = {ch for ch in template.read_text(encoding="utf-8") if ch.strip() and ord(ch) not in cmap}
        assert not missing, f"{template.name}: no glyph for {sorted(missing)}"
    for word in ("Қазақстан Республикасы", "Ә ә Ғ ғ Қ қ Ң ң Ө ө Ұ ұ Ү ү Һ һ І і", "Решение № «ё»", "₸ — …"):
        assert all(ord(ch) in cmap for ch in word if ch.strip()), word


def test_names_in_the_scripts_applicants_are_registered_in_are_covered():
    for name in ("کریمی احمد", "محمد عبدالله", "ښکلی ګل ۍ", "عمران ے ٹ", "ڕێبوار ئاکۆ", "ئۇيغۇر", "ሰላም ኣብርሃ",
                 "Ҷӯраев Қурбонӣ", "Ахмад Каримов"):
        assert fonts.missing_glyphs(name) == [], name
    assert fonts.missing_glyphs("中文 x") == ["中", "文"]
    with pytest.raises(fonts.MissingGlyphs, match="U\\+4E2D") as refused:
        fonts.require_glyphs("名 中")
    assert "中" not in str(refused.value)  # code points only: a name's letters are not repeated in an error


def test_a_pdf_renders_with_the_packaged_fonts_alone():
    pdf = fonts.new_pdf()
    pdf.add_page()
    pdf.set_font(fonts.FAMILY, size=11)
    pdf.multi_cell(0, 6, "Шешім: босқын мәртебесі берілді. Решение: статус беженца предоставлен. کریمی احمد")
    assert bytes(pdf.output()).startswith(b"%PDF")
