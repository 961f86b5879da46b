"""Deterministic synthetic population: names, places, offices, birth records."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone

from .models import Address, BirthRecord, Child, Parent, Place, RegistryOffice

KZ_TZ = timezone(timedelta(hours=5))  # Kazakhstan has one time zone, UTC+5, since March 2024

MALE_NAMES = [
    "Aibek", "Nurlan", "Daniyar", "Yerlan", "Askar", "Arman", "Timur", "Alikhan", "Bauyrzhan", "Serik",
    "Marat", "Ruslan", "Azamat", "Kairat", "Dias", "Alinur", "Amir", "Ansar", "Yernar", "Zhandos",
    "Olzhas", "Sanzhar", "Temirlan", "Nurasyl", "Rustem", "Dauren", "Galym", "Miras", "Islam", "Ilyas",
]
FEMALE_NAMES = [
    "Aigerim", "Aruzhan", "Dana", "Saule", "Gulnara", "Madina", "Aisha", "Amina", "Asel", "Dinara",
    "Zhanar", "Aliya", "Ayaulym", "Kamila", "Inkar", "Tomiris", "Laura", "Akbota", "Zarina", "Ainur",
    "Zhansaya", "Moldir", "Symbat", "Gaukhar", "Meruert", "Dariga", "Ulzhan", "Nazerke", "Fatima", "Elnura",
]
# Masculine forms; -ov/-ev/-in take "a" in the feminine, the others do not change.
SURNAMES = [
    "Akhmetov", "Nurlanov", "Zhaksybekov", "Omarov", "Seitkali", "Abenov", "Tokayev", "Ismailov",
    "Bekov", "Sadykov", "Kassymov", "Zhumabayev", "Mukhamedzhan", "Serikbay", "Utegenov", "Baimukhanov",
    "Dzhaksybekov", "Yessenov", "Kuanyshev", "Tulegenov", "Aliyev", "Karimov", "Rakhimov", "Myrzakhmet",
    "Ospanov", "Temirkhan", "Suleimenov", "Nurmagambetov", "Amanzhol", "Baizhanov", "Ivanov", "Kim",
    "Yusupov", "Khamidov", "Iskakov", "Shaikenov",
]
FOREIGN = ["UZ", "KG", "TJ", "RU", "CN", "AF", "TM", "TR"]
# region, locality, code
PLACES = [
    ("Almaty", "Almaty", "ALA"), ("Astana", "Astana", "AST"), ("Shymkent", "Shymkent", "SHY"),
    ("Almaty Region", "Konaev", "ALM"), ("Turkistan Region", "Turkistan", "TUR"),
    ("Karaganda Region", "Karaganda", "KAR"), ("East Kazakhstan Region", "Oskemen", "VOS"),
    ("Mangystau Region", "Aktau", "MAN"), ("Atyrau Region", "Atyrau", "ATY"), ("Zhambyl Region", "Taraz", "ZHA"),
    ("Kyzylorda Region", "Kyzylorda", "KZY"), ("Aktobe Region", "Aktobe", "AKT"),
    ("Pavlodar Region", "Pavlodar", "PAV"), ("Kostanay Region", "Kostanay", "KUS"),
    ("North Kazakhstan Region", "Petropavl", "SEV"), ("West Kazakhstan Region", "Oral", "ZAP"),
    ("Abai Region", "Semey", "ABA"), ("Zhetysu Region", "Taldykorgan", "ZHE"),
    ("Ulytau Region", "Zhezkazgan", "ULY"), ("Akmola Region", "Kokshetau", "AKM"),
]
STREETS = ["Abay Ave", "Dostyk Ave", "Tole Bi St", "Satpayev St", "Zheltoksan St", "Kabanbay Batyr Ave",
           "Respublika Ave", "Baitursynov St", "Auezov St", "Seifullin St"]

ONLINE_OFFICE = RegistryOffice(code="KZ-EGOV", name="eGov online registration", kind="online")


def surname_for(root: str, sex: str) -> str:
    if sex == "female" and root.endswith(("ov", "ev", "in")):
        return root + "a"
    return root


def patronymic_for(father_given: str, sex: str) -> str:
    return f"{father_given} {'uly' if sex == 'male' else 'kyzy'}"


def office_for(rng: random.Random, place: tuple[str, str, str]) -> RegistryOffice:
    region, locality, code = place
    kind = rng.choices(
        ["medical_organisation", "registry_office", "gov_for_citizens", "online"], weights=[55, 20, 15, 10]
    )[0]
    if kind == "online":
        return ONLINE_OFFICE
    n = rng.randint(1, 4)
    name = {
        "medical_organisation": f"{locality} city perinatal centre No. {n} (registration point)",
        "registry_office": f"Registry office of {locality}, department No. {n}",
        "gov_for_citizens": f"Government for Citizens, {locality} branch No. {n}",
    }[kind]
    return RegistryOffice(code=f"KZ-{code}-{kind[:3].upper()}{n}", name=name, kind=kind)


def random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


class Generator:
    """Makes records; uniqueness of numbers is checked through the callables given."""

    def __init__(self, rng: random.Random, iin_taken, mbc_taken, cert_taken):
        self.rng = rng
        self.iin_taken = iin_taken
        self.mbc_taken = mbc_taken
        self.cert_taken = cert_taken

    def iin(self, birth_date: date, sex: str) -> str:
        from pana_events.identifiers import make_iin

        for _ in range(1000):
            candidate = make_iin(birth_date, sex, self.rng.randrange(10_000))
            if not self.iin_taken(candidate):
                return candidate
        raise RuntimeError("IIN space exhausted for this date and sex")

    def certificate_number(self) -> str:
        while True:
            candidate = f"I-KZ {self.rng.randrange(10**7):07d}"
            if not self.cert_taken(candidate):
                return candidate

    def medical_certificate_number(self, birth_date: date, region_code: str) -> str:
        while True:
            candidate = f"MBC-{birth_date.year}-{region_code}-{self.rng.randrange(10**6):06d}"
            if not self.mbc_taken(candidate):
                return candidate

    def address(self, place: tuple[str, str, str], country: str = "KZ") -> Address:
        region, locality, _ = place
        return Address(
            country="KZ", region=region, locality=locality,
            street=f"{self.rng.choice(STREETS)} {self.rng.randint(1, 250)}, apt {self.rng.randint(1, 120)}",
        )

    def nationality(self) -> str:
        r = self.rng.random()
        if r < 0.85:
            return "KZ"
        if r < 0.95:
            return self.rng.choice(FOREIGN)
        if r < 0.98:
            return "stateless"
        return "undetermined"

    def parent(self, sex: str, birth_date: date, surname_root: str, place) -> Parent:
        nationality = self.nationality()
        has_iin = {"KZ": 1.0, "stateless": 0.5, "undetermined": 0.0}.get(nationality, 0.7)
        iin = self.iin(birth_date, sex) if self.rng.random() < has_iin else None
        given = self.rng.choice(MALE_NAMES if sex == "male" else FEMALE_NAMES)
        return Parent(
            iin=iin,
            surname=surname_for(surname_root, sex),
            given_name=given,
            patronymic=patronymic_for(self.rng.choice(MALE_NAMES), sex),
            birth_date=birth_date,
            nationality=nationality,
            residence=self.address(place),
        )

    def record(self, previous_mothers: list[Parent]) -> BirthRecord:
        rng = self.rng
        place = rng.choice(PLACES)
        birth = random_date(rng, date(2005, 1, 1), date(2024, 12, 31))
        sex = rng.choice(["male", "female"])
        if previous_mothers and rng.random() < 0.1:  # a sibling: same mother
            mother = rng.choice(previous_mothers)
            if mother.birth_date is None or (birth - mother.birth_date).days < 16 * 365:
                mother = None
        else:
            mother = None
        has_father = rng.random() < 0.85
        father_root = rng.choice(SURNAMES)
        if mother is None:
            mother_birth = birth - timedelta(days=rng.randint(17 * 365, 44 * 365))
            mother_root = father_root if has_father and rng.random() < 0.8 else rng.choice(SURNAMES)
            mother = self.parent("female", mother_birth, mother_root, place)
        father = None
        if has_father:
            father_birth = birth - timedelta(days=rng.randint(19 * 365, 55 * 365))
            father = self.parent("male", father_birth, father_root, place)
            if mother.residence is not None:
                father = father.model_copy(update={"residence": mother.residence})
        if father is not None:
            child_root = father_root
        elif mother.surname.endswith(("ova", "eva", "ina")):
            child_root = mother.surname[:-1]
        else:
            child_root = mother.surname
        child_patronymic = patronymic_for(father.given_name, sex) if father else (
            patronymic_for(rng.choice(MALE_NAMES), sex) if rng.random() < 0.5 else None
        )
        region, locality, code = place
        child = Child(
            iin=self.iin(birth, sex),
            surname=surname_for(child_root, sex),
            given_name=rng.choice(MALE_NAMES if sex == "male" else FEMALE_NAMES),
            patronymic=child_patronymic,
            birth_date=birth,
            birth_time=time(rng.randint(0, 23), rng.randint(0, 59)),
            place_of_birth=Place(
                country="KZ", region=region, locality=locality,
                facility=f"{locality} city perinatal centre No. {rng.randint(1, 4)}",
            ),
            sex=sex,
        )
        registered = datetime.combine(
            birth + timedelta(days=rng.randint(0, 3)), time(rng.randint(9, 17), rng.randint(0, 59)), KZ_TZ
        )
        return BirthRecord(
            certificate_number=self.certificate_number(),
            registered_at=registered,
            registry_office=office_for(rng, place),
            medical_birth_certificate_number=self.medical_certificate_number(birth, code),
            child=child,
            mother=mother,
            father=father,
        )
