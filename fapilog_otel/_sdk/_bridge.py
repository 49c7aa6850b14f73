"""Records emitted through an SDK ``LoggerProvider`` into our pipeline."""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from time import time_ns
from typing import Any

from opentelemetry.sdk._logs import (
    LoggerProvider,
    LogRecordLimits,
    LogRecordProcessor,
    ReadableLogRecord,
    ReadWriteLogRecord,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from fapilog_otel._cache import remember
from fapilog_otel._freeze import freeze_attributes, freeze_value
from fapilog_otel.record import Scope

__all__ = ["ProviderBridgeProcessor", "make_logger_provider", "raw_from_sdk"]


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
    if type(body) is not str and body is not None:
        body = freeze_value(body)
    sdk_scope = rw.instrumentation_scope
    if scope_cache is None or sdk_scope is None:
        scope = _scope_from_sdk(sdk_scope)
    else:
        cached = scope_cache.get(sdk_scope)
        if cached is None:
            cached = remember(scope_cache, sdk_scope, _scope_from_sdk(sdk_scope))
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
