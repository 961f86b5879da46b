from datetime import date

import pytest
from pana_kit.domain import InvalidInput, NotFound, RuleViolation

from statelessness.domain import (
    BroughtBy,
    EvidenceAdded,
    EvidenceKind,
    InquiryAnswer,
    InquiryAnswered,
    InquirySent,
    InquiryStatus,
    InquiryUnanswered,
    Outcome,
    StateLink,
    StatelessnessRules,
)

SENT = date(2024, 2, 1)


def test_send_inquiry_sets_six_month_deadline(case, rules):
    inquiry = case.send_inquiry(inquiry_id="q1", state="uzb", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    assert inquiry.state == "UZB" and inquiry.reply_due == date(2024, 8, 1)
    [event] = case.collect_events()
    assert event == InquirySent(
        case_id="case-1", person_id="person-1", inquiry_id="q1", state="UZB", link="birth",
        sent_on=SENT, reply_due=date(2024, 8, 1),
    )


def test_reply_deadline_is_configurable(case):
    inquiry = case.send_inquiry(
        inquiry_id="q1", state="UZB", link=StateLink.DESCENT, sent_on=SENT, rules=StatelessnessRules(inquiry_reply_months=3)
    )
    assert inquiry.reply_due == date(2024, 5, 1)


def test_confidentiality_of_asylum_refuses_inquiry_to_feared_state(case, rules):
    with pytest.raises(RuleViolation) as err:
        case.send_inquiry(inquiry_id="q1", state="AFG", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    assert err.value.rule == "confidentiality_of_asylum"
    assert case.inquiries == [] and case.collect_events() == []


def test_feared_states_projection_can_be_updated(case, rules):
    case.update_feared_states(["uzb"])
    with pytest.raises(RuleViolation) as err:
        case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.RESIDENCE, sent_on=SENT, rules=rules)
    assert err.value.rule == "confidentiality_of_asylum"
    case.send_inquiry(inquiry_id="q2", state="AFG", link=StateLink.RESIDENCE, sent_on=SENT, rules=rules)


def test_second_open_inquiry_to_same_state_refused(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.send_inquiry(inquiry_id="q2", state="uzb", link=StateLink.MARRIAGE, sent_on=SENT, rules=rules)
    assert err.value.rule == "inquiry_already_open"


def test_inquiry_refused_after_determination(case, rules):
    case.hold_interview(held_on=date(2024, 2, 1), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 3, 1), reasons="r", rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    assert err.value.rule == "case_already_determined"


def test_inquiry_bad_input(case, rules):
    with pytest.raises(InvalidInput):
        case.send_inquiry(inquiry_id="q1", state=" ", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    with pytest.raises(InvalidInput):
        case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=date(2023, 1, 1), rules=rules)
    with pytest.raises(NotFound):
        case.record_inquiry_answer(inquiry_id="nope", answer=InquiryAnswer.DENIES, answered_on=SENT)


@pytest.mark.parametrize("answer", list(InquiryAnswer))
def test_answer_recorded_as_officer_sought_evidence(case, rules, answer):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    case.collect_events()
    case.record_inquiry_answer(inquiry_id="q1", answer=answer, answered_on=date(2024, 5, 1))
    inquiry = case.inquiry("q1")
    assert inquiry.status is InquiryStatus.ANSWERED and inquiry.answer is answer
    answered, added = case.collect_events()
    assert isinstance(answered, InquiryAnswered) and answered.answer == answer.value and not answered.late
    assert isinstance(added, EvidenceAdded)
    [item] = case.evidence
    assert item.kind is EvidenceKind.INQUIRY_RESULT and item.brought_by is BroughtBy.OFFICER and item.source == "UZB"


def test_answer_twice_refused(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    case.record_inquiry_answer(inquiry_id="q1", answer=InquiryAnswer.DENIES, answered_on=date(2024, 5, 1))
    with pytest.raises(RuleViolation) as err:
        case.record_inquiry_answer(inquiry_id="q1", answer=InquiryAnswer.DENIES, answered_on=date(2024, 5, 2))
    assert err.value.rule == "inquiry_already_answered"
    with pytest.raises(RuleViolation) as err:
        case.record_inquiry_unanswered(inquiry_id="q1", today=date(2025, 1, 1))
    assert err.value.rule == "inquiry_already_answered"


def test_answer_before_inquiry_is_invalid(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    with pytest.raises(InvalidInput):
        case.record_inquiry_answer(inquiry_id="q1", answer=InquiryAnswer.DENIES, answered_on=date(2024, 1, 31))


def test_unanswered_past_deadline_is_a_finding(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    case.collect_events()
    assert case.overdue_inquiries(date(2024, 8, 1)) == []
    assert [i.inquiry_id for i in case.overdue_inquiries(date(2024, 8, 2))] == ["q1"]
    case.record_inquiry_unanswered(inquiry_id="q1", today=date(2024, 8, 2))
    assert case.inquiry("q1").status is InquiryStatus.UNANSWERED
    finding, added = case.collect_events()
    assert finding == InquiryUnanswered(
        case_id="case-1", person_id="person-1", inquiry_id="q1", state="UZB",
        reply_due=date(2024, 8, 1), found_on=date(2024, 8, 2),
    )
    assert case.evidence[0].evidence_id == "q1/no-reply"
    assert case.overdue_inquiries(date(2024, 9, 1)) == []


def test_unanswered_before_deadline_refused(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    with pytest.raises(RuleViolation) as err:
        case.record_inquiry_unanswered(inquiry_id="q1", today=date(2024, 8, 1))
    assert err.value.rule == "inquiry_reply_deadline"


def test_late_reply_after_finding_is_still_recorded(case, rules):
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=SENT, rules=rules)
    case.record_inquiry_unanswered(inquiry_id="q1", today=date(2024, 8, 2))
    case.collect_events()
    case.record_inquiry_answer(inquiry_id="q1", answer=InquiryAnswer.CONFIRMS_NATIONAL, answered_on=date(2024, 9, 1))
    answered = case.collect_events()[0]
    assert answered.late is True
    # once settled, a new inquiry to the same State is allowed
    case.send_inquiry(inquiry_id="q2", state="UZB", link=StateLink.DESCENT, sent_on=date(2024, 9, 2), rules=rules)
