import json
from datetime import date

from statelessness.domain import (
    AppealOutcome,
    BroughtBy,
    ChildAtRiskFlag,
    Evidence,
    EvidenceKind,
    EvidenceWeight,
    InquiryAnswer,
    NaturalizationOutcome,
    NaturalizationTrack,
    OpeningReason,
    Outcome,
    ParentNationality,
    PersonRecognisedStateless,
    ResolutionBasis,
    StateLink,
)


def _round_trip(obj):
    doc = obj.to_document()
    restored = type(obj).from_document(json.loads(json.dumps(doc)))
    assert restored == obj
    assert restored.to_document() == doc
    return restored


def test_fresh_case_round_trips(open_case, rules):
    case = open_case(rules, reason=OpeningReason.CHILD_AT_RISK, opened_by="o9", reason_note="flag f1")
    restored = _round_trip(case)
    assert restored.pending_events == []


def test_full_case_round_trips_and_keeps_working(open_case, rules):
    case = open_case(rules)
    case.add_evidence(
        Evidence("e1", EvidenceKind.TESTIMONY, "applicant", EvidenceWeight.MEDIUM, BroughtBy.APPLICANT, date(2024, 2, 1), "statement")
    )
    case.send_inquiry(inquiry_id="q1", state="UZB", link=StateLink.BIRTH, sent_on=date(2024, 2, 1), rules=rules)
    case.send_inquiry(inquiry_id="q2", state="RUS", link=StateLink.DESCENT, sent_on=date(2024, 2, 1), rules=rules)
    case.record_inquiry_answer(inquiry_id="q1", answer=InquiryAnswer.PARTIAL, answered_on=date(2024, 3, 1))
    case.record_inquiry_unanswered(inquiry_id="q2", today=date(2024, 8, 2))
    case.hold_interview(held_on=date(2024, 3, 5), officer_id="o1", interpreter_id="i1", legal_representative_present=True)
    case.extend_decision_deadline(new_due=date(2024, 10, 1), reasons="r", extended_on=date(2024, 7, 1), rules=rules)
    case.determine(
        outcome=Outcome.NOT_STATELESS, nationality="UZB", officer_id="o1", decided_on=date(2024, 9, 1),
        notified_on=date(2024, 9, 2), reasons="r", rules=rules,
    )
    case.lodge_appeal(appeal_id="a1", lodged_on=date(2024, 9, 10), rules=rules)
    restored = _round_trip(case)

    restored.decide_appeal(
        outcome=AppealOutcome.OVERTURNED, officer_id="o2", decided_on=date(2024, 10, 1), reasons="r", rules=rules
    )
    assert isinstance(restored.collect_events()[-1], PersonRecognisedStateless)
    _round_trip(restored)


def test_child_flag_round_trips(rules):
    flag = ChildAtRiskFlag.raise_for_birth(
        flag_id="f1", child_id="c1", birth_date=date(2024, 1, 1), born_in_kazakhstan=True, foundling=False,
        parents=[ParentNationality.STATELESS, ParentNationality.UNDETERMINED], parents_reside_permanently=False,
        flagged_on=date(2024, 1, 5), rules=rules,
    )
    _round_trip(flag)
    flag.resolve(basis=ResolutionBasis.OTHER_STATE_NATIONALITY, nationality="KGZ", resolved_on=date(2024, 6, 1), rules=rules)
    _round_trip(flag)


def test_naturalization_track_round_trips(open_case, rules):
    case = open_case(rules)
    case.hold_interview(held_on=date(2024, 3, 5), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 6, 1), reasons="r", rules=rules)
    track = NaturalizationTrack.open_for(
        case, track_id="t1", lawful_residence_from=date(2018, 1, 1), opened_on=date(2024, 6, 2), rules=rules
    )
    _round_trip(track)
    track.decide(outcome=NaturalizationOutcome.REFUSED, decided_on=date(2024, 7, 1), reasons="r")
    _round_trip(track)


def test_event_payload_is_json_able(open_case, rules):
    case = open_case(rules)
    [event] = case.collect_events()
    payload = event.payload()
    assert json.loads(json.dumps(payload))["opened_on"] == "2024-01-15"
    assert type(event).name == "statelessness.case.opened.v1"
