from datetime import date

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from statelessness.domain import (
    BroughtBy,
    CaseOpened,
    CaseStatus,
    DecisionDeadlineExtended,
    Evidence,
    EvidenceAdded,
    EvidenceKind,
    EvidenceWeight,
    OpeningReason,
    Outcome,
    StatelessnessRules,
)

OPENED = date(2024, 1, 15)


def test_open_on_application_sets_decision_due_and_records_event(open_case, rules):
    case = open_case(rules)
    assert case.status is CaseStatus.OPEN
    assert case.decision_due == date(2024, 7, 15)
    assert not case.ex_officio
    assert case.feared_states == frozenset({"AFG"})
    [event] = case.collect_events()
    assert event == CaseOpened(
        case_id="case-1", person_id="person-1", reason="application", ex_officio=False,
        opened_on=OPENED, decision_due=date(2024, 7, 15),
    )


@pytest.mark.parametrize(
    "reason",
    [
        OpeningReason.REGISTERED_WITHOUT_CITIZENSHIP,
        OpeningReason.CHILD_AT_RISK,
        OpeningReason.RSD_REJECTED_WITHOUT_NATIONALITY,
    ],
)
def test_open_ex_officio_records_reason_and_officer(open_case, rules, reason):
    case = open_case(rules, reason=reason, opened_by="officer-7", reason_note="rsd case 12 rejected")
    assert case.ex_officio and case.opened_by == "officer-7"
    [event] = case.collect_events()
    assert event.ex_officio and event.reason == reason.value


def test_ex_officio_opening_needs_an_officer(open_case, rules):
    with pytest.raises(InvalidInput):
        open_case(rules, reason=OpeningReason.CHILD_AT_RISK)


def test_decision_due_is_configurable(open_case):
    case = open_case(StatelessnessRules(decision_due_months=3, decision_max_months=9))
    assert case.decision_due == date(2024, 4, 15)


def _evidence(eid="e1", by=BroughtBy.APPLICANT):
    return Evidence(eid, EvidenceKind.DOCUMENT, "old Soviet passport", EvidenceWeight.MEDIUM, by, date(2024, 2, 1))


def test_evidence_records_shared_burden(case):
    case.add_evidence(_evidence("e1", BroughtBy.APPLICANT))
    case.add_evidence(
        Evidence("e2", EvidenceKind.TESTIMONY, "neighbour", EvidenceWeight.LOW, BroughtBy.OFFICER, date(2024, 2, 3))
    )
    assert [e.evidence_id for e in case.evidence_brought_by(BroughtBy.OFFICER)] == ["e2"]
    assert [type(e) for e in case.collect_events()] == [EvidenceAdded, EvidenceAdded]


def test_duplicate_evidence_id_refused(case):
    case.add_evidence(_evidence())
    with pytest.raises(InvalidInput):
        case.add_evidence(_evidence())


def test_evidence_needs_a_source():
    with pytest.raises(InvalidInput):
        Evidence("e", EvidenceKind.DOCUMENT, " ", EvidenceWeight.LOW, BroughtBy.APPLICANT, date(2024, 1, 1))


def test_evidence_refused_once_case_closed_to_it(case, rules):
    case.hold_interview(held_on=date(2024, 2, 1), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 3, 1), reasons="r", rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.add_evidence(_evidence())
    assert err.value.rule == "case_closed_to_evidence"


def test_extension_with_reasons_up_to_twelve_months(case, rules):
    case.extend_decision_deadline(
        new_due=date(2024, 10, 15), reasons="awaiting reply from UZB", extended_on=date(2024, 7, 1), rules=rules
    )
    case.extend_decision_deadline(
        new_due=date(2025, 1, 15), reasons="second interview needed", extended_on=date(2024, 10, 1), rules=rules
    )
    assert case.decision_due == date(2025, 1, 15)
    assert len(case.extensions) == 2
    events = case.collect_events()
    assert events[-1] == DecisionDeadlineExtended(
        case_id="case-1", person_id="person-1", previous_due=date(2024, 10, 15),
        decision_due=date(2025, 1, 15), extended_on=date(2024, 10, 1),
    )


def test_extension_without_reasons_refused(case, rules):
    with pytest.raises(RuleViolation) as err:
        case.extend_decision_deadline(new_due=date(2024, 9, 1), reasons="  ", extended_on=date(2024, 7, 1), rules=rules)
    assert err.value.rule == "decision_extension_needs_reasons"


def test_extension_beyond_twelve_months_refused(case, rules):
    with pytest.raises(RuleViolation) as err:
        case.extend_decision_deadline(
            new_due=date(2025, 1, 16), reasons="x", extended_on=date(2024, 7, 1), rules=rules
        )
    assert err.value.rule == "decision_deadline_limit"


def test_extension_must_move_date_later(case, rules):
    with pytest.raises(InvalidInput):
        case.extend_decision_deadline(new_due=date(2024, 7, 1), reasons="x", extended_on=date(2024, 6, 1), rules=rules)


def test_extension_refused_after_determination(case, rules):
    case.hold_interview(held_on=date(2024, 2, 1), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 3, 1), reasons="r", rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.extend_decision_deadline(new_due=date(2024, 9, 1), reasons="x", extended_on=date(2024, 7, 1), rules=rules)
    assert err.value.rule == "case_already_determined"


def test_overdue(case):
    assert not case.is_overdue(date(2024, 7, 15))
    assert case.is_overdue(date(2024, 7, 16))


def test_interview_refused_after_determination(case, rules):
    case.hold_interview(held_on=date(2024, 2, 1), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 3, 1), reasons="r", rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.hold_interview(held_on=date(2024, 3, 2), officer_id="o1")
    assert err.value.rule == "case_already_determined"
