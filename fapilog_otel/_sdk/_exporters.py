"""Any SDK ``LogRecordExporter`` as one of our exporters."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.sdk._logs import (
    LogRecordLimits,
)
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

from fapilog_otel._sdk._records import SdkRecordConverter
from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult

__all__ = ["SdkExporterAdapter", "is_sdk_exporter", "unlimited_limits"]


def unlimited_limits() -> LogRecordLimits:
    """Limits that limit nothing: for records the worker has already limited itself."""
    unset = LogRecordLimits.UNSET
    return LogRecordLimits(unset, unset, unset, unset)


def is_sdk_exporter(obj: object) -> bool:
    """Return whether ``obj`` is an OpenTelemetry SDK ``LogRecordExporter``.

    Check this before testing against :class:`~fapilog_otel.typing.Exporter`: SDK exporters
    have the same method names and would pass the structural check, but want SDK records.

    Args:
        obj: Any object.

    Returns:
        ``True`` for instances of ``opentelemetry.sdk._logs.export.LogRecordExporter``.
    """
    return isinstance(obj, LogRecordExporter)


class SdkExporterAdapter:
    """Makes an SDK ``LogRecordExporter`` usable as an :class:`~fapilog_otel.typing.Exporter`.

    Each batch is converted to SDK records and exported with instrumentation suppressed, so
    an instrumented HTTP client inside the exporter cannot produce spans or records that loop
    back. Exceptions of the wrapped exporter propagate; the container counts the batch as
    failed.

    Args:
        exporter: The SDK exporter to wrap (OTLP, console, in-memory, ...).
        limits: The attribute limits for converted records; by default ``LogRecordLimits()``.
    """

    def __init__(self, exporter: LogRecordExporter, limits: LogRecordLimits | None = None) -> None:
        self._exporter = exporter
        self._converter = SdkRecordConverter(limits)
        self._shut_down = False
        #: The wrapped exporter's class name, used in stats and diagnostics.
        self.name: str = type(exporter).__name__

    @property
    def exporter(self) -> LogRecordExporter:
        """The wrapped SDK exporter."""
        return self._exporter

    def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        """Convert and export one batch.

        Args:
            batch: Our records, in order.

        Returns:
            ``ExportResult.SUCCESS`` unless the SDK exporter reports ``FAILURE`` or the
            adapter was shut down.
        """
        if self._shut_down:
            return ExportResult.FAILURE
        if not batch:
            return ExportResult.SUCCESS
        convert = self._converter.convert
        sdk_batch = [convert(record) for record in batch]
        token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            result = self._exporter.export(sdk_batch)
        finally:
            detach(token)
        return _export_result(result)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Ask the SDK exporter to push out what it buffers.

        Args:
            timeout_millis: The time allowed, in milliseconds.

        Returns:
            What the SDK exporter returns (``True`` if it finished in time).
        """
        if self._shut_down:
            return True
        return bool(self._exporter.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Shut the SDK exporter down; later calls do nothing."""
        if self._shut_down:
            return
        self._shut_down = True
        self._exporter.shutdown()  # type: ignore[no-untyped-call]  # the SDK ABC is unannotated

    def __repr__(self) -> str:
        return f"SdkExporterAdapter({self._exporter!r})"


def _export_result(result: object) -> ExportResult:
    if result is LogRecordExportResult.FAILURE:
        return ExportResult.FAILURE
    # The deprecated ``LogExportResult`` and exporters returning None: judge by name.
    return (
        ExportResult.FAILURE if getattr(result, "name", None) == "FAILURE" else ExportResult.SUCCESS
    )
