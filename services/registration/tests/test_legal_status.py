from datetime import date

import pytest
from pana_kit.domain import InvalidInput

from registration.domain import FactKind, LegalStatus, StatusFact, project_legal_status, status_changes


def fact(kind, day, eid=None):
    return StatusFact(kind, day, eid or f"{kind}-{day}")


def test_asylum_to_refugee_to_former_refugee():
    facts = [fact("asylum_application_registered", date(2024, 1, 1)),
             fact("refugee_status_recognised", date(2024, 6, 1)),
             fact("refugee_status_ceased", date(2025, 1, 1))]
    p = project_legal_status("p", reversed(facts))  # order of arrival does not matter
    assert [h.status for h in p.history] == [LegalStatus.ASYLUM_SEEKER, LegalStatus.REFUGEE, LegalStatus.FORMER_REFUGEE]
    assert p.as_of(date(2024, 7, 1)) is LegalStatus.REFUGEE and p.as_of(date(2023, 1, 1)) is LegalStatus.NONE


def test_rejection_is_final_only_after_appeal_route():
    facts = [fact("asylum_application_registered", date(2024, 1, 1)),
             fact("asylum_application_rejected", date(2024, 5, 1)),
             fact("asylum_appeal_lodged", date(2024, 5, 20)),
             fact("asylum_rejection_final", date(2024, 9, 1))]
    p = project_legal_status("p", facts)
    assert p.as_of(date(2024, 6, 1)) is LegalStatus.ASYLUM_SEEKER
    assert p.status is LegalStatus.REJECTED_ASYLUM_SEEKER


def test_statelessness_track_and_naturalization():
    facts = [fact("statelessness_application_lodged", date(2020, 1, 1)),
             fact("statelessness_determined", date(2020, 9, 1)),
             fact("naturalized", date(2025, 1, 1))]
    p = project_legal_status("p", facts)
    assert [h.status for h in p.history] == [LegalStatus.STATELESS_APPLICANT, LegalStatus.STATELESS,
                                             LegalStatus.CITIZEN_AFTER_NATURALIZATION]


def test_refugee_takes_precedence_over_stateless_and_redelivery_is_ignored():
    f = fact("statelessness_determined", date(2020, 1, 1), "e1")
    p = project_legal_status("p", [f, f, fact("refugee_status_recognised", date(2021, 1, 1), "e2")])
    assert p.status is LegalStatus.REFUGEE and p.statelessness_track is LegalStatus.STATELESS
    assert len(p.history) == 2


def test_status_changes_events():
    before = project_legal_status("p", [fact("asylum_application_registered", date(2024, 1, 1))])
    after = project_legal_status("p", [fact("asylum_application_registered", date(2024, 1, 1)),
                                       fact("refugee_status_recognised", date(2024, 6, 1))])
    [event] = status_changes(before, after)
    assert (event.previous_status, event.status, event.since) == ("asylum_seeker", "refugee", date(2024, 6, 1))
    assert status_changes(after, after) == []


def test_unknown_fact_refused():
    with pytest.raises(InvalidInput):
        StatusFact("status_set_by_hand", date(2024, 1, 1), "x")
    assert FactKind("died") is FactKind.DIED


def test_each_track_takes_only_its_procedures_words_from_the_contract():
    from pana_events.vocabulary import ASYLUM_PROCEDURE_STATUSES, STATELESSNESS_PROCEDURE_STATUSES

    from registration.domain import legal_status

    assert set(legal_status._RSD.values()) <= set(ASYLUM_PROCEDURE_STATUSES)
    assert set(legal_status._STATELESSNESS.values()) <= set(STATELESSNESS_PROCEDURE_STATUSES)
    assert set(legal_status.PRECEDENCE) == set(LegalStatus)
