"""Issue 18: decision letters fit to serve. Every letter kind (a recognised family, a rejected family) in every
language (kk, ru, en), rendered through the API as PDF and read back with pdftotext: each required element is
there, in the letter's language, and nothing of another language (letter_text.py defines the check)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from api_flows import FAILS, INTERVIEW, MEETS, Api, harness, lodged_id
from letter_text import language_faults, pdftotext
from pana_events.events import registration as reg

from rsd.letters.offices import load_offices
from pana_kit.fields import BIDI_CONTROLS

DECIDER = dict(role="supervisor", subject="sup-1", name="Жұмабаева Айгүл Серікқызы")
# A Tajik family, registered with their names in Cyrillic and the Latin forms of their passports.
FAMILY = {
    "p-1": ("Фаррух", "Раҳимов", "Farrukh", "Rakhimov", "KZR-26-000101", date(1990, 5, 1), "male"),
    "p-2": ("Зарина", "Раҳимова", "Zarina", "Rakhimova", "KZR-26-000102", date(1988, 3, 3), "female"),
    "p-3": ("Сомон", "Раҳимов", "Somon", "Rakhimov", "KZR-26-000103", date(2018, 2, 2), "male"),
}
SPOUSE = {"id": "m2", "person_id": "p-2", "relationship": "spouse", "birth_date": "1988-03-03",
          "derivative_status_consent": True}
CHILD = {"id": "m3", "person_id": "p-3", "relationship": "child", "birth_date": "2018-02-02"}
REASONS = ["harm_not_persecution", "not_credible_inconsistent"]
CLAIM = ("I was detained for my writing.", "Q: why? A: ...", "Consistent and detailed.",
         "Harm does not reach persecution.")

EXPECTED = {
    "kk": {
        "title": "Босқын деп тану туралы өтінішхат бойынша шешім",
        "basis": ["«Босқындар туралы» Заңының 11-бабы", "№ 216-IV", "1951 жылғы Конвенцияның 1A(2)-бабы"],
        "relationships": ["өтініш беруші", "жұбайы", "баласы"],
        "recognised": {"m1": "босқын деп танылды", "m2": "отбасы мүшесі ретінде босқын мәртебесі берілді",
                       "m3": "отбасы мүшесі ретінде босқын мәртебесі берілді"},
        "rejected": "босқын деп танылмады",
        "reasons": ["сіз қорқатын зиян қудалау деп санауға жететіндей ауыр емес",
                    "маңызды мән-жайлар қабылданбады, себебі сіздің түсініктемеңіз қайшылықты"],
        "appeal": ["Шағымдану құқығы", "30 күнтізбелік күн", "02.04.2026 кешіктірмей", "Шағымды қарайтын орган"],
        "rights": ["медициналық көмекке, жұмысқа, білім алуға және әлеуметтік көмекке", "33-бабы"],
        "certificate": "босқын куәлігін мына мекенжайдан алады",
        "served": "Табыс етілген күні: 03.03.2026",
        "decided": "Шешім күні: 01.03.2026",
        "reference": "Іс нөмірі:",
    },
    "ru": {
        "title": "Решение по ходатайству о признании беженцем",
        "basis": ["статья 11 Закона Республики Казахстан от 4 декабря 2009 года № 216-IV «О беженцах»",
                  "статья 1A(2) Конвенции о статусе беженцев 1951 года"],
        "relationships": ["заявитель", "супруг(а)", "ребёнок"],
        "recognised": {"m1": "признан(а) беженцем", "m2": "предоставлен статус беженца как члену семьи",
                       "m3": "предоставлен статус беженца как члену семьи"},
        "rejected": "не признан(а) беженцем",
        "reasons": ["вред, которого вы опасаетесь, недостаточно серьёзен, чтобы считаться преследованием",
                    "важные факты не могут быть приняты, потому что ваши объяснения противоречивы"],
        "appeal": ["Право на обжалование", "30 календарных дней", "не позднее 02.04.2026", "Жалобу рассматривает"],
        "rights": ["доступ к медицинской помощи, работе, образованию и социальной помощи", "статья 33"],
        "certificate": "получает удостоверение беженца по адресу",
        "served": "Дата вручения: 03.03.2026",
        "decided": "Дата решения: 01.03.2026",
        "reference": "Номер дела:",
    },
    "en": {
        "title": "Decision on the application for refugee status",
        "basis": ['Article 11 of the Law of the Republic of Kazakhstan "On Refugees" No. 216-IV of 4 December 2009',
                  "Article 1A(2) of the 1951 Convention relating to the Status of Refugees"],
        "relationships": ["applicant", "spouse", "child"],
        "recognised": {"m1": "recognised as a refugee", "m2": "granted refugee status as a family member",
                       "m3": "granted refugee status as a family member"},
        "rejected": "not recognised as a refugee",
        "reasons": ["the harm you fear is not serious enough to be persecution",
                    "important facts could not be accepted because your account is inconsistent"],
        "appeal": ["Your right to appeal", "within 30 calendar days", "no later than 02.04.2026",
                   "The appeal is decided by"],
        "rights": ["access to medical care, employment, education and social assistance", "Article 33"],
        "certificate": "collects a refugee certificate at",
        "served": "Date served: 03.03.2026",
        "decided": "Date of decision: 01.03.2026",
        "reference": "Case number:",
    },
}
OFFICE = load_offices()["almaty"]


@pytest.fixture
async def api(tmp_path):
    async with harness(tmp_path) as h:
        for person_id, (given, family, given_latin, family_latin, number, born, sex) in FAMILY.items():
            event = reg.PersonRegistered(
                person_id=person_id, registration_number=number, given_name=given, family_name=family,
                given_name_latin=given_latin, family_name_latin=family_latin, birth_date=born, sex=sex,
                citizenship=["TJK"], registered_at=datetime(2026, 1, 7, tzinfo=timezone.utc), office="almaty")
            assert (await h.deliver(event, subject=person_id)).name == "handled"
        yield Api(h)


async def family_decided(api: Api, outcome: str) -> str:
    app_id = await lodged_id(api, principal={"id": "m1", "person_id": "p-1", "relationship": "principal",
                                             "sex": "male", "birth_date": "1990-05-01"}, family=[SPOUSE, CHILD])
    steps = [("interviews", INTERVIEW), ("interviews/i1/record", {"held_on": "2026-02-02", "record": CLAIM[1]})]
    if outcome == "recognised":
        steps += [("assessments", MEETS), ("assessments", {**FAILS, "member_id": "m2"}),
                  ("recommendation", {"outcome": "recognised", "on": "2026-02-20"})]
    else:
        steps += [("assessments", FAILS), ("assessments", {**FAILS, "member_id": "m2"}),
                  ("recommendation", {"outcome": "rejected", "rejection_reasons": REASONS, "on": "2026-02-20"})]
    for path, body in steps:
        r = await api.step(app_id, path, body)
        assert r.status_code == 200, r.text
    r = await api.step(app_id, "decision", {"on": "2026-03-01"}, who=DECIDER)
    assert r.status_code == 200 and r.json()["status"] == outcome, r.text
    r = await api.step(app_id, "notification", {"served_on": "2026-03-03", "language": "ru"})
    assert r.status_code == 200, r.text
    return app_id


async def letter(api: Api, app_id: str, lang: str, fmt: str = "pdf"):
    r = await api.h.client.get(f"/api/v1/applications/{app_id}/decision-letter", params={"lang": lang, "format": fmt},
                               headers=api.headers())
    assert r.status_code == 200, r.text
    return r


def names() -> list[str]:
    out = []
    for given, family, given_latin, family_latin, number, *_ in FAMILY.values():
        out += [f"{family} {given}", f"{family_latin} {given_latin}", number]
    return out


def allowed_foreign(reference: str) -> list[str]:
    return [*names(), reference, DECIDER["name"]]


async def texts_of(api: Api, outcome: str) -> tuple[dict[str, str], str]:
    app_id = await family_decided(api, outcome)
    texts = {}
    for lang in ("kk", "ru", "en"):
        pdf = (await letter(api, app_id, lang)).content
        assert pdf.startswith(b"%PDF")
        texts[lang] = pdftotext(pdf)
    reference = re.search(r"RSD-\d{4}-\d{6}", texts["en"]).group(0)
    return texts, reference


def check_common(text: str, lang: str, reference: str) -> None:
    e = EXPECTED[lang]
    assert text.startswith(e["title"]), text[:200]
    assert f'{e["reference"]} {reference}' in text
    assert reference == "RSD-2026-000001"  # the first application stored in 2026
    for given, family, given_latin, family_latin, number, *_ in FAMILY.values():
        assert f"{family} {given} ({family_latin} {given_latin})" in text
        assert number in text
    for value in (OFFICE.text("authority", lang), OFFICE.text("address", lang)):
        assert value in text
    for phrase in (*e["basis"], *e["relationships"], e["served"], e["decided"]):
        assert phrase in text, phrase
    assert f'{DECIDER["name"]}, {OFFICE.text("decision_maker_title", lang)}' in text
    for leaked in (*CLAIM, "detained", "p-1", "p-2", "m1", "almaty", "principal", "sup-1"):
        assert leaked not in text, leaked
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text), "no ids in a letter"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_a_recognised_familys_letter(api, lang):
    texts, reference = await texts_of(api, "recognised")
    text, e = texts[lang], EXPECTED[lang]
    check_common(text, lang, reference)
    for member, outcome in e["recognised"].items():
        assert outcome in text, member
    for phrase in (*e["rights"], e["certificate"]):
        assert phrase in text, phrase
    assert e["appeal"][0] not in text and e["reasons"][0] not in text
    assert language_faults(text, lang, allowed_foreign(reference), russian_letter=texts["ru"]) == []


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_a_rejected_familys_letter(api, lang):
    texts, reference = await texts_of(api, "rejected")
    text, e = texts[lang], EXPECTED[lang]
    check_common(text, lang, reference)
    assert text.count(e["rejected"]) == 3  # every member, none recognised
    for phrase in (*e["reasons"], *e["appeal"], OFFICE.text("appeal_body", lang), OFFICE.text("appeal_address", lang)):
        assert phrase in text, phrase
    assert e["certificate"] not in text
    assert language_faults(text, lang, allowed_foreign(reference), russian_letter=texts["ru"]) == []


async def test_the_language_check_finds_a_foreign_word(api):
    texts, reference = await texts_of(api, "recognised")
    allowed = allowed_foreign(reference)
    assert language_faults(texts["kk"] + " principal", "kk", allowed) == ["principal"]
    assert language_faults(texts["ru"] + " жұбайы", "ru", allowed) == ["жұбайы"]
    assert language_faults(texts["kk"] + " заявитель", "kk", allowed, russian_letter=texts["ru"]) == ["заявитель"]
    assert language_faults(texts["en"] + " супруг", "en", allowed) == ["супруг"]


async def test_the_html_letter_says_the_same(api):
    app_id = await family_decided(api, "rejected")
    html = (await letter(api, app_id, "kk", "html")).text
    assert "Раҳимов Фаррух (Rakhimov Farrukh)" in html and "02.04.2026" in html and "RSD-2026-000001" in html
    assert 'lang="kk"' in html and "principal" not in html


async def test_letters_before_serving_leave_the_date_to_enter(api):
    app_id = await lodged_id(api, principal={"id": "m1", "person_id": "p-1", "relationship": "principal",
                                             "sex": "male", "birth_date": "1990-05-01"})
    for path, body in (("interviews", INTERVIEW), ("interviews/i1/record", {"held_on": "2026-02-02", "record": "."}),
                       ("assessments", FAILS),
                       ("recommendation", {"outcome": "rejected", "rejection_reasons": REASONS, "on": "2026-02-20"})):
        assert (await api.step(app_id, path, body)).status_code == 200
    assert (await api.step(app_id, "decision", {"on": "2026-03-01"}, who=dict(role="supervisor",
                                                                            subject="sup-9"))).status_code == 200
    text = pdftotext((await letter(api, app_id, "en")).content)
    assert "Date served: (entered when the decision is served)" in text
    assert "within 30 calendar days of the day it was served on you." in text  # no date before it is served
    # a token without a name claim: the letter says so and names the officer's identifier instead
    assert "Decided by: (name not recorded; officer sup-9), Deputy Head of the Department" in text


async def test_the_letter_route_refuses_as_problem_json(api):
    app_id = await family_decided(api, "recognised")
    url = f"/api/v1/applications/{app_id}/decision-letter"
    cases = [
        (await api.h.client.get(url), 401),
        (await api.h.client.get(url, headers=api.h.headers("border-officer", subject="b-1", office="almaty")), 403),
        (await api.h.client.get("/api/v1/applications/no-such-application/decision-letter", headers=api.headers()), 404),
        (await api.h.client.get(url, headers=api.headers(office="astana")), 404),  # another office's file
        (await api.h.client.get(url, params={"lang": "de"}, headers=api.headers()), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_latin_names_and_registration_numbers_are_kept_sealed(api):
    from sqlalchemy import text

    async with api.h.app.state.db.session() as session:
        stored = [r[0] for r in (await session.execute(text("SELECT document FROM applicants"))).all()]
    raw = " ".join(d if isinstance(d, str) else __import__("json").dumps(d, ensure_ascii=False) for d in stored)
    for given, family, given_latin, family_latin, number, *_ in FAMILY.values():
        assert given_latin not in raw and family_latin not in raw and number not in raw and family not in raw


async def decided_for(api, pid: str, given: str, family: str, given_latin: str, family_latin: str) -> str:
    """A rejection decided for one registered person with these names; the letter's URL."""
    event = reg.PersonRegistered(person_id=pid, registration_number=f"KZR-26-{abs(hash(pid)) % 10**6:06d}",
                                 given_name=given, family_name=family, given_name_latin=given_latin,
                                 family_name_latin=family_latin, birth_date=date(1985, 1, 1), sex="male",
                                 citizenship=["AFG"], registered_at=datetime(2026, 1, 7, tzinfo=timezone.utc))
    assert (await api.h.deliver(event, subject=pid)).name == "handled"
    app_id = await lodged_id(api, principal={"id": "m1", "person_id": pid, "relationship": "principal",
                                             "birth_date": "1985-01-01"})
    for path, body in (("interviews", INTERVIEW), ("interviews/i1/record", {"held_on": "2026-02-02", "record": "."}),
                       ("assessments", FAILS),
                       ("recommendation", {"outcome": "rejected", "rejection_reasons": REASONS, "on": "2026-02-20"})):
        assert (await api.step(app_id, path, body)).status_code == 200
    assert (await api.step(app_id, "decision", {"on": "2026-03-01"}, who=DECIDER)).status_code == 200
    return f"/api/v1/applications/{app_id}/decision-letter"


WITHOUT_BIDI_CONTROLS = dict.fromkeys(map(ord, BIDI_CONTROLS))  # pdftotext marks right-to-left runs with them


async def test_a_name_in_arabic_script_is_printed_in_the_pdf_letter(api):
    # Applicants registered in Arabic script (Dari, Pashto, Arabic) get their PDF letter with the name joined and
    # right to left (the kit's Noto Naskh Arabic, HarfBuzz shaping). A name in a script no packaged font has would
    # vanish from a PDF, so that PDF is refused (503, problem+json, code points only) and the HTML letter, drawn
    # with the reader's fonts, shows it.
    url = await decided_for(api, "p-9", "احمد", "کریمی", "Ahmad", "Karimi")
    pdf = await api.h.client.get(url, params={"lang": "ru", "format": "pdf"}, headers=api.headers())
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(pdftotext(pdf.content).translate(WITHOUT_BIDI_CONTROLS).split())
    assert "کریمی احمد" in text and "Karimi Ahmad" in text  # (pdftotext orders the parenthesis by its own bidi)


async def test_a_name_no_packaged_font_draws_is_refused_as_pdf_never_dropped(api):
    url = await decided_for(api, "p-10", "文", "中", "Wen", "Zhong")
    pdf = await api.h.client.get(url, params={"lang": "ru", "format": "pdf"}, headers=api.headers())
    assert pdf.status_code == 503 and pdf.headers["content-type"].startswith("application/problem+json")
    assert "U+4E2D" in pdf.json()["detail"] and "中" not in pdf.json()["detail"]
    html = await api.h.client.get(url, params={"lang": "ru"}, headers=api.headers())
    assert "中 文 (Zhong Wen)" in html.text
