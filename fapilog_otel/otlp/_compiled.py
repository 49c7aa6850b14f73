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
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from fapilog_otel.record import LogRecord

if TYPE_CHECKING:
    from fapilog_otel._direct import DirectPlan

__all__ = [
    "COMPILED_AVAILABLE",
    "PURE_PYTHON_VARIABLE",
    "compiled_raw_encoder",
    "compiled_record_encoder",
]

#: The environment variable that forces the pure-Python encoder.
PURE_PYTHON_VARIABLE: Final = "FAPILOG_PURE_PYTHON"
_TRUE_VALUES: Final = frozenset({"1", "true", "yes", "on"})

RecordEncoder = Callable[[LogRecord], bytes]
RawEncoder = Callable[[Any], "bytes | None"]


def _load() -> ModuleType | None:
    """The extension, set up for :class:`LogRecord`; None without it."""
    try:
        from fapilog_otel.otlp import _cencode
    except ImportError:
        return None
    _cencode.setup(LogRecord)
    return _cencode


_MODULE: Final = _load()

#: Whether the compiled extension was built and imports.
COMPILED_AVAILABLE: Final = _MODULE is not None


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
    if _MODULE is None or _pure_python_forced():
        return None
    return functools.partial(_MODULE.encode_record, fallback)


def compiled_raw_encoder(
    fallback: Callable[[Any], bytes | None], plan: DirectPlan
) -> Callable[[Any], bytes | None] | None:
    """Return the compiled encoder of queued tuples for ``plan``, or None (as for
    :func:`compiled_record_encoder`).

    Args:
        fallback: The Python encoder of the direct path; the compiled one calls it for the
            tuples it does not encode itself (a decision of the redaction not cached yet
            included), so both always give the same result.
        plan: The direct plan whose redaction decisions it reads.
    """
    if _MODULE is None or _pure_python_forced():
        return None
    return functools.partial(_MODULE.encode_raw, fallback, view(plan))


def view(plan: DirectPlan) -> tuple[Any, ...]:
    """What the compiled encoder reads of a plan, in the order of ``encode_raw``'s view in
    ``_cencode.c``: the redaction's caches, the functions that decide (and cache) what
    they lack, the masks, and the count limit; None for what is absent."""
    redaction = plan.redaction
    if redaction is None:
        return (None, None, None, None, None, 0, None, None, plan.count_limit)
    keys = redaction.masked_value is not None
    values = redaction.scans_values
    return (
        redaction.key_masks if keys else None,
        redaction.masked,
        redaction.masked_value,
        redaction.clean_texts if values else None,
        redaction.text,
        redaction.min_text_length,
        redaction.int_scan_min,
        redaction.value_mask,
        plan.count_limit,
    )
