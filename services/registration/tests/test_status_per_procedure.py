"""Per-procedure status and documents: each document follows its own procedure's track; the combined
status follows the precedence table (docs/domain.md, Registration)."""

from datetime import date

import pytest

from registration.domain import (
    FactKind, IssuedDocumentKind, LegalStatus, RegistrationRules, StatusFact, backed_by, certificate_expiry,
    combined_status, document_number, issue_asylum_seeker_certificate, issue_refugee_certificate,
    issue_stateless_person_certificate, issue_statelessness_procedure_certificate, project_legal_status,
    reissue_procedure_certificate, revoke_unbacked, unaccompanied_minor,
)

RULES = RegistrationRules()
ADULT = date(1990, 5, 4)
D0 = date(2025, 1, 10)
ASC, RF, SP = (IssuedDocumentKind.ASYLUM_SEEKER_CERTIFICATE, IssuedDocumentKind.REFUGEE_CERTIFICATE,
               IssuedDocumentKind.STATELESS_PERSON_CERTIFICATE)
SD = IssuedDocumentKind.STATELESSNESS_PROCEDURE_CERTIFICATE
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


@pytest.mark.parametrize("kinds", [("refugee_status_recognised", "citizenship_confirmed"),
                                   ("statelessness_determined", "citizenship_confirmed"),
                                   ("statelessness_application_lodged", "citizenship_confirmed")])
def test_kazakh_citizenship_confirmed_ends_every_protection_document(kinds):
    projection = project_legal_status("p", facts(*kinds))
    assert projection.status is L.CITIZEN and projection.acquired_citizenship
    docs = [*documents(), procedure_certificate()]
    revoked = revoke_unbacked(docs, projection, on=date(2025, 2, 1))
    assert len(revoked) == 4 and {d.revocation_reason for d in revoked} == {"citizen"}


def test_citizen_in_the_precedence_table():
    assert combined_status(L.REFUGEE, L.STATELESS, citizen=True) is L.CITIZEN
    assert combined_status(L.REFUGEE, L.STATELESS, naturalized=True, citizen=True) is L.CITIZEN_AFTER_NATURALIZATION
    assert combined_status(L.NONE, L.NONE, dead=True, citizen=True) is L.DECEASED


def test_remitted_appeal_keeps_the_asylum_seeker_status():
    p = project_legal_status("p", facts("asylum_application_registered", "asylum_application_rejected",
                                        "asylum_appeal_remitted"))
    assert p.status is L.ASYLUM_SEEKER and p.rsd_track is L.ASYLUM_SEEKER


# --- the statelessness procedure's lawful-stay paper ----------------------------------------

def procedure_certificate(on=D0, **kw):
    return issue_statelessness_procedure_certificate(number=document_number(SD, 2025, 4), holder_person_id="p",
                                                     holder_birth_date=ADULT, issued_on=on, rules=RULES, **kw)


@pytest.mark.parametrize("kinds, backed", [
    (("statelessness_application_lodged",), True),
    (("statelessness_application_lodged", "statelessness_rejected"), True),  # an appeal is possible
    (("statelessness_application_lodged", "statelessness_rejected", "statelessness_appeal_lodged"), True),
    (("statelessness_application_lodged", "statelessness_rejected", "statelessness_appeal_lodged",
      "statelessness_rejection_final"), False),
    (("statelessness_application_lodged", "statelessness_rejected", "statelessness_appeal_lodged",
      "statelessness_determined"), False),  # recognised on appeal: the stateless person's certificate instead
    (("statelessness_application_lodged", "statelessness_determined"), False),
    (("statelessness_application_lodged", "naturalized"), False),
    (("statelessness_application_lodged", "died"), False),
    # another procedure's facts never end it: an asylum claim lodged, rejected, recognised
    (("statelessness_application_lodged", "asylum_application_registered", "asylum_rejection_final"), True),
    (("statelessness_application_lodged", "refugee_status_recognised", "refugee_status_ceased"), True),
])
def test_the_procedure_certificate_lasts_as_long_as_the_statelessness_procedure(kinds, backed):
    projection = project_legal_status("p", facts(*kinds))
    assert backed_by(SD, projection) is backed
    doc = procedure_certificate()
    assert bool(revoke_unbacked([doc], projection, on=date(2025, 2, 1))) is not backed


def test_an_appeal_makes_the_applicant_an_applicant_again_and_a_rejected_appeal_is_final():
    after_first = project_legal_status("p", facts("statelessness_application_lodged", "statelessness_rejected"))
    assert after_first.status is L.NOT_STATELESS and after_first.statelessness_appealable
    appealed = project_legal_status("p", facts("statelessness_application_lodged", "statelessness_rejected",
                                               "statelessness_appeal_lodged"))
    assert appealed.status is L.STATELESS_APPLICANT
    final = project_legal_status("p", facts("statelessness_application_lodged", "statelessness_rejected",
                                            "statelessness_appeal_lodged", "statelessness_rejection_final"))
    assert final.status is L.NOT_STATELESS and not final.statelessness_appealable


def test_procedure_certificate_expiry_in_one_place():
    assert certificate_expiry(SD, date(2026, 11, 2), RULES) == date(2027, 5, 1)
    assert certificate_expiry(SD, date(2026, 11, 2), RegistrationRules(statelessness_procedure_certificate_months=12)
                              ) == date(2027, 11, 1)
    assert procedure_certificate(on=date(2026, 11, 2)).expires_on == date(2027, 5, 1)
    assert procedure_certificate(on=date(2026, 11, 2), valid_until=date(2026, 12, 2)).expires_on == date(2026, 12, 2)


def test_reissue_runs_the_paper_on_or_cuts_it_to_the_appeal_window():
    old = procedure_certificate(on=date(2026, 1, 10))  # to 2026-07-09
    renewed = reissue_procedure_certificate(old, number=document_number(SD, 2026, 5), on=date(2026, 6, 1),
                                            rules=RULES)
    assert renewed.expires_on == date(2026, 11, 30) and renewed.replaces == old.document_number
    assert old.replaced_by == renewed.document_number and old.state.value == "issued"  # valid to its own last day
    old = procedure_certificate(on=date(2026, 1, 10))
    cut = reissue_procedure_certificate(old, number=document_number(SD, 2026, 6), on=date(2026, 3, 1), rules=RULES,
                                        valid_until=date(2026, 3, 31))
    assert cut.expires_on == date(2026, 3, 31)
    assert old.state.value == "revoked" and old.revocation_reason == "superseded"  # would outlast the window
    with pytest.raises(Exception):  # a replaced paper is not reissued twice
        reissue_procedure_certificate(old, number=document_number(SD, 2026, 7), on=date(2026, 3, 2), rules=RULES)


def test_the_procedure_certificates_number_and_verification():
    from registration.domain import check_document_number, verify_document
    doc = procedure_certificate()
    assert doc.document_number.startswith("SD") and check_document_number(doc.document_number) is SD
    answer = verify_document(doc.document_number, doc, birth_date=ADULT, today=D0, rules=RULES)
    assert answer.outcome.value == "valid" and answer.status_category == "stateless_applicant"
    assert "medical_care" in answer.entitlements


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
MAY_END = {**{k: {ASC, RF} for k in RSD_FACTS}, **{k: {SP, SD} for k in STATELESSNESS_FACTS},
           FactKind.DIED: {ASC, RF, SP, SD}, FactKind.NATURALIZED: {ASC, RF, SP, SD},
           FactKind.CITIZENSHIP_CONFIRMED: {ASC, RF, SP, SD}}


def test_every_fact_belongs_to_one_procedure():
    assert set(MAY_END) == set(FactKind) and not RSD_FACTS & STATELESSNESS_FACTS
    assert FactKind.CITIZENSHIP_CONFIRMED not in RSD_FACTS | STATELESSNESS_FACTS  # ends every procedure's


GRANTS = {FactKind.ASYLUM_APPLICATION_REGISTERED: 0, FactKind.REFUGEE_STATUS_RECOGNISED: 1,
          FactKind.STATELESSNESS_DETERMINED: 2, FactKind.STATELESSNESS_APPLICATION_LODGED: 3,
          FactKind.STATELESSNESS_APPEAL_LODGED: 3}


def granted():
    return [*documents(), procedure_certificate()]


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
        if kind in GRANTS and backed_by(granted()[GRANTS[kind]].kind, projection):  # as issue_document
            template = granted()[GRANTS[kind]]
            template.document_number = document_number(template.kind, 2025, 10 + i)
            docs.append(template)
        assert all(backed_by(d.kind, projection) for d in docs if d.state.value == "issued")
