from datetime import date

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from statelessness.domain import (
    appeal_outcome,
    AppealDecided,
    AppealLodged,
    AppealOutcome,
    CaseStatus,
    Outcome,
    PersonRecognisedStateless,
    StatelessnessRules,
)

DECIDED = date(2024, 6, 1)
NOTIFIED = date(2024, 6, 3)


@pytest.fixture
def refused(case, rules):
    case.hold_interview(held_on=date(2024, 3, 1), officer_id="o1")
    case.determine(
        outcome=Outcome.NOT_STATELESS, nationality="UZB", officer_id="o1", decided_on=DECIDED,
        notified_on=NOTIFIED, reasons="r", rules=rules,
    )
    case.collect_events()
    return case


def test_appeal_within_window_from_notification(refused, rules):
    assert refused.appeal_deadline_on(rules) == date(2024, 7, 3)
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 7, 3), rules=rules)
    assert refused.status is CaseStatus.UNDER_APPEAL
    assert refused.collect_events() == [
        AppealLodged(case_id="case-1", person_id="person-1", appeal_id="a1", lodged_on=date(2024, 7, 3))
    ]


def test_appeal_after_window_refused(refused, rules):
    with pytest.raises(RuleViolation) as err:
        refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 7, 4), rules=rules)
    assert err.value.rule == "appeal_window"


def test_appeal_window_is_configurable(refused):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 8, 1), rules=StatelessnessRules(appeal_window_days=60))


def test_appeal_before_notification_invalid(refused, rules):
    with pytest.raises(InvalidInput):
        refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 2), rules=rules)


def test_appeal_without_determination_refused(case, rules):
    with pytest.raises(RuleViolation) as err:
        case.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 3, 1), rules=rules)
    assert err.value.rule == "appeal_needs_determination"


def test_appeal_against_recognition_refused(case, rules):
    case.hold_interview(held_on=date(2024, 3, 1), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=DECIDED, reasons="r", rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 5), rules=rules)
    assert err.value.rule == "appeal_needs_refusal"


def test_second_appeal_refused(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    with pytest.raises(RuleViolation) as err:
        refused.lodge_appeal(appeal_id="a2", lodged_on=date(2024, 6, 11), rules=rules)
    assert err.value.rule == "appeal_already_lodged"


def test_appeal_decided_by_same_officer_refused(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    with pytest.raises(RuleViolation) as err:
        refused.decide_appeal(
            outcome=AppealOutcome.REJECTED, officer_id="o1", decided_on=date(2024, 7, 1), reasons="r", rules=rules
        )
    assert err.value.rule == "appeal_by_different_officer"


def test_appeal_decision_without_reasons_refused(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    with pytest.raises(RuleViolation) as err:
        refused.decide_appeal(
            outcome=AppealOutcome.REJECTED, officer_id="o2", decided_on=date(2024, 7, 1), reasons=" ", rules=rules
        )
    assert err.value.rule == "reasoned_decision"


def test_decide_appeal_not_pending_refused(refused, rules):
    with pytest.raises(RuleViolation) as err:
        refused.decide_appeal(
            outcome=AppealOutcome.REJECTED, officer_id="o2", decided_on=date(2024, 7, 1), reasons="r", rules=rules
        )
    assert err.value.rule == "appeal_not_pending"


def test_appeal_rejected_closes_case(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    refused.collect_events()
    refused.decide_appeal(
        outcome=AppealOutcome.REJECTED, officer_id="o2", decided_on=date(2024, 7, 1), reasons="r", rules=rules
    )
    assert refused.status is CaseStatus.CLOSED and refused.final_outcome is Outcome.NOT_STATELESS
    assert refused.collect_events() == [
        AppealDecided(
            case_id="case-1", person_id="person-1", appeal_id="a1", outcome="rejected",
            decided_on=date(2024, 7, 1), officer_id="o2",
        )
    ]


def test_appeal_allowed_recognises_person(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    refused.collect_events()
    refused.decide_appeal(
        outcome=AppealOutcome.ALLOWED, officer_id="o2", decided_on=date(2024, 7, 1), reasons="r", rules=rules
    )
    assert refused.recognised_stateless and refused.final_outcome is Outcome.STATELESS
    decided, recognised = refused.collect_events()
    assert isinstance(recognised, PersonRecognisedStateless) and recognised.recognised_on == date(2024, 7, 1)


def test_the_one_vocabulary_for_each_appeal_result():
    # the words rsd uses too (pana_events.vocabulary.AppealOutcome); this service's old words, seen from the
    # determination, read as their word: `upheld` (it stands) is `rejected`, `overturned` is `allowed`
    assert appeal_outcome("allowed") is AppealOutcome.ALLOWED and appeal_outcome("rejected") is AppealOutcome.REJECTED
    assert appeal_outcome("upheld") is AppealOutcome.REJECTED and appeal_outcome("overturned") is AppealOutcome.ALLOWED
    with pytest.raises(InvalidInput) as err:
        appeal_outcome("dismissed")
    assert err.value.rule == "appeal_result"


def test_a_remittal_is_refused_and_leaves_the_appeal_pending(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    refused.collect_events()
    with pytest.raises(InvalidInput) as err:
        refused.decide_appeal(outcome=AppealOutcome.REMITTED, officer_id="o2", decided_on=date(2024, 7, 1),
                              reasons="r", rules=rules)
    assert err.value.rule == "appeal_result"
    assert refused.status is CaseStatus.UNDER_APPEAL and refused.appeal.outcome is None
    assert refused.collect_events() == []


def test_a_death_closes_the_case_once(refused, rules):
    refused.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 6, 10), rules=rules)
    refused.collect_events()
    assert refused.close_on_death(died_on=date(2024, 6, 20)) is True
    assert refused.status is CaseStatus.CLOSED_ON_DEATH
    assert refused.close_on_death(died_on=date(2024, 6, 20)) is False
    [closed] = refused.collect_events()
    assert closed.died_on == date(2024, 6, 20)
    with pytest.raises(RuleViolation) as err:  # nothing more is decided in it
        refused.decide_appeal(outcome=AppealOutcome.ALLOWED, officer_id="o2", decided_on=date(2024, 7, 1),
                              reasons="r", rules=rules)
    assert err.value.rule == "appeal_not_pending"
