"""The optional compiled record encoder, and the switch that turns it off.

``_cencode`` is a C extension built at install time when a compiler is present; installs
without one still succeed and use the pure-Python encoder. The compiled encoder writes the
same bytes as the Python one: it encodes the common shapes of record itself and calls the
Python encoder for everything else (see ``_cencode.c``). Setting ``FAPILOG_PURE_PYTHON``
to a true value (``1``, ``true``, ``yes``, ``on``) makes codecs built afterwards use the
pure-Python encoder even when the extension is there.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Final

from fapilog_otel.record import LogRecord

__all__ = ["COMPILED_AVAILABLE", "PURE_PYTHON_VARIABLE", "compiled_record_encoder"]

#: The environment variable that forces the pure-Python encoder.
PURE_PYTHON_VARIABLE: Final = "FAPILOG_PURE_PYTHON"
_TRUE_VALUES: Final = frozenset({"1", "true", "yes", "on"})

RecordEncoder = Callable[[LogRecord], bytes]


def _load() -> Callable[[RecordEncoder, LogRecord], bytes] | None:
    """The extension's ``encode_record``, set up for :class:`LogRecord`; None without it."""
    try:
        from fapilog_otel.otlp import _cencode
    except ImportError:
        return None
    _cencode.setup(LogRecord)
    return _cencode.encode_record


_ENCODE_RECORD: Final = _load()

#: Whether the compiled extension was built and imports.
COMPILED_AVAILABLE: Final = _ENCODE_RECORD is not None


def _pure_python_forced() -> bool:
    return os.environ.get(PURE_PYTHON_VARIABLE, "").strip().lower() in _TRUE_VALUES


def compiled_record_encoder(fallback: RecordEncoder) -> RecordEncoder | None:
    """Return the compiled record encoder, or None to keep the pure-Python one.

    Args:
        fallback: The pure-Python ``encode_record``; the compiled encoder calls it for
            records it does not encode itself, so both always give the same bytes.

    Returns:
        ``fallback``'s compiled equivalent; None when the extension was not built or
        ``FAPILOG_PURE_PYTHON`` is set to a true value (read on each call, so each codec
        decides once, when it is built).
    """
    if _ENCODE_RECORD is None or _pure_python_forced():
        return None
    return functools.partial(_ENCODE_RECORD, fallback)
