"""When the OTLP exporter retries, and how long it waits.

The OTLP specification decides what is retryable: over HTTP only 429, 502, 503 and 504
(and a connection that failed or closed without a response); over gRPC the codes in
:data:`RETRYABLE_GRPC_CODES`, plus ``RESOURCE_EXHAUSTED`` when the server sent a
``RetryInfo`` saying when to come back. A server's hint (``Retry-After``, ``RetryInfo``) is
honoured; otherwise the wait grows exponentially with jitter. Every wait is bounded by the
export's deadline: a wait that would end past it is not started.
"""

from __future__ import annotations

import email.utils
import random
import time

#: HTTP statuses the specification calls retryable.
RETRYABLE_HTTP_STATUSES = frozenset({429, 502, 503, 504})

#: gRPC status codes (by name) the specification calls retryable.
RETRYABLE_GRPC_CODES = frozenset(
    {"CANCELLED", "DEADLINE_EXCEEDED", "ABORTED", "OUT_OF_RANGE", "UNAVAILABLE", "DATA_LOSS"}
)

#: Retryable only when the server says when (``RetryInfo``).
RETRYABLE_WITH_HINT_GRPC_CODES = frozenset({"RESOURCE_EXHAUSTED"})

#: Longest single backoff, whatever the attempt number.
MAX_BACKOFF = 32.0


def http_status_retryable(status: int) -> bool:
    """Whether an HTTP status may be retried."""
    return status in RETRYABLE_HTTP_STATUSES


def grpc_code_retryable(code_name: str, has_retry_info: bool) -> bool:
    """Whether a gRPC status code (its name, e.g. ``"UNAVAILABLE"``) may be retried."""
    if code_name in RETRYABLE_GRPC_CODES:
        return True
    return has_retry_info and code_name in RETRYABLE_WITH_HINT_GRPC_CODES


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP-date).

    Returns ``None`` for a missing or malformed value; a date in the past gives 0.

    Args:
        value: The header's value.
        now: The current wall-clock time (``time.time()``), for tests.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


class Backoff:
    """Waits between attempts of one export, all within its deadline.

    Args:
        deadline: ``time.monotonic()`` value by which the export must be over.
        initial: The first wait without a server hint, in seconds; each later one doubles,
            up to :data:`MAX_BACKOFF`, with +-20% jitter.
    """

    def __init__(self, deadline: float, initial: float = 1.0) -> None:
        self.deadline = deadline
        self.initial = initial
        self.attempt = 0

    def next_delay(self, hint: float | None = None) -> float | None:
        """The wait before the next attempt, or ``None`` when it would end past the deadline.

        Args:
            hint: The server's requested wait (``Retry-After`` or ``RetryInfo``), if any.
        """
        if hint is not None and hint >= 0:
            delay = hint
        else:
            base = min(MAX_BACKOFF, self.initial * (2.0**self.attempt))
            delay = base * random.uniform(0.8, 1.2)
        self.attempt += 1
        if time.monotonic() + delay >= self.deadline:
            return None
        return delay
