"""Aggregates are stored as JSON documents (pana_kit.documents); documents stored before that still load
and write back unchanged. The documents below were written by the hand-written serialisers it replaced."""

import json

import pytest

from registration.domain import BorderReferral, Household, IssuedDocument, Person

OLD = json.loads(r'''
{"person": {"person_id": "p1", "registered_at": "2026-03-01T09:30:00+00:00", "given_name": "Мухаммад", "family_name": "Каримов", "patronymic": null, "given_name_latin": "Mukhammad", "family_name_latin": "Karimov", "patronymic_latin": null, "birth_date": "1974-08-12", "birth_date_precision": "exact", "sex": "male", "citizenships": ["AFG"], "country_of_origin": "AFG", "ethnicity": "Tajik", "languages": ["prs", "rus"], "interpreter_needed": true, "marital_status": "married", "address": {"region": "Almaty", "locality": null, "street": "Abay 1", "building": null, "apartment": null, "postal_code": null}, "contacts": [{"kind": "phone", "value": "+7 700 000 0000"}], "specific_needs": ["disability", "survivor_of_torture"], "name_script": "cyrillic", "biometric_reference": "bio-1", "identity_documents": [{"kind": "passport", "number": "L898902C3", "issuing_state": "UTO", "issued_on": "2010-04-16", "expires_on": "2012-04-15", "original_seen": true, "mrz": {"format": "TD3", "document_code": "P", "issuing_state": "UTO", "surname": "ERIKSSON", "given_names": "ANNA MARIA", "document_number": "L898902C3", "nationality": "UTO", "birth_date": "1974-08-12", "sex": "F", "expiry_date": "2012-04-15", "optional_data": "ZE184226B"}}, {"kind": "birth_certificate", "number": "II-AF 1", "issuing_state": "AFG", "issued_on": null, "expires_on": null, "original_seen": false, "mrz": null}], "date_of_death": null, "merged_into": null, "iin": null, "birth_certificate_number": null, "version": 3, "history": [{"changed_by": "officer", "changed_at": "2026-03-01T09:30:00+00:00", "reason": "registration", "fields": ["*"], "previous": {}}, {"changed_by": "officer", "changed_at": "2026-03-01T09:30:00+00:00", "reason": "told", "fields": ["ethnicity"], "previous": {"ethnicity": null}}, {"changed_by": "officer", "changed_at": "2026-03-01T09:30:00+00:00", "reason": "biometric enrolment", "fields": ["biometric_reference"], "previous": {"biometric_reference": null}}]}, "referral": {"referral_id": "r1", "crossing_point": "Dostyk", "referred_at": "2026-03-01T09:30:00+00:00", "arrived_on": "2026-03-01", "irregular_entry": true, "statement": {"text": "fear", "language": "prs", "interpreter_used": false, "fears_return": true, "persons_travelling": 1}, "registration_due": "2026-03-02", "referred_by": "border", "provisional_details": {"a": 1}, "person_id": "p1", "registered_at": "2026-03-01T09:30:00+00:00", "late": false}, "household": {"household_id": "h1", "focal_person_id": "p1", "split_from": null, "members": [{"person_id": "p1", "relationship": "focal", "joined_on": "2026-01-01", "state": "present", "left_on": null}, {"person_id": "p2", "relationship": "spouse", "joined_on": "2026-01-01", "state": "present", "left_on": null}, {"person_id": "p3", "relationship": "child", "joined_on": "2026-01-01", "state": "departed", "left_on": "2026-02-01"}], "relations": [{"person_id": "p1", "kind": "spouse_of", "related_person_id": "p2"}]}, "issued": {"document_number": "RF2600012346", "kind": "refugee_certificate", "holder_person_id": "p1", "holder_birth_date": "1974-08-12", "issued_on": "2026-01-05", "expires_on": "2027-01-04", "dependant_person_ids": [], "state": "revoked", "revoked_on": "2026-02-01", "revocation_reason": "status ended", "replaces": null, "replaced_by": null}}
''')


@pytest.mark.parametrize("kind, aggregate", [("person", Person), ("referral", BorderReferral),
                                             ("household", Household), ("issued", IssuedDocument)])
def test_a_document_stored_before_loads_and_writes_back_unchanged(kind, aggregate):
    loaded = aggregate.from_document(OLD[kind])
    assert loaded.to_document() == OLD[kind]
    assert aggregate.from_document(loaded.to_document()) == loaded


def test_an_old_person_document_loads_with_its_types():
    person = Person.from_document(OLD["person"])
    assert person.identity_documents[0].mrz.birth_date.isoformat() == "1974-08-12"
    assert {n.value for n in person.specific_needs} == {"disability", "survivor_of_torture"}
    assert person.history[-1].fields == ("biometric_reference",)
    assert person.registration_number is None  # the row's, not the document's
