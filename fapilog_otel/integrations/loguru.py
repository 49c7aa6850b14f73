"""Bridge from loguru into a fapilog-otel container: a sink.

:class:`FapilogSink` is a loguru sink (a callable taking loguru's ``Message``). It turns the
message's ``record`` into the same light record our own loggers queue, so loguru records get
the container's processors, exporters and stats. The mapping:

* ``record["level"]`` -> severity: its number (``no``) with
  :func:`fapilog_otel.stdlib.severity_number` (TRACE 5 -> 1, DEBUG 10 -> 5, INFO 20 -> 9,
  SUCCESS 25 -> 12, WARNING 30 -> 13, ERROR 40 -> 17, CRITICAL 50 -> 21), its ``name`` as
  severity text, verbatim;
* ``record["message"]`` (formatted) -> body; ``record["time"]`` -> the record's time;
* ``record["extra"]`` -> attributes, frozen at the call: values from ``bind()``,
  ``contextualize()`` and the keyword arguments of the call (loguru puts those in
  ``extra`` too);
* ``record["exception"]`` -> ``exception.type``/``exception.message``/
  ``exception.stacktrace`` (an ``exception.*`` value in ``extra`` wins);
* ``record["name"]`` (the calling module's ``__name__``) -> instrumentation scope, else
  ``default_scope``;
* the span current at the call -> trace id, span id and flags;
* ``code.file.path``/``code.function.name``/``code.line.number`` when asked for.

Records of modules named ``fapilog_otel...`` are not forwarded, so the pipeline never logs
into itself. The sink never raises into the application: a failure is counted in
:attr:`FapilogSink.errors` (the last one in :attr:`FapilogSink.last_error`).

Options of ``logger.add`` (:func:`add_sink` chooses them):

* ``enqueue=False``: the sink only captures and queues (no formatting, no I/O); the
  container's queue and worker already do the rest off the caller's thread. And the span is
  read when the sink runs, which with ``enqueue=False`` is in the caller's thread, at the
  call; with ``enqueue=True`` loguru runs sinks on its own thread, where no span is
  current, so records would lose their trace ids (and cross a pickling step).
* ``catch=True`` (loguru's default): the sink does not raise, so this never fires; it stays
  on as a second guard.
* ``format="{message}"``: loguru formats a message for every sink before calling it; the
  sink reads the record, so the cheapest format is used.

Example::

    from loguru import logger
    from fapilog_otel.integrations.loguru import add_sink

    add_sink(level="INFO")                   # the default container
    logger.bind(order_id=7).info("order placed")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fapilog_otel._bridging import (
    OWN_LOGGER_PREFIX,
    FailureCount,
    Submitter,
    datetime_ns,
    default_container,
)
from fapilog_otel._capture import current_span_context
from fapilog_otel._freeze import describe, freeze_attributes
from fapilog_otel.stdlib import severity_number

if TYPE_CHECKING:
    from loguru import Logger, Message, Record

__all__ = ["FapilogSink", "add_sink"]


class FapilogSink(FailureCount):
    """A loguru sink that sends each record into a fapilog-otel container.

    It needs nothing from loguru itself: it reads the message's ``record`` dict.

    Args:
        container: The container to feed; any object with ``_submit_raw(raw)``. ``None``
            (the default) means the default container, looked up on each record so the
            sink follows it when it is replaced.
        default_scope: The instrumentation scope of records without a module name.
        code_attributes: Add ``code.file.path``, ``code.function.name`` and
            ``code.line.number`` from the record.

    Attributes:
        errors: How many records could not be forwarded (never raised).
        last_error: The last failure, for diagnostics.
    """

    def __init__(
        self,
        container: Submitter | None = None,
        *,
        default_scope: str = "loguru",
        code_attributes: bool = False,
    ) -> None:
        super().__init__()
        self._container = container
        self._default_scope = default_scope
        self._code_attributes = code_attributes

    @property
    def container(self) -> Submitter | None:
        """The container given at construction, or ``None`` for the default container."""
        return self._container

    def __call__(self, message: Message) -> None:
        """Capture the message's record and queue it in the container; never raises.

        Args:
            message: What loguru hands a sink: the formatted text, with ``.record``.
        """
        try:
            record = message.record
            name = record["name"]
            scope = name if type(name) is str and name else self._default_scope
            if scope.startswith(OWN_LOGGER_PREFIX):
                return
            container = self._container
            if container is None:
                container = default_container()
            container._submit_raw(self._to_raw(record, scope))
        except Exception as exc:
            self._count(exc)

    def _to_raw(self, record: Record, scope: str) -> tuple[Any, ...]:
        extra = record["extra"]
        attributes = freeze_attributes(extra) if extra else {}
        if self._code_attributes:
            attributes.setdefault("code.file.path", record["file"].path)
            attributes.setdefault("code.function.name", record["function"])
            attributes.setdefault("code.line.number", record["line"])
        level = record["level"]
        text = level.name
        body = record["message"]
        exception = record["exception"]
        value = None if exception is None else exception.value
        return (
            datetime_ns(record["time"]),  # TIME
            None,  # OBSERVED: the same as TIME, loguru stamps the record at the call
            severity_number(level.no),  # SEVERITY_NUMBER
            text if type(text) is str else describe(text),  # SEVERITY_TEXT
            body if type(body) is str else describe(body),  # BODY
            attributes or None,  # ATTRS
            scope,  # SCOPE
            None,  # BOUND
            None,  # CONTEXT
            current_span_context(),  # SPAN
            None,  # EVENT_NAME
            value if isinstance(value, BaseException) else None,  # EXC
            None,  # RESOURCE
        )

    def __repr__(self) -> str:
        target = "default container" if self._container is None else repr(self._container)
        return f"<FapilogSink -> {target}>"


def add_sink(
    container: Submitter | None = None,
    *,
    level: str | int = "INFO",
    logger: Logger | None = None,
    code_attributes: bool = False,
    **options: Any,
) -> int:
    """Send loguru's records to a container with one call.

    Adds a :class:`FapilogSink` to loguru's logger with ``enqueue=False``, ``catch=True``
    and ``format="{message}"`` (see the module docstring for why); ``options`` are passed
    to ``logger.add`` and override those (``filter=...``, for instance).

    Args:
        container: The container; ``None`` for the default container.
        level: The lowest level the sink receives.
        logger: The loguru logger; ``loguru.logger`` by default.
        code_attributes: Add ``code.*`` attributes (see :class:`FapilogSink`).
        **options: More keyword arguments for ``logger.add``.

    Returns:
        The handler id; ``logger.remove(handler_id)`` takes the sink away again.

    Raises:
        ImportError: ``logger`` is not given and loguru is not installed.
    """
    if logger is None:
        try:
            from loguru import logger as default_logger
        except ImportError:
            raise ImportError("add_sink needs loguru: pip install loguru") from None
        logger = default_logger
    settings: dict[str, Any] = {"enqueue": False, "catch": True, "format": "{message}"}
    settings.update(options)
    sink = FapilogSink(container, code_attributes=code_attributes)
    handler_id: int = logger.add(sink, level=level, **settings)
    return handler_id
