"""Registration's example world for /docs (pana_kit.sandbox): the records the documented examples name.

Every mutation has a record of its own (a person to correct, a household per family event, a certificate to renew
and another to replace), so "Try it out" succeeds on each whatever the order. Certificates exist only after rsd's
events, so the seed hands those events to registration's own consumer, as the bus would.
"""

from __future__ import annotations

from datetime import date, timedelta

from pana_events.events import rsd
from pana_kit.application import etag_of
from pana_kit.domain import utcnow
from pana_kit.sandbox import EXAMPLE_PERSONS, OperationExample, Sandbox, SandboxClient, sandbox_id, sandbox_serial

from .domain import IssuedDocumentKind, document_number

P = "/api/v1/persons"
H = "/api/v1/households"


def _id(label: str) -> str:
    return sandbox_id(f"registration:{label}")


def _labels(*labels: str) -> list[str]:
    return [f"registration:{label}" for label in labels]


#: The people of the example world: (label, given name, family name, birth date, sex).
PEOPLE = [
    ("person:read", "Farhad", "Sandboxov", "1986-02-11", "male"),
    ("person:update", "Karim", "Exemplov", "1979-07-30", "male"),
    ("person:identity", "Anna", "Eriksson", "1974-08-12", "female"),
    ("person:merge-kept", "Dilnoza", "Rahimova", "1991-01-09", "female"),
    ("person:renew", "Rustam", "Nazarov", "1983-05-21", "male"),
    ("person:replace", "Zarina", "Nazarova", "1985-10-02", "female"),
    ("household:read:focal", "Bakhtiyor", "Umarov", "1970-03-03", "male"),
    ("household:arrival:focal", "Parviz", "Sharipov", "1975-12-12", "male"),
    ("household:arrival:new", "Gulnora", "Sharipova", "1977-06-06", "female"),
    ("household:departure:focal", "Jamshid", "Yusupov", "1968-09-19", "male"),
    ("household:departure:member", "Laylo", "Yusupova", "1999-04-04", "female"),
    ("household:death:focal", "Sherzod", "Khodjaev", "1960-01-15", "male"),
    ("household:death:member", "Malohat", "Khodjaeva", "1962-02-25", "female"),
    ("household:marriage:focal", "Obid", "Mirzaev", "1965-11-11", "male"),
    ("household:marriage:member", "Nilufar", "Mirzaeva", "2000-08-08", "female"),
    ("household:marriage:spouse", "Sardor", "Alimov", "1998-03-17", "male"),
    ("household:split:focal", "Timur", "Saidov", "1972-07-07", "male"),
    ("household:split:member", "Akmal", "Saidov", "1997-05-05", "male"),
    ("household:birth:focal", "Madina", "Ergasheva", "1993-12-01", "female"),
]
BIRTH_DATES = {label: born for label, _, _, born, _ in PEOPLE}


def _person(label: str, given: str, family: str, born: str, sex: str) -> dict:
    return {"given_name": given, "family_name": family, "birth_date": born, "sex": sex, "citizenship": ["AFG"],
            "country_of_origin": "AFG", "override_reason": "example world of /docs (dev mode)"}


def _if_match(label: str, version: int) -> str:
    return etag_of(version, _id(label))


def _certificate_number(label: str) -> str:
    """The number of the refugee certificate seeded under `label`, issued this year (numbers carry the year)."""
    return document_number(IssuedDocumentKind.REFUGEE_CERTIFICATE, date.today().year,
                           sandbox_serial(f"registration:{label}"))


def examples() -> dict[str, OperationExample]:
    person, household = _id("person:read"), _id("household:read")
    return {
        "getPerson": OperationExample({"person_id": person}),
        "getPersonHistory": OperationExample({"person_id": person}),
        "listPersonDocuments": OperationExample({"person_id": person}),
        "getDocumentQr": OperationExample({"document_id": _id("document:read")}),
        "getDocumentCertificate": OperationExample({"person_id": person, "document_id": _id("document:read")}),
        "verifyDocument": OperationExample({"document_number": _certificate_number("document:read"),
                                            "birth_date": BIRTH_DATES["person:read"]}),
        "updatePerson": OperationExample({"person_id": _id("person:update"),
                                          "If-Match": _if_match("person:update", 1)},
                                         etag_from=f"{P}/{_id('person:update')}"),
        "addIdentityDocument": OperationExample(
            {"person_id": _id("person:identity"), "If-Match": _if_match("person:identity", 1)},
            {"issued_on": "2002-04-16", "reason": "passport seen at registration",
             "mrz": "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"},
            etag_from=f"{P}/{_id('person:identity')}"),
        "mergePersons": OperationExample(
            {"person_id": _id("person:merge-kept"), "If-Match": _if_match("person:merge-kept", 1)},
            {"duplicate_person_id": _id("person:merge-duplicate"),
             "reason": "same passport AFG P01234567; registered twice at two offices"},
            etag_from=f"{P}/{_id('person:merge-kept')}"),
        # A possible duplicate of Farhad (Bahrom: one family name, one birth date): the review waits, open.
        "resolveReview": OperationExample({"review_id": _id("review:resolve"),
                                           "If-Match": etag_of("open", _id("review:resolve"))},
                                          {"outcome": "not_duplicate",
                                           "reason": "father and son: different passports and birth years"}),
        "renewDocument": OperationExample({"person_id": _id("person:renew"), "document_id": _id("document:renew")}),
        "replaceDocument": OperationExample({"person_id": _id("person:replace"),
                                             "document_id": _id("document:replace")}),
        "getHousehold": OperationExample({"household_id": household}),
        "recordArrival": _family_event("arrival", {"person_id": _id("household:arrival:new"),
                                                   "relationship": "spouse", "arrived_on": "2024-03-15"}),
        "recordDeparture": _family_event("departure", {"person_id": _id("household:departure:member"),
                                                       "departed_on": "2024-03-15",
                                                       "reason": "moved to her own flat in Almaty"}),
        "recordDeath": _family_event("death", {"person_id": _id("household:death:member"),
                                               "died_on": "2024-03-15"}),
        "recordMarriage": _family_event("marriage", {"person_id": _id("household:marriage:member"),
                                                     "spouse_person_id": _id("household:marriage:spouse"),
                                                     "married_on": "2024-03-15"}),
        "splitHousehold": _family_event("split", {"person_ids": [_id("household:split:member")],
                                                  "new_focal_person_id": _id("household:split:member"),
                                                  "split_on": "2024-03-15"}),
        "recordBirth": OperationExample(
            {"household_id": _id("household:birth")},
            {"given_name": "Айгерим", "family_name": "Эргашева", "sex": "female", "birth_date": "2026-11-20",
             "place_of_birth": "Almaty", "born_in_kazakhstan": True, "parents_reside_permanently": False,
             "medical_birth_certificate_number": "MBC-2026-0001", "mother_person_id": _id("household:birth:focal")}),
        "formHousehold": OperationExample(
            body={"focal_person_id": _id("household:form:focal"),
                  "members": [{"person_id": _id("household:form:member"), "relationship": "spouse"}]}),
    }


def _family_event(kind: str, body: dict) -> OperationExample:
    label = f"household:{kind}"
    return OperationExample({"household_id": _id(label), "If-Match": _if_match(label, 1)}, body,
                            etag_from=f"{H}/{_id(label)}")


async def seed(client: SandboxClient) -> None:
    for label, given, family, born, sex in PEOPLE:
        await _register(client, label, _person(label, given, family, born, sex))
    # Two records of one person, to merge; a second registration of Farhad, queued for review.
    for label in ("person:merge-duplicate",):
        await _register(client, label, _person(label, "Dilnoza", "Rahimova", "1991-01-09", "female"))
    review = _person("person:review", "Bahrom", "Sandboxov", "1986-02-11", "male")
    del review["override_reason"]  # a possible duplicate is registered and queued; an override would close it
    await _register(client, "person:review", review, extra_ids=("review:resolve",))
    for label in ("household:form:focal", "household:form:member"):
        await _register(client, label, _person(label, "Ilhom" if label.endswith("focal") else "Shahnoza",
                                               "Tursunov" if label.endswith("focal") else "Tursunova",
                                               "1980-04-04" if label.endswith("focal") else "1982-05-05",
                                               "male" if label.endswith("focal") else "female"))
    await _household(client, "household:read", [])
    await _household(client, "household:arrival", [])
    for kind in ("departure", "death", "marriage", "split"):
        await _household(client, f"household:{kind}", [(f"household:{kind}:member", "child"
                                                       if kind in ("departure", "marriage", "split") else "spouse")])
    # The people the other services' worlds refer to (rsd's applicants, statelessness's cases and flagged
    # children, the bridge's child): registered here under their shared ids, so those services' events about
    # them reach a person in the register (pana_kit.sandbox.EXAMPLE_PERSONS).
    for shared in EXAMPLE_PERSONS:
        await client.call("POST", P, ids=[shared.label], headers={"Idempotency-Key": f"sandbox-{shared.id}"}, json={
            "given_name": shared.given_name, "family_name": shared.family_name, "birth_date": shared.birth_date,
            "sex": shared.sex, "citizenship": list(shared.citizenship),
            **({"country_of_origin": shared.country_of_origin} if shared.country_of_origin else {}),
            "override_reason": "example world of /docs (dev mode)"})
    # Certificates: the refugee certificate of a recognised person, as rsd's events make it.
    for label in ("person:read", "person:renew", "person:replace"):
        await _recognise(client, label, "document:" + label.split(":")[1])
    await _household(client, "household:birth", [])  # last: the marker


async def _register(client: SandboxClient, label: str, body: dict, extra_ids: tuple[str, ...] = ()) -> None:
    await client.call("POST", P, ids=_labels(label, *extra_ids), json=body,
                      headers={"Idempotency-Key": f"sandbox-{_id(label)}"})


async def _household(client: SandboxClient, label: str, members: list[tuple[str, str]]) -> None:
    body = {"focal_person_id": _id(f"{label}:focal"),
            "members": [{"person_id": _id(member), "relationship": relationship} for member, relationship in members]}
    await client.call("POST", H, ids=_labels(label), json=body, headers={"Idempotency-Key": f"sandbox-{_id(label)}"})


async def _recognise(client: SandboxClient, person_label: str, document_label: str) -> None:
    person, today = _id(person_label), utcnow().date()
    application = _id(f"application:{person_label}")
    await client.deliver(rsd.CertificateRequested(application_id=application, person_id=person, member_ids=[person],
                                                  valid_from=today - timedelta(days=30),
                                                  valid_until=today + timedelta(days=60), reason="registration"),
                         subject=person, ids=_labels(f"{document_label}:asylum-seeker"))
    await client.deliver(rsd.DecisionIssued(application_id=application, person_id=person, member_ids=[person],
                                            outcome="recognised", decided_on=today),
                         subject=person, ids=_labels(document_label), serials=_labels(document_label))


SANDBOX = Sandbox(examples=examples(), seed=seed, marker=f"{H}/{_id('household:birth')}")
