"""One request sent with retries until a deadline: the loop both HTTP-based exporters share
(the OTLP exporter and the ``http`` webhook exporter).

The transport says what each attempt came to (an :class:`~fapilog_otel.otlp._transport.
Attempt`); this loop counts the attempt by its reason, waits as :class:`~fapilog_otel.otlp.
_retry.Backoff` says (the server's hint first), gives up when the next attempt would end
past the deadline, and stops at once when the exporter shuts down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fapilog_otel.otlp._outcomes import Outcomes
from fapilog_otel.otlp._retry import Backoff
from fapilog_otel.otlp._transport import Attempt

__all__ = ["send_with_retries"]


def send_with_retries(
    send: Callable[[float], Attempt],
    count: int,
    deadline: float,
    *,
    initial_backoff: float,
    stopping: threading.Event,
    outcomes: Outcomes,
    warn: Callable[[str, str], None],
) -> tuple[Attempt | None, str]:
    """Call ``send(seconds left)`` until an attempt is accepted or retrying must stop.

    Args:
        send: Makes one attempt within the seconds it is given.
        count: The records the request holds (for the warnings).
        deadline: ``time.monotonic()`` after which no attempt starts.
        initial_backoff: The first wait between attempts, in seconds.
        stopping: Set when the exporter shuts down: a wait ends at once.
        outcomes: Where each failed attempt (its reason) and each retry are counted.
        warn: Reports a failure on the diagnostics channel (a key and a message).

    Returns:
        The accepted attempt and ``""``; or None and why the records were not delivered:
        ``not_retryable``, ``retries_exhausted`` or ``shutdown`` (the caller counts them).
    """
    backoff = Backoff(deadline, initial_backoff)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            warn("timeout", f"gave up on {count} records: the export timeout ran out")
            return None, "retries_exhausted"
        attempt = send(remaining)
        if attempt.accepted:
            return attempt, ""
        outcomes.add(attempt.reason)
        if not attempt.retryable:
            warn(attempt.reason, f"dropped {count} records: {attempt.detail} (not retryable)")
            return None, "not_retryable"
        delay = backoff.next_delay(attempt.retry_after)
        if delay is None:
            warn(
                attempt.reason,
                f"gave up on {count} records: {attempt.detail}; the next attempt would end "
                "past the export timeout",
            )
            return None, "retries_exhausted"
        if stopping.wait(delay):
            return None, "shutdown"
        outcomes.add("retries")
