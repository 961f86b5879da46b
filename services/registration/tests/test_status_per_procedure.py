"""Per-procedure status and documents: each document follows its own procedure's track; the combined
status follows the precedence table (docs/domain.md, Registration)."""

from datetime import date

import pytest

from registration.domain import (
    FactKind, IssuedDocumentKind, LegalStatus, RegistrationRules, StatusFact, backed_by, certificate_expiry,
    combined_status, document_number, issue_asylum_seeker_certificate, issue_refugee_certificate,
    issue_stateless_person_certificate, project_legal_status, revoke_unbacked, unaccompanied_minor,
)

RULES = RegistrationRules()
ADULT = date(1990, 5, 4)
D0 = date(2025, 1, 10)
ASC, RF, SP = (IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, IssuedDocumentKind.REFUGEE_CERTIFICATE,
               IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE)
L = LegalStatus


def facts(*kinds: str) -> list[StatusFact]:
    return [StatusFact(FactKind(k), date(2025, 1, 1 + i), f"{k}-{i}") for i, k in enumerate(kinds)]


def documents():
    return [
        issue_asylum_seeker_certificate(number=document_number(ASC, 2025, 1), holder_person_id="p",
                                        holder_birth_date=ADULT, registered_on=D0, rules=RULES),
        issue_refugee_certificate(number=document_number(RF, 2025, 2), holder_person_id="p", holder_birth_date=ADULT,
                                  issued_on=D0, rules=RULES),
        issue_stateless_person_certificate(number=document_number(SP, 2025, 3), holder_person_id="p",
                                           holder_birth_date=ADULT, issued_on=D0, rules=RULES),
    ]


# (rsd track, statelessness track) -> the combined status shown: the precedence table of docs/domain.md.
COEXISTING = [
    (L.ASYLUM_SEEKER, L.STATELESS, L.ASYLUM_SEEKER),
    (L.ASYLUM_SEEKER, L.STATELESS_APPLICANT, L.ASYLUM_SEEKER),
    (L.ASYLUM_SEEKER, L.NOT_STATELESS, L.ASYLUM_SEEKER),
    (L.REFUGEE, L.STATELESS, L.REFUGEE),
    (L.REFUGEE, L.STATELESS_APPLICANT, L.REFUGEE),
    (L.REFUGEE, L.NOT_STATELESS, L.REFUGEE),
    (L.REJECTED_ASYLUM_SEEKER, L.STATELESS, L.STATELESS),
    (L.REJECTED_ASYLUM_SEEKER, L.STATELESS_APPLICANT, L.STATELESS_APPLICANT),
    (L.FORMER_REFUGEE, L.STATELESS, L.STATELESS),
    (L.FORMER_REFUGEE, L.STATELESS_APPLICANT, L.STATELESS_APPLICANT),
    (L.FORMER_ASYLUM_SEEKER, L.STATELESS, L.STATELESS),
    (L.REJECTED_ASYLUM_SEEKER, L.NOT_STATELESS, L.REJECTED_ASYLUM_SEEKER),
    (L.FORMER_REFUGEE, L.NOT_STATELESS, L.FORMER_REFUGEE),
    (L.FORMER_ASYLUM_SEEKER, L.NOT_STATELESS, L.FORMER_ASYLUM_SEEKER),
    (L.NONE, L.STATELESS, L.STATELESS),
    (L.ASYLUM_SEEKER, L.NONE, L.ASYLUM_SEEKER),
]


@pytest.mark.parametrize("rsd, stateless, shown", COEXISTING)
def test_combined_status_of_each_coexisting_pair(rsd, stateless, shown):
    assert combined_status(rsd, stateless) is shown
    assert combined_status(rsd, stateless, naturalized=True) is L.CITIZEN_AFTER_NATURALIZATION
    assert combined_status(rsd, stateless, naturalized=True, dead=True) is L.DECEASED


# Fact sequences for each coexisting pair, and which certificates stay valid.
PAIRS = [
    (("statelessness_determined", "asylum_application_registered"), L.ASYLUM_SEEKER, {ASC, SP}),
    (("asylum_application_registered", "statelessness_determined"), L.ASYLUM_SEEKER, {ASC, SP}),
    (("statelessness_determined", "refugee_status_recognised"), L.REFUGEE, {RF, SP}),
    (("statelessness_application_lodged", "asylum_application_registered"), L.ASYLUM_SEEKER, {ASC}),
    (("statelessness_determined", "asylum_application_registered", "asylum_rejection_final"), L.STATELESS, {SP}),
    (("statelessness_determined", "asylum_application_registered", "asylum_case_closed"), L.STATELESS, {SP}),
    (("statelessness_determined", "refugee_status_recognised", "refugee_status_ceased"), L.STATELESS, {SP}),
    (("statelessness_determined", "refugee_status_recognised", "refugee_status_revoked"), L.STATELESS, {SP}),
    (("statelessness_determined", "refugee_status_recognised", "stateless_status_ended"), L.REFUGEE, {RF}),
    (("asylum_application_registered", "statelessness_rejected"), L.ASYLUM_SEEKER, {ASC}),
    # Citizenship ends the need for protection: every protection document ends with naturalization (issue 13;
    # before, the refugee certificate stayed valid for a citizen).
    (("statelessness_determined", "refugee_status_recognised", "naturalized"), L.CITIZEN_AFTER_NATURALIZATION, set()),
    (("statelessness_determined", "asylum_application_registered", "naturalized"), L.CITIZEN_AFTER_NATURALIZATION,
     set()),
    (("statelessness_determined", "asylum_application_registered", "died"), L.DECEASED, set()),
    (("asylum_application_registered", "asylum_application_rejected", "asylum_appeal_lodged",
      "asylum_appeal_remitted"), L.ASYLUM_SEEKER, {ASC}),
]


@pytest.mark.parametrize("kinds, shown, valid", PAIRS)
def test_a_document_ends_only_with_its_own_procedure(kinds, shown, valid):
    projection = project_legal_status("p", facts(*kinds))
    assert projection.status is shown
    docs = documents()
    revoked = revoke_unbacked(docs, projection, on=date(2025, 2, 1))
    assert {d.kind for d in docs if d.state.value == "issued"} == valid
    assert {d.kind for d in revoked} == {ASC, RF, SP} - valid
    assert all(backed_by(k, projection) == (k in valid) for k in (ASC, RF, SP))


def test_lodging_asylum_keeps_the_stateless_certificate():
    projection = project_legal_status("p", facts("statelessness_determined", "asylum_application_registered"))
    docs = documents()[2:]
    assert revoke_unbacked(docs, projection, on=date(2025, 2, 1)) == []


def test_death_ends_every_document_with_its_reason():
    docs = documents()
    revoked = revoke_unbacked(docs, project_legal_status("p", facts("refugee_status_recognised", "died")),
                              on=date(2025, 2, 1))
    assert len(revoked) == 3 and {d.revocation_reason for d in revoked} == {"the holder died"}


def test_naturalization_revokes_the_refugee_certificate_as_acquiring_citizenship():
    projection = project_legal_status("p", facts("refugee_status_recognised", "naturalized"))
    assert projection.status is L.CITIZEN_AFTER_NATURALIZATION
    docs = documents()
    revoked = revoke_unbacked(docs, projection, on=date(2025, 2, 1))
    assert {d.kind for d in revoked} == {ASC, RF, SP} and {d.revocation_reason for d in revoked} == {"naturalized"}
    assert not any(backed_by(k, projection) for k in (ASC, RF, SP))


def test_remitted_appeal_keeps_the_asylum_seeker_status():
    p = project_legal_status("p", facts("asylum_application_registered", "asylum_application_rejected",
                                        "asylum_appeal_remitted"))
    assert p.status is L.ASYLUM_SEEKER and p.rsd_track is L.ASYLUM_SEEKER


# --- expiry and unaccompanied children ---------------------------------------------------

def test_expiry_is_rsds_when_requested_else_registrations():
    assert certificate_expiry(ASC, date(2026, 11, 2), RULES, requested_until=date(2027, 2, 2)) == date(2027, 2, 2)
    assert certificate_expiry(ASC, date(2026, 11, 2), RULES) == date(2027, 2, 1)
    assert certificate_expiry(RF, date(2026, 11, 2), RULES) == date(2027, 11, 1)
    assert certificate_expiry(SP, date(2026, 11, 2), RULES) == date(2031, 11, 1)
    cert = issue_asylum_seeker_certificate(number=document_number(ASC, 2026, 9), holder_person_id="p",
                                           holder_birth_date=ADULT, registered_on=date(2026, 11, 2), rules=RULES,
                                           valid_until=date(2027, 2, 2))
    assert cert.expires_on == date(2027, 2, 2)
    with pytest.raises(Exception):
        certificate_expiry(ASC, date(2026, 11, 2), RULES, requested_until=date(2026, 11, 1))


def test_unaccompanied_minor_decided_from_ages_on_the_day():
    on = date(2026, 11, 2)
    assert unaccompanied_minor(date(2012, 1, 1), [], on=on, rules=RULES)
    assert unaccompanied_minor(date(2012, 1, 1), [date(2015, 1, 1)], on=on, rules=RULES)  # with a younger sibling
    assert not unaccompanied_minor(date(2012, 1, 1), [date(1985, 1, 1)], on=on, rules=RULES)  # with an adult
    assert not unaccompanied_minor(ADULT, [], on=on, rules=RULES)
    assert not unaccompanied_minor(None, [], on=on, rules=RULES)
    assert not unaccompanied_minor(date(2008, 11, 2), [], on=on, rules=RULES)  # 18 that day
    assert unaccompanied_minor(date(2008, 11, 3), [], on=on, rules=RULES)  # 18 tomorrow


# --- property: documents and facts ----------------------------------------------------------

from datetime import timedelta  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402


RSD_FACTS = {k for k in FactKind if k.value.startswith(("asylum", "refugee", "case_"))}
STATELESSNESS_FACTS = {k for k in FactKind if "stateless" in k.value} | {FactKind.NATURALIZED}
# Death and acquiring citizenship end every document; any other fact only its own procedure's.
MAY_END = {**{k: {ASC, RF} for k in RSD_FACTS}, **{k: {SP} for k in STATELESSNESS_FACTS},
           FactKind.DIED: {ASC, RF, SP}, FactKind.NATURALIZED: {ASC, RF, SP}}


def test_every_fact_belongs_to_one_procedure():
    assert set(MAY_END) == set(FactKind) and not RSD_FACTS & STATELESSNESS_FACTS


GRANTS = {FactKind.ASYLUM_APPLICATION_REGISTERED: 0, FactKind.REFUGEE_STATUS_RECOGNISED: 1,
          FactKind.STATELESSNESS_DETERMINED: 2}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(FactKind)), max_size=12))
def test_a_fact_ends_only_its_own_procedures_documents(kinds):
    """Facts arrive one by one as the handlers apply them: the revocation runs, then the procedure that grants
    a document issues it when it backs it (not to the dead or the naturalized). A fact ends only documents of its own procedure (death ends all),
    a document still valid is backed by its procedure's facts, and a revoked document stays revoked."""
    docs = []
    so_far = []
    for i, kind in enumerate(kinds):
        so_far.append(StatusFact(kind, D0 + timedelta(days=i), f"f{i}"))
        projection = project_legal_status("p", so_far)
        before = {d.document_number for d in docs if d.state.value == "issued"}
        ended = revoke_unbacked(docs, projection, on=D0 + timedelta(days=i))
        assert {d.kind for d in ended} <= MAY_END[kind], (kind, ended)
        assert {d.document_number for d in docs if d.state.value == "issued"} == before - {
            d.document_number for d in ended}
        if kind in GRANTS and backed_by(documents()[GRANTS[kind]].kind, projection):  # as issue_document
            template = documents()[GRANTS[kind]]
            template.document_number = document_number(template.kind, 2025, 10 + i)
            docs.append(template)
        assert all(backed_by(d.kind, projection) for d in docs if d.state.value == "issued")
