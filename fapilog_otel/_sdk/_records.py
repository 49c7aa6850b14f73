"""Our records as the SDK's ``ReadableLogRecord``, with cached scopes and span contexts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry._logs import LogRecord as ApiLogRecord
from opentelemetry._logs import SeverityNumber
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context.context import Context
from opentelemetry.sdk._logs import (
    LogRecordLimits,
    ReadableLogRecord,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import INVALID_SPAN, NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.util.types import AnyValue

from fapilog_otel._cache import remember
from fapilog_otel.record import LogRecord, Scope

__all__ = ["SdkRecordConverter", "to_sdk_record"]

#: ``SeverityNumber`` members by value, 0 (UNSPECIFIED) to 24 (FATAL4).
_SEVERITIES: tuple[SeverityNumber, ...] = tuple(SeverityNumber(n) for n in range(25))

#: A context without a span: trace ids resolve to 0 instead of the exporter thread's span.
_NO_SPAN_CONTEXT: Context = trace.set_span_in_context(INVALID_SPAN)

#: Nesting deeper than this is cut; the SDK's own attribute cleaning recurses without limit.
_MAX_DEPTH = 64
_DEPTH_MARKER = "<max depth>"

#: Leaf types the SDK accepts in attributes and bodies, apart from ``str``.
_PLAIN_LEAVES: frozenset[type] = frozenset({bool, int, float, bytes, type(None)})


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
            scope = remember(self._scopes, record.scope, _instrumentation_scope(record.scope))
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
    if type(body) is not str and body is not None:
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
