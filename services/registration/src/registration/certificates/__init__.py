"""Printed certificates: a card (A6) or a sheet (A4) in Kazakh or Russian, with the holder's names in the
original script and in Latin, the number, the validity and the signed QR code (`PANA1.<claims>.<signature>`).

The card's content and the QR claims are decided in `domain.certificates`; this module only lays them out.
The fonts are the kit's (pana_kit.fonts: Cyrillic including the Kazakh letters, and names in Arabic or Ge'ez script),
so a bare image renders; a name in a script none of them draws is refused, never printed with letters missing.
The QR code is drawn as vector squares (segno's module matrix), sharp at any printer resolution.
"""

from __future__ import annotations

import logging
from datetime import date

from pana_kit.fonts import FAMILY, new_pdf, require_glyphs

from ..domain.certificates import CertificateContent, CertificateLanguage, CertificateSize
from ..domain.documents import IssuedDocumentKind

logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetter logs every table at INFO

STATE = {CertificateLanguage.KAZAKH: "ҚАЗАҚСТАН РЕСПУБЛИКАСЫ", CertificateLanguage.RUSSIAN: "РЕСПУБЛИКА КАЗАХСТАН"}

# Who issues each document (docs/domain.md): the asylum-seeker's and the refugee's certificates come from the local
# employment and social programmes departments under the Ministry of Labour and Social Protection (since 2022); the
# stateless person's documents from the migration service of the Ministry of Internal Affairs.
_LABOUR = {
    CertificateLanguage.KAZAKH: "Еңбек және халықты әлеуметтік қорғау министрлігі · "
                                "Жұмыспен қамту және әлеуметтік бағдарламалар басқармасы",
    CertificateLanguage.RUSSIAN: "Министерство труда и социальной защиты населения · "
                                 "Управление занятости и социальных программ",
}
_MIGRATION = {
    CertificateLanguage.KAZAKH: "Ішкі істер министрлігі · Көші-қон қызметі",
    CertificateLanguage.RUSSIAN: "Министерство внутренних дел · Служба миграции",
}
AUTHORITY = {
    IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE: _LABOUR,
    IssuedDocumentKind.REFUGEE_CERTIFICATE: _LABOUR,
    IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE: _MIGRATION,
    IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE: _MIGRATION,
}

TITLES = {
    CertificateLanguage.KAZAKH: {
        IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE: "ПАНА ІЗДЕУШІ КУӘЛІГІ",
        IssuedDocumentKind.REFUGEE_CERTIFICATE: "БОСҚЫН КУӘЛІГІ",
        IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE: "АЗАМАТТЫҒЫ ЖОҚ АДАМНЫҢ КУӘЛІГІ",
        IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE: "АЗАМАТТЫҒЫ ЖОҚ ДЕП ТАНУ РӘСІМІНІҢ КУӘЛІГІ",
    },
    CertificateLanguage.RUSSIAN: {
        IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE: "СВИДЕТЕЛЬСТВО ЛИЦА, ИЩУЩЕГО УБЕЖИЩЕ",
        IssuedDocumentKind.REFUGEE_CERTIFICATE: "УДОСТОВЕРЕНИЕ БЕЖЕНЦА",
        IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE: "УДОСТОВЕРЕНИЕ ЛИЦА БЕЗ ГРАЖДАНСТВА",
        IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE: "СПРАВКА О ПРОЦЕДУРЕ ПРИЗНАНИЯ ЛИЦОМ БЕЗ ГРАЖДАНСТВА",
    },
}

LABELS = {
    CertificateLanguage.KAZAKH: {
        "number": "Куәлік нөмірі", "name": "Тегі, аты, әкесінің аты", "latin": "Латын әрпімен",
        "birth": "Туған күні", "issued": "Берілген күні", "expires": "Жарамдылық мерзімі",
        "valid": "{} дейін жарамды", "check": "QR кодты тексеру: {} (қолтаңба Ed25519)",
        "unknown": "белгісіз",
    },
    CertificateLanguage.RUSSIAN: {
        "number": "Номер документа", "name": "Фамилия, имя, отчество", "latin": "Латиницей",
        "birth": "Дата рождения", "issued": "Дата выдачи", "expires": "Срок действия",
        "valid": "действительно до {}", "check": "Проверка QR-кода: {} (подпись Ed25519)",
        "unknown": "неизвестна",
    },
}


def _date(value: date | None, lang: CertificateLanguage) -> str:
    return value.strftime("%d.%m.%Y") if value else LABELS[lang]["unknown"]


def _qr(pdf, payload: str, x: float, y: float, side: float) -> None:
    import segno

    code = segno.make(payload, error="m", micro=False)
    rows = list(code.matrix_iter(border=0))
    module = side / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):  # one rectangle per run of dark modules in a row
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + start * module, y + r * module, (c - start) * module, module, style="F")
            else:
                c += 1


def render_pdf(content: CertificateContent, payload: str, lang: CertificateLanguage | str,
               size: CertificateSize | str, *, verify_url: str = "/verify") -> bytes:
    """The certificate as a PDF: A6 landscape card, or the card's fields on an A4 portrait sheet; `verify_url`
    is the verification page's public address, printed under the code."""
    lang, size = CertificateLanguage(lang), CertificateSize(size)
    labels, state, authority = LABELS[lang], STATE[lang], AUTHORITY[content.kind][lang]
    require_glyphs(content.name + content.name_latin)  # raises MissingGlyphs before anything is laid out
    card = size is CertificateSize.A6
    pdf = new_pdf(orientation="landscape" if card else "portrait", unit="mm", format=(105, 148) if card else "A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(f"{TITLES[lang][content.kind]} {content.number}")
    pdf.set_lang(lang.value)
    pdf.add_page()
    scale = 1.0 if card else 1.6
    margin = 6 * scale
    width = pdf.w - 2 * margin
    qr_side = 38 if card else 80

    def line(text: str, points: float, height: float, *, w: float = 0, align: str = "L") -> None:
        pdf.set_font(FAMILY, size=points * scale)
        pdf.set_x(margin)
        pdf.multi_cell(w or width, height * scale, text, align=align, new_x="LMARGIN", new_y="NEXT")

    pdf.set_draw_color(40, 70, 120)
    if card:
        pdf.rect(margin / 2, margin / 2, pdf.w - margin, pdf.h - margin)
    pdf.set_y(margin)
    line(state, 8, 4, align="C")
    line(authority, 6.5, 3.5, align="C")
    pdf.ln(1.5 * scale)
    line(TITLES[lang][content.kind], 10, 5, align="C")
    pdf.ln(2 * scale)
    text_width = width - qr_side - 4 if card else width
    top = pdf.get_y()

    def field(label: str, value: str, points: float = 8.5) -> None:
        pdf.set_font(FAMILY, size=5.5 * scale)
        pdf.set_x(margin)
        pdf.multi_cell(text_width, 2.8 * scale, label, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=points * scale)
        pdf.set_x(margin)
        pdf.multi_cell(text_width, 4.2 * scale, value, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(0.6 * scale)

    field(labels["number"], content.number, 10)
    field(labels["name"], content.name)
    field(labels["latin"], content.name_latin)
    field(labels["birth"], _date(content.birth_date, lang))
    field(labels["issued"], _date(content.issued_on, lang))
    field(labels["expires"], labels["valid"].format(_date(content.expires_on, lang)))
    if card:
        _qr(pdf, payload, pdf.w - margin - qr_side, top, qr_side)
        pdf.set_y(pdf.h - margin - 3)
        line(labels["check"].format(verify_url), 5, 3)
    else:
        y = pdf.get_y() + 4
        _qr(pdf, payload, (pdf.w - qr_side) / 2, y, qr_side)
        pdf.set_y(y + qr_side + 4)
        line(labels["check"].format(verify_url), 5, 3, align="C")
    return bytes(pdf.output())
