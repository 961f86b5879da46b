from datetime import date

import pytest

from statelessness.domain import (
    ChildAtRiskFlag,
    InquiryAnswer,
    NaturalizationTrack,
    Outcome,
    ParentNationality,
    ResolutionBasis,
    StateLink,
    count_by_age_bracket,
    eligible_for_naturalization_now,
    eligible_for_naturalization_soon,
    median_days_to_determination,
    open_child_flags,
    overdue_cases,
    overdue_inquiries,
    recognised_by_age_bracket,
    reply_rate_by_state,
)


@pytest.fixture
def cases(open_case, rules):
    a = open_case(rules, case_id="a", person_id="pa", birth_date=date(2015, 1, 1))
    b = open_case(rules, case_id="b", person_id="pb", birth_date=date(1950, 1, 1), opened_on=date(2024, 2, 1))
    c = open_case(rules, case_id="c", person_id="pc", birth_date=None)
    a.send_inquiry(inquiry_id="qa1", state="UZB", link=StateLink.BIRTH, sent_on=date(2024, 2, 1), rules=rules)
    a.send_inquiry(inquiry_id="qa2", state="RUS", link=StateLink.DESCENT, sent_on=date(2024, 2, 1), rules=rules)
    b.send_inquiry(inquiry_id="qb1", state="UZB", link=StateLink.RESIDENCE, sent_on=date(2024, 3, 1), rules=rules)
    c.send_inquiry(inquiry_id="qc1", state="UZB", link=StateLink.MARRIAGE, sent_on=date(2024, 1, 20), rules=rules)
    a.record_inquiry_answer(inquiry_id="qa2", answer=InquiryAnswer.DENIES, answered_on=date(2024, 3, 1))
    c.record_inquiry_unanswered(inquiry_id="qc1", today=date(2024, 7, 21))
    for case, day in ((a, date(2024, 4, 15)), (b, date(2024, 5, 1))):
        case.hold_interview(held_on=date(2024, 3, 10), officer_id="o1")
        case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=day, reasons="r", rules=rules)
    return [a, b, c]


def test_overdue_inquiries(cases):
    found = overdue_inquiries(cases, date(2024, 8, 2))
    assert [(case.case_id, inquiry.inquiry_id) for case, inquiry in found] == [("a", "qa1")]
    found = overdue_inquiries(cases, date(2024, 9, 2))
    assert [inquiry.inquiry_id for _, inquiry in found] == ["qa1", "qb1"]
    assert overdue_inquiries(cases, date(2024, 8, 1)) == []


def test_overdue_cases(cases):
    assert overdue_cases(cases, date(2024, 7, 15)) == []
    assert [c.case_id for c in overdue_cases(cases, date(2024, 7, 16))] == ["c"]


def test_median_days_to_determination(cases):
    # a: 15 Jan -> 15 Apr = 91 days; b: 1 Feb -> 1 May = 90 days
    assert median_days_to_determination(cases) == 90.5
    assert median_days_to_determination([]) is None


def test_reply_rate_by_state(cases):
    rates = reply_rate_by_state(cases)
    assert list(rates) == ["RUS", "UZB"]
    assert (rates["RUS"].sent, rates["RUS"].answered, rates["RUS"].rate) == (1, 1, 1.0)
    uzb = rates["UZB"]
    assert (uzb.sent, uzb.answered, uzb.unanswered, uzb.awaiting) == (3, 0, 1, 2)
    assert uzb.rate == 0.0


def test_age_brackets(cases):
    on = date(2024, 12, 31)
    counts = recognised_by_age_bracket(cases, on)
    assert counts == {"0-4": 0, "5-11": 1, "12-17": 0, "18-59": 0, "60+": 1, "unknown": 0}
    masked = count_by_age_bracket([c.birth_date for c in cases], on, mask_below=5)
    assert masked["5-11"] == "*" and masked["unknown"] == "*" and masked["0-4"] == 0


def test_naturalization_lists(cases, rules):
    tracks = [
        NaturalizationTrack.open_for(
            case, track_id=f"t-{case.case_id}", lawful_residence_from=start, opened_on=date(2024, 6, 1), rules=rules
        )
        for case, start in ((cases[0], date(2019, 1, 1)), (cases[1], date(2019, 8, 1)))
    ]
    today = date(2024, 6, 1)
    assert [t.track_id for t in eligible_for_naturalization_now(tracks, today)] == ["t-a"]
    assert [t.track_id for t in eligible_for_naturalization_soon(tracks, today, rules)] == ["t-b"]
    tracks[0].decide(outcome="granted", decided_on=today)
    assert eligible_for_naturalization_now(tracks, today) == []


def test_open_child_flags(rules):
    flags = [
        ChildAtRiskFlag.raise_for_birth(
            flag_id=f"f{i}", child_id=f"c{i}", birth_date=date(2024, 1, 1), born_in_kazakhstan=True,
            foundling=False, parents=[ParentNationality.STATELESS], parents_reside_permanently=True,
            flagged_on=date(2024, 1, 2 + i), rules=rules,
        )
        for i in range(2)
    ]
    flags[0].resolve(basis=ResolutionBasis.KAZAKH_CITIZENSHIP_BY_BIRTH, resolved_on=date(2024, 2, 1), rules=rules)
    assert [f.flag_id for f in open_child_flags(flags)] == ["f1"]
