"""Our queue and worker as an SDK ``LogRecordProcessor``: a drop-in for the batch processor."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs import (
    LogRecordProcessor,
    ReadWriteLogRecord,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from fapilog_otel import _stats
from fapilog_otel._capture import PIPELINE_THREAD, bound_context
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._sdk._bridge import raw_from_sdk
from fapilog_otel._sdk._exporters import SdkExporterAdapter, is_sdk_exporter, unlimited_limits
from fapilog_otel._stats import StatsSnapshot
from fapilog_otel._worker import Worker, register_exit_drain
from fapilog_otel.record import Scope
from fapilog_otel.settings import Settings

__all__ = ["BatchLogRecordProcessor"]


class BatchLogRecordProcessor(LogRecordProcessor):
    """A drop-in for the SDK's ``BatchLogRecordProcessor``, backed by our queue and worker.

    Add it to any SDK ``LoggerProvider``; records emitted there are queued without blocking
    (beyond the overflow policy), batched on a worker thread and exported, with the
    accounting, timeouts and exit-time drain of a container. The SDK's constructor
    arguments keep their meaning; what they leave out comes from ``settings`` (by default
    the environment, ``OTEL_BLRP_*`` included).

    Args:
        exporter: An SDK ``LogRecordExporter`` or one of ours.
        schedule_delay_millis: Longest a record waits for a fuller batch.
        max_export_batch_size: Most records per export call.
        export_timeout_millis: Longest one export call may take.
        max_queue_size: Records queued before the overflow policy applies.
        settings: Everything else (overflow policy, limits, diagnostics).
    """

    def __init__(
        self,
        exporter: Any,
        schedule_delay_millis: float | None = None,
        max_export_batch_size: int | None = None,
        export_timeout_millis: float | None = None,
        max_queue_size: int | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        base = settings if settings is not None else Settings()
        batch = {
            "max_delay_ms": schedule_delay_millis,
            "max_size": max_export_batch_size,
            "export_timeout_ms": export_timeout_millis,
        }
        batch_update = {k: v for k, v in batch.items() if v is not None}
        values = base.model_dump()
        values["batch"].update(batch_update)
        if max_queue_size is not None:
            values["queue_size"] = max_queue_size
        self.settings = Settings(**values)
        if is_sdk_exporter(exporter):
            exporter = SdkExporterAdapter(exporter, limits=unlimited_limits())
        self._worker = Worker(
            settings=self.settings,
            resource=Resource.get_empty(),
            exporters=[exporter],
            processors=[],
            diagnostics=Diagnostics(enabled=self.settings.diagnostics),
        )
        self._exit_drain = register_exit_drain(self._worker, self.settings.shutdown_timeout)
        self._scopes: dict[InstrumentationScope, Scope] = {}

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Queue the record; never raises, never blocks longer than the overflow policy."""
        queue = self._worker.queue
        try:
            if bound_context.get() is PIPELINE_THREAD:
                queue.drop(_stats.REENTRANT)
                return
            queue.put(raw_from_sdk(log_record, scope_cache=self._scopes))
        except Exception:
            queue.drop(_stats.INTERNAL_ERROR)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export everything queued before the call; ``True`` when done within the timeout."""
        return self._worker.flush(timeout_millis / 1000.0)

    def shutdown(self, timeout_millis: int = 30000) -> None:
        """Drain, shut the exporter down and stop the worker (idempotent)."""
        self._worker.shutdown(timeout_millis / 1000.0)

    def stats(self) -> StatsSnapshot:
        """The processor's counters, as :meth:`fapilog_otel.Container.stats`."""
        return self._worker.queue.snapshot()
