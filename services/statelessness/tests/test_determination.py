from datetime import date

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from statelessness.domain import (
    CaseStatus,
    InquiryAnswer,
    InterviewHeld,
    Outcome,
    PersonRecognisedStateless,
    StateLink,
    StatelessnessDetermined,
    StatelessnessRules,
)

DECIDED = date(2024, 6, 1)


def _interviewed(case):
    case.hold_interview(held_on=date(2024, 3, 1), officer_id="o1", interpreter_id="i1")
    return case


def test_interview_recorded(case):
    _interviewed(case)
    assert case.collect_events() == [
        InterviewHeld(case_id="case-1", person_id="person-1", held_on=date(2024, 3, 1), officer_id="o1")
    ]


def test_interview_bad_input(case):
    with pytest.raises(InvalidInput):
        case.hold_interview(held_on=date(2023, 12, 1), officer_id="o1")
    with pytest.raises(InvalidInput):
        case.hold_interview(held_on=date(2024, 3, 1), officer_id=" ")


def test_determination_without_interview_refused(case, rules):
    with pytest.raises(RuleViolation) as err:
        case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    assert err.value.rule == "interview_before_determination"
    assert case.status is CaseStatus.OPEN


def test_determination_without_reasons_refused(case, rules):
    _interviewed(case)
    with pytest.raises(RuleViolation) as err:
        case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="", rules=rules)
    assert err.value.rule == "reasoned_decision"


def test_recognised_stateless_adult_meets_certificate_age(case, rules):
    _interviewed(case).collect_events()
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="no State", rules=rules)
    assert case.status is CaseStatus.DETERMINED and case.recognised_stateless
    assert case.days_to_determination == (DECIDED - date(2024, 1, 15)).days
    determined, recognised = case.collect_events()
    assert determined == StatelessnessDetermined(
        case_id="case-1", person_id="person-1", outcome="stateless", nationality=None, decided_on=DECIDED, officer_id="o1"
    )
    assert recognised == PersonRecognisedStateless(
        case_id="case-1", person_id="person-1", recognised_on=DECIDED, meets_certificate_age=True,
        certificate_age_from=date(2006, 5, 1), certificate_validity_years=5,
    )


def test_recognised_child_below_certificate_age(open_case, rules):
    case = open_case(rules, birth_date=date(2010, 9, 1))
    _interviewed(case).collect_events()
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    recognised = case.collect_events()[-1]
    assert recognised.meets_certificate_age is False
    assert recognised.certificate_age_from == date(2026, 9, 1)


def test_recognised_unknown_birth_date(open_case, rules):
    case = open_case(rules, birth_date=None)
    _interviewed(case)
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    recognised = case.collect_events()[-1]
    assert recognised.meets_certificate_age is None and recognised.certificate_age_from is None


def test_certificate_age_is_configurable(open_case):
    rules = StatelessnessRules(certificate_min_age=18, certificate_validity_years=10)
    case = open_case(rules, birth_date=date(2007, 1, 1))
    _interviewed(case)
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    recognised = case.collect_events()[-1]
    assert recognised.meets_certificate_age is False and recognised.certificate_validity_years == 10


def test_not_stateless_names_nationality(case, rules):
    _interviewed(case).collect_events()
    case.determine(
        outcome=Outcome.NOT_STATELESS, nationality="uzb", officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules
    )
    [determined] = case.collect_events()
    assert determined.outcome == "not_stateless" and determined.nationality == "UZB"
    assert not case.recognised_stateless


def test_outcome_and_nationality_must_agree(case, rules):
    _interviewed(case)
    with pytest.raises(InvalidInput):
        case.determine(outcome=Outcome.NOT_STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    with pytest.raises(InvalidInput):
        case.determine(
            outcome=Outcome.STATELESS, nationality="UZB", officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules
        )
    with pytest.raises(InvalidInput):
        case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 1, 1), reasons="r", rules=rules)
    with pytest.raises(InvalidInput):
        case.determine(
            outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, notified_on=date(2024, 5, 1),
            reasons="r", rules=rules,
        )


def test_stateless_despite_confirmed_nationality_needs_reasons(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=date(2024, 2, 1), rules=rules)
    case.record_inquiry_answer(inquiry_id="q1", answer=InquiryAnswer.CONFIRMS_NATIONAL, answered_on=date(2024, 4, 1))
    _interviewed(case)
    with pytest.raises(RuleViolation) as err:
        case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    assert err.value.rule == "confirmed_nationality_needs_reasons"
    case.determine(
        outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules,
        confirmed_nationality_reasons="the consular letter contradicts the State's own nationality law",
    )
    assert case.recognised_stateless


def test_second_determination_refused(case, rules):
    _interviewed(case)
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    assert err.value.rule == "case_already_determined"
