"""A realistic population for Pana, generated deterministically from a seed (issue 8, Scale).

Households of 1-8 (a focal person and their relationships), a refugee-population age
pyramid, countries of origin weighted to the region, names in Latin, Cyrillic and
Arabic script with the spelling variants seen in passports, specific needs at
proGres-like rates, children born in Kazakhstan, and the procedure mix
(asylum-seekers, refugees, rejected, stateless applicants, recognised stateless).

Two modes:

    # (a) through the APIs (slow, realistic; every event flows): referrals, persons,
    #     households, births, rsd lodging, statelessness cases
    uv run python tests/bench/population.py api --households 200 --seed 7 \
        --registration http://127.0.0.1:8001 --rsd http://127.0.0.1:8002 --statelessness http://127.0.0.1:8003

    # (b) bulk into the services' own tables (fast; no events: this is a data migration,
    #     each service's projection of the others is bulk-loaded from the same seed)
    uv run python tests/bench/population.py bulk --persons 1000000 --seed 7 \
        --database-url 'postgresql+asyncpg://user@127.0.0.1:5432/{db}' --service all

The same seed gives the same people in both modes and in every service.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TODAY = date(2026, 6, 1)  # fixed, so a seed always gives the same ages and dates

# --- countries, languages, names ---------------------------------------------------------

# Weights reflect who seeks protection in Kazakhstan (Afghans, Central Asians, ethnic Kazakhs
# and Uyghurs from Xinjiang, Russians since 2022, Ukrainians, Syrians) and the long-standing
# stateless population of former Soviet citizens whose documents lapsed.
COUNTRY_WEIGHTS = {"AFG": 22, "UZB": 16, "TJK": 9, "KGZ": 7, "RUS": 12, "UKR": 6, "SYR": 4, "CHN": 8,
                   "XXA": 11, "undetermined": 5}
LANGUAGES = {"AFG": ["prs", "pus"], "UZB": ["uzb", "rus"], "TJK": ["tgk", "rus"], "KGZ": ["kir", "rus"],
             "RUS": ["rus"], "UKR": ["ukr", "rus"], "SYR": ["arb"], "CHN": ["uig", "kaz", "cmn"],
             "XXA": ["rus", "uzb"], "undetermined": ["rus"]}
CROSSINGS = {"AFG": ["Zhibek Zholy", "Almaty airport"], "UZB": ["Zhibek Zholy", "Kazygurt"],
             "TJK": ["Almaty airport", "Zhibek Zholy"], "KGZ": ["Korday", "Karasu"],
             "RUS": ["Zhaisan", "Karakoga", "Syrym"], "UKR": ["Astana airport", "Syrym"],
             "SYR": ["Almaty airport"], "CHN": ["Khorgos", "Dostyk", "Bakhty"],
             "XXA": ["Korday"], "undetermined": ["Korday"]}

# (native, [Latin spelling variants]) per country; Cyrillic family names take the feminine form.
_M, _F, _S = "male", "female", "family"
NAMES: dict[str, dict[str, list[tuple[str, list[str]]]]] = {
    "AFG": {
        _M: [("محمد", ["Mohammad", "Muhammad", "Mohammed"]), ("احمد", ["Ahmad", "Ahmed"]), ("علی", ["Ali"]),
             ("حسین", ["Hussain", "Hossein", "Husain"]), ("عبدالله", ["Abdullah", "Abdulla"]),
             ("نجیب", ["Najib", "Najeeb"]), ("فرید", ["Farid", "Fareed"]), ("جاوید", ["Javid", "Jawed"])],
        _F: [("فاطمه", ["Fatima", "Fatemeh"]), ("زهرا", ["Zahra", "Zohra"]), ("مریم", ["Maryam", "Mariam"]),
             ("شبنم", ["Shabnam"]), ("ملالی", ["Malalai", "Malali"]), ("نرگس", ["Nargis", "Narges"])],
        _S: [("کریمی", ["Karimi", "Karimy"]), ("احمدی", ["Ahmadi", "Ahmady"]), ("رحیمی", ["Rahimi", "Rahimy"]),
             ("هاشمی", ["Hashimi", "Hashemi"]), ("نوری", ["Noori", "Nuri"]), ("صدیقی", ["Siddiqi", "Sediqi"]),
             ("حیدری", ["Haidari", "Heydari"]), ("یوسفزی", ["Yousafzai", "Yusufzai"])],
    },
    "SYR": {
        _M: [("محمد", ["Mohammad", "Muhammad"]), ("خالد", ["Khaled", "Khalid"]), ("عمر", ["Omar", "Umar"]),
             ("يوسف", ["Youssef", "Yusuf"]), ("أحمد", ["Ahmad", "Ahmed"])],
        _F: [("فاطمة", ["Fatima", "Fatma"]), ("نور", ["Nour", "Nur"]), ("ليلى", ["Layla", "Leila"]),
             ("رنا", ["Rana"]), ("هبة", ["Hiba", "Heba"])],
        _S: [("الحسن", ["Al-Hassan", "Alhasan"]), ("الخطيب", ["Al-Khatib", "Alkhatib"]), ("حداد", ["Haddad"]),
             ("الأحمد", ["Al-Ahmad", "Alahmad"]), ("شامي", ["Shami", "Chami"])],
    },
    "UZB": {
        _M: [("Рустам", ["Rustam"]), ("Шерзод", ["Sherzod"]), ("Бахтиёр", ["Bakhtiyor", "Bakhtiër"]),
             ("Улугбек", ["Ulugbek", "Ulughbek"]), ("Жасур", ["Jasur", "Zhasur"])],
        _F: [("Дильноза", ["Dilnoza", "Dilnosa"]), ("Гулнора", ["Gulnora", "Gulnara"]), ("Нигора", ["Nigora"]),
             ("Шахноза", ["Shakhnoza", "Shahnoza"])],
        _S: [("Каримов", ["Karimov"]), ("Юсупов", ["Yusupov", "Iusupov"]), ("Рахимов", ["Rakhimov", "Rahimov"]),
             ("Тошматов", ["Toshmatov", "Tashmatov"]), ("Эргашев", ["Ergashev"])],
    },
    "TJK": {
        _M: [("Фаридун", ["Faridun", "Fariddun"]), ("Сухроб", ["Sukhrob", "Suhrob"]), ("Далер", ["Daler"]),
             ("Рустам", ["Rustam"]), ("Шариф", ["Sharif"])],
        _F: [("Нигина", ["Nigina"]), ("Мадина", ["Madina"]), ("Зарина", ["Zarina"]), ("Тахмина", ["Takhmina", "Tahmina"])],
        _S: [("Рахмонов", ["Rakhmonov", "Rahmonov"]), ("Шарипов", ["Sharipov"]), ("Назаров", ["Nazarov"]),
             ("Саидов", ["Saidov", "Saydov"]), ("Холов", ["Kholov", "Holov"])],
    },
    "KGZ": {
        _M: [("Нурлан", ["Nurlan"]), ("Азамат", ["Azamat"]), ("Бакыт", ["Bakyt", "Bakit"]), ("Эрлан", ["Erlan", "Ernis"])],
        _F: [("Айгуль", ["Aigul", "Aygul"]), ("Жылдыз", ["Zhyldyz", "Jyldyz"]), ("Гульнара", ["Gulnara"]),
             ("Бермет", ["Bermet"])],
        _S: [("Асанов", ["Asanov"]), ("Токтогулов", ["Toktogulov"]), ("Жумабаев", ["Zhumabaev", "Jumabaev"]),
             ("Усенов", ["Usenov"]), ("Осмонов", ["Osmonov"])],
    },
    "RUS": {
        _M: [("Александр", ["Aleksandr", "Alexander"]), ("Дмитрий", ["Dmitrii", "Dmitry"]), ("Сергей", ["Sergei", "Sergey"]),
             ("Максим", ["Maksim", "Maxim"]), ("Иван", ["Ivan"])],
        _F: [("Елена", ["Elena", "Yelena"]), ("Ольга", ["Olga"]), ("Наталья", ["Natalia", "Natalya"]),
             ("Анна", ["Anna"]), ("Юлия", ["Iuliia", "Yulia"])],
        _S: [("Иванов", ["Ivanov"]), ("Смирнов", ["Smirnov"]), ("Кузнецов", ["Kuznetsov"]), ("Попов", ["Popov"]),
             ("Соколов", ["Sokolov"]), ("Лебедев", ["Lebedev"])],
    },
    "UKR": {
        _M: [("Олександр", ["Oleksandr"]), ("Андрій", ["Andrii", "Andriy"]), ("Тарас", ["Taras"]),
             ("Богдан", ["Bohdan", "Bogdan"])],
        _F: [("Оксана", ["Oksana"]), ("Наталія", ["Nataliia", "Natalia"]), ("Ірина", ["Iryna", "Irina"]),
             ("Олена", ["Olena"])],
        _S: [("Шевченко", ["Shevchenko"]), ("Бондаренко", ["Bondarenko"]), ("Коваленко", ["Kovalenko"]),
             ("Мельник", ["Melnyk", "Melnik"]), ("Ткаченко", ["Tkachenko"])],
    },
    "CHN": {
        _M: [("Ерлан", ["Yerlan", "Erlan"]), ("Бахыт", ["Bakhyt", "Bahyt"]), ("Abdurehim", ["Abdurehim", "Abdurahim"]),
             ("Tursun", ["Tursun"]), ("Memet", ["Memet", "Mamet"])],
        _F: [("Алия", ["Aliya", "Aliia"]), ("Mehray", ["Mehray", "Mihray"]), ("Gulnar", ["Gulnar", "Gulnara"]),
             ("Айнур", ["Ainur", "Aynur"])],
        _S: [("Серикбаев", ["Serikbaev", "Serikbayev"]), ("Tursun", ["Tursun"]), ("Abdulla", ["Abdulla", "Abdullah"]),
             ("Нурланов", ["Nurlanov"]), ("Kasim", ["Kasim", "Qasim"])],
    },
}
CYRILLIC_FAMILY = {"UZB", "TJK", "KGZ", "RUS", "XXA", "undetermined", "CHN"}

# --- name pools of hundreds per country and sex -----------------------------------------------
#
# The curated names above are each country's commonest; behind them every pool is filled to POOL_SIZE with names
# synthesised deterministically (no lists downloaded) from the region's syllables and endings, written in the
# country's script by a Latin -> Cyrillic / Arabic-script table, with the odd second Latin spelling. Names are
# drawn with Zipf-like weights (rank^-ZIPF_EXPONENT): the commonest given name of a country holds a few per cent
# of its people, as in registration data, and no blocking key holds a tenth of the register.

POOL_SIZE = {_M: 400, _F: 400, _S: 900}
ZIPF_EXPONENT = 0.6

_PHONOLOGY = {
    # onsets, vowels, codas, male endings, female endings, family endings
    "persian": (["b", "d", "f", "gh", "h", "j", "k", "kh", "l", "m", "n", "p", "q", "r", "s", "sh", "t", "w", "y", "z",
                 "zh", "ch", "g"],
                ["a", "a", "i", "u", "o", "e", "aa", "ee"], ["", "", "", "r", "n", "m", "b", "d", "sh", "l", "z", "f"],
                ["ullah", "uddin", "ir", "id", "ad", "ood", "an", "ar", "ib", "at", "am", "ullo", "mal", "gul", "shah"],
                ["a", "ah", "een", "ina", "ara", "eh", "ima", "ia", "ana", "gul", "jan", "noor"],
                ["i", "zai", "khel", "yar", "zada", "wal", "ani", "i", "i", "zoy"]),
    "arabic": (["b", "d", "f", "gh", "h", "j", "k", "kh", "l", "m", "n", "q", "r", "s", "sh", "t", "th", "w", "y", "z"],
               ["a", "a", "i", "u", "aa", "ee", "oo"], ["", "", "", "r", "n", "m", "b", "d", "l", "s"],
               ["ad", "id", "im", "ir", "ar", "an", "ul", "ah", "ab", "eer", "oon", "ik"],
               ["a", "ah", "ia", "een", "ara", "ima", "ida", "aa"],
               ["", "i", "ani", "awi", "ali"]),
    "turkic": (["b", "d", "g", "j", "k", "kh", "l", "m", "n", "r", "s", "sh", "t", "y", "z", "zh", "ch", "q", "",
                "t", "b"],
               ["a", "a", "e", "i", "o", "u", "ay", "uy"], ["", "", "r", "n", "m", "l", "t", "s", "z", "k", "sh"],
               ["bek", "jon", "zhan", "bay", "ali", "dor", "mat", "ur", "bol", "khan", "nazar", "at", "ir", "an", "mir"],
               ["gul", "oy", "ara", "ina", "a", "nur", "zhan", "ima", "noza", "bibi", "khon", "ay"],
               ["ov", "ev", "bekov", "baev", "ov", "ov", "aliev", "nazarov", "uly"]),
    "slavic": (["b", "v", "g", "d", "zh", "z", "k", "l", "m", "n", "p", "r", "s", "t", "f", "kh", "ts", "ch", "sh",
                "br", "gr", "dr", "kr", "pr", "st", "sv", "tr", "vl", "sl", "gl"],
               ["a", "o", "e", "i", "u", "ya", "yu"], ["", "", "", "r", "n", "l", "s", "v", "m", "k"],
               ["slav", "mir", "ei", "il", "an", "ei", "ii", "or", "ik", "ud", "im", "at", "ad"],
               ["a", "ina", "ana", "iya", "slava", "mila", "ena", "ya", "ora", "ia"],
               ["ov", "ev", "in", "skii", "ov", "ov", "enko", "uk", "chuk", "ych", "ko"]),
}
_COUNTRY_PHONOLOGY = {"AFG": "persian", "SYR": "arabic", "UZB": "turkic", "TJK": "persian", "KGZ": "turkic",
                      "RUS": "slavic", "UKR": "slavic", "CHN": "turkic"}
_ARABIC_SCRIPT = {"AFG", "SYR"}
_LATIN_TO_CYRILLIC = [
    ("shch", "щ"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"), ("yu", "ю"), ("ya", "я"),
    ("yo", "ё"), ("ay", "ай"), ("ey", "ей"), ("iy", "ий"), ("oy", "ой"), ("uy", "уй"), ("ii", "ий"), ("ee", "и"),
    ("aa", "а"), ("oo", "у"),
    ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"), ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("y", "ы"),
    ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"),
    ("u", "у"), ("f", "ф"), ("h", "х"), ("j", "дж"), ("q", "к"), ("w", "в"), ("x", "кс"), ("c", "к"),
]
_LATIN_TO_ARABIC = [
    ("sh", "ش"), ("kh", "خ"), ("gh", "غ"), ("th", "ث"), ("ch", "چ"), ("zh", "ژ"), ("aa", "ا"), ("ee", "ی"),
    ("oo", "و"), ("a", "ا"), ("e", "ی"), ("i", "ی"), ("o", "و"), ("u", "و"), ("b", "ب"), ("p", "پ"), ("t", "ت"),
    ("j", "ج"), ("h", "ه"), ("d", "د"), ("r", "ر"), ("z", "ز"), ("s", "س"), ("f", "ف"), ("q", "ق"), ("k", "ک"),
    ("g", "گ"), ("l", "ل"), ("m", "م"), ("n", "ن"), ("w", "و"), ("y", "ی"), ("v", "و"), ("c", "ک"), ("x", "کس"),
]
_SPELLING_VARIANTS = [("kh", "h"), ("y", "i"), ("ee", "i"), ("oo", "u"), ("ou", "u"), ("zh", "j"), ("q", "k"),
                      ("ii", "iy"), ("aa", "a"), ("u", "ou"), ("i", "e"), ("o", "u")]


def _by_table(latin: str, table: list[tuple[str, str]]) -> str:
    text, out, i = latin.lower(), [], 0
    while i < len(text):
        for src, dst in table:
            if text.startswith(src, i):
                out.append(dst)
                i += len(src)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _native(latin: str, country: str) -> str:
    if country in _ARABIC_SCRIPT:
        native = _by_table(latin.replace("-", ""), _LATIN_TO_ARABIC)
        return native.replace("ی", "ي").replace("ک", "ك") if country == "SYR" else native
    if country in CYRILLIC_FAMILY or country == "UKR":
        native = _by_table(latin, _LATIN_TO_CYRILLIC)
        return native[:1].upper() + native[1:]
    return latin


def _synthesised(country: str, kind: str, count: int, taken: set[str]) -> list[tuple[str, list[str]]]:
    """`count` names of a country's kind (male, female, family) not in `taken`, the same for the same arguments."""
    onsets, vowels, codas, male, female, family = _PHONOLOGY[_COUNTRY_PHONOLOGY[country]]
    endings = {_M: male, _F: female, _S: family}[kind]
    rng = random.Random(f"names:{country}:{kind}")
    made: list[tuple[str, list[str]]] = []
    while len(made) < count:
        stem = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.choice((1, 2, 2, 3))))
        stem = re.sub(r"([aeiouy])([aeiou])", r"\1", stem)  # no vowel runs across syllables
        latin = (stem + rng.choice(codas) + rng.choice(endings)).capitalize()
        if len(latin) < 4 or latin.lower() in taken:
            continue
        taken.add(latin.lower())
        spellings = [latin]
        if rng.random() < 0.35:
            src, dst = rng.choice(_SPELLING_VARIANTS)
            other = latin.lower().replace(src, dst, 1).capitalize()
            if other != latin:
                spellings.append(other)
        made.append((_native(latin, country), spellings))
    return made


for _country in list(NAMES):
    for _kind in (_M, _F, _S):
        _pool = NAMES[_country][_kind]
        _taken = {v.lower() for _, variants in _pool for v in variants}
        _pool.extend(_synthesised(_country, _kind, POOL_SIZE[_kind] - len(_pool), _taken))
NAMES["XXA"] = {k: NAMES["UZB"][k][: POOL_SIZE[k] // 3] + NAMES["RUS"][k][: POOL_SIZE[k] // 3]
                + NAMES["KGZ"][k][: POOL_SIZE[k] // 3] for k in (_M, _F, _S)}
NAMES["undetermined"] = NAMES["XXA"]
_CUMULATIVE = {}
for _country, _pools in NAMES.items():
    for _kind, _pool in _pools.items():
        _total, _cum = 0.0, []
        for _rank in range(1, len(_pool) + 1):
            _total += _rank ** -ZIPF_EXPONENT
            _cum.append(_total)
        _CUMULATIVE[(_country, _kind)] = _cum


def pick_name(rng: random.Random, country: str, kind: str) -> tuple[str, list[str]]:
    """A name of the country's pool, common names commonly (Zipf-like)."""
    return rng.choices(NAMES[country][kind], cum_weights=_CUMULATIVE[(country, kind)])[0]

# --- procedures -------------------------------------------------------------------------

PROCEDURE_WEIGHTS = {"asylum_seeker": 22, "refugee": 12, "rejected": 16, "stateless_applicant": 18,
                     "stateless": 22, "registered_only": 10}
ASYLUM = {"asylum_seeker", "refugee", "rejected"}
STATELESS = {"stateless_applicant", "stateless"}
LEGAL_STATUS = {"asylum_seeker": "asylum_seeker", "refugee": "refugee", "rejected": "rejected_asylum_seeker",
                "stateless_applicant": "stateless_applicant", "stateless": "stateless", "registered_only": None}

HOUSEHOLD_SIZE_WEIGHTS = [30, 14, 14, 14, 11, 8, 5, 4]  # sizes 1..8 (proGres-like: many single adults)


@dataclass
class PersonSpec:
    person_id: str
    relationship: str  # to the focal person: focal, spouse, child, parent, sibling, other_relative, ...
    given_name: str
    family_name: str
    patronymic: str | None
    given_name_latin: str
    family_name_latin: str
    birth_date: date
    sex: str
    citizenship: list[str]
    citizenship_status: str | None
    country_of_origin: str | None
    languages: list[str]
    specific_needs: list[str]
    born_in_kazakhstan: bool = False

    def age(self, on: date = TODAY) -> int:
        return on.year - self.birth_date.year - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))


@dataclass
class HouseholdSpec:
    index: int
    household_id: str
    origin: str  # country code, XXA or undetermined
    procedure: str
    arrived_on: date
    crossing_point: str
    members: list[PersonSpec] = field(default_factory=list)
    births: list[PersonSpec] = field(default_factory=list)  # born in Kazakhstan after arrival

    @property
    def focal(self) -> PersonSpec:
        return self.members[0]

    def everyone(self) -> list[PersonSpec]:
        return self.members + self.births


class Generator:
    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self._countries = list(COUNTRY_WEIGHTS)
        self._cweights = list(COUNTRY_WEIGHTS.values())
        self._procs = list(PROCEDURE_WEIGHTS)
        self._pweights = list(PROCEDURE_WEIGHTS.values())

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def households(self, *, persons: int | None = None, households: int | None = None) -> Iterator[HouseholdSpec]:
        made_p = made_h = 0
        while (persons is None or made_p < persons) and (households is None or made_h < households):
            h = self.household(made_h)
            if persons is not None and made_p + len(h.everyone()) > persons:
                keep = persons - made_p
                h.members, h.births = (h.members + h.births)[:keep], []
            made_p += len(h.everyone())
            made_h += 1
            yield h

    # -- one household ------------------------------------------------------------------
    def household(self, index: int) -> HouseholdSpec:
        r = self.rng
        origin = r.choices(self._countries, self._cweights)[0]
        procedure = r.choices(self._procs, self._pweights)[0]
        if origin in ("XXA", "undetermined"):
            procedure = r.choice(["stateless_applicant", "stateless", "stateless", "registered_only"])
        elif procedure in STATELESS and r.random() < 0.7:
            procedure = r.choice(["asylum_seeker", "refugee", "rejected"])  # citizens are rarely stateless
        # Long-standing stateless residents arrived decades ago; asylum-seekers recently.
        years_here = r.uniform(0, 2) if procedure == "asylum_seeker" else (
            r.uniform(1, 10) if procedure in ("refugee", "rejected") else r.uniform(3, 30))
        arrived_on = TODAY - timedelta(days=int(years_here * 365) + 1)
        size = r.choices(range(1, 9), HOUSEHOLD_SIZE_WEIGHTS)[0]
        h = HouseholdSpec(index, self.uuid(), origin, procedure, arrived_on, r.choice(CROSSINGS[origin]))
        focal_sex = _F if r.random() < 0.38 else _M
        focal_age = int(min(75, max(18, r.gauss(34, 10))))
        if size == 1 and r.random() < 0.06:  # unaccompanied or separated child
            focal_age = r.randint(14, 17)
        family = pick_name(r, origin, _S)
        focal = self.person(h, "focal", focal_sex, focal_age, family)
        h.members.append(focal)
        spouse = None
        if size >= 2 and focal_age >= 18 and r.random() < 0.75:
            s_age = int(max(18, focal_age + (r.gauss(-3, 3) if focal_sex == _M else r.gauss(3, 3))))
            spouse = self.person(h, "spouse", _F if focal_sex == _M else _M, s_age, family)
            h.members.append(spouse)
        mother_age = focal_age if focal_sex == _F else (spouse.age() if spouse else focal_age)
        while len(h.members) < size:
            roll = r.random()
            if roll < 0.78 and mother_age >= 17:
                age = r.randint(0, min(17, mother_age - 16))
                h.members.append(self.person(h, r.choice(["child"] * 9 + ["stepchild"]), r.choice([_M, _F]), age, family))
            elif roll < 0.88 and focal_age < 50:
                h.members.append(self.person(h, "parent", r.choice([_M, _F]), focal_age + r.randint(20, 32), family))
            elif roll < 0.95:
                h.members.append(self.person(h, "sibling", r.choice([_M, _F]), max(0, focal_age + r.randint(-10, 10)), family))
            else:
                h.members.append(self.person(h, r.choice(["other_relative", "grandchild", "non_relative"]),
                                             r.choice([_M, _F]), r.randint(0, 70), pick_name(r, origin, _S)))
        # Births in Kazakhstan: a woman of 18-45 in the household, some years after arrival.
        mother = next((m for m in h.members if m.sex == _F and 18 <= m.age() <= 45 and m.relationship in ("focal", "spouse")), None)
        if mother and (TODAY - arrived_on).days > 300:
            for _ in range(r.choices([0, 1, 2], [70, 24, 6])[0]):
                born = arrived_on + timedelta(days=r.randint(280, max(281, (TODAY - arrived_on).days - 1)))
                if born >= TODAY:
                    continue
                child = self.person(h, "child", r.choice([_M, _F]), 0, family, birth_date=born)
                child.born_in_kazakhstan = True
                child.citizenship, child.citizenship_status = [], "undetermined"
                h.births.append(child)
        self.needs(h)
        return h

    def person(self, h: HouseholdSpec, relationship: str, sex: str, age: int, family: tuple[str, list[str]],
               *, birth_date: date | None = None) -> PersonSpec:
        r = self.rng
        origin = h.origin
        given = pick_name(r, origin, sex)
        # One spelling of the family name per household, with the odd variant (another passport).
        fam_native, fam_latin = family[0], family[1][h.index % len(family[1])] if r.random() < 0.9 else r.choice(family[1])
        if sex == _F and origin in CYRILLIC_FAMILY and fam_native[-2:] in ("ов", "ев", "ин"):
            fam_native, fam_latin = fam_native + "а", fam_latin + "a"
        patronymic = None
        if origin in ("RUS", "UKR", "XXA", "undetermined") and r.random() < 0.8:
            father = pick_name(r, "RUS", _M)[0]
            patronymic = father + ("ович" if sex == _M else "овна")
        if birth_date is None:
            birth_date = TODAY - timedelta(days=age * 365 + r.randint(0, 364))
            if birth_date >= h.arrived_on:  # born abroad, before the family arrived
                birth_date = h.arrived_on - timedelta(days=r.randint(1, 364))
            if r.random() < 0.08:  # documents lost: only the year is known, recorded as 1 January
                birth_date = date(birth_date.year, 1, 1)
        if origin == "XXA":
            citizenship, status, coo = ["XXA"], "none", None
        elif origin == "undetermined":
            citizenship, status, coo = [], "undetermined", None
        else:
            citizenship, status, coo = [origin], None, origin
        return PersonSpec(self.uuid(), relationship, given[0], fam_native, patronymic, r.choice(given[1]), fam_latin,
                          birth_date, sex, citizenship, status, coo, list(LANGUAGES[origin][:2]), [])

    def needs(self, h: HouseholdSpec) -> None:
        """Specific needs at rates like those in UNHCR registration data."""
        r = self.rng
        adults_present = any(m.age() >= 18 for m in h.members)
        for m in h.everyone():
            age, n = m.age(), m.specific_needs
            if age < 18:
                if not adults_present:
                    n.append("unaccompanied_or_separated_child")
                if r.random() < 0.03:
                    n.append("child_at_risk")
            else:
                if m.sex == _F and r.random() < 0.05:
                    n.append("woman_at_risk")
                if m.sex == _F and r.random() < 0.02:
                    n.append("survivor_of_sgbv")
                if r.random() < 0.02 and h.procedure in ASYLUM:
                    n.append("survivor_of_torture")
                if m.sex == _F and age <= 45 and r.random() < 0.08:
                    n.append("pregnant_or_lactating")
                if age >= 60 and r.random() < 0.25:
                    n.append("older_person_at_risk")
            if r.random() < 0.03:
                n.append("disability")
            if r.random() < 0.04:
                n.append("serious_medical_condition")
        focal = h.focal
        if focal.age() >= 18 and not any(m.relationship == "spouse" for m in h.members) and \
                any(m.age() < 18 for m in h.members[1:]):
            focal.specific_needs.append("single_parent_or_caregiver")


# --- (a) through the APIs ----------------------------------------------------------------

def person_body(p: PersonSpec, *, latin: bool) -> dict:
    body = {"given_name": p.given_name, "family_name": p.family_name, "birth_date": p.birth_date.isoformat(),
            "sex": p.sex, "citizenship": p.citizenship, "languages": p.languages, "specific_needs": p.specific_needs,
            "interpreter_needed": "rus" not in p.languages}
    if p.patronymic:
        body["patronymic"] = p.patronymic
    if p.citizenship_status:
        body["citizenship_status"] = p.citizenship_status
    if p.country_of_origin:
        body["country_of_origin"] = p.country_of_origin
    if latin:  # as in a passport; otherwise the service transliterates
        body["given_name_latin"], body["family_name_latin"] = p.given_name_latin, p.family_name_latin
    if p.birth_date.month == 1 and p.birth_date.day == 1:
        body["birth_date_precision"] = "year"
    return body



def referral_body(h: HouseholdSpec, p: PersonSpec) -> dict:
    return {"given_name": p.given_name, "family_name": p.family_name, "birth_date": p.birth_date.isoformat(),
            "sex": p.sex, "citizenship": p.citizenship[0] if p.citizenship else "XXX",
            "crossing_point": h.crossing_point, "language": p.languages[0][:3], "intent": "asylum",
            "irregular_entry": h.crossing_point == "Korday" and p.citizenship == [],
            "specific_needs": sorted(set(p.specific_needs))}


RSD_NEEDS = {"survivor_of_torture": "torture_survivor", "woman_at_risk": "woman_at_risk",
             "unaccompanied_or_separated_child": "unaccompanied_child", "older_person_at_risk": "older_person_without_support",
             "serious_medical_condition": "urgent_medical_needs"}
RSD_REL = {"spouse": "spouse", "child": "child", "stepchild": "child", "parent": "parent", "sibling": "sibling"}


class ApiFiller:
    """Creates households through the public APIs, as officers would."""

    def __init__(self, client, urls: dict[str, str], tag: str):
        from support import headers

        self.client, self.urls, self.tag = client, urls, tag
        self.h = {role: headers(role) for role in ("registration-officer", "eligibility-officer", "statelessness-officer")}
        self.h["border-officer"] = headers("border-officer", purpose=None)
        self.counts: dict[str, int] = {}
        self.person_ids: list[tuple[str, PersonSpec]] = []

    def _key(self, what: str) -> str:
        return f"pop-{self.tag}-{what}"

    async def post(self, service: str, path: str, role: str, body: dict, key: str) -> dict | None:
        r = await self.client.post(self.urls[service] + path, json=body,
                                   headers={**self.h[role], "Idempotency-Key": key})
        name = f"{service} {path.split('/')[3]}"
        self.counts[f"{name} {r.status_code}"] = self.counts.get(f"{name} {r.status_code}", 0) + 1
        return r.json() if r.status_code < 300 else None

    async def fill(self, h: HouseholdSpec) -> None:
        rng = random.Random(h.household_id)
        ids: dict[str, str] = {}
        focal = h.focal
        referred = h.procedure == "asylum_seeker" and focal.age() >= 18 and rng.random() < 0.6
        if referred:  # rsd lodges the application from the referral event
            made = await self.post("registration", "/api/v1/border-referrals", "border-officer",
                                   referral_body(h, focal), self._key(f"ref-{focal.person_id}"))
        else:
            made = await self.post("registration", "/api/v1/persons", "registration-officer",
                                   person_body(focal, latin=rng.random() < 0.5), self._key(f"p-{focal.person_id}"))
        if not made:
            return
        ids[focal.person_id] = made["person_id"]
        for m in h.members[1:]:
            got = await self.post("registration", "/api/v1/persons", "registration-officer",
                                  person_body(m, latin=rng.random() < 0.5), self._key(f"p-{m.person_id}"))
            if got:
                ids[m.person_id] = got["person_id"]
        hh = await self.post("registration", "/api/v1/households", "registration-officer", {
            "focal_person_id": ids[focal.person_id],
            "members": [{"person_id": ids[m.person_id], "relationship": m.relationship}
                        for m in h.members[1:] if m.person_id in ids],
            "formed_on": h.arrived_on.isoformat()}, self._key(f"h-{h.household_id}"))
        mother = next((m for m in h.members if m.sex == "female" and m.relationship in ("focal", "spouse")), None)
        for child in h.births:
            if not hh or not mother or mother.person_id not in ids:
                break
            got = await self.post("registration", f"/api/v1/households/{hh['household_id']}/births", "registration-officer", {
                "given_name": child.given_name, "family_name": child.family_name, "birth_date": child.birth_date.isoformat(),
                "sex": child.sex, "place_of_birth": "Almaty", "born_in_kazakhstan": True,
                "mother_person_id": ids[mother.person_id], "medical_birth_certificate_number": f"MBC-{child.person_id[:13]}",
            }, self._key(f"b-{child.person_id}"))
            if got:
                ids[child.person_id] = got["person_id"]
        if h.procedure in ("refugee", "rejected") or (h.procedure == "asylum_seeker" and not referred):
            members = [{"id": f"m{i}", "person_id": ids[m.person_id], "relationship": RSD_REL.get(m.relationship, "other"),
                        "sex": m.sex, "birth_date": m.birth_date.isoformat(),
                        "specific_needs": sorted({RSD_NEEDS[n] for n in m.specific_needs if n in RSD_NEEDS})}
                       for i, m in enumerate(h.members) if m.person_id in ids]
            members[0]["relationship"] = "principal"
            lodged = max(h.arrived_on + timedelta(days=rng.randint(1, 20)), TODAY - timedelta(days=60))
            await self.post("rsd", "/api/v1/applications", "eligibility-officer", {
                "principal": members[0], "family": members[1:], "lodged_on": min(lodged, TODAY).isoformat(),
                "arrived_on": h.arrived_on.isoformat(), "manner_of_arrival": "regular", "lodging_language": "ru",
                "register_on": min(lodged, TODAY).isoformat()}, self._key(f"a-{h.household_id}"))
        if h.procedure in STATELESS:
            for m in h.members:
                if m.person_id in ids and m.age() >= 18:
                    await self.post("statelessness", "/api/v1/cases", "statelessness-officer", {
                        "person_id": ids[m.person_id], "birth_date": m.birth_date.isoformat(),
                        "reason_note": "applied at the migration service"}, self._key(f"c-{m.person_id}"))
        self.person_ids += [(ids[p.person_id], p) for p in h.everyone() if p.person_id in ids]


async def fill_via_api(urls: dict[str, str], households: int, seed: int, *, concurrency: int = 4,
                       tag: str | None = None) -> ApiFiller:
    import httpx

    gen = Generator(seed)
    async with httpx.AsyncClient(timeout=60) as client:
        filler = ApiFiller(client, urls, tag or f"{seed}-{uuid.uuid4().hex[:6]}")
        queue: asyncio.Queue = asyncio.Queue()
        for h in gen.households(households=households):
            queue.put_nowait(h)

        async def worker():
            while not queue.empty():
                await filler.fill(queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return filler


# --- (b) bulk into the services' tables -----------------------------------------------------

def _now() -> datetime:
    return datetime.now(timezone.utc)


class Bulk:
    """Batched inserts into one service's tables (SQLAlchemy core, no COPY).

    `conn.execute(insert(table), rows)`: SQLAlchemy 2 sends it as multi-row `INSERT ... VALUES
    (...), (...)` batches ("insertmanyvalues") with a cached statement; building a fresh
    `insert().values(rows)` per batch spent most of its time compiling the statement."""

    def __init__(self, url: str, batch: int, label: str = "bulk", keyring=None):
        from sqlalchemy.ext.asyncio import create_async_engine

        self.engine = create_async_engine(url)
        if keyring is not None:  # sealed document columns encrypt with the service's (dev) keyring
            from pana_kit.crypto import attach_keyring

            attach_keyring(self.engine, keyring)
        self.batch = batch
        self.pending: dict = {}
        self.rows = 0
        self.label = label
        self.started = time.perf_counter()

    def tick(self, persons: int, every: int = 100_000) -> None:
        """A progress line every `every` persons: a million takes long enough to want one."""
        if persons % every == 0:
            took = time.perf_counter() - self.started
            print(f"  [{self.label}] {persons:,} persons in {took:.0f}s ({persons / took:.0f}/s)", flush=True)

    async def add(self, table, row: dict) -> None:
        rows = self.pending.setdefault(table, [])
        rows.append(row)
        if len(rows) >= self.batch:
            await self.flush(table)

    async def flush(self, table=None) -> None:
        from sqlalchemy import insert

        for t in ([table] if table is not None else list(self.pending)):
            rows = self.pending.pop(t, [])
            if rows:
                async with self.engine.begin() as conn:
                    await conn.execute(insert(t), rows)
            self.rows += len(rows)

    async def close(self) -> None:
        await self.flush()
        await self.engine.dispose()


def _memoise_name_functions() -> None:
    """Names repeat a great deal in a population: cache the pure name functions the domain calls."""
    import functools

    from registration.domain import duplicates, names, person
    from registration.store import repository

    for fn in ("match_key", "blocking_key", "skeleton", "transliterate", "fold", "script_of"):
        cached = functools.lru_cache(maxsize=100_000)(getattr(names, fn))
        for module in (names, duplicates, person, repository):
            if hasattr(module, fn):
                setattr(module, fn, cached)


async def bulk_registration(url: str, persons: int, seed: int, batch: int) -> dict:
    from registration.domain import (
        Dependant, Household, MatchingConfig, MatchRecord, Person, RegistrationRules, document_number,
    )
    from registration.domain.documents import (
        IssuedDocumentKind, issue_asylum_seeker_certificate, issue_refugee_certificate,
        issue_stateless_person_certificate,
    )
    from registration.domain import PopulationMember, StatusFact, count_changes, project_legal_status
    from registration.store.repository import VerificationIndex, search_columns
    from registration.store.statistics import count_rows
    from registration.matching_engine import index_rows
    from registration.store.tables import (
        BlockingKeyRow, HouseholdRow, IssuedDocumentRow, MatchRecordRow, PersonRow, PopulationCountRow, StatusFactRow,
        VerificationRow,
    )
    from collections import Counter

    from pana_kit.crypto import keyring_from_settings
    from registration.settings import RegistrationSettings

    _memoise_name_functions()
    rules, matching = RegistrationRules(), MatchingConfig()
    keyring = keyring_from_settings(RegistrationSettings(dev_mode=True))
    bulk = Bulk(url, batch, "registration", keyring)
    serials: dict[tuple, int] = {}
    counts = {"persons": 0, "households": 0, "documents": 0, "blocking_keys": 0}
    fact = {"asylum_seeker": "asylum_application_registered", "refugee": "refugee_status_recognised",
            "rejected": "asylum_rejection_final", "stateless_applicant": "statelessness_application_lodged",
            "stateless": "statelessness_determined"}
    number_step = 48_271  # coprime with 10**8: i -> i*step mod 10**8 never repeats below 10**8

    def next_number(kind, year: int) -> str:
        serials[(kind, year)] = serials.get((kind, year), 0) + 1
        return document_number(kind, year, serials[(kind, year)])

    now = _now()
    population: Counter = Counter()
    for h in Generator(seed).households(persons=persons):
        everyone = h.everyone()
        hh = Household.form(household_id=h.household_id, focal_person_id=h.focal.person_id, formed_on=h.arrived_on)
        for p in everyone:
            counts["persons"] += 1
            bulk.tick(counts["persons"])
            details = {"given_name": p.given_name, "family_name": p.family_name, "patronymic": p.patronymic,
                       "given_name_latin": p.given_name_latin, "family_name_latin": p.family_name_latin,
                       "birth_date": p.birth_date, "sex": p.sex, "country_of_origin": p.country_of_origin,
                       "citizenships": p.citizenship or ["undetermined"] if p.citizenship_status != "none" else ["none"],
                       "languages": p.languages, "specific_needs": p.specific_needs}
            person = Person.register(person_id=p.person_id, registered_by="bulk-load", now=now, **details)
            status = LEGAL_STATUS[h.procedure] if not p.born_in_kazakhstan or h.procedure in ("refugee", "stateless") else None
            number = f"KZR-{h.arrived_on:%y}-{(counts['persons'] * number_step) % 10**8:08d}"
            # counted in the population statistics' summary as the write path would (store/statistics.py)
            member = PopulationMember.of(person, project_legal_status(p.person_id, [
                StatusFact(fact[h.procedure], h.arrived_on, f"bulk:{p.person_id}")]) if status else None)
            population.update(count_rows(p.person_id, count_changes(None, member)))
            await bulk.add(PersonRow.__table__, {
                "person_id": p.person_id, "registration_number": number, **search_columns(person, keyring),
                "legal_status": status, "household_id": h.household_id, "office": "almaty", "version": 1,
                "document": person.to_document(), "created_at": now, "updated_at": now,
                "population": member.to_document()})
            match_row, key_rows = index_rows(MatchRecord.of(person), matching)
            await bulk.add(MatchRecordRow.__table__, match_row)
            for key_row in key_rows:
                counts["blocking_keys"] += 1
                await bulk.add(BlockingKeyRow.__table__, key_row)
            if p is not h.focal:
                hh.add_member(p.person_id, p.relationship, on=max(h.arrived_on, p.birth_date))
            if status:
                await bulk.add(StatusFactRow.__table__, {
                    "source_event_id": f"bulk:{p.person_id}", "person_id": p.person_id, "kind": fact[h.procedure],
                    "occurred_on": h.arrived_on, "sequence": 0, "recorded_at": now})
            doc = None
            issued = max(h.arrived_on, TODAY - timedelta(days=300))
            registered_on = TODAY - timedelta(days=30)
            if h.procedure == "asylum_seeker" and p.age(registered_on) >= 18:
                kids = [Dependant(c.person_id, c.birth_date) for c in everyone
                        if c.age(registered_on) < 18 and c.birth_date <= registered_on] if p is h.focal else []
                doc = issue_asylum_seeker_certificate(
                    number=next_number(IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, issued.year),
                    holder_person_id=p.person_id, holder_birth_date=p.birth_date, registered_on=registered_on,
                    rules=rules, children=kids)
            elif h.procedure == "refugee":
                doc = issue_refugee_certificate(number=next_number(IssuedDocumentKind.REFUGEE_CERTIFICATE, issued.year),
                                                holder_person_id=p.person_id, holder_birth_date=p.birth_date,
                                                issued_on=issued, rules=rules)
            elif h.procedure == "stateless" and p.age(issued) >= 16:
                doc = issue_stateless_person_certificate(
                    number=next_number(IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE, issued.year),
                    holder_person_id=p.person_id, holder_birth_date=p.birth_date, issued_on=issued, rules=rules)
            if doc is not None:
                counts["documents"] += 1
                await bulk.add(IssuedDocumentRow.__table__, {
                    "document_id": str(uuid.UUID(p.person_id).hex[:24]) + "-doc", "document_number": doc.document_number,
                    "kind": doc.kind.value, "holder_person_id": p.person_id, "state": doc.state.value,
                    "source_event_id": f"bulk:{p.person_id}", "document": doc.to_document(), "created_at": now})
                await bulk.add(VerificationRow.__table__, VerificationIndex.values(doc))  # what verification reads
        counts["households"] += 1
        await bulk.add(HouseholdRow.__table__, {
            "household_id": h.household_id, "focal_person_id": h.focal.person_id, "version": 1,
            "document": hh.to_document(), "created_at": now, "updated_at": now})
    for (day, status, sex, bracket, country, shard), n in sorted(population.items()):
        if n:
            await bulk.add(PopulationCountRow.__table__, {"day": day, "legal_status": status, "sex": sex,
                                                          "age_bracket": bracket, "country_of_origin": country,
                                                          "shard": shard, "count": n})
    await bulk.close()
    return counts


async def bulk_rsd(url: str, persons: int, seed: int, batch: int) -> dict:
    from rsd.domain import Application, RsdRules
    from rsd.domain.members import Member, Relationship
    from rsd.store.repository import _columns, applicant_document
    from rsd.store.tables import ApplicantRow, ApplicationRow

    from pana_kit.crypto import keyring_from_settings
    from rsd.settings import RsdSettings

    rules = RsdRules()
    bulk = Bulk(url, batch, "rsd", keyring_from_settings(RsdSettings(dev_mode=True)))
    counts = {"applicants": 0, "applications": 0}
    now = _now()
    from rsd.domain.application import ArrivalManner

    for h in Generator(seed).households(persons=persons):
        if h.procedure not in ASYLUM:
            continue
        members = []
        for i, p in enumerate(h.members):
            rel = Relationship.PRINCIPAL if i == 0 else Relationship(RSD_REL.get(p.relationship, "other"))
            members.append(Member(id=f"m{i}", person_id=p.person_id, relationship=rel, sex=p.sex,
                                  birth_date=p.birth_date))
            counts["applicants"] += 1
            bulk.tick(counts["applicants"])
            await bulk.add(ApplicantRow.__table__, {
                "person_id": p.person_id, "updated_at": now, "document": applicant_document(
                    p.person_id, given_name=p.given_name_latin, family_name=p.family_name_latin, sex=p.sex,
                    birth_date=p.birth_date, citizenship=p.citizenship,
                    specific_needs=sorted({RSD_NEEDS[n] for n in p.specific_needs if n in RSD_NEEDS}))})
        lodged = max(h.arrived_on + timedelta(days=3), TODAY - timedelta(days=80))
        app = Application.lodge(application_id=str(uuid.UUID(h.household_id)), office="almaty", principal=members[0],
                                family=members[1:], lodged_on=lodged, arrived_on=min(h.arrived_on, lodged),
                                manner_of_arrival=ArrivalManner.REGULAR, rules=rules)
        app.register(on=lodged)
        counts["applications"] += 1
        await bulk.add(ApplicationRow.__table__, {"id": app.id, "person_id": app.person_id, "source_referral_id": None,
                                                  "version": 1, "created_at": now, "updated_at": now, **_columns(app)})
    await bulk.close()
    return counts


async def bulk_statelessness(url: str, persons: int, seed: int, batch: int) -> dict:
    from pana_kit.crypto import keyring_from_settings
    from statelessness.domain.case import DeterminationCase, OpeningReason
    from statelessness.domain.rules import StatelessnessRules
    from statelessness.settings import StatelessnessSettings
    from statelessness.store.repository import _case_columns
    from statelessness.store.tables import CaseRow, PersonRow

    keyring = keyring_from_settings(StatelessnessSettings(dev_mode=True))
    rules = StatelessnessRules()
    bulk = Bulk(url, batch, "statelessness")
    counts = {"persons": 0, "cases": 0}
    now = _now()
    for h in Generator(seed).households(persons=persons):
        for p in h.everyone():
            counts["persons"] += 1
            bulk.tick(counts["persons"])
            await bulk.add(PersonRow.__table__, {
                "person_id": p.person_id, "sex": p.sex, "birth_date": p.birth_date, "citizenship": p.citizenship,
                "citizenship_status": p.citizenship_status or "known", "country_of_origin": p.country_of_origin,
                "legal_status": LEGAL_STATUS[h.procedure], "merged_into": None, "updated_at": now})
            if h.procedure in STATELESS and p.age() >= 16 and not p.born_in_kazakhstan:
                opened = max(h.arrived_on, TODAY - timedelta(days=170))
                case = DeterminationCase.open(case_id=str(uuid.uuid5(uuid.UUID(p.person_id), "case")),
                                              person_id=p.person_id, reason=OpeningReason.APPLICATION,
                                              opened_on=opened, rules=rules, birth_date=p.birth_date)
                counts["cases"] += 1
                await bulk.add(CaseRow.__table__, {"id": case.case_id, "version": 1, "source_event_id": None,
                                                   "created_at": now, "updated_at": now,
                                                   **_case_columns(case, keyring)})
    await bulk.close()
    return counts


BULK = {"registration": bulk_registration, "rsd": bulk_rsd, "statelessness": bulk_statelessness}


def run_bulk(url_template: str, persons: int, seed: int, batch: int, services: list[str]) -> None:
    """Each service in its own process, so the three bulk loads run side by side."""
    procs = []
    for service in services:
        argv = [sys.executable, __file__, "bulk", "--service", service, "--persons", str(persons), "--seed", str(seed),
                "--batch", str(batch), "--database-url", url_template]
        procs.append(subprocess.Popen(argv))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"bulk load failed: {p.args}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("api", help="through the services' APIs")
    a.add_argument("--households", type=int, default=100)
    a.add_argument("--seed", type=int, default=7)
    a.add_argument("--concurrency", type=int, default=4)
    for s, port in (("registration", 8001), ("rsd", 8002), ("statelessness", 8003)):
        a.add_argument(f"--{s}", default=f"http://127.0.0.1:{port}")
    b = sub.add_parser("bulk", help="straight into the services' tables")
    b.add_argument("--persons", type=int, default=1_000_000)
    b.add_argument("--seed", type=int, default=7)
    b.add_argument("--batch", type=int, default=2000)
    b.add_argument("--service", default="all", choices=["all", *BULK])
    b.add_argument("--database-url", required=True, help="SQLAlchemy async URL; {db} becomes the service's database")
    s = sub.add_parser("sample", help="print a few generated households")
    s.add_argument("--households", type=int, default=3)
    s.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    if args.mode == "sample":
        for h in Generator(args.seed).households(households=args.households):
            print(h.origin, h.procedure, h.arrived_on, h.crossing_point)
            for m in h.everyone():
                print("   ", m.relationship, m.given_name, m.family_name, m.given_name_latin, m.family_name_latin,
                      m.birth_date, m.sex, m.citizenship, m.specific_needs, "born in KZ" if m.born_in_kazakhstan else "")
    elif args.mode == "api":
        started = time.perf_counter()
        urls = {"registration": args.registration, "rsd": args.rsd, "statelessness": args.statelessness}
        filler = asyncio.run(fill_via_api(urls, args.households, args.seed, concurrency=args.concurrency))
        print(f"{len(filler.person_ids)} persons in {args.households} households through the APIs in "
              f"{time.perf_counter() - started:.1f}s; responses: {dict(sorted(filler.counts.items()))}")
    elif args.service == "all":
        started = time.perf_counter()
        run_bulk(args.database_url, args.persons, args.seed, args.batch, list(BULK))
        print(f"bulk load of {args.persons:,} persons done in {time.perf_counter() - started:.1f}s")
    else:
        started = time.perf_counter()
        url = args.database_url.format(db=args.service.replace("-", "_"))
        counts = asyncio.run(BULK[args.service](url, args.persons, args.seed, args.batch))
        took = time.perf_counter() - started
        print(f"bulk {args.service}: {counts} in {took:.1f}s ({counts.get('persons', counts.get('applicants', 0)) / took:,.0f} persons/s)")


if __name__ == "__main__":
    main()
