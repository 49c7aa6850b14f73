"""An exporter that keeps records in a list, for tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar

from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult

__all__ = ["InMemoryExporter"]


class InMemoryExporter:
    """Collects every exported record in :attr:`records`.

    Attributes:
        records: The records exported so far, in export order.
        batches: How many batches were exported.
        is_shutdown: Whether :meth:`shutdown` was called; later exports fail.
    """

    name: ClassVar[str] = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[LogRecord] = []
        self.batches = 0
        self.is_shutdown = False

    def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        """Append the batch to :attr:`records`.

        Args:
            batch: The records to keep.

        Returns:
            ``SUCCESS``, or ``FAILURE`` after :meth:`shutdown`.
        """
        with self._lock:
            if self.is_shutdown:
                return ExportResult.FAILURE
            self.records.extend(batch)
            self.batches += 1
        return ExportResult.SUCCESS

    def clear(self) -> None:
        """Forget the records and batches collected so far."""
        with self._lock:
            self.records.clear()
            self.batches = 0

    def reinit_after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may be held by a thread that is gone)."""
        self._lock = threading.Lock()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered, so there is nothing to push.

        Args:
            timeout_millis: Ignored; returning is immediate.

        Returns:
            Always ``True``.
        """
        return True

    def shutdown(self) -> None:
        """Refuse later exports; the collected records stay readable."""
        with self._lock:
            self.is_shutdown = True
