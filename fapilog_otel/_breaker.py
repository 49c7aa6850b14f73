"""The circuit breaker that keeps a failing plugin from costing every batch.

A plugin whose calls fail ``threshold`` times in a row is *opened*: for ``cooldown``
seconds it is not called at all (a processor is skipped, a redactor's records are
masked). Then one call is let through as a probe: success closes the circuit, failure
opens it again for twice as long, up to ``max_cooldown``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """The failure state of one plugin; used from one thread (the worker's).

    Args:
        threshold: Consecutive failures that open the circuit.
        cooldown: Seconds the first opening lasts.
        max_cooldown: Longest opening, however often the probe fails.
        clock: Monotonic time source (for tests).
    """

    __slots__ = (
        "_clock",
        "_cooldown",
        "_failures",
        "_open_until",
        "cooldown",
        "max_cooldown",
        "state",
        "threshold",
    )

    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 1.0,
        max_cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self._failures = 0
        self._cooldown = cooldown
        self._open_until = 0.0
        self.state = CLOSED

    def allows(self) -> bool:
        """Whether the plugin may be called now (a probe when the cooldown is over)."""
        if self.state == CLOSED:
            return True
        if self.state == OPEN and self._clock() >= self._open_until:
            self.state = HALF_OPEN
        return self.state == HALF_OPEN

    def success(self) -> None:
        """Record a call that worked: the circuit closes and the cooldown resets."""
        self._failures = 0
        self._cooldown = self.cooldown
        self.state = CLOSED

    def failure(self) -> None:
        """Record a failed call; open the circuit after ``threshold`` in a row or a failed probe."""
        self._failures += 1
        if self.state == HALF_OPEN:
            self._cooldown = min(self._cooldown * 2, self.max_cooldown)
            self._open(self._cooldown)
        elif self._failures >= self.threshold:
            self._open(self._cooldown)

    def _open(self, seconds: float) -> None:
        self.state = OPEN
        self._open_until = self._clock() + seconds
