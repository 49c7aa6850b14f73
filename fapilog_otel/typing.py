"""The contracts that exporters and processors implement.

The method names are the OpenTelemetry SDK's (``export``, ``force_flush``, ``shutdown``,
``timeout_millis``), so an OTel user recognises them. Any OTel SDK ``LogRecordExporter``
can also be passed where an :class:`Exporter` is expected: the container adapts it.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from fapilog_otel.record import LogRecord

__all__ = [
    "PLUGIN_API_VERSION",
    "AsyncExporter",
    "AsyncProcessor",
    "BatchProcessor",
    "Enricher",
    "ExportResult",
    "Exporter",
    "Filter",
    "PartialSuccess",
    "Processor",
    "ProcessorKind",
    "Redactor",
    "ResourceEnricher",
]

#: The plugin API's major version. A plugin may declare the version it was written for
#: as a ``fapilog_api_version`` attribute (an ``int``, or a string such as ``"1.2"``); a
#: different major version is refused when it loads. A plugin that declares none (an OTel
#: SDK exporter or processor, say) is assumed compatible.
PLUGIN_API_VERSION = 1

#: Where a processor runs. Filters first, then enrichers and plain processors (in the
#: order named), then redactors, last, so nothing added after them escapes redaction.
ProcessorKind = Literal["filter", "enricher", "processor", "redactor"]


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


@runtime_checkable
class BatchProcessor(Protocol):
    """A processor that works on a whole batch at once, where that is cheaper.

    ``process_batch`` receives the batch's records (copies the processor may change) and
    returns the records to pass on, in order: it may change, drop or add records. When a
    processor has both ``process_batch`` and ``process``, the batch method is used. If it
    raises, the batch goes on as it was (for a redactor: masked, see :class:`Redactor`).
    """

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Return the records to pass on."""


@runtime_checkable
class AsyncProcessor(Protocol):
    """A processor whose ``process`` is a coroutine (a lookup in a remote service, say).

    The worker runs it on a loop of its own, the records of a batch concurrently, within
    ``plugin_timeout_ms`` per batch; past it the batch goes on without the changes (for a
    redactor: masked).
    """

    async def process(self, record: LogRecord) -> LogRecord | None:
        """Return the record to pass on, or ``None`` to drop it."""


@runtime_checkable
class Filter(Protocol):
    """Decides which records go on; ``kind = "filter"``. Runs before every other kind.

    Returning ``None`` drops the record, counted under ``drop_reason`` (``"filtered"``
    when the filter has no such attribute). A filter that raises keeps the record.
    """

    kind: ClassVar[str]

    def process(self, record: LogRecord) -> LogRecord | None:
        """Return the record to keep it, ``None`` to drop it."""


@runtime_checkable
class Enricher(Protocol):
    """Adds to records (attributes, usually); ``kind = "enricher"``.

    An enricher that raises leaves the record as it was.
    """

    kind: ClassVar[str]

    def process(self, record: LogRecord) -> LogRecord:
        """Return the record with what the enricher adds."""


@runtime_checkable
class Redactor(Protocol):
    """Removes secrets and personal data from records; ``kind = "redactor"``. Runs last.

    A redactor fails closed: when it raises, times out or is circuit-broken, the records it
    should have cleaned go on masked (the body and every attribute value replaced by
    ``[REDACTION FAILED]``), never in clear, and the failure is counted.
    """

    kind: ClassVar[str]

    def process(self, record: LogRecord) -> LogRecord:
        """Return the record with secrets masked."""


@runtime_checkable
class ResourceEnricher(Protocol):
    """Contributes resource attributes once, when the container is made.

    For what describes the process rather than each record (host, process, runtime,
    Kubernetes pod): the attributes go into the container's ``Resource``, sent once per
    request in OTLP. Attributes the application set (``OTEL_RESOURCE_ATTRIBUTES``,
    ``service_name``) win.
    """

    def resource_attributes(self) -> dict[str, Any]:
        """Return the attributes to add to the resource."""
