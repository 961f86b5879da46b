"""The open rules are configuration: REGISTRATION_* settings reach the domain's rules; an invalid one refuses start."""

from __future__ import annotations

from datetime import date

import pytest

from pana_kit.settings import SettingsError, load_settings
from registration.app import create
from registration.domain import (
    IssuedDocumentKind, RegistrationRules, VerificationOutcome, certificate_expiry, document_number,
    issue_asylum_seeker_certificate, verify_document,
)
from registration.settings import RegistrationSettings

ISSUED = date(2025, 3, 1)
ADULT = date(1990, 5, 4)


def rules_from_env() -> RegistrationRules:
    return load_settings(RegistrationSettings).rules()


def test_the_defaults_are_the_domain_defaults():
    assert RegistrationSettings().rules() == RegistrationRules()


@pytest.mark.parametrize(("variable", "value", "kind", "expires_on"), [
    ("REGISTRATION_ASYLUM_SEEKER_CERTIFICATE_MONTHS", "6", IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE,
     date(2025, 8, 31)),
    ("REGISTRATION_REFUGEE_CERTIFICATE_MONTHS", "24", IssuedDocumentKind.REFUGEE_CERTIFICATE, date(2027, 2, 28)),
    ("REGISTRATION_STATELESS_PERSON_CERTIFICATE_YEARS", "10", IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE,
     date(2035, 2, 28)),
])
def test_certificate_validity_from_the_environment(monkeypatch, variable, value, kind, expires_on):
    monkeypatch.setenv(variable, value)
    assert certificate_expiry(kind, ISSUED, rules_from_env()) == expires_on


def test_entitlements_per_document_kind_from_the_environment(monkeypatch):
    monkeypatch.setenv("REGISTRATION_ENTITLEMENTS_ASYLUM_SEEKER_CERTIFICATE", "medical_care, education")
    rules = rules_from_env()
    assert rules.entitlements["asylum_seeker_certificate"] == ("medical_care", "education")
    assert set(rules.entitlements["refugee_certificate"]) == {"medical_care", "employment", "education",
                                                              "social_assistance"}
    doc = issue_asylum_seeker_certificate(number=document_number(IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, 2025, 1),
                                          holder_person_id="p-1", holder_birth_date=ADULT, registered_on=ISSUED,
                                          rules=rules)
    answer = verify_document(doc.document_number, doc, birth_date=ADULT, today=ISSUED, rules=rules)
    assert answer.outcome is VerificationOutcome.VALID and answer.entitlements == ("medical_care", "education")


def test_the_verification_rate_setting_reaches_the_rules():
    assert RegistrationSettings(verify_rate_per_minute=7).rules().verification_requests_per_minute == 7


@pytest.mark.parametrize(("variable", "value"), [
    ("REGISTRATION_REFUGEE_CERTIFICATE_MONTHS", "0"),
    ("REGISTRATION_ASYLUM_SEEKER_CERTIFICATE_MONTHS", "-3"),
    ("REGISTRATION_STATELESS_PERSON_CERTIFICATE_YEARS", "five"),
    ("REGISTRATION_REGISTRATION_WINDOW_DAYS", "-1"),
    ("REGISTRATION_ENTITLEMENTS_REFUGEE_CERTIFICATE", "medical_care,free_lunch"),
])
def test_an_invalid_rule_refuses_start_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        create()


def test_inconsistent_delays_refuse_start_naming_the_variables():
    with pytest.raises(SettingsError) as info:
        RegistrationSettings(verification_delay_base_seconds=30, verification_delay_max_seconds=10).rules()
    message = str(info.value)
    assert "REGISTRATION_VERIFICATION_DELAY_BASE_SECONDS" in message
    assert "REGISTRATION_VERIFICATION_DELAY_MAX_SECONDS" in message


def test_the_domain_refuses_an_unknown_entitlement_kind_or_service():
    with pytest.raises(ValueError):
        RegistrationRules(entitlements={"library_card": ("education",)})
    with pytest.raises(ValueError):
        RegistrationRules(entitlements={"refugee_certificate": ("free_lunch",)})


def test_every_rule_is_a_setting_named_in_docs_domain_md():
    from pana_dev.testing import assert_rules_documented
    from registration.domain.rules import RegistrationRules
    from registration.settings import RegistrationSettings

    assert_rules_documented(RegistrationRules, RegistrationSettings, renamed={"entitlements": "entitlements_refugee_certificate",
                                                         "verification_requests_per_minute": "verify_rate_per_minute"})
