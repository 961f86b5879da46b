"""Printed certificates: every kind, size and language renders; the text pdftotext extracts carries every
element the card must print; the QR code on the page decodes to a payload whose Ed25519 signature verifies
with the published key and whose claims are exactly what the card prints; revoked or replaced documents are
not reprinted."""

import base64
import json
import os
import shutil
import subprocess
from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pana_kit.tables import AuditEntry
from registration.domain import verify_qr_payload
from sqlalchemy import select
from pana_kit.fields import BIDI_CONTROLS

KINDS = ("asylum_seeker_certificate", "refugee_certificate", "stateless_person_certificate")
TITLE = {
    ("kk", "asylum_seeker_certificate"): "ПАНА ІЗДЕУШІ КУӘЛІГІ",
    ("kk", "refugee_certificate"): "БОСҚЫН КУӘЛІГІ",
    ("kk", "stateless_person_certificate"): "АЗАМАТТЫҒЫ ЖОҚ АДАМНЫҢ КУӘЛІГІ",
    ("ru", "asylum_seeker_certificate"): "СВИДЕТЕЛЬСТВО ЛИЦА, ИЩУЩЕГО УБЕЖИЩЕ",
    ("ru", "refugee_certificate"): "УДОСТОВЕРЕНИЕ БЕЖЕНЦА",
    ("ru", "stateless_person_certificate"): "УДОСТОВЕРЕНИЕ ЛИЦА БЕЗ ГРАЖДАНСТВА",
}
# The issuing authority, by kind (docs/domain.md): asylum-seekers' and refugees' certificates from the Ministry of
# Labour's local departments, stateless persons' from the migration service.
AUTHORITY = {"kk": ("Жұмыспен қамту және әлеуметтік бағдарламалар басқармасы", "Көші-қон қызметі"),
             "ru": ("Управление занятости и социальных программ", "Служба миграции")}
LABELS = {"kk": ("Куәлік нөмірі", "Тегі, аты, әкесінің аты", "Латын әрпімен", "Туған күні", "Берілген күні",
                 "Жарамдылық мерзімі", "дейін жарамды"),
          "ru": ("Номер документа", "Фамилия, имя, отчество", "Латиницей", "Дата рождения", "Дата выдачи",
                 "Срок действия", "действительно до")}


def _tools():
    missing = [t for t in ("pdftotext", "pdftoppm") if shutil.which(t) is None]
    if missing:
        if os.environ.get("PANA_REQUIRE_BROWSER"):
            pytest.fail(f"{', '.join(missing)} missing (poppler-utils; scripts/system-deps installs it)")
        pytest.skip(f"{', '.join(missing)} missing: install poppler-utils (scripts/system-deps)")


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def _qr_texts(pdf: bytes, tmp_path) -> list[str]:
    import zxingcpp
    from PIL import Image

    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    return [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]


def _public_key(jwks: dict) -> Ed25519PublicKey:
    [jwk] = jwks["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    return Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="))


def _print(reg, pid, document_id, lang="kk", size="a6", role="registration-officer"):
    return reg.client.get(f"/api/v1/persons/{pid}/documents/{document_id}/certificate",
                          params={"lang": lang, "size": size}, headers=reg.headers(role))


async def test_every_kind_size_and_language_prints_what_it_must(reg, certificates_issued, tmp_path):
    _tools()
    issued = await certificates_issued(reg, "all")
    jwks = (await reg.client.get("/.well-known/pana-verification-key")).json()
    key = _public_key(jwks)
    for kind in KINDS:
        pid, doc = issued[kind]
        for lang in ("kk", "ru"):
            for size in ("a6", "a4"):
                r = await _print(reg, pid, doc["document_id"], lang, size)
                assert r.status_code == 200, r.text
                assert r.headers["content-type"] == "application/pdf" and r.content.startswith(b"%PDF")
                where = f"{kind} {lang} {size}"
                text = " ".join(_text(r.content, tmp_path).split())
                expires = date.fromisoformat(doc["expires_on"]).strftime("%d.%m.%Y")
                issued_on = date.fromisoformat(doc["issued_on"]).strftime("%d.%m.%Y")
                labour, migration = AUTHORITY[lang]
                issuer, not_issuer = (migration, labour) if kind.startswith("stateless") else (labour, migration)
                assert not_issuer not in text, f"{where}: printed as issued by {not_issuer!r}"
                for element in (TITLE[lang, kind], issuer, doc["number"], "Нұрлыбеков Әлихан Серікұлы",
                                "Nurlybekov Alikhan Serikuly", "21.03.1988", issued_on, expires, "/verify",
                                *LABELS[lang]):
                    assert element in text, f"{where}: no {element!r} in {text!r}"
                other = "ru" if lang == "kk" else "kk"
                assert not any(label in text for label in LABELS[other]), f"{where}: a label of {other}"
                [payload] = _qr_texts(r.content, tmp_path)
                claims = verify_qr_payload(payload, key)
                assert claims == {"v": 1, "kid": jwks["keys"][0]["kid"], "n": doc["number"], "k": kind,
                                  "s": {"asylum_seeker_certificate": "asylum_seeker",
                                        "refugee_certificate": "refugee",
                                        "stateless_person_certificate": "stateless"}[kind],
                                  "i": doc["issued_on"], "e": doc["expires_on"], "nm": "Нұрлыбеков Әлихан Серікұлы",
                                  "nl": "Nurlybekov Alikhan Serikuly", "b": "1988-03-21"}, where
                head, body, signature = payload.split(".")
                tampered = json.loads(base64.urlsafe_b64decode(body + "=="))
                tampered["e"] = "2099-12-31"
                forged = base64.urlsafe_b64encode(json.dumps(tampered).encode()).rstrip(b"=").decode()
                with pytest.raises(Exception, match="signature"):
                    verify_qr_payload(f"{head}.{forged}.{signature}", key)


async def test_a_revoked_or_replaced_document_is_not_reprinted(reg, certificates_issued):
    issued = await certificates_issued(reg, "gone")
    pid, doc = issued["refugee_certificate"]
    r = await reg.client.post(f"/api/v1/persons/{pid}/documents/{doc['document_id']}/replacement",
                              json={"reason": "lost"},
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": "replace-0000001"})
    assert r.status_code == 201, r.text
    new = r.json()["issued"]
    refused = await _print(reg, pid, doc["document_id"])
    assert refused.status_code == 409 and refused.json()["rule"] == "document_revoked"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (await _print(reg, pid, new["document_id"], "ru", "a4")).status_code == 200

    pid, doc = issued["stateless_person_certificate"]
    r = await reg.client.post(f"/api/v1/persons/{pid}/documents/{doc['document_id']}/renewal", json={},
                              headers={**reg.headers("registration-officer"), "Idempotency-Key": "renew-00000001"})
    assert r.status_code == 201, r.text
    refused = await _print(reg, pid, doc["document_id"])
    assert refused.status_code == 409 and refused.json()["rule"] == "document_already_replaced"
    async with reg.app.state.db.session() as s:
        outcomes = [e.outcome for e in (await s.execute(
            select(AuditEntry).where(AuditEntry.action == "print-certificate"))).scalars()]
    assert outcomes.count("ok") >= 3  # the refused prints are audited too


async def test_printing_needs_the_read_scope_a_purpose_and_the_holders_document(reg, certificates_issued):
    issued = await certificates_issued(reg, "scope")
    pid, doc = issued["refugee_certificate"]
    other, _ = issued["asylum_seeker_certificate"]
    assert (await _print(reg, pid, doc["document_id"], role="service-provider")).status_code == 403
    assert (await _print(reg, other, doc["document_id"])).status_code == 404
    no_purpose = await reg.client.get(f"/api/v1/persons/{pid}/documents/{doc['document_id']}/certificate",
                                      headers=reg.headers("registration-officer", purpose=None))
    assert no_purpose.status_code in (400, 422)
    bad = await reg.client.get(f"/api/v1/persons/{pid}/documents/{doc['document_id']}/certificate",
                               params={"lang": "en"}, headers=reg.headers("registration-officer"))
    assert bad.status_code == 422


async def test_the_published_key_and_the_page_need_no_login(reg):
    jwks = await reg.client.get("/.well-known/pana-verification-key")
    assert jwks.status_code == 200 and "max-age" in jwks.headers["cache-control"]
    pem = await reg.client.get("/api/v1/documents/public-key", headers=reg.headers("service-provider", purpose=None))
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    assert load_pem_public_key(pem.text.encode()).public_bytes_raw() == _public_key(jwks.json()).public_bytes_raw()
    page = await reg.client.get("/verify")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert 'src="/verify/assets/verify.js"' in page.text and "http" not in page.text.replace("http-equiv", "")
    for asset in ("verify.js", "verify.css"):
        r = await reg.client.get(f"/verify/assets/{asset}")
        assert r.status_code == 200 and "https://" not in r.text and "http://" not in r.text
    assert (await reg.client.get("/verify/assets/..%2Fapp.py")).status_code == 404
    config = (await reg.client.get("/verify/config.json")).json()
    assert config["client_id"] == "pana-verify" and config["paste_token"] is True
    assert "code" not in config and config["authorization_url"].endswith("/protocol/openid-connect/auth")


# --- the rule, without the service ---------------------------------------------------------------------------

def _document_and_holder():
    from datetime import datetime, timezone

    from registration.domain import Person, issue_refugee_certificate
    from registration.domain.documents import document_number
    from registration.domain.rules import RegistrationRules

    holder = Person(person_id="p-1", registered_at=datetime.now(timezone.utc), given_name="Әлихан",
                    family_name="Нұрлыбеков", birth_date=date(1988, 3, 21))
    doc = issue_refugee_certificate(number=document_number("refugee_certificate", 2026, 12), holder_person_id="p-1",
                                    holder_birth_date=date(1988, 3, 21), issued_on=date(2026, 1, 10),
                                    rules=RegistrationRules())
    return doc, holder


WITHOUT_BIDI_CONTROLS = dict.fromkeys(map(ord, BIDI_CONTROLS))  # pdftotext marks right-to-left runs with them


async def test_a_name_in_arabic_or_geez_script_is_printed_and_one_no_font_draws_is_refused(reg, certificates_issued,
                                                                                           tmp_path):
    """Many applicants are registered in Arabic script (Dari, Pashto, Arabic, Urdu) or Ge'ez (Tigrinya): their
    names print, joined and right to left. A name in a script no packaged font draws is refused with 503 naming
    the code points (never the letters), rather than printed with its letters silently dropped."""
    _tools()
    for names, printed in (
            ({"given_name": "احمد", "family_name": "کریمی", "given_name_latin": "Ahmad", "family_name_latin": "Karimi"},
             ("کریمی احمد", "Karimi Ahmad")),
            ({"given_name": "ሰላም", "family_name": "ኣብርሃ", "given_name_latin": "Selam", "family_name_latin": "Abraha"},
             ("ኣብርሃ ሰላም", "Abraha Selam"))):
        issued = await certificates_issued(reg, f"script-{names['family_name_latin']}", names=names,
                                           kinds=("refugee_certificate",))
        pid, doc = issued["refugee_certificate"]
        for lang, size in (("kk", "a6"), ("ru", "a4")):
            r = await _print(reg, pid, doc["document_id"], lang, size)
            assert r.status_code == 200, r.text
            text = " ".join(_text(r.content, tmp_path).translate(WITHOUT_BIDI_CONTROLS).split())
            for element in printed:
                assert element in text, f"{lang} {size}: no {element!r} in {text!r}"
    issued = await certificates_issued(reg, "script-han", names={
        "given_name": "文", "family_name": "中", "given_name_latin": "Wen", "family_name_latin": "Zhong"},
        kinds=("refugee_certificate",))
    pid, doc = issued["refugee_certificate"]
    r = await _print(reg, pid, doc["document_id"])
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert "U+4E2D" in detail and "U+6587" in detail and "中" not in detail


def test_the_card_and_its_claims_say_the_same_and_nothing_more():
    from registration.domain.certificates import printable_certificate

    doc, holder = _document_and_holder()
    card = printable_certificate(doc, holder)
    assert (card.name, card.name_latin) == ("Нұрлыбеков Әлихан", "Nurlybekov Alikhan")  # Latin made when not stored
    assert card.claims("k1") == {"v": 1, "kid": "k1", "n": doc.document_number, "k": "refugee_certificate",
                                 "s": "refugee", "i": "2026-01-10", "e": doc.expires_on.isoformat(),
                                 "nm": "Нұрлыбеков Әлихан", "nl": "Nurlybekov Alikhan", "b": "1988-03-21"}


def test_a_revoked_or_replaced_document_or_anothers_is_refused():
    from pana_kit.domain import InvalidInput, RuleViolation
    from registration.domain.certificates import printable_certificate

    doc, holder = _document_and_holder()
    doc.replaced_by = "RF2600000130"
    with pytest.raises(RuleViolation) as refused:
        printable_certificate(doc, holder)
    assert refused.value.rule == "document_already_replaced"
    doc, holder = _document_and_holder()
    doc.revoke(on=date(2026, 2, 1), reason="lost")
    with pytest.raises(RuleViolation) as refused:
        printable_certificate(doc, holder)
    assert refused.value.rule == "document_revoked"
    doc, holder = _document_and_holder()
    doc.holder_person_id = "p-2"
    with pytest.raises(InvalidInput):
        printable_certificate(doc, holder)
