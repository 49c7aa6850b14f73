"""What every exporter that sends a batch as one HTTP request shares: the ``http`` webhook
exporter and the Splunk HEC and Elasticsearch distributions.

:class:`RequestExporter` holds the parts that have nothing to do with the receiver: one
export at a time, the stop flag that cuts retry waits short, the outcome counts, the
diagnostics channel with the exporter's secrets masked, the retry loop's arguments, and
what shutdown and a fork must renew. A subclass says how a batch is encoded
(:meth:`~RequestExporter._encode`), how it is delivered (:meth:`~RequestExporter._deliver`)
and what it closes (:meth:`~RequestExporter._close`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel.otlp._outcomes import Outcomes
from fapilog_otel.otlp._sending import send_with_retries
from fapilog_otel.otlp._transport import Attempt
from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult, PartialSuccess

__all__ = ["RequestExporter"]


class RequestExporter:
    """The shared half of an exporter that sends each batch as one request, with retries.

    Args:
        name: The name the exporter has in ``stats()``.
        url: Where requests go, as diagnostics show it (no credentials).
        timeout_ms: Longest one export may take, retries included.
        initial_backoff: First wait between retries, in seconds (doubling, with jitter).
        diagnostics: Report failures on the library's rate-limited stderr channel.
        secrets: Values masked wherever the exporter's diagnostics would show them.
    """

    #: How diagnostics name the kind of exporter ("HTTP exporter").
    label: ClassVar[str] = "exporter"
    #: The first part of each diagnostic's rate-limiting key.
    key_prefix: ClassVar[str] = "exporter"

    def __init__(
        self,
        *,
        name: str,
        url: str,
        timeout_ms: float,
        initial_backoff: float,
        diagnostics: bool,
        secrets: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.url = url
        self._timeout = timeout_ms / 1000.0
        self._initial_backoff = initial_backoff
        self._outcomes = Outcomes()
        self._diagnostics = Diagnostics(enabled=diagnostics, secrets=list(secrets))
        self._stopping = threading.Event()
        #: Held while the connection is used (one export at a time).
        self._turn = threading.Lock()

    # -- what a subclass provides ------------------------------------------------------

    def _encode(self, batch: Sequence[LogRecord]) -> Any:
        """The batch as the receiver wants it (raising counts it as ``unencodable``)."""
        raise NotImplementedError

    def _deliver(self, payload: Any, count: int, deadline: float) -> tuple[int, str]:
        """Send ``payload`` (``count`` records) before ``deadline`` (``time.monotonic()``).

        Returns:
            How many records were not delivered, and why (``""`` when all were). The
            subclass counts their outcomes itself.
        """
        raise NotImplementedError

    def _close(self) -> None:
        """Close the connections (at shutdown, and in a forked child before reuse)."""
        raise NotImplementedError

    def _after_fork(self) -> None:
        """Renew what else a forked child must not share with its parent."""

    # -- the exporter's contract -------------------------------------------------------

    def outcomes(self) -> dict[str, int]:
        """Counts by reason, shown in the container's ``stats()``."""
        return self._outcomes.snapshot()

    def export(self, batch: Sequence[LogRecord]) -> ExportResult | PartialSuccess:
        """Send ``batch``: SUCCESS, FAILURE when nothing was delivered, else how many of
        its records were not."""
        if not batch:
            return ExportResult.SUCCESS
        with self._turn:
            lost, reason = self._export(batch)
        if not lost:
            return ExportResult.SUCCESS
        if lost >= len(batch):
            return ExportResult.FAILURE
        return PartialSuccess(lost, reason)

    def _export(self, batch: Sequence[LogRecord]) -> tuple[int, str]:
        count = len(batch)
        if self._stopping.is_set():
            self._outcomes.add("shutdown", count)
            return count, "shutdown"
        deadline = time.monotonic() + self._timeout
        try:
            payload = self._encode(batch)
        except Exception as exc:
            self._outcomes.add("unencodable", count)
            self._warn("unencodable", f"could not encode {count} records: {exc!r}")
            return count, "unencodable"
        return self._deliver(payload, count, deadline)

    def _send_with_retries(
        self, send: Callable[[float], Attempt], count: int, deadline: float
    ) -> tuple[Attempt | None, str]:
        """The core's retry loop (:func:`~fapilog_otel.otlp._sending.send_with_retries`)
        with this exporter's backoff, stop flag, outcomes and diagnostics."""
        return send_with_retries(
            send,
            count,
            deadline,
            initial_backoff=self._initial_backoff,
            stopping=self._stopping,
            outcomes=self._outcomes,
            warn=self._warn,
        )

    def _warn(self, key: str, message: str) -> None:
        """Report on the diagnostics channel (the exporter's secrets masked there)."""
        self._diagnostics.warn(
            f"{self.key_prefix}:{self.name}:{key}",
            f"{self.label} {self.name!r} -> {self.url}: {message}",
        )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered between calls: True."""
        return True

    def shutdown(self, timeout_millis: int = 30000) -> None:
        """Cut any retry wait short and close the connections; later exports fail at once.
        Calling it again does nothing more."""
        self._stopping.set()
        self._close()

    def reinit_after_fork(self) -> None:
        """In a forked child: new connections, a fresh stop flag, lock and counts."""
        self._close()
        self._stopping = threading.Event()
        self._turn = threading.Lock()
        self._outcomes.reset_after_fork()
        self._diagnostics.reset_after_fork()
        self._after_fork()
