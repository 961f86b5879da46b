from datetime import date

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pana_kit.domain import InvalidInput, RuleViolation

from registration.domain import (
    Dependant, DocumentIssued, DocumentRevoked, IssuedDocument, IssuedDocumentKind, RegistrationRules,
    VerificationOutcome, check_document_number, document_number, extend_asylum_seeker_certificate,
    issue_asylum_seeker_certificate, issue_refugee_certificate, issue_stateless_person_certificate, qr_payload,
    FactKind, StatusFact, project_legal_status, revoke_unbacked, verification_delay, verify_document,
    verify_qr_payload,
)

RULES = RegistrationRules()
ADULT = date(1990, 5, 4)
REG = date(2025, 3, 1)
ASC = IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE


def asc(serial=1, **kw):
    args = dict(number=document_number(ASC, 2025, serial), holder_person_id="p-1", holder_birth_date=ADULT,
                registered_on=REG, rules=RULES)
    args.update(kw)
    return issue_asylum_seeker_certificate(**args)


def test_number_generation_and_check():
    number = document_number(ASC, 2025, 123)
    assert number.startswith("AS250000123") and len(number) == 12
    assert check_document_number(number) is ASC
    assert check_document_number(number.lower()) is ASC


@pytest.mark.parametrize("bad", ["", "AS25000012", "XX2500001230", "AS25000012A", "AS250000123' OR 1=1"])
def test_malformed_number_refused(bad):
    with pytest.raises(InvalidInput) as err:
        check_document_number(bad)
    assert err.value.rule == "document_number_format"


def test_wrong_check_digit_refused():
    number = document_number(ASC, 2025, 123)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(InvalidInput):
        check_document_number(wrong)
    with pytest.raises(InvalidInput):
        verify_document(wrong, None, birth_date=ADULT, today=REG, rules=RULES)


def test_asylum_seeker_certificate_three_months_with_children():
    doc = asc(children=[Dependant("child-1", date(2018, 1, 1))])
    assert doc.issued_on == REG and doc.expires_on == date(2025, 5, 31)
    assert doc.dependant_person_ids == ("child-1",)
    [event] = doc.collect_events()
    assert isinstance(event, DocumentIssued) and event.expires_on == date(2025, 5, 31)


def test_child_gets_no_own_certificate_unless_unaccompanied():
    with pytest.raises(RuleViolation) as err:
        asc(holder_birth_date=date(2012, 1, 1))
    assert err.value.rule == "asylum_seeker_certificate_for_adults"
    assert asc(holder_birth_date=date(2012, 1, 1), unaccompanied_minor=True).holder_birth_date == date(2012, 1, 1)
    with pytest.raises(RuleViolation) as err:
        asc(children=[Dependant("adult-son", date(2000, 1, 1))])
    assert err.value.rule == "children_on_parent_certificate"


def test_extension_issues_a_new_certificate():
    first = asc()
    second = extend_asylum_seeker_certificate(first, number=document_number(ASC, 2025, 2), extended_on=date(2025, 5, 30),
                                              rules=RULES)
    assert second.replaces == first.document_number and first.replaced_by == second.document_number
    assert second.expires_on == date(2025, 8, 29)
    with pytest.raises(RuleViolation):
        extend_asylum_seeker_certificate(first, number=document_number(ASC, 2025, 3), extended_on=REG, rules=RULES)


def test_refugee_and_stateless_certificates():
    rc = issue_refugee_certificate(number=document_number("refugee_certificate", 2025, 1), holder_person_id="p",
                                   holder_birth_date=ADULT, issued_on=REG, rules=RULES)
    assert rc.expires_on == date(2026, 2, 28)
    sp = issue_stateless_person_certificate(number=document_number("stateless_person_certificate", 2025, 1),
                                            holder_person_id="p", holder_birth_date=date(2009, 3, 1),
                                            issued_on=REG, rules=RULES)
    assert sp.expires_on == date(2030, 2, 28)
    with pytest.raises(RuleViolation) as err:
        issue_stateless_person_certificate(number=document_number("stateless_person_certificate", 2025, 2),
                                           holder_person_id="p", holder_birth_date=date(2009, 3, 2),
                                           issued_on=REG, rules=RULES)
    assert err.value.rule == "stateless_person_certificate_age"
    with pytest.raises(InvalidInput):  # a refugee number on a stateless certificate
        issue_stateless_person_certificate(number=document_number("refugee_certificate", 2025, 9),
                                           holder_person_id="p", holder_birth_date=ADULT, issued_on=REG, rules=RULES)


def test_verify_outcomes():
    doc = asc()
    n = doc.document_number
    ok = verify_document(n, doc, birth_date=ADULT, today=REG, rules=RULES)
    assert ok.outcome is VerificationOutcome.VALID and ok.status_category == "asylum_seeker"
    assert set(ok.entitlements) == {"medical_care", "employment", "education", "social_assistance"}
    assert set(ok.to_document()) == {"outcome", "status_category", "expires_on", "entitlements"}
    assert verify_document(n, doc, birth_date=date(1990, 5, 5), today=REG, rules=RULES).outcome is VerificationOutcome.UNKNOWN
    assert verify_document(n, None, birth_date=ADULT, today=REG, rules=RULES).outcome is VerificationOutcome.UNKNOWN
    expired = verify_document(n, doc, birth_date=ADULT, today=date(2025, 6, 1), rules=RULES)
    assert expired.outcome is VerificationOutcome.EXPIRED and expired.entitlements == ()
    assert verify_document(n, doc, birth_date=ADULT, today=date(2025, 5, 31), rules=RULES).outcome is VerificationOutcome.VALID
    revoke_unbacked([doc], project_legal_status("p-1", [StatusFact(FactKind.REFUGEE_STATUS_RECOGNISED, REG, "r")]),
                    on=REG)
    assert isinstance(doc.collect_events()[-1], DocumentRevoked)
    assert verify_document(n, doc, birth_date=ADULT, today=REG, rules=RULES).outcome is VerificationOutcome.REVOKED
    with pytest.raises(RuleViolation):
        doc.revoke(on=REG, reason="again")


def test_revoke_only_documents_whose_status_ended():
    doc = asc()
    still = project_legal_status("p-1", [StatusFact(FactKind.ASYLUM_APPLICATION_REGISTERED, REG, "a")])
    assert revoke_unbacked([doc], still, on=REG) == []


def test_qr_payload_signed_and_verifiable_offline():
    key = Ed25519PrivateKey.generate()
    doc = asc()
    payload = qr_payload(doc, key)
    assert payload.startswith("PANA1.") and len(payload) < 300
    claims = verify_qr_payload(payload, key.public_key())
    assert claims["n"] == doc.document_number and claims["e"] == "2025-05-31" and claims["s"] == "asylum_seeker"
    assert "holder_person_id" not in claims
    prefix, body, sig = payload.split(".")
    tampered = f"{prefix}.{body[:-2]}AA.{sig}"
    with pytest.raises(InvalidInput):
        verify_qr_payload(tampered, key.public_key())
    with pytest.raises(InvalidInput):
        verify_qr_payload(payload, Ed25519PrivateKey.generate().public_key())
    with pytest.raises(InvalidInput):
        verify_qr_payload("garbage", key.public_key())


def test_round_trip():
    doc = asc(children=[Dependant("c", date(2020, 1, 1))])
    assert IssuedDocument.from_document(doc.to_document()).to_document() == doc.to_document()


def test_verification_delay_grows_after_allowance():
    assert verification_delay(0, RULES) == 0
    assert verification_delay(5, RULES) == 1.0
    assert verification_delay(7, RULES) == 4.0
    assert verification_delay(1000, RULES) == RULES.verification_delay_max_seconds
