"""What the call site captures from the ambient context: the current span and bound context.

Both live in context variables, which are gone (or different) by the time the worker runs,
so they are read at the call. Reading them is the most expensive part of a log call inside
a span, so the fast path reads the OTel runtime's context variable directly and falls back
to the public API when the runtime is not the standard contextvars one.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation import _SPAN_KEY

#: The span slot of a queued record: (trace_id, span_id, trace_flags) as plain ints. A plain
#: tuple of ints is not tracked by the garbage collector, so neither is the record.
SpanIds = tuple[int, int, int]

#: Attributes bound with :func:`fapilog_otel.bind_contextvars`. The value is an immutable
#: snapshot (a fresh dict on every change), so the call site can keep it by reference.
#: On the library's own worker and exporter threads it holds :data:`PIPELINE_THREAD`,
#: which tells the call site that a record was logged from inside the pipeline.
bound_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "fapilog_otel_bound_context", default=None
)


class _PipelineMarker(dict[str, Any]):
    """The marker value of :data:`bound_context` on pipeline threads (an empty mapping)."""


PIPELINE_THREAD: Mapping[str, Any] = _PipelineMarker()


def _public_span_context() -> SpanIds | None:
    ctx = trace.get_current_span().get_span_context()
    return (ctx[0], ctx[1], ctx[3] & 0xFF) if ctx.is_valid else None


def _make_span_context_getter() -> Callable[[], SpanIds | None]:
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    var = getattr(runtime, "_current_context", None)
    if not isinstance(var, contextvars.ContextVar):
        return _public_span_context
    get_context = var.get

    def span_context() -> SpanIds | None:
        span = get_context().get(_SPAN_KEY)
        if span is None:
            return None
        ctx: SpanContext = span.get_span_context()
        # SpanContext is a tuple: (trace_id, span_id, is_remote, trace_flags, state, is_valid)
        return (ctx[0], ctx[1], ctx[3] & 0xFF) if ctx[5] else None

    return span_context


#: Returns the ids of the valid span current at the call, or ``None``.
current_span_context: Callable[[], SpanIds | None] = _make_span_context_getter()


def mark_pipeline_thread() -> None:
    """Mark the calling thread as one of the pipeline's own (worker or exporter).

    Records logged there are not queued (they could loop back forever) but counted as
    dropped with reason ``reentrant``, and OTel instrumentation is suppressed there so an
    instrumented HTTP client used by an exporter does not trace the export itself.
    """
    bound_context.set(PIPELINE_THREAD)
    otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True))
