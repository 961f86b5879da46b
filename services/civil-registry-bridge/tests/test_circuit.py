import pytest

from civil_registry_bridge.domain.circuit import CircuitBreaker


def test_closed_allows_and_success_resets_the_count():
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10)
    breaker.record_failure(0)
    breaker.record_failure(1)
    breaker.record_success()
    breaker.record_failure(2)
    breaker.record_failure(3)
    assert breaker.state == "closed" and breaker.allow(3)


def test_opens_after_consecutive_failures_and_refuses_calls():
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10)
    for t in (0, 1, 2):
        assert breaker.allow(t)
        breaker.record_failure(t)
    assert breaker.state == "open"
    assert breaker.retry_at() == 12
    assert not breaker.allow(5)
    assert not breaker.allow(11.999)


def test_half_open_after_the_timeout_lets_one_trial_through():
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10)
    breaker.record_failure(0)
    assert breaker.allow(10)
    assert breaker.state == "half_open"
    assert not breaker.allow(10.1)  # only one trial at a time


def test_trial_success_closes():
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10)
    breaker.record_failure(0)
    assert breaker.allow(10)
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.retry_at() is None
    assert all(breaker.allow(10 + i) for i in range(5))


def test_trial_failure_reopens_for_another_timeout():
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10)
    breaker.record_failure(0)
    breaker.record_failure(0)
    assert breaker.allow(10)
    breaker.record_failure(11)
    assert breaker.state == "open"
    assert not breaker.allow(20)
    assert breaker.allow(21)
    assert breaker.state == "half_open"


def test_a_late_failure_while_open_does_not_extend_the_timeout():
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10)
    breaker.record_failure(0)
    breaker.record_failure(8)  # a call that started before the circuit opened
    assert breaker.allow(10)


def test_several_trials_when_configured():
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5, half_open_max_calls=2)
    breaker.record_failure(0)
    assert breaker.allow(5) and breaker.allow(5)
    assert not breaker.allow(5)


@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"reset_timeout": 0}, {"half_open_max_calls": 0}])
def test_refuses_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        CircuitBreaker(**kwargs)
