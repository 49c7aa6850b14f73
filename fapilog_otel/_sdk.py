"""The one place that touches the OpenTelemetry SDK's logs internals.

``opentelemetry.sdk._logs`` (and the API's ``opentelemetry._logs``) are still marked
"Development" upstream and change between releases, so every use of them is kept here:

* :class:`SdkRecordConverter` / :func:`to_sdk_record` turn our :class:`LogRecord` into the
  SDK's ``ReadableLogRecord`` for SDK exporters;
* :class:`SdkExporterAdapter` lets any SDK ``LogRecordExporter`` serve as an
  :class:`~fapilog_otel.typing.Exporter`;
* :func:`raw_from_sdk` and :class:`ProviderBridgeProcessor` carry records emitted through a
  container's SDK ``LoggerProvider`` (for example by OTel's own ``LoggingHandler``) into the
  container's pipeline;
* :func:`make_logger_provider` builds that provider.

Trace correlation: the API ``LogRecord`` constructor derives ``trace_id``/``span_id``/
``trace_flags`` from a ``Context``. We always pass one: a context holding a
``NonRecordingSpan`` for the record's ids, or a constant span-less context when the record has
no trace. Passing ``None`` (or an empty context) would make the constructor read the
*current* context of the exporter thread and could attach an unrelated span to the record.
The ``trace_id=`` keyword overload is deprecated since 1.35 and announced for removal, so it
is not used; the cost of building the context is paid once per run of records sharing a span.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from time import time_ns
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.context.context import Context
from opentelemetry.sdk._logs import (
    LoggerProvider,
    LogRecordLimits,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
)
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AnyValue

from fapilog_otel import _stats
from fapilog_otel._capture import PIPELINE_THREAD, bound_context
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._freeze import freeze_attributes, freeze_value
from fapilog_otel._stats import StatsSnapshot
from fapilog_otel._worker import Worker, register_exit_drain
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.settings import Settings
from fapilog_otel.typing import ExportResult

__all__ = [
    "BatchLogRecordProcessor",
    "ProviderBridgeProcessor",
    "SdkExporterAdapter",
    "SdkRecordConverter",
    "is_sdk_exporter",
    "make_logger_provider",
    "raw_from_sdk",
    "to_sdk_record",
    "unlimited_limits",
]

#: ``SeverityNumber`` members by value, 0 (UNSPECIFIED) to 24 (FATAL4).
_SEVERITIES: tuple[SeverityNumber, ...] = tuple(SeverityNumber(n) for n in range(25))

#: A context without a span: trace ids resolve to 0 instead of the exporter thread's span.
_NO_SPAN_CONTEXT: Context = trace.set_span_in_context(INVALID_SPAN)

#: Nesting deeper than this is cut; the SDK's own attribute cleaning recurses without limit.
_MAX_DEPTH = 64
_DEPTH_MARKER = "<max depth>"

#: Leaf types the SDK accepts in attributes and bodies, apart from ``str``.
_PLAIN_LEAVES: frozenset[type] = frozenset({bool, int, float, bytes, type(None)})

#: Bound on cached scope objects; a program with more distinct scopes just rebuilds them.
_SCOPE_CACHE_SIZE = 1024


def _describe(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"


def _to_any_value(value: object, max_len: int | None, depth: int) -> AnyValue:
    """Return ``value`` as an OTel AnyValue the SDK accepts without warning or dropping."""
    cls = type(value)
    if cls is str:
        text: str = value  # type: ignore[assignment]
        return text if max_len is None or len(text) <= max_len else text[:max_len]
    if cls in _PLAIN_LEAVES:
        return value  # type: ignore[return-value]
    if depth >= _MAX_DEPTH:
        return _DEPTH_MARKER
    if isinstance(value, str):
        return _to_any_value(str.__str__(value), max_len, depth)
    if isinstance(value, (bool, int, float, bytes)):
        return value
    if isinstance(value, Mapping):
        out: dict[str, AnyValue] = {}
        try:
            items = list(value.items())
        except Exception:
            return _describe(value)
        for key, item in items:
            name = key if type(key) is str else _describe(key)
            if name:
                out[name] = _to_any_value(item, max_len, depth + 1)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        try:
            items_seq = list(value)
        except Exception:
            return _describe(value)
        return tuple(_to_any_value(item, max_len, depth + 1) for item in items_seq)
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return _to_any_value(_describe(value), max_len, depth)


def _sdk_attributes(
    attributes: Mapping[str, Any], limits: LogRecordLimits, already_dropped: int
) -> BoundedAttributes:
    """Return attributes cleaned and limited ahead of the SDK, so it never logs warnings.

    The SDK reports an invalid value, a truncated string or a full attribute map through a
    stdlib logger, which could feed back into a bridged pipeline; doing its work first keeps
    it quiet. Like the SDK, the most recently set attributes win when the count limit is hit.
    """
    max_len = limits.max_log_record_attribute_length
    max_count = limits.max_log_record_attributes
    cleaned: dict[str, AnyValue] = {}
    dropped = already_dropped
    for key, value in attributes.items():
        name = key if type(key) is str else _describe(key)
        if not name:
            dropped += 1
            continue
        cls = type(value)
        if cls in _PLAIN_LEAVES or (cls is str and (max_len is None or len(value) <= max_len)):
            cleaned[name] = value
        else:
            cleaned[name] = _to_any_value(value, max_len, 0)
    if max_count is not None and len(cleaned) > max_count:
        excess = len(cleaned) - max_count
        dropped += excess
        cleaned = dict(list(cleaned.items())[excess:])
    bounded = BoundedAttributes(
        maxlen=max_count, attributes=cleaned, immutable=True, max_value_len=max_len
    )
    bounded.dropped += dropped
    return bounded


def _severity(number: int) -> SeverityNumber:
    if 0 <= number <= 24:
        return _SEVERITIES[number]
    return _SEVERITIES[24] if number > 24 else _SEVERITIES[0]


def _instrumentation_scope(scope: Scope) -> InstrumentationScope:
    return InstrumentationScope(
        scope.name,
        scope.version,
        scope.schema_url,
        dict(scope.attributes) if scope.attributes else None,
    )


class SdkRecordConverter:
    """Turns our records into SDK ``ReadableLogRecord`` objects, caching what repeats.

    One converter belongs to one consumer (an exporter adapter); it keeps a bounded cache of
    ``InstrumentationScope`` objects per :class:`Scope` and the trace context of the last
    span seen, since consecutive records usually share both.

    Args:
        limits: The SDK attribute limits to apply; by default ``LogRecordLimits()``, which
            reads ``OTEL_LOGRECORD_ATTRIBUTE_*_LIMIT`` and ``OTEL_ATTRIBUTE_*_LIMIT`` once.
    """

    __slots__ = ("_last_span", "_limits", "_scopes")

    def __init__(self, limits: LogRecordLimits | None = None) -> None:
        self._limits = limits if limits is not None else LogRecordLimits()
        self._scopes: dict[Scope, InstrumentationScope] = {}
        self._last_span: tuple[tuple[int, int, int], Context] = ((0, 0, 0), _NO_SPAN_CONTEXT)

    @property
    def limits(self) -> LogRecordLimits:
        """The attribute limits applied to converted records."""
        return self._limits

    def convert(self, record: LogRecord) -> ReadableLogRecord:
        """Return the SDK record equivalent to ``record``.

        Args:
            record: The record to convert; it is not changed.

        Returns:
            A ``ReadableLogRecord`` with the record's resource, scope, severity, body,
            attributes (cleaned to AnyValue and limited), event name, timestamps and trace
            ids.
        """
        scope = self._scopes.get(record.scope)
        if scope is None:
            if len(self._scopes) >= _SCOPE_CACHE_SIZE:
                self._scopes.clear()
            scope = self._scopes[record.scope] = _instrumentation_scope(record.scope)
        return _build(record, scope, self._limits, self._context_for(record))

    def _context_for(self, record: LogRecord) -> Context:
        if not record.trace_id:
            return _NO_SPAN_CONTEXT
        key = (record.trace_id, record.span_id, record.trace_flags)
        last_key, last_context = self._last_span
        if key == last_key:
            return last_context
        context = _span_context(record)
        self._last_span = (key, context)
        return context


def _span_context(record: LogRecord) -> Context:
    if not record.trace_id:
        return _NO_SPAN_CONTEXT
    span_context = SpanContext(
        record.trace_id,
        record.span_id,
        is_remote=False,
        trace_flags=TraceFlags(record.trace_flags),
    )
    return trace.set_span_in_context(NonRecordingSpan(span_context))


def _build(
    record: LogRecord, scope: InstrumentationScope, limits: LogRecordLimits, context: Context
) -> ReadableLogRecord:
    body = record.body
    if body.__class__ is not str and body is not None:
        body = _to_any_value(body, None, 0)
    api_record = ApiLogRecord(
        timestamp=record.timestamp,
        observed_timestamp=record.observed_timestamp,
        context=context,
        severity_text=record.severity_text,
        severity_number=_severity(record.severity_number),
        body=body,
        event_name=record.event_name,
    )
    api_record.attributes = _sdk_attributes(
        record.attributes, limits, record.dropped_attributes_count
    )
    return ReadableLogRecord(
        log_record=api_record,
        resource=record.resource,
        instrumentation_scope=scope,
        limits=limits,
    )


def to_sdk_record(record: LogRecord, limits: LogRecordLimits | None = None) -> ReadableLogRecord:
    """Return the SDK ``ReadableLogRecord`` equivalent to one of our records.

    A one-off conversion without caches; to convert many records keep a
    :class:`SdkRecordConverter`.

    Args:
        record: The record to convert; it is not changed.
        limits: The attribute limits to apply; by default ``LogRecordLimits()``.

    Returns:
        The SDK record (see :meth:`SdkRecordConverter.convert`).
    """
    resolved = limits if limits is not None else LogRecordLimits()
    return _build(record, _instrumentation_scope(record.scope), resolved, _span_context(record))


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


def _scope_from_sdk(scope: InstrumentationScope | None) -> Scope:
    if scope is None:
        return Scope("")
    attributes = scope.attributes
    return Scope(
        scope.name,
        scope.version,
        scope.schema_url or None,
        freeze_attributes(attributes) if attributes else None,
    )


def raw_from_sdk(
    rw: ReadWriteLogRecord | ReadableLogRecord,
    *,
    scope_cache: MutableMapping[InstrumentationScope, Scope] | None = None,
) -> tuple[Any, ...]:
    """Return the raw tuple (see ``fapilog_otel._raw``) for a record emitted through the SDK.

    Exception attributes are already among the SDK record's attributes, so the ``EXC`` slot
    stays empty. Body and attributes are frozen, so later processors in the SDK chain cannot
    change what the pipeline exports.

    Args:
        rw: The SDK record, as a ``LogRecordProcessor`` receives it.
        scope_cache: Optional mapping reused across calls to avoid rebuilding scopes.

    Returns:
        The 13-slot raw tuple, with the SDK record's resource in the ``RESOURCE`` slot.
    """
    record = rw.log_record
    observed = record.observed_timestamp
    timestamp = record.timestamp
    if timestamp is None:
        timestamp = observed if observed is not None else time_ns()
    severity = record.severity_number
    attributes = record.attributes
    body: object = record.body
    if body.__class__ is not str and body is not None:
        body = freeze_value(body)
    sdk_scope = rw.instrumentation_scope
    if scope_cache is None or sdk_scope is None:
        scope = _scope_from_sdk(sdk_scope)
    else:
        cached = scope_cache.get(sdk_scope)
        if cached is None:
            if len(scope_cache) >= _SCOPE_CACHE_SIZE:
                scope_cache.clear()
            cached = scope_cache[sdk_scope] = _scope_from_sdk(sdk_scope)
        scope = cached
    trace_id = record.trace_id
    span = (trace_id, record.span_id or 0, int(record.trace_flags or 0)) if trace_id else None
    return (
        timestamp,  # TIME
        observed,  # OBSERVED
        severity.value if severity is not None else 0,  # SEVERITY_NUMBER
        record.severity_text,  # SEVERITY_TEXT
        body,  # BODY
        freeze_attributes(attributes) if attributes else None,  # ATTRS
        scope,  # SCOPE
        None,  # BOUND
        None,  # CONTEXT
        span,  # SPAN
        record.event_name,  # EVENT_NAME
        None,  # EXC
        rw.resource,  # RESOURCE
    )


class ProviderBridgeProcessor(LogRecordProcessor):
    """An SDK ``LogRecordProcessor`` that feeds a container's pipeline.

    Added to the container's ``LoggerProvider``, it turns every record emitted through that
    provider (by OTel's ``LoggingHandler``, an instrumentation library, ...) into a raw tuple
    and hands it to ``submit``. ``on_emit`` never raises: failures are counted in
    :attr:`errors`.

    Args:
        submit: Queues one raw tuple (the container's ``_submit_raw``); should not raise.
        flush: Optional ``flush(timeout_seconds) -> bool`` called by :meth:`force_flush`.
    """

    def __init__(
        self,
        submit: Callable[[tuple[Any, ...]], None],
        flush: Callable[[float], bool] | None = None,
    ) -> None:
        self._submit = submit
        self._flush = flush
        self._scopes: dict[InstrumentationScope, Scope] = {}
        self._errors_lock = threading.Lock()
        #: How many records or flushes failed inside this processor.
        self.errors = 0
        #: The last failure, for diagnostics.
        self.last_error: BaseException | None = None

    def on_emit(self, log_record: ReadWriteLogRecord) -> None:
        """Submit the record to the pipeline; never raises.

        Args:
            log_record: The record the SDK logger emitted.
        """
        try:
            self._submit(raw_from_sdk(log_record, scope_cache=self._scopes))
        except Exception as exc:
            self._count(exc)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the pipeline, if a flush callable was given.

        Args:
            timeout_millis: The time allowed, in milliseconds.

        Returns:
            What the flush callable returns; ``True`` without one; ``False`` if it raised.
        """
        if self._flush is None:
            return True
        try:
            return bool(self._flush(timeout_millis / 1000.0))
        except Exception as exc:
            self._count(exc)
            return False

    def shutdown(self) -> None:
        """Do nothing: the container owns the pipeline and shuts it down itself."""

    def _count(self, exc: BaseException) -> None:
        with self._errors_lock:
            self.errors += 1
            self.last_error = exc


def make_logger_provider(
    resource: Resource,
    processor: LogRecordProcessor,
    *,
    limits: LogRecordLimits | None = None,
) -> LoggerProvider:
    """Return a new SDK ``LoggerProvider`` that sends what it emits to ``processor``.

    The provider registers no ``atexit`` hook (the container drains and shuts down itself)
    and is never installed as the global provider.

    Args:
        resource: The provider's resource (the container's).
        processor: Usually a :class:`ProviderBridgeProcessor`.
        limits: Attribute limits for records emitted through the provider.

    Returns:
        The provider.
    """
    provider = LoggerProvider(resource=resource, shutdown_on_exit=False, log_record_limits=limits)
    provider.add_log_record_processor(processor)
    return provider


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
