"""The loggers: what application code calls.

A log call does only cheap capture and one append: the time, the current span's context,
the context-bound attributes, the call's keyword arguments (frozen if mutable) and, for
``exception``, the current exception. Formatting, conversion and I/O happen on the
container's worker. No log call raises, whatever its arguments: a failure to capture is
counted as dropped (``internal_error``) and reported on the diagnostics channel.

Levels below the logger's threshold are decided once, when the logger is made: their
methods are replaced by a function that returns at once.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType, MethodType
from typing import TYPE_CHECKING, Any, TypeVar

from fapilog_otel import _stats
from fapilog_otel._capture import PIPELINE_THREAD, bound_context, current_span_context
from fapilog_otel._freeze import IMMUTABLE_TYPES, freeze_attributes, freeze_value
from fapilog_otel._raw import RawRecord
from fapilog_otel.record import Scope, Severity

if TYPE_CHECKING:
    from collections import deque

    from fapilog_otel._queue import RecordQueue
    from fapilog_otel._worker import Worker

__all__ = ["AsyncLogger", "Logger"]

_L = TypeVar("_L", bound="_BaseLogger")

_time_ns = time.time_ns
_get_bound = bound_context.get
_IMMUTABLE = IMMUTABLE_TYPES
_ERROR = Severity.ERROR

#: (method name, severity number, severity text)
_LEVELS: tuple[tuple[str, int, str], ...] = (
    ("trace", Severity.TRACE, "TRACE"),
    ("debug", Severity.DEBUG, "DEBUG"),
    ("info", Severity.INFO, "INFO"),
    ("warning", Severity.WARNING, "WARNING"),
    ("error", Severity.ERROR, "ERROR"),
    ("critical", Severity.CRITICAL, "CRITICAL"),
)
_TEXT_BY_NUMBER = {number: text for _, number, text in _LEVELS}


def _disabled(*args: Any, **kwargs: Any) -> None:
    """A level method for a level below the logger's threshold."""


async def _adisabled(*args: Any, **kwargs: Any) -> None:
    """An async level method for a level below the logger's threshold."""


def _call_site(capture: frozenset[str], frame: FrameType | None) -> dict[str, Any]:
    """Attributes of the call site the container asked for (``thread``, ``code``).

    Named as the OTel semantic conventions name them: ``thread.id``, ``thread.name``,
    ``code.function.name`` (module-qualified), ``code.file.path``, ``code.line.number``.
    """
    found: dict[str, Any] = {}
    if "thread" in capture:
        found["thread.id"] = threading.get_ident()
        found["thread.name"] = threading.current_thread().name
    if "code" in capture and frame is not None:
        code = frame.f_code
        qualname = getattr(code, "co_qualname", code.co_name)
        module = frame.f_globals.get("__name__")
        found["code.function.name"] = f"{module}.{qualname}" if module else qualname
        found["code.file.path"] = code.co_filename
        found["code.line.number"] = frame.f_lineno
    return found


def _capture(
    logger: _BaseLogger,
    number: int,
    text: str,
    msg: Any,
    attrs: dict[str, Any],
    event_name: str | None,
    exc: BaseException | None,
) -> RawRecord | None:
    """Build the queued tuple for a call; ``None`` when the call came from the pipeline."""
    ctx = _get_bound()
    if ctx is PIPELINE_THREAD:
        logger._worker.queue.drop(_stats.REENTRANT)
        return None
    if attrs:
        for value in attrs.values():
            if type(value) not in _IMMUTABLE:
                attrs = freeze_attributes(attrs)
                break
    if type(msg) is not str and msg is not None:
        msg = freeze_value(msg)
    if event_name is not None and type(event_name) is not str:
        event_name = str(freeze_value(event_name))
    if logger._capture:
        # Frames: _capture <- _emit/_aemit <- the logger's method <- the caller.
        attrs = {**_call_site(logger._capture, sys._getframe(3)), **attrs}
    return (
        _time_ns(),
        None,
        number,
        text,
        msg,
        attrs or None,
        logger._scope_key,
        logger._bound,
        ctx,
        current_span_context(),
        event_name,
        exc,
        None,
    )


def _internal_error(logger: _BaseLogger, exc: BaseException) -> None:
    """Count and report a call the logger could not capture; never raises."""
    try:
        worker = logger._worker
        worker.queue.drop(_stats.INTERNAL_ERROR)
        worker.diagnostics.warn("capture", f"a log call could not be captured: {exc!r}")
    except Exception:
        return


def _make_level_method(
    number: int, text: str, capture: frozenset[str] = frozenset()
) -> Callable[..., None]:
    """Build the enabled method of one level: capture, one append, wake if idle.

    Everything the method reads is bound into the closure (cell reads are cheaper than
    global or attribute lookups); the span lookup is inlined for the same reason. With
    ``capture`` (``thread``, ``code``) the method also records the call site; without it
    the method does not even test for it.
    """
    limit_name = "high_limit" if number >= _ERROR else "low_limit"
    get_bound = _get_bound
    pipeline = PIPELINE_THREAD
    immutable = _IMMUTABLE
    freeze_attrs = freeze_attributes
    freeze = freeze_value
    time_ns = _time_ns
    span_context = current_span_context
    reentrant = _stats.REENTRANT
    type_of = type
    call_site = _call_site
    get_frame = sys._getframe

    def log(self: Logger, msg: Any, /, **attrs: Any) -> None:
        try:
            ctx = get_bound()
            if ctx is not None and ctx is pipeline:
                self._queue.drop(reentrant)
                return
            if attrs:
                for value in attrs.values():
                    # type(), not __class__: a proxy may claim to be a str.
                    if type_of(value) not in immutable:
                        attrs = freeze_attrs(attrs)
                        break
            else:
                attrs = None  # type: ignore[assignment]
            if capture:
                site = call_site(capture, get_frame(1))
                attrs = {**site, **attrs} if attrs else site
            if type_of(msg) is not str:
                msg = freeze(msg)
            raw = (
                time_ns(),
                None,
                number,
                text,
                msg,
                attrs,
                self._scope_key,
                self._bound,
                ctx,
                span_context(),
                None,
                None,
                None,
            )
            items = self._items
            queue = self._queue
            if len(items) < getattr(queue, limit_name):
                items.append(raw)
                if self._worker.idle:
                    self._worker.wake()
            else:
                queue.put(raw)
        except Exception as exc:
            _internal_error(self, exc)

    log.__name__ = log.__qualname__ = text.lower()
    log.__doc__ = f"Log ``msg`` at {text} (severity {number}) with ``attrs`` as attributes."
    return log


class _BaseLogger:
    """What both loggers share: the scope, the bound attributes and the level gate."""

    _scope: Scope
    _bound: dict[str, Any] | None
    _worker: Worker
    _queue: RecordQueue
    _items: deque[RawRecord]
    _level: int
    _capture: frozenset[str]

    def __init__(
        self,
        worker: Worker,
        scope: Scope,
        level: int,
        bound: dict[str, Any] | None = None,
        capture: frozenset[str] = frozenset(),
    ) -> None:
        self._worker = worker
        self._queue = worker.queue
        self._items = worker.queue.items
        self._scope = scope
        plain = scope.version is None and scope.schema_url is None and not scope.attributes
        self._scope_key: str | Scope = scope.name if plain else scope
        self._level = level
        self._bound = bound or None
        self._capture = capture
        is_async = isinstance(self, AsyncLogger)
        disabled = _adisabled if is_async else _disabled
        for name, number, text in _LEVELS:
            if number < level:
                setattr(self, name, disabled)
            elif capture and not is_async:
                setattr(self, name, MethodType(_make_level_method(number, text, capture), self))
        if level > Severity.INFO:
            self.event = disabled
        if level > Severity.ERROR:
            self.exception = disabled

    @property
    def name(self) -> str:
        """The logger's name, which is its instrumentation scope."""
        return self._scope.name

    def is_enabled_for(self, level: str | int) -> bool:
        """Whether records at ``level`` (a name or severity number) pass the level gate."""
        number = level if isinstance(level, int) else Severity.BY_NAME.get(level.lower(), 0)
        return number >= self._level

    def bind(self: _L, /, **attrs: Any) -> _L:
        """Return a logger of the same kind that adds ``attrs`` to every record.

        Values are frozen now; the call's own keywords win over bound ones.
        """
        merged = dict(self._bound) if self._bound else {}
        merged.update(freeze_attributes(attrs))
        return type(self)(self._worker, self._scope, self._level, merged, self._capture)

    def _passing_level(self, level: str | int) -> tuple[int, str] | None:
        """Resolve ``level``; ``None`` when it is below the gate (or cannot be resolved)."""
        try:
            number, text = _resolve_level(level)
        except Exception as exc:
            _internal_error(self, exc)
            return None
        return (number, text) if number >= self._level else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._scope.name!r}>"


class Logger(_BaseLogger):
    """The synchronous logger. Get one with :func:`fapilog_otel.get_logger`.

    Every method takes the message positionally and any attributes as keywords (any name
    works, ``msg=`` and ``level=`` included), returns ``None`` and never raises.
    """

    trace = _make_level_method(Severity.TRACE, "TRACE")
    debug = _make_level_method(Severity.DEBUG, "DEBUG")
    info = _make_level_method(Severity.INFO, "INFO")
    warning = _make_level_method(Severity.WARNING, "WARNING")
    error = _make_level_method(Severity.ERROR, "ERROR")
    critical = _make_level_method(Severity.CRITICAL, "CRITICAL")

    def exception(self, msg: Any, /, **attrs: Any) -> None:
        """Log at ERROR with the exception being handled attached (when there is one)."""
        self._emit(Severity.ERROR, "ERROR", msg, attrs, None, sys.exc_info()[1])

    def event(self, event_name: str, /, **attrs: Any) -> None:
        """Log an event: ``event_name`` set, severity INFO, an empty body."""
        self._emit(Severity.INFO, "INFO", None, attrs, event_name, None)

    def log(self, level: str | int, msg: Any, /, **attrs: Any) -> None:
        """Log at ``level``: a level name or an OTel severity number (1-24)."""
        resolved = self._passing_level(level)
        if resolved is not None:
            self._emit(*resolved, msg, attrs, None, None)

    def _emit(
        self,
        number: int,
        text: str,
        msg: Any,
        attrs: dict[str, Any],
        event_name: str | None,
        exc: BaseException | None,
    ) -> None:
        try:
            raw = _capture(self, number, text, msg, attrs, event_name, exc)
            if raw is not None:
                self._worker.queue.put(raw)
        except Exception as error:
            _internal_error(self, error)


def _make_async_level_method(number: int, text: str) -> Callable[..., Any]:
    async def log(self: AsyncLogger, msg: Any, /, **attrs: Any) -> None:
        await self._aemit(number, text, msg, attrs, None, None)

    log.__name__ = log.__qualname__ = text.lower()
    log.__doc__ = f"Log ``msg`` at {text}; awaits only while the queue is full (``block``)."
    return log


class AsyncLogger(_BaseLogger):
    """The asynchronous logger. Get one with :func:`fapilog_otel.get_async_logger`.

    The same methods as :class:`Logger`, awaitable. A call awaits only to apply
    backpressure (``overflow=block`` with a full queue), never for I/O.
    """

    trace = _make_async_level_method(Severity.TRACE, "TRACE")
    debug = _make_async_level_method(Severity.DEBUG, "DEBUG")
    info = _make_async_level_method(Severity.INFO, "INFO")
    warning = _make_async_level_method(Severity.WARNING, "WARNING")
    error = _make_async_level_method(Severity.ERROR, "ERROR")
    critical = _make_async_level_method(Severity.CRITICAL, "CRITICAL")

    async def exception(self, msg: Any, /, **attrs: Any) -> None:
        """Log at ERROR with the exception being handled attached (when there is one)."""
        await self._aemit(Severity.ERROR, "ERROR", msg, attrs, None, sys.exc_info()[1])

    async def event(self, event_name: str, /, **attrs: Any) -> None:
        """Log an event: ``event_name`` set, severity INFO, an empty body."""
        await self._aemit(Severity.INFO, "INFO", None, attrs, event_name, None)

    async def log(self, level: str | int, msg: Any, /, **attrs: Any) -> None:
        """Log at ``level``: a level name or an OTel severity number (1-24)."""
        resolved = self._passing_level(level)
        if resolved is not None:
            await self._aemit(*resolved, msg, attrs, None, None)

    async def _aemit(
        self,
        number: int,
        text: str,
        msg: Any,
        attrs: dict[str, Any],
        event_name: str | None,
        exc: BaseException | None,
    ) -> None:
        try:
            raw = _capture(self, number, text, msg, attrs, event_name, exc)
            if raw is None:
                return
            queue = self._worker.queue
            if queue.offer(raw):
                return
            deadline = time.monotonic() + queue.block_timeout
            delay = 0.0005
            while time.monotonic() < deadline:
                await asyncio.sleep(delay)
                if queue.offer(raw):
                    return
                delay = min(delay * 2, 0.02)
            queue.give_up()
        except Exception as error:
            _internal_error(self, error)


def _resolve_level(level: str | int) -> tuple[int, str]:
    """Map a level name or severity number to (severity number, severity text)."""
    if isinstance(level, int) and not isinstance(level, bool):
        # int.__pos__ gives a plain int even for a subclass that overrides conversions.
        number = min(max(int.__pos__(level), 1), 24)
        base = max(n for n in _TEXT_BY_NUMBER if n <= number)
        return number, _TEXT_BY_NUMBER[base]
    try:
        name = str(level).strip().lower()
    except Exception:
        # An unprintable level must not cost the record: log it at INFO.
        return Severity.INFO, "INFO"
    name = {"warn": "warning", "fatal": "critical"}.get(name, name)
    number = Severity.BY_NAME.get(name, Severity.INFO)
    return number, _TEXT_BY_NUMBER[number]
