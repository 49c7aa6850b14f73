"""The OTLP exporter's outcome counters, read by ``stats()`` from another thread.

Reasons counted in records: ``rejected`` (the collector's ``partial_success``),
``not_retryable`` (an answer the specification forbids retrying, such as HTTP 400),
``retries_exhausted`` (retryable failures until the export timeout), ``oversize`` (one
record larger than the request size limit), ``unencodable``, ``shutdown`` (an export cut
short by shutdown). Reasons counted in attempts: ``retries``, ``http_<status>`` and
``grpc_<CODE>`` for each failed answer, ``connection_error``, ``timeout``,
``partial_success_warning``, ``unparsable_response``.
"""

from __future__ import annotations

import threading
from collections import Counter


class Outcomes:
    """A thread-safe counter of reasons."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, reason: str, n: int = 1) -> None:
        """Count ``n`` more of ``reason`` (nothing for ``n <= 0``)."""
        if n > 0:
            with self._lock:
                self._counts[reason] += n

    def snapshot(self) -> dict[str, int]:
        """The counts so far."""
        with self._lock:
            return dict(self._counts)

    def reset_after_fork(self) -> None:
        """Start the child with a fresh lock and no counts."""
        self._lock = threading.Lock()
        self._counts = Counter()
