"""Bridge from the standard library's :mod:`logging` into a fapilog-otel container.

:class:`FapilogHandler` turns each :class:`logging.LogRecord` into the same light record our
own loggers queue, so stdlib records get the container's processors, exporters and stats.
The mapping follows the OpenTelemetry bridges:

* ``levelno`` -> severity number by range (DEBUG 5, INFO 9, WARNING 13, ERROR 17,
  CRITICAL 21; levels in between map within the range, e.g. 11 -> 6, 15 -> 8, 51 -> 22;
  levels below DEBUG map to TRACE 1-4); ``levelname`` -> severity text, verbatim;
* ``record.getMessage()`` -> body; ``record.name`` -> instrumentation scope;
* ``extra={...}`` fields -> attributes (frozen at the call); an ``otel.event.name`` extra
  becomes the event name;
* ``exc_info`` -> ``exception.type``/``exception.message``/``exception.stacktrace``;
* the span current at the call -> trace id, span id and flags;
* ``code.file.path``/``code.function.name``/``code.line.number`` when asked for.

Records from loggers named ``fapilog_otel...`` (the library's own diagnostics) are ignored,
so the pipeline never logs into itself.

One-call setup::

    import logging
    from fapilog_otel import stdlib

    stdlib.install(level=logging.INFO)      # root logger -> the default container
    logging.getLogger("shop").info("order placed", extra={"order_id": 123})

With :func:`logging.config.dictConfig` (a ``container`` key, such as
``"ext://myapp.logging.container"``, selects a container other than the default one)::

    import logging.config

    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            "otel": {
                "()": "fapilog_otel.stdlib.FapilogHandler",
                "level": "INFO",
                "code_attributes": True,
            },
        },
        "root": {"level": "INFO", "handlers": ["otel"]},
    })
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.trace import get_current_span

from fapilog_otel._bridging import OWN_LOGGER_PREFIX as _OWN_LOGGER_PREFIX
from fapilog_otel._bridging import FailureCount
from fapilog_otel._bridging import Submitter as _Submitter
from fapilog_otel._freeze import freeze_attributes

__all__ = ["FapilogHandler", "install", "severity_number", "uninstall"]


#: Attribute names every ``logging.LogRecord`` has; anything else came from ``extra=``.
_STANDARD_ATTRIBUTES: frozenset[str] = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__
) | {"message", "asctime", "taskName"}

_EVENT_NAME_KEY = "otel.event.name"


def _severity_for(levelno: int) -> int:
    if levelno <= 0:
        return 0
    if levelno < 10:
        # TRACE is 1-4; a custom TRACE level is commonly 5, so 5 -> 1 ... 8 and 9 -> 4.
        return 1 + min(max(levelno - 5, 0), 3)
    if levelno >= 60:
        return 24
    decade, offset = divmod(levelno, 10)
    return decade * 4 + 1 + min(offset, 3)


_SEVERITY_TABLE: tuple[int, ...] = tuple(_severity_for(n) for n in range(60))


def severity_number(levelno: int) -> int:
    """Return the OpenTelemetry severity number for a stdlib level number.

    Args:
        levelno: A :mod:`logging` level number (``logging.WARNING``, or a custom level).

    Returns:
        0 for ``NOTSET`` (and below), 1-4 for levels below DEBUG, then 5 (DEBUG), 9 (INFO),
        13 (WARNING), 17 (ERROR), 21 (CRITICAL); ``+1`` and ``+2`` for the next two level
        numbers and ``+3`` for the rest of each decade; 24 from 53 upwards.
    """
    if 0 <= levelno < 60:
        return _SEVERITY_TABLE[levelno]
    return 24 if levelno >= 60 else 0


class FapilogHandler(logging.Handler, FailureCount):
    """A :class:`logging.Handler` that sends records into a fapilog-otel container.

    ``emit`` only captures and queues (no formatting, no I/O) and never raises: failures are
    counted in :attr:`errors` (the last one kept in :attr:`last_error`), never printed.
    ``emit`` is thread-safe, so the handler takes no lock per record.

    Args:
        container: The container to feed; any object with ``_submit_raw(raw)``. ``None``
            (the default) means the default container, looked up on each record so the
            handler follows it when it is replaced.
        level: The handler's level.
        code_attributes: Add ``code.file.path``, ``code.function.name`` and
            ``code.line.number`` from the record.
    """

    def __init__(
        self,
        container: _Submitter | None = None,
        level: int | str = logging.NOTSET,
        *,
        code_attributes: bool = False,
    ) -> None:
        super().__init__(level)
        self._container = container
        self._code_attributes = code_attributes
        self._default_container: Callable[[], _Submitter] | None = None
        self._installed_on: list[logging.Logger] = []
        FailureCount.__init__(self)  # errors, last_error

    @property
    def container(self) -> _Submitter | None:
        """The container given at construction, or ``None`` for the default container."""
        return self._container

    def handle(self, record: logging.LogRecord) -> bool:
        """Filter and emit ``record`` without taking the handler lock.

        Args:
            record: The stdlib record.

        Returns:
            Whether the record passed the filters.
        """
        passed = self.filter(record)
        if isinstance(passed, logging.LogRecord):
            record = passed
        if passed:
            self.emit(record)
        return bool(passed)

    def emit(self, record: logging.LogRecord) -> None:
        """Capture ``record`` and queue it in the container; never raises.

        Args:
            record: The stdlib record.
        """
        try:
            if record.name.startswith(_OWN_LOGGER_PREFIX):
                return
            container = self._container
            if container is None:
                container = self._resolve_default()
            container._submit_raw(self._to_raw(record))
        except Exception as exc:
            self._count(exc)

    def flush(self) -> None:
        """Do nothing: delivery is the container's job (``fapilog_otel.flush()``).

        :func:`logging.shutdown` calls this at exit, when the container drains by itself.
        """

    def _resolve_default(self) -> _Submitter:
        getter = self._default_container
        if getter is None:
            from fapilog_otel import _default  # imported late: the package imports the core

            getter = self._default_container = _default.get_default_container
        return getter()

    def _to_raw(self, record: logging.LogRecord) -> tuple[Any, ...]:
        values = record.__dict__
        extra = [key for key in values if key not in _STANDARD_ATTRIBUTES]
        attributes = freeze_attributes({key: values[key] for key in extra}) if extra else {}
        event_name = None
        if _EVENT_NAME_KEY in attributes:
            event_name = attributes.pop(_EVENT_NAME_KEY)
            if event_name is not None and type(event_name) is not str:
                event_name = str(event_name)
        try:
            body = record.getMessage()
        except Exception as exc:
            body = _safe_str(record.msg)
            attributes["logging.format_error"] = f"{type(exc).__qualname__}: {_safe_str(exc)}"
        if self._code_attributes:
            attributes.setdefault("code.file.path", record.pathname)
            attributes.setdefault("code.function.name", record.funcName)
            attributes.setdefault("code.line.number", record.lineno)
        if record.stack_info:
            attributes.setdefault("code.stacktrace", record.stack_info)
        exc_info = record.exc_info
        exception = exc_info[1] if isinstance(exc_info, tuple) and len(exc_info) > 1 else None
        if not isinstance(exception, BaseException):
            exception = None
        span_context = get_current_span().get_span_context()
        # The scope goes in as its name: the worker keeps the Scope objects, by name.
        scope = record.name if type(record.name) is str else _safe_str(record.name)
        return (
            int(record.created * 1e9),  # TIME
            time.time_ns(),  # OBSERVED
            severity_number(record.levelno),  # SEVERITY_NUMBER
            record.levelname,  # SEVERITY_TEXT
            body,  # BODY
            attributes or None,  # ATTRS
            scope,  # SCOPE
            None,  # BOUND
            None,  # CONTEXT
            (span_context[0], span_context[1], span_context[3] & 0xFF)
            if span_context.is_valid
            else None,  # SPAN
            event_name,  # EVENT_NAME
            exception,  # EXC
            None,  # RESOURCE
        )

    def __repr__(self) -> str:
        target = "default container" if self._container is None else repr(self._container)
        return f"<FapilogHandler {logging.getLevelName(self.level)} -> {target}>"


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"


def _resolve_logger(logger: logging.Logger | str | None) -> logging.Logger:
    if logger is None:
        return logging.getLogger()
    if isinstance(logger, str):
        return logging.getLogger(logger)
    return logger


def install(
    container: _Submitter | None = None,
    *,
    level: int | str = logging.INFO,
    logger: logging.Logger | str | None = None,
) -> FapilogHandler:
    """Send stdlib logging to a container with one call.

    Attaches a :class:`FapilogHandler` to the root logger (or ``logger``) and sets that
    logger's level. Installing again for the same container and logger returns the handler
    already there instead of adding a second one.

    Args:
        container: The container; ``None`` for the default container.
        level: The level to set on the logger.
        logger: The logger (or its name) to attach to; the root logger by default.

    Returns:
        The handler attached to the logger.
    """
    target = _resolve_logger(logger)
    target.setLevel(level)
    for existing in target.handlers:
        if isinstance(existing, FapilogHandler) and existing.container is container:
            return existing
    handler = FapilogHandler(container)
    target.addHandler(handler)
    handler._installed_on.append(target)
    return handler


def uninstall(handler: FapilogHandler) -> None:
    """Detach a handler from the loggers :func:`install` attached it to, and close it.

    Args:
        handler: The handler :func:`install` returned.
    """
    installed_on, handler._installed_on = handler._installed_on, []
    for target in installed_on:
        target.removeHandler(handler)
    handler.close()
