"""Processors across the SDK boundary, both ways.

* :class:`SdkProcessorAdapter`: an SDK ``LogRecordProcessor`` (anything with ``on_emit``)
  running in a container's chain. Each record is handed to it as a ``ReadWriteLogRecord``;
  what it changes (body, attributes, severity, event name, timestamps) comes back.
* :class:`FapilogProcessor`: one of our processors as an SDK ``LogRecordProcessor`` in a
  plain SDK ``LoggerProvider``. The SDK has no way to drop a record, so a processor that
  drops records (a filter) needs the processors that should only see what it keeps passed
  as ``downstream``: it calls them itself, as the specification's filtering processors do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import LogRecordLimits, LogRecordProcessor, ReadWriteLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from fapilog_otel._chain import mask, processor_kind
from fapilog_otel._freeze import freeze_attributes, freeze_value
from fapilog_otel._sdk._inbound import records_from_sdk
from fapilog_otel._sdk._records import (
    SdkRecordConverter,
    _sdk_attributes,
    _severity,
    _to_any_value,
)
from fapilog_otel.record import LogRecord, Scope

__all__ = ["FapilogProcessor", "SdkProcessorAdapter", "is_sdk_processor"]


def is_sdk_processor(obj: object) -> bool:
    """Whether ``obj`` is an SDK-style processor (``on_emit``) rather than one of ours."""
    if isinstance(obj, LogRecordProcessor):
        return True
    has_ours = callable(getattr(obj, "process", None)) or callable(
        getattr(obj, "process_batch", None)
    )
    return not has_ours and callable(getattr(obj, "on_emit", None))


class SdkProcessorAdapter:
    """Runs an SDK ``LogRecordProcessor`` as a processor of a container.

    Args:
        processor: The SDK processor; its ``on_emit`` may change the record in place.
        limits: Attribute limits of the SDK records it sees (none: the worker limits).
    """

    kind = "processor"

    def __init__(self, processor: Any, limits: LogRecordLimits | None = None) -> None:
        self.processor = processor
        self.name: str = type(processor).__name__
        self._converter = SdkRecordConverter(limits)
        self._limits = self._converter.limits

    def process(self, record: LogRecord) -> LogRecord:
        """Let the SDK processor see (and change) ``record``."""
        readable = self._converter.convert(record)
        rw = ReadWriteLogRecord(
            readable.log_record,
            resource=readable.resource,
            instrumentation_scope=readable.instrumentation_scope,
            limits=self._limits,
        )
        self.processor.on_emit(rw)
        inner = rw.log_record
        body = inner.body
        record.body = body if type(body) is str or body is None else freeze_value(body)
        attributes = inner.attributes
        record.attributes = freeze_attributes(attributes) if attributes else {}
        record.severity_text = inner.severity_text
        number = inner.severity_number
        record.severity_number = number.value if number is not None else 0
        record.event_name = inner.event_name
        if inner.timestamp is not None:
            record.timestamp = inner.timestamp
        if inner.observed_timestamp is not None:
            record.observed_timestamp = inner.observed_timestamp
        return record

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Forward to the SDK processor."""
        return bool(self.processor.force_flush(timeout_millis))

    def shutdown(self) -> None:
        """Forward to the SDK processor."""
        self.processor.shutdown()


class FapilogProcessor(LogRecordProcessor):
    """One of our processors as an SDK ``LogRecordProcessor``.

    Changes the processor makes are written back into the SDK record, so later processors
    of the provider see them. A processor that raises leaves the record as it was (a
    redactor masks it instead); nothing reaches the code that emitted the record.

    Args:
        processor: Ours: anything with ``process(record)`` or ``process_batch(records)``.
        downstream: SDK processors to call with each record the processor keeps; records
            it drops (``None``) go to none of them.
    """

    def __init__(self, processor: Any, *downstream: LogRecordProcessor) -> None:
        self.processor = processor
        self.downstream: Sequence[LogRecordProcessor] = downstream
        self.kind = processor_kind(processor)
        self._scopes: dict[InstrumentationScope, Scope] = {}
        #: Records the processor dropped, and records it failed on (kept or masked).
        self.dropped = 0
        self.errors = 0

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Run the processor on ``log_record``; forward it downstream unless dropped."""
        try:
            (ours,) = records_from_sdk([log_record], self._scopes)
            result = self._run(ours)
        except Exception:
            self.errors += 1
            if self.kind != "redactor":
                self._forward(log_record)
                return
            result = mask(_fallback_record(log_record))
        if result is None:
            self.dropped += 1
            return
        _write_back(result, log_record)
        self._forward(log_record)

    def _run(self, record: LogRecord) -> LogRecord | None:
        single = getattr(self.processor, "process", None)
        if callable(single):
            result = single(record)
        else:
            kept = self.processor.process_batch([record])
            result = kept[0] if kept else None
        if result is not None and type(result) is not LogRecord:
            raise TypeError(f"processor returned {type(result).__name__}")
        return result

    def _forward(self, log_record: ReadWriteLogRecord) -> None:
        for processor in self.downstream:
            processor.on_emit(log_record)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the processor (if it can) and every downstream processor."""
        ok = True
        flush = getattr(self.processor, "force_flush", None)
        if callable(flush):
            ok = bool(flush(timeout_millis)) and ok
        for processor in self.downstream:
            ok = bool(processor.force_flush(timeout_millis)) and ok
        return ok

    def shutdown(self) -> None:
        """Shut the processor (if it can) and every downstream processor down."""
        stop = getattr(self.processor, "shutdown", None)
        if callable(stop):
            stop()
        for processor in self.downstream:
            processor.shutdown()


def _fallback_record(log_record: ReadWriteLogRecord) -> LogRecord:
    """A minimal record for masking when the SDK record could not even be converted."""
    inner = log_record.log_record
    return LogRecord(
        timestamp=inner.timestamp or inner.observed_timestamp or 0,
        body=inner.body,
        attributes=dict(inner.attributes or {}),
        scope=Scope("unknown"),
        resource=log_record.resource or Resource.get_empty(),
    )


def _write_back(record: LogRecord, log_record: ReadWriteLogRecord) -> None:
    """Copy what a processor may have changed from ``record`` into the SDK record."""
    inner = log_record.log_record
    body = record.body
    inner.body = body if body is None or type(body) is str else _plain(body)
    inner.severity_text = record.severity_text
    inner.severity_number = _severity(record.severity_number)
    inner.event_name = record.event_name
    inner.attributes = _sdk_attributes(
        record.attributes, log_record.limits, record.dropped_attributes_count
    )


def _plain(value: Any) -> Any:
    """A structured body as the SDK accepts it (tuples for lists)."""
    return _to_any_value(value, None, 0)
