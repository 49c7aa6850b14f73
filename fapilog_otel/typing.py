"""The contracts that exporters and processors implement.

The method names are the OpenTelemetry SDK's (``export``, ``force_flush``, ``shutdown``,
``timeout_millis``), so an OTel user recognises them. Any OTel SDK ``LogRecordExporter``
can also be passed where an :class:`Exporter` is expected: the container adapts it.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Sequence
from typing import Protocol, runtime_checkable

from fapilog_otel.record import LogRecord

__all__ = ["AsyncExporter", "ExportResult", "Exporter", "PartialSuccess", "Processor"]


class ExportResult(enum.Enum):
    """What an exporter reports for one batch."""

    SUCCESS = 0
    FAILURE = 1


class PartialSuccess:
    """What an exporter returns when only part of a batch was delivered.

    The batch's other records count as exported; ``rejected`` of them count as failed
    (the OTLP exporter returns this when a collector answers with ``partial_success``, or
    when one request of a split batch fails).

    Args:
        rejected: How many records of the batch were not delivered.
        message: Why, as the receiver or the exporter put it.
    """

    __slots__ = ("message", "rejected")

    def __init__(self, rejected: int, message: str = "") -> None:
        self.rejected = rejected
        self.message = message

    def __repr__(self) -> str:
        return f"PartialSuccess(rejected={self.rejected!r}, message={self.message!r})"


@runtime_checkable
class Exporter(Protocol):
    """Sends batches of records out of the process.

    ``export`` is called from the exporter's own thread, never concurrently with itself, and
    in parallel with the container's other exporters. It may block (for I/O) but should
    honour the container's export timeout; an exporter that raises or runs past the timeout
    has the batch counted as failed and is never allowed to reach the application.
    Returning ``None`` counts as success; a :class:`PartialSuccess` says how many records
    of the batch were not delivered. An exporter with an ``outcomes()`` method returning a
    mapping of reason to count has it shown under its name in ``stats()["exporters"]``.
    """

    def export(self, batch: Sequence[LogRecord]) -> ExportResult | PartialSuccess | None:
        """Export one batch of records."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Push out anything the exporter buffers; return whether it finished in time."""

    def shutdown(self) -> None:
        """Release resources; called once when the container shuts down."""


@runtime_checkable
class AsyncExporter(Protocol):
    """An exporter whose ``export`` is a coroutine, run on the container worker's loop."""

    def export(self, batch: Sequence[LogRecord]) -> Awaitable[ExportResult | PartialSuccess | None]:
        """Export one batch of records."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Push out anything the exporter buffers; return whether it finished in time."""

    def shutdown(self) -> None:
        """Release resources; called once when the container shuts down."""


@runtime_checkable
class Processor(Protocol):
    """Changes, enriches or drops records on the worker, before any exporter sees them.

    ``process`` receives one record and returns it (changed in place or replaced), or
    ``None`` to drop it. Processors run in the order given, each seeing the changes of the
    one before. A processor that raises leaves the record as it was before that processor
    and the record goes on; the failure is counted in ``stats()``.
    """

    def process(self, record: LogRecord) -> LogRecord | None:
        """Return the record to pass on, or ``None`` to drop it."""
