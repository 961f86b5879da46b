"""A circuit breaker for registry calls, as a pure state machine.

closed    -> calls pass; `failure_threshold` consecutive failures open it.
open      -> calls are refused until `reset_timeout` has passed since it opened.
half_open -> up to `half_open_max_calls` trial calls pass; a success closes the
             circuit, a failure opens it again for another `reset_timeout`.

Time is passed in as seconds on a monotonic clock (the adapter passes
`time.monotonic()`), so a wall-clock jump can neither hold it open nor close it early.
The adapter raises `RegistryUnavailable` when `allow(now)` is False.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CircuitState = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    failure_threshold: int = 5
    reset_timeout: float = 30.0
    half_open_max_calls: int = 1
    state: CircuitState = field(default="closed", init=False)
    consecutive_failures: int = field(default=0, init=False)
    opened_at: float | None = field(default=None, init=False)
    trial_calls: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.half_open_max_calls < 1 or self.reset_timeout <= 0:
            raise ValueError("need failure_threshold >= 1, half_open_max_calls >= 1, reset_timeout > 0")

    def allow(self, now: float) -> bool:
        """May a call start now? In half-open, each True is one trial call taken."""
        if self.state == "open":
            assert self.opened_at is not None
            if now < self.opened_at + self.reset_timeout:
                return False
            self.state = "half_open"
            self.trial_calls = 0
        if self.state == "half_open":
            if self.trial_calls >= self.half_open_max_calls:
                return False
            self.trial_calls += 1
            return True
        return True

    def record_success(self) -> None:
        self.state = "closed"
        self.consecutive_failures = 0
        self.opened_at = None
        self.trial_calls = 0

    def record_failure(self, now: float) -> None:
        if self.state == "half_open":
            self._open(now)
            return
        if self.state == "open":
            return  # a call that began before the circuit opened; the timeout stands
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.failure_threshold:
            self._open(now)

    def retry_at(self) -> float | None:
        """When an open circuit will let a trial call through (None unless open)."""
        return None if self.state != "open" or self.opened_at is None else self.opened_at + self.reset_timeout

    def _open(self, now: float) -> None:
        self.state = "open"
        self.opened_at = now
        self.trial_calls = 0
