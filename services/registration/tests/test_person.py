from datetime import date, timedelta

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from datetime import datetime, timezone

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
from registration.domain import (
    IdentityDocument, IdentityDocumentKind, Person, PersonRegistered, PersonsMerged, PersonUpdated,
    SpecificNeed, SpecificNeedsChanged,
)


def register(**overrides) -> Person:
    details = dict(given_name="Мухаммад", family_name="Нұрлыбеков", patronymic="Алиевич",
                   birth_date=date(1990, 5, 4), sex="male", citizenships=["AFG"], country_of_origin="AFG",
                   languages=["dari", "ru"], interpreter_needed=True, marital_status="married",
                   specific_needs=["survivor_of_torture"],
                   address={"region": "Almaty", "locality": "Almaty", "street": "Abay"},
                   contacts=[{"kind": "phone", "value": "+77010000000"}])
    details.update(overrides)
    return Person.register(person_id="p-1", registered_by="officer-1", now=NOW, **details)


def test_register_stores_latin_once_and_records_event():
    person = register()
    assert (person.given_name_latin, person.family_name_latin, person.patronymic_latin) == ("Mukhammad", "Nurlybekov", "Alievich")
    assert person.name_script == "cyrillic"
    assert person.specific_needs == {SpecificNeed.SURVIVOR_OF_TORTURE}
    [event] = person.collect_events()
    assert isinstance(event, PersonRegistered) and event.specific_needs == ("survivor_of_torture",)
    assert person.etag == '"p-1-v1"'


def test_latin_given_explicitly_is_kept():
    person = register(given_name_latin="Mohammad")
    assert person.given_name_latin == "Mohammad" and person.family_name_latin == "Nurlybekov"


@pytest.mark.parametrize("codes,expected", [
    (["XXA"], ("XXA",)), (["afg", "IRN"], ("AFG", "IRN")), (["none"], ("none",)), ([], ("undetermined",)),
    (["XXB"], ("XXB",)),
])
def test_citizenship_codes(codes, expected):
    assert register(citizenships=codes).citizenships == expected


@pytest.mark.parametrize("codes", [["ZZZ"], ["none", "AFG"], ["AF"]])
def test_bad_citizenship_refused(codes):
    with pytest.raises(InvalidInput) as err:
        register(citizenships=codes)
    assert err.value.rule == "citizenship_code"


def test_bad_values_refused():
    with pytest.raises(InvalidInput):
        register(sex="robot")
    with pytest.raises(InvalidInput):
        register(specific_needs=["lonely"])
    with pytest.raises(InvalidInput):
        register(favourite_colour="blue")
    with pytest.raises(InvalidInput) as err:
        register(given_name="  ")
    assert err.value.rule == "name_required"


def test_update_keeps_history_and_retransliterates():
    person = register()
    person.collect_events()
    changed = person.update({"family_name": "Нурлыбеков", "birth_date_precision": "year", "sex": "male"},
                            changed_by="officer-2", reason="corrected from passport", now=NOW + timedelta(hours=1))
    assert changed == ("birth_date_precision", "family_name", "family_name_latin")
    assert person.family_name_latin == "Nurlybekov" and person.version == 2
    entry = person.history[-1]
    assert (entry.changed_by, entry.reason, entry.previous["family_name"]) == ("officer-2", "corrected from passport", "Нұрлыбеков")
    [event] = person.collect_events()
    assert isinstance(event, PersonUpdated) and event.version == 2


def test_update_needs_a_reason_and_no_change_is_no_event():
    person = register()
    person.collect_events()
    with pytest.raises(InvalidInput) as err:
        person.update({"sex": "female"}, changed_by="o", reason=" ", now=NOW)
    assert err.value.rule == "change_reason_required"
    assert person.update({"sex": "male"}, changed_by="o", reason="check", now=NOW) == ()
    assert person.collect_events() == [] and person.version == 1


def test_specific_needs_change_emits_event():
    person = register()
    person.collect_events()
    person.update({"specific_needs": ["woman_at_risk", "disability"]}, changed_by="o", reason="assessment", now=NOW)
    events = person.collect_events()
    assert SpecificNeedsChanged(person.person_id, ("disability", "woman_at_risk"), NOW) in events


def test_birth_date_after_document_issue_refused():
    passport = IdentityDocument(kind="passport", number="P123", issuing_state="AFG", issued_on=date(2015, 1, 10))
    with pytest.raises(InvalidInput) as err:
        register(birth_date=date(2016, 1, 1), identity_documents=[passport])
    assert err.value.rule == "birth_date_not_after_document_issue"
    person = register(identity_documents=[passport])
    with pytest.raises(InvalidInput):
        person.update({"birth_date": date(2015, 2, 1)}, changed_by="o", reason="typo", now=NOW)
    assert person.birth_date == date(1990, 5, 4) and person.version == 1  # nothing stored
    late = IdentityDocument(kind="birth_certificate", number="B1", issued_on=date(1989, 12, 31))
    with pytest.raises(InvalidInput):
        person.add_identity_document(late, changed_by="o", reason="seen", now=NOW)
    assert person.identity_documents == [passport]


def test_year_precision_compares_years_only():
    doc = IdentityDocument(kind="national_id", number="N1", issued_on=date(2000, 3, 1))
    person = register(birth_date=date(2000, 1, 1), birth_date_precision="year", identity_documents=[doc])
    assert person.identity_documents == [doc]


def test_document_from_mrz_and_round_trip():
    from registration.domain import parse_mrz
    mrz = parse_mrz(["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"],
                    today=date(2025, 1, 1))
    person = register(identity_documents=[IdentityDocument.from_mrz(mrz, issued_on=date(2007, 4, 16))])
    person.enrol_biometrics("bio-ref-42", changed_by="o", now=NOW)
    again = Person.from_document(person.to_document())
    assert again.to_document() == person.to_document()
    assert again.identity_documents[0].kind is IdentityDocumentKind.PASSPORT
    assert again.identity_documents[0].mrz == mrz


def test_merge_closes_the_merged_record():
    a, b = register(), Person.register(person_id="p-2", registered_by="o", now=NOW, given_name="Muhammad",
                                       family_name="Nurlybekov", specific_needs=["disability"])
    b.merge_into(a, merged_by="supervisor", reason="same person", now=NOW)
    assert b.merged_into == "p-1" and SpecificNeed.DISABILITY in a.specific_needs
    assert any(isinstance(e, PersonsMerged) for e in b.collect_events())
    with pytest.raises(RuleViolation) as err:
        b.update({"sex": "female"}, changed_by="o", reason="x", now=NOW)
    assert err.value.rule == "merged_record_is_closed"
    with pytest.raises(RuleViolation):
        a.merge_into(a, merged_by="s", reason="x", now=NOW)
