"""A circuit breaker: after repeated failures, stop calling for a while instead of waiting."""

from __future__ import annotations

import time


class CircuitBreaker:
    def __init__(self, failures_to_open: int = 3, cool_down_seconds: float = 5.0) -> None:
        self.failures_to_open = failures_to_open
        self.cool_down_seconds = cool_down_seconds
        self._failures = 0
        self._opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def allows(self) -> bool:
        """Closed: yes. Open: no, until the cool-down passes; then one trial call (half-open)."""
        if self._opened_at is None:
            return True
        if time.monotonic() - self._opened_at >= self.cool_down_seconds:
            self._opened_at = time.monotonic()  # the next trial waits for another cool-down
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None

    def record_failure(self) -> None:
        self._failures += 1
        if self._failures >= self.failures_to_open:
            self._opened_at = time.monotonic()
