import random
from datetime import date, timedelta

import pytest
from pana_kit.domain import InvalidInput

from civil_registry_bridge.domain.rules import BridgeRules, backoff_delay

BASE, MAX = timedelta(seconds=1), timedelta(seconds=60)


def test_backoff_doubles_and_is_capped_with_fixed_random():
    low = [backoff_delay(n, base=BASE, maximum=MAX, random=lambda: 0.0) for n in range(1, 10)]
    high = [backoff_delay(n, base=BASE, maximum=MAX, random=lambda: 0.999999) for n in range(1, 10)]
    assert [d.total_seconds() for d in low] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    for delay, n in zip(high, range(1, 10)):
        ceiling = min(MAX, BASE * 2 ** (n - 1))
        assert ceiling * 0.99 < delay <= ceiling


def test_backoff_is_jittered_yet_reproducible_with_a_seed():
    first = [backoff_delay(5, base=BASE, maximum=MAX, random=random.Random(7).random) for _ in range(1)]
    again = [backoff_delay(5, base=BASE, maximum=MAX, random=random.Random(7).random) for _ in range(1)]
    assert first == again
    source = random.Random(1)
    spread = {backoff_delay(5, base=BASE, maximum=MAX, random=source.random) for _ in range(50)}
    assert len(spread) > 40
    assert all(timedelta(seconds=8) <= d < timedelta(seconds=16) for d in spread)


def test_backoff_survives_huge_attempt_counts():
    assert backoff_delay(10_000, base=BASE, maximum=MAX, random=lambda: 0.5) <= MAX


@pytest.mark.parametrize("bad", [lambda: 1.0, lambda: -0.1])
def test_backoff_refuses_a_random_source_out_of_range(bad):
    with pytest.raises(ValueError):
        backoff_delay(1, base=BASE, maximum=MAX, random=bad)


def test_backoff_refuses_attempt_zero():
    with pytest.raises(ValueError):
        backoff_delay(0, base=BASE, maximum=MAX, random=lambda: 0.0)


def test_registration_deadline_is_three_working_days():
    rules = BridgeRules()
    assert rules.registration_deadline(date(2024, 6, 12)) == date(2024, 6, 17)  # Wed -> Mon
    assert rules.registration_deadline(date(2024, 6, 14)) == date(2024, 6, 19)  # Fri -> Wed


def test_registration_deadline_skips_configured_holidays():
    rules = BridgeRules(public_holidays=frozenset({date(2024, 6, 17)}))
    assert rules.registration_deadline(date(2024, 6, 12)) == date(2024, 6, 18)


def test_rules_refuse_inconsistent_configuration():
    with pytest.raises(InvalidInput):
        BridgeRules(retry_base_delay=timedelta(seconds=10), retry_max_delay=timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        BridgeRules(max_attempts=0)
    with pytest.raises(InvalidInput):
        BridgeRules(on_attempts_exhausted="drop")  # type: ignore[arg-type]


def test_defaults():
    rules = BridgeRules()
    assert rules.auto_submit_when_not_found is True
    assert rules.birth_registration_working_days == 3
    assert rules.retry_delay(1, lambda: 0.0) == timedelta(milliseconds=500)
