"""The flat tuple that the call site queues, and its conversion into a :class:`LogRecord`.

A tuple literal is the cheapest thing Python can build, so the call site builds one and
nothing else. The worker turns it into a :class:`~fapilog_otel.record.LogRecord` when it
takes the batch. Slot layout (index: meaning):

0 ``TIME`` nanoseconds since the epoch; 1 ``OBSERVED`` observed time or ``None`` (= TIME);
2 ``SEVERITY_NUMBER``; 3 ``SEVERITY_TEXT``; 4 ``BODY`` (already frozen); 5 ``ATTRS`` call
keyword arguments (frozen dict) or ``None``; 6 ``SCOPE`` the scope name (``str``) or a
:class:`Scope` with a version or attributes; 7 ``BOUND`` the logger's bound attributes or
``None``; 8 ``CONTEXT`` the context-bound attributes or ``None``; 9 ``SPAN`` a plain
``(trace_id, span_id, trace_flags)`` tuple or ``None``; 10 ``EVENT_NAME``; 11 ``EXC`` an
exception or ``None``; 12 ``RESOURCE`` a resource overriding the pipeline's, or ``None``.

Why names and plain tuples: the garbage collector traverses every container object it
tracks. A ``Scope`` instance or a ``SpanContext`` in a slot would be one more object per
record for it to visit; a name and a tuple of ints are not visited at all, and a call's
attribute dict of plain values is not tracked. (The record tuple itself stays tracked as
long as it holds a dict: CPython only untracks tuples of atomic values and of untracked
tuples. Getting the backlog out of the collector's sight entirely is left to the
performance work.)

Attribute precedence, lowest first: context-bound, logger-bound, call keywords. Exception
attributes (``exception.type``/``message``/``stacktrace``) never overwrite a user's.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel._cache import remember
from fapilog_otel.record import LogRecord, Scope

TIME = 0
OBSERVED = 1
SEVERITY_NUMBER = 2
SEVERITY_TEXT = 3
BODY = 4
ATTRS = 5
SCOPE = 6
BOUND = 7
CONTEXT = 8
SPAN = 9
EVENT_NAME = 10
EXC = 11
RESOURCE = 12

RawRecord = tuple[Any, ...]


def exception_attributes(exc: BaseException) -> dict[str, str]:
    """Return the OTel semantic-convention attributes describing ``exc``."""
    cls = type(exc)
    module = cls.__module__
    qualname = cls.__qualname__
    exc_type = qualname if module in ("builtins", "__main__") else f"{module}.{qualname}"
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {qualname}>"
    try:
        stacktrace = "".join(traceback.format_exception(cls, exc, exc.__traceback__))
    except Exception:
        stacktrace = f"{exc_type}: {message}"
    return {
        "exception.type": exc_type,
        "exception.message": message,
        "exception.stacktrace": stacktrace,
    }


def to_record(
    raw: RawRecord, resource: Resource, scopes: dict[str, Scope] | None = None
) -> LogRecord:
    """Build the worker-side :class:`LogRecord` from a queued tuple.

    Args:
        raw: The queued tuple.
        resource: The resource to use unless the tuple carries its own.
        scopes: The worker's cache of :class:`Scope` objects by name (none: no caching).
    """
    attrs: dict[str, Any]
    context = raw[CONTEXT]
    bound = raw[BOUND]
    call = raw[ATTRS]
    if context:
        attrs = dict(context)
        if bound:
            attrs.update(bound)
        if call:
            attrs.update(call)
    elif bound:
        attrs = dict(bound)
        if call:
            attrs.update(call)
    else:
        attrs = call if call is not None else {}
    exc = raw[EXC]
    if exc is not None:
        for key, value in exception_attributes(exc).items():
            attrs.setdefault(key, value)
    rec = LogRecord.__new__(LogRecord)
    rec.timestamp = raw[TIME]
    observed = raw[OBSERVED]
    rec.observed_timestamp = raw[TIME] if observed is None else observed
    rec.severity_number = raw[SEVERITY_NUMBER]
    rec.severity_text = raw[SEVERITY_TEXT]
    rec.body = raw[BODY]
    rec.attributes = attrs
    scope = raw[SCOPE]
    if scope.__class__ is str:
        if scopes is None:
            scopes = {}
        named = scopes.get(scope)
        if named is None:
            named = remember(scopes, scope, Scope(scope))
        scope = named
    rec.scope = scope
    own_resource = raw[RESOURCE]
    rec.resource = resource if own_resource is None else own_resource
    span = raw[SPAN]
    if span is None:
        rec.trace_id = 0
        rec.span_id = 0
        rec.trace_flags = 0
    else:
        rec.trace_id, rec.span_id, rec.trace_flags = span
    rec.event_name = raw[EVENT_NAME]
    rec.dropped_attributes_count = 0
    return rec


def to_records(
    raws: list[RawRecord],
    resource: Resource,
    scopes: dict[str, Scope],
    failed: Callable[[Exception], None],
) -> list[LogRecord]:
    """Build the records of a batch: :func:`to_record` for each tuple, with the common
    shape (no bound or context attributes, no exception, a named scope already cached, the
    pipeline's resource) done inline, which saves a call per record.

    Args:
        raws: The queued tuples.
        resource: The resource to use unless a tuple carries its own.
        scopes: The worker's cache of :class:`Scope` objects by name.
        failed: Called with the exception of a tuple that could not be converted (the
            tuple is left out).
    """
    new = LogRecord.__new__
    record_class = LogRecord
    records: list[LogRecord] = []
    append = records.append
    for raw in raws:
        try:
            (stamp, observed, number, text, body, call, scope, bound, context, span, event, exc,
             own_resource) = raw  # fmt: skip
            named = scopes.get(scope) if scope.__class__ is str else None
            if bound or context or exc is not None or own_resource is not None or named is None:
                append(to_record(raw, resource, scopes))
                continue
            rec = new(record_class)
            rec.timestamp = stamp
            rec.observed_timestamp = stamp if observed is None else observed
            rec.severity_number = number
            rec.severity_text = text
            rec.body = body
            rec.attributes = call if call is not None else {}
            rec.scope = named
            rec.resource = resource
            if span is None:
                rec.trace_id = rec.span_id = rec.trace_flags = 0
            else:
                rec.trace_id, rec.span_id, rec.trace_flags = span
            rec.event_name = event
            rec.dropped_attributes_count = 0
            append(rec)
        except Exception as exc:
            failed(exc)
    return records
