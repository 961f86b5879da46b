from datetime import date

import pytest
from pana_kit.domain import InvalidInput, RuleViolation

from statelessness.domain import (
    NaturalizationDecided,
    NaturalizationOutcome,
    NaturalizationTrack,
    NaturalizationTrackOpened,
    Outcome,
    StatelessnessRules,
)

RESIDENT_FROM = date(2020, 2, 29)


@pytest.fixture
def recognised(case, rules):
    case.hold_interview(held_on=date(2024, 3, 1), officer_id="o1")
    case.determine(outcome=Outcome.STATELESS, officer_id="o1", decided_on=date(2024, 6, 1), reasons="r", rules=rules)
    return case


def _track(case, rules):
    return NaturalizationTrack.open_for(
        case, track_id="t1", lawful_residence_from=RESIDENT_FROM, opened_on=date(2024, 6, 2), rules=rules
    )


def test_eligible_from_is_residence_start_plus_configured_years(recognised, rules):
    track = _track(recognised, rules)
    assert track.eligible_from == date(2025, 2, 28)
    assert track.collect_events() == [
        NaturalizationTrackOpened(
            track_id="t1", person_id="person-1", case_id="case-1", lawful_residence_from=RESIDENT_FROM,
            eligible_from=date(2025, 2, 28),
        )
    ]
    assert _track(recognised, StatelessnessRules(naturalization_residence_years=7)).eligible_from == date(2027, 2, 28)


def test_track_only_for_recognised_stateless(case, rules):
    with pytest.raises(RuleViolation) as err:
        _track(case, rules)
    assert err.value.rule == "naturalization_for_recognised_stateless"


def test_residence_start_after_opening_invalid(recognised, rules):
    with pytest.raises(InvalidInput):
        NaturalizationTrack.open_for(
            recognised, track_id="t1", lawful_residence_from=date(2024, 7, 1), opened_on=date(2024, 6, 2), rules=rules
        )


def test_decision_before_eligibility_refused(recognised, rules):
    track = _track(recognised, rules)
    with pytest.raises(RuleViolation) as err:
        track.decide(outcome=NaturalizationOutcome.GRANTED, decided_on=date(2025, 2, 27))
    assert err.value.rule == "naturalization_residence_requirement"
    assert not track.decided


def test_granted_records_event(recognised, rules):
    track = _track(recognised, rules)
    track.collect_events()
    track.decide(outcome=NaturalizationOutcome.GRANTED, decided_on=date(2025, 2, 28))
    assert track.collect_events() == [
        NaturalizationDecided(track_id="t1", person_id="person-1", outcome="granted", decided_on=date(2025, 2, 28))
    ]


def test_refusal_needs_reasons_and_second_decision_refused(recognised, rules):
    track = _track(recognised, rules)
    with pytest.raises(RuleViolation) as err:
        track.decide(outcome=NaturalizationOutcome.REFUSED, decided_on=date(2025, 3, 1))
    assert err.value.rule == "reasoned_decision"
    track.decide(outcome=NaturalizationOutcome.REFUSED, decided_on=date(2025, 3, 1), reasons="residence interrupted")
    with pytest.raises(RuleViolation) as err:
        track.decide(outcome=NaturalizationOutcome.GRANTED, decided_on=date(2025, 4, 1))
    assert err.value.rule == "naturalization_already_decided"


def test_eligible_now_and_soon(recognised, rules):
    track = _track(recognised, rules)
    assert not track.is_eligible(date(2024, 11, 29)) and not track.is_eligible_soon(date(2024, 11, 29), rules)
    assert track.is_eligible_soon(date(2024, 11, 30), rules)
    assert track.is_eligible(date(2025, 2, 28)) and not track.is_eligible_soon(date(2025, 2, 28), rules)
