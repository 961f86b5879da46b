"""The paper documents' lifecycle as domain rules: renewal, replacement of a lost/stolen/damaged document and
the stateless person's certificate at 16, including the transitions that must be refused."""

from datetime import date

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from registration.domain import (
    DocumentIssued, DocumentRevoked, DocumentState, FactKind, IssuedDocumentKind, RegistrationRules, StatusFact,
    VerificationOutcome, document_number, issue_asylum_seeker_certificate, issue_refugee_certificate,
    issue_stateless_person_certificate, project_legal_status, renew_document, replace_document,
    stateless_certificate_due, verify_document,
)

RULES = RegistrationRules()
ADULT = date(1990, 5, 4)
ON = date(2025, 3, 1)
ASC = IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE
RC = IssuedDocumentKind.REFUGEE_CERTIFICATE
SPC = IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE


def projection(*kinds: FactKind, on: date = ON):
    return project_legal_status("p-1", [StatusFact(k, on, f"f{i}", i) for i, k in enumerate(kinds)])


REFUGEE = projection(FactKind.ASYLUM_APPLICATION_REGISTERED, FactKind.REFUGEE_STATUS_RECOGNISED)
STATELESS = projection(FactKind.STATELESSNESS_APPLICATION_LODGED, FactKind.STATELESSNESS_DETERMINED)
ASYLUM_SEEKER = projection(FactKind.ASYLUM_APPLICATION_REGISTERED)


def number(kind, serial):
    return document_number(kind, 2025, serial)


def refugee_certificate(serial=1, on=ON):
    return issue_refugee_certificate(number=number(RC, serial), holder_person_id="p-1", holder_birth_date=ADULT,
                                     issued_on=on, rules=RULES)


def stateless_certificate(serial=1, on=ON, birth=ADULT):
    return issue_stateless_person_certificate(number=number(SPC, serial), holder_person_id="p-1",
                                              holder_birth_date=birth, issued_on=on, rules=RULES)


def asylum_seeker_certificate(serial=1):
    return issue_asylum_seeker_certificate(number=number(ASC, serial), holder_person_id="p-1",
                                           holder_birth_date=ADULT, registered_on=ON, rules=RULES)


# --- renewal --------------------------------------------------------------------------------------------

def test_refugee_certificate_renewed_for_the_next_year_from_the_day_after_the_old_one_ends():
    old = refugee_certificate()
    assert old.expires_on == date(2026, 2, 28)
    new = renew_document(old, REFUGEE, number=number(RC, 2), renewed_on=date(2026, 2, 10), rules=RULES)
    assert (new.kind, new.issued_on, new.expires_on) == (RC, date(2026, 2, 10), date(2027, 2, 28))
    assert new.replaces == old.document_number and old.replaced_by == new.document_number
    assert old.state is DocumentState.ISSUED  # replaced, valid to its own last day
    [issued] = new.collect_events()
    assert isinstance(issued, DocumentIssued) and issued.replaces == old.document_number


def test_an_expired_certificate_is_renewed_from_the_renewal_day():
    old = refugee_certificate()
    new = renew_document(old, REFUGEE, number=number(RC, 2), renewed_on=date(2026, 6, 1), rules=RULES)
    assert (new.issued_on, new.expires_on) == (date(2026, 6, 1), date(2027, 5, 31))


def test_stateless_person_certificate_renewed_for_five_years():
    old = stateless_certificate()
    assert old.expires_on == date(2030, 2, 28)
    new = renew_document(old, STATELESS, number=number(SPC, 2), renewed_on=date(2030, 2, 1), rules=RULES)
    assert new.expires_on == date(2035, 2, 28)


def test_asylum_seeker_certificate_renewed_while_an_asylum_seeker_and_during_an_appeal():
    old = asylum_seeker_certificate()
    new = renew_document(old, ASYLUM_SEEKER, number=number(ASC, 2), renewed_on=date(2025, 5, 20), rules=RULES)
    assert new.issued_on == date(2025, 5, 20) and new.expires_on > old.expires_on
    appealing = projection(FactKind.ASYLUM_APPLICATION_REGISTERED, FactKind.ASYLUM_APPLICATION_REJECTED,
                           FactKind.ASYLUM_APPEAL_LODGED)
    later = renew_document(new, appealing, number=number(ASC, 3), renewed_on=new.expires_on, rules=RULES)
    assert later.replaces == new.document_number


@pytest.mark.parametrize("doc, facts", [
    (asylum_seeker_certificate, (FactKind.ASYLUM_APPLICATION_REGISTERED, FactKind.ASYLUM_REJECTION_FINAL)),
    (asylum_seeker_certificate, (FactKind.ASYLUM_APPLICATION_REGISTERED, FactKind.REFUGEE_STATUS_RECOGNISED)),
    (asylum_seeker_certificate, (FactKind.ASYLUM_APPLICATION_REGISTERED, FactKind.ASYLUM_CASE_CLOSED)),
    (refugee_certificate, (FactKind.REFUGEE_STATUS_RECOGNISED, FactKind.REFUGEE_STATUS_CEASED)),
    (stateless_certificate, (FactKind.STATELESSNESS_DETERMINED, FactKind.NATURALIZED)),
    (stateless_certificate, (FactKind.STATELESSNESS_DETERMINED, FactKind.DIED)),
])
def test_renewal_refused_when_the_procedure_no_longer_backs_the_kind(doc, facts):
    old = doc()
    with pytest.raises(RuleViolation) as err:
        renew_document(old, projection(*facts), number=number(old.kind, 9), renewed_on=ON, rules=RULES)
    assert err.value.rule == "renewal_not_backed_by_procedure"
    assert old.replaced_by is None


def test_a_stateless_asylum_seeker_keeps_renewing_the_stateless_certificate():
    both = projection(FactKind.STATELESSNESS_DETERMINED, FactKind.ASYLUM_APPLICATION_REGISTERED)
    assert renew_document(stateless_certificate(), both, number=number(SPC, 2), renewed_on=ON, rules=RULES)


def test_renewal_refused_for_a_revoked_or_already_replaced_document():
    old = refugee_certificate()
    old.revoke(on=ON, reason="lost")
    with pytest.raises(RuleViolation) as err:
        renew_document(old, REFUGEE, number=number(RC, 2), renewed_on=ON, rules=RULES)
    assert err.value.rule == "document_revoked"
    other = refugee_certificate(3)
    renew_document(other, REFUGEE, number=number(RC, 4), renewed_on=ON, rules=RULES)
    with pytest.raises(RuleViolation) as err:
        renew_document(other, REFUGEE, number=number(RC, 5), renewed_on=ON, rules=RULES)
    assert err.value.rule == "document_already_replaced"


def test_renewal_needs_a_number_of_the_same_kind():
    with pytest.raises(InvalidInput):
        renew_document(refugee_certificate(), REFUGEE, number=number(SPC, 2), renewed_on=ON, rules=RULES)


# --- replacement ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reason", ["lost", "stolen", "damaged"])
def test_replacement_revokes_the_old_number_with_the_reason_and_keeps_the_expiry(reason):
    old = refugee_certificate()
    old.collect_events()
    new = replace_document(old, REFUGEE, number=number(RC, 2), replaced_on=date(2025, 7, 1), reason=reason)
    assert (new.issued_on, new.expires_on, new.replaces) == (date(2025, 7, 1), old.expires_on, old.document_number)
    assert (old.state, old.revocation_reason, old.replaced_by) == (DocumentState.REVOKED, reason, new.document_number)
    [revoked] = old.collect_events()
    assert isinstance(revoked, DocumentRevoked) and revoked.reason == reason
    old_answer = verify_document(old.document_number, old, birth_date=ADULT, today=date(2025, 7, 1), rules=RULES)
    assert (old_answer.outcome, old_answer.revocation_reason) == (VerificationOutcome.REVOKED, reason)
    new_answer = verify_document(new.document_number, new, birth_date=ADULT, today=date(2025, 7, 1), rules=RULES)
    assert new_answer.outcome is VerificationOutcome.VALID and new_answer.revocation_reason is None


def test_replacement_refused_for_an_unknown_reason_a_revoked_an_expired_or_an_unbacked_document():
    with pytest.raises(ValueError):
        replace_document(refugee_certificate(), REFUGEE, number=number(RC, 2), replaced_on=ON, reason="sold")
    revoked = refugee_certificate()
    revoked.revoke(on=ON, reason="stolen")
    with pytest.raises(RuleViolation) as err:
        replace_document(revoked, REFUGEE, number=number(RC, 2), replaced_on=ON, reason="lost")
    assert err.value.rule == "document_revoked"
    with pytest.raises(RuleViolation) as err:
        replace_document(refugee_certificate(), REFUGEE, number=number(RC, 2), replaced_on=date(2026, 3, 1),
                         reason="lost")
    assert err.value.rule == "replacement_of_expired_document"
    ceased = projection(FactKind.REFUGEE_STATUS_RECOGNISED, FactKind.REFUGEE_STATUS_CEASED)
    with pytest.raises(RuleViolation) as err:
        replace_document(refugee_certificate(), ceased, number=number(RC, 2), replaced_on=ON, reason="lost")
    assert err.value.rule == "replacement_not_backed_by_procedure"


def test_a_status_ending_is_not_told_to_verification():
    old = refugee_certificate()
    old.revoke(on=ON, reason="asylum procedure status is now former_refugee")
    answer = verify_document(old.document_number, old, birth_date=ADULT, today=ON, rules=RULES)
    assert answer.outcome is VerificationOutcome.REVOKED and answer.revocation_reason is None


# --- the stateless person's certificate at 16 -------------------------------------------------------------

CHILD = date(2010, 6, 15)


def test_due_from_the_sixteenth_birthday_for_a_recognised_stateless_person_without_one():
    assert not stateless_certificate_due(STATELESS, CHILD, [], on=date(2026, 6, 14), rules=RULES)
    assert stateless_certificate_due(STATELESS, CHILD, [], on=date(2026, 6, 15), rules=RULES)
    held = stateless_certificate(on=date(2026, 6, 15), birth=CHILD)
    assert not stateless_certificate_due(STATELESS, CHILD, [held], on=date(2026, 6, 16), rules=RULES)
    # an expired one is renewed by an officer, not issued again by the daily job
    assert not stateless_certificate_due(STATELESS, CHILD, [held], on=date(2032, 1, 1), rules=RULES)
    held.revoke(on=date(2027, 1, 1), reason="lost")
    assert stateless_certificate_due(STATELESS, CHILD, [held], on=date(2027, 1, 1), rules=RULES)


@pytest.mark.parametrize("facts", [
    (FactKind.STATELESSNESS_APPLICATION_LODGED,),
    (FactKind.STATELESSNESS_DETERMINED, FactKind.NATURALIZED),
    (FactKind.STATELESSNESS_DETERMINED, FactKind.DIED),
    (FactKind.STATELESSNESS_REJECTED,),
    (FactKind.REFUGEE_STATUS_RECOGNISED,),
])
def test_not_due_when_statelessness_does_not_back_it(facts):
    assert not stateless_certificate_due(projection(*facts), CHILD, [], on=date(2027, 1, 1), rules=RULES)


def test_not_due_without_a_birth_date_and_refused_before_sixteen():
    assert not stateless_certificate_due(STATELESS, None, [], on=date(2027, 1, 1), rules=RULES)
    with pytest.raises(RuleViolation) as err:
        stateless_certificate(on=date(2026, 6, 14), birth=CHILD)
    assert err.value.rule == "stateless_person_certificate_age"
