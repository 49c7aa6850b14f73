"""What the bridges from other logging libraries share (stdlib, structlog, loguru).

Each bridge turns a foreign record into the tuple our loggers queue (``_raw.py``) and hands
it to a container with ``_submit_raw``. The severity mapping is
:func:`fapilog_otel.stdlib.severity_number`; freezing is ``_freeze.py``; the span is read
with ``_capture.current_span_context``; ``exception.*`` attributes are made on the worker.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any, Protocol

#: Records whose logger name starts with this are the library's own; bridges skip them.
OWN_LOGGER_PREFIX = "fapilog_otel"

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Submitter(Protocol):
    """The part of a container a bridge needs."""

    def _submit_raw(self, raw: tuple[Any, ...], /) -> None:
        """Queue one raw record; never raises."""


def default_container() -> Submitter:
    """Return the current default container (looked up on each call, so a replaced one is
    followed)."""
    from fapilog_otel import _default  # imported late: the package imports the core

    return _default.get_default_container()


def datetime_ns(value: datetime.datetime) -> int:
    """Nanoseconds since the epoch of ``value``, exact to the microsecond.

    A naive ``datetime`` is taken as local time, as :meth:`datetime.datetime.timestamp` does.
    """
    if value.tzinfo is None:
        value = value.astimezone()
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


class FailureCount:
    """How many records a bridge could not forward, and the last failure (thread-safe).

    Attributes:
        errors: How many records could not be bridged.
        last_error: The last failure, for diagnostics.
    """

    def __init__(self) -> None:
        self._errors_lock = threading.Lock()
        self.errors = 0
        self.last_error: BaseException | None = None

    def _count(self, exc: BaseException) -> None:
        with self._errors_lock:
            self.errors += 1
            self.last_error = exc
