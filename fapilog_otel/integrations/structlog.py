"""Bridge from structlog into a fapilog-otel container: a processor.

:class:`FapilogForwarder` goes at the end of a structlog processor chain. It turns each
event dict into the same light record our own loggers queue, so structlog events get the
container's processors, exporters and stats, and then drops the event (structlog's
``DropEvent``), or passes it on unchanged with ``pass_through=True`` so that a renderer
after it still prints it. The mapping:

* the level -> severity number and text: the ``level`` key (``add_log_level``), else the
  method name; ``exception`` counts as ``error``, ``warn`` as ``warning``, ``fatal`` as
  ``critical``; the name is looked up as a :mod:`logging` level (so a custom level added
  with ``logging.addLevelName`` maps within its range) and mapped with
  :func:`fapilog_otel.stdlib.severity_number`; the text is the name in upper case.
  An int ``level_number`` key (``add_log_level_number``) gives the number instead. A name
  :mod:`logging` does not know is severity INFO (9), its text kept;
* the ``event`` key -> body (frozen when it is not a ``str``);
* every other key -> an attribute, frozen at the call: values bound with ``bind()`` and,
  with ``merge_contextvars`` earlier in the chain, with ``bind_contextvars()``;
* ``exc_info`` (``True``, an exception, or an ``exc_info`` tuple) ->
  ``exception.type``/``exception.message``/``exception.stacktrace``; a ``str`` ``exception``
  key (``format_exc_info`` ran earlier) -> ``exception.stacktrace``; a ``str`` ``stack`` key
  (``StackInfoRenderer``) -> ``code.stacktrace``; attributes given by the user win;
* the instrumentation scope: the ``logger_name`` key, else a ``str`` ``logger`` key
  (``structlog.stdlib.add_logger_name``), else the wrapped logger's ``str`` ``name``
  (a :class:`logging.Logger`), else ``default_scope``;
* the span current at the call -> trace id, span id and flags.

Keys structlog adds for rendering: ``timestamp`` (``TimeStamper``) becomes the record's
time when it can be read (epoch seconds as int or float, an ISO 8601 string with or
without ``Z``, a ``datetime``) and is then left out of the attributes; a value in another
format (``TimeStamper(fmt="%H:%M")``) stays an attribute and the record's time is the
time of the call. ``level``, ``level_number``, ``logger_name`` and the ``logger`` name
are used as described and left out. ``_record`` and ``_from_structlog`` (what
``ProcessorFormatter.wrap_for_formatter`` adds) are left out. So put this processor
after ``TimeStamper``, ``add_log_level`` and ``merge_contextvars`` and before any
renderer or ``format_exc_info``/``dict_tracebacks``.

Events whose scope starts with ``fapilog_otel`` are not forwarded, so the pipeline never
logs into itself. The processor never raises into the application: a failure is counted in
:attr:`FapilogForwarder.errors` (the last one in :attr:`FapilogForwarder.last_error`).

Example::

    import structlog
    from fapilog_otel.integrations.structlog import FapilogForwarder

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            FapilogForwarder(),          # the default container; drops the event
        ]
    )
"""

from __future__ import annotations

import datetime
import logging
import sys
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

from fapilog_otel._bridging import (
    OWN_LOGGER_PREFIX,
    FailureCount,
    Submitter,
    datetime_ns,
    default_container,
)
from fapilog_otel._cache import remember
from fapilog_otel._capture import current_span_context
from fapilog_otel._freeze import describe, freeze_attributes, freeze_value
from fapilog_otel.record import Severity
from fapilog_otel.stdlib import severity_number

__all__ = ["FapilogForwarder"]

#: Keys the processor reads itself; none of them becomes an attribute as it is.
_SPECIAL_KEYS: frozenset[str] = frozenset(
    {
        "event",
        "level",
        "level_number",
        "logger_name",
        "logger",
        "exc_info",
        "exception",
        "stack",
        "timestamp",
        "_record",
        "_from_structlog",
    }
)

_ALIASES: Mapping[str, str] = {"exception": "error", "warn": "warning", "fatal": "critical"}

#: Level name as structlog gives it -> (severity number, severity text).
_levels: dict[str, tuple[int, str]] = {}


def _level_for(name: str) -> tuple[int, str]:
    level = _levels.get(name)
    if level is None:
        canonical = name.lower()
        canonical = _ALIASES.get(canonical, canonical).upper()
        levelno = logging.getLevelName(canonical)
        number = severity_number(levelno) if type(levelno) is int else Severity.INFO
        level = remember(_levels, name, (number, canonical))
    return level


def _time_ns(value: object) -> int | None:
    """The record time ``value`` stands for, or ``None`` when it cannot be read."""
    try:
        if isinstance(value, datetime.datetime):
            return datetime_ns(value)
        if type(value) is float or type(value) is int:
            return int(value * 1_000_000_000)
        if type(value) is str:
            text = value[:-1] + "+00:00" if value.endswith("Z") else value
            return datetime_ns(datetime.datetime.fromisoformat(text))
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _exception_from(exc_info: object) -> BaseException | None:
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) > 1 and isinstance(exc_info[1], BaseException):
        return exc_info[1]
    return None


class FapilogForwarder(FailureCount):
    """A structlog processor that sends each event into a fapilog-otel container.

    Args:
        container: The container to feed; any object with ``_submit_raw(raw)``. ``None``
            (the default) means the default container, looked up on each event so the
            processor follows it when it is replaced.
        pass_through: Return the event dict unchanged instead of raising ``DropEvent``, so
            that processors after this one (a renderer) still see it.
        default_scope: The instrumentation scope of events that name no logger.

    Raises:
        ImportError: structlog is not installed.

    Attributes:
        errors: How many events could not be forwarded (never raised).
        last_error: The last failure, for diagnostics.
    """

    def __init__(
        self,
        container: Submitter | None = None,
        *,
        pass_through: bool = False,
        default_scope: str = "structlog",
    ) -> None:
        try:
            from structlog import DropEvent
        except ImportError:
            raise ImportError("FapilogForwarder needs structlog: pip install structlog") from None
        super().__init__()
        self._container = container
        self._pass_through = pass_through
        self._drop_event = DropEvent
        self._default_scope = default_scope

    @property
    def container(self) -> Submitter | None:
        """The container given at construction, or ``None`` for the default container."""
        return self._container

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        """Forward the event; then drop it, or return it unchanged with ``pass_through``.

        Args:
            logger: The wrapped logger.
            method_name: The name of the method called (``"info"``, ``"exception"``...).
            event_dict: The event; it is read, never changed.

        Returns:
            ``event_dict`` itself, with ``pass_through``.

        Raises:
            DropEvent: Without ``pass_through``, always (structlog then stops the chain).
        """
        try:
            self._forward(logger, method_name, event_dict)
        except Exception as exc:
            self._count(exc)
        if self._pass_through:
            return event_dict
        raise self._drop_event

    def _forward(self, logger: Any, method_name: str, event_dict: Mapping[str, Any]) -> None:
        scope = event_dict.get("logger_name")
        named_by = "logger_name"
        if type(scope) is not str:
            scope, named_by = event_dict.get("logger"), "logger"
            if type(scope) is not str:
                scope, named_by = getattr(logger, "name", None), ""
                if type(scope) is not str:
                    scope = self._default_scope
        if scope.startswith(OWN_LOGGER_PREFIX):
            return
        container = self._container
        if container is None:
            container = default_container()
        container._submit_raw(self._to_raw(method_name, event_dict, scope, named_by))

    def _to_raw(
        self, method_name: str, event_dict: Mapping[str, Any], scope: str, named_by: str
    ) -> tuple[Any, ...]:
        observed = time.time_ns()
        attributes = freeze_attributes(
            {
                key: value
                for key, value in event_dict.items()
                if key not in _SPECIAL_KEYS or (key == "logger" and named_by != "logger")
            }
        )
        level = event_dict.get("level", method_name)
        number, text = _level_for(level if type(level) is str else describe(level))
        level_number = event_dict.get("level_number")
        if type(level_number) is int:
            number = severity_number(level_number)
        timestamp = None
        if "timestamp" in event_dict:
            timestamp = _time_ns(event_dict["timestamp"])
            if timestamp is None:
                attributes.setdefault("timestamp", freeze_value(event_dict["timestamp"]))
        rendered = event_dict.get("exception")
        if type(rendered) is str:
            attributes.setdefault("exception.stacktrace", rendered)
        elif rendered is not None:
            attributes.setdefault("exception", freeze_value(rendered))
        stack = event_dict.get("stack")
        if type(stack) is str:
            attributes.setdefault("code.stacktrace", stack)
        elif stack is not None:
            attributes.setdefault("stack", freeze_value(stack))
        body = event_dict.get("event")
        if body is not None and type(body) is not str:
            body = freeze_value(body)
        return (
            observed if timestamp is None else timestamp,  # TIME
            observed,  # OBSERVED
            number,  # SEVERITY_NUMBER
            text,  # SEVERITY_TEXT
            body,  # BODY
            attributes or None,  # ATTRS
            scope,  # SCOPE
            None,  # BOUND
            None,  # CONTEXT
            current_span_context(),  # SPAN
            None,  # EVENT_NAME
            _exception_from(event_dict.get("exc_info")),  # EXC
            None,  # RESOURCE
        )

    def __repr__(self) -> str:
        target = "default container" if self._container is None else repr(self._container)
        return f"<FapilogForwarder -> {target}>"
