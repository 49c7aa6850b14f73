"""Freezing values at the call site, so a value changed after the call cannot change the log.

Immutable scalars are kept as they are (no copy, no cost). Containers are copied
recursively into plain lists and dicts that nobody else holds. Objects of other types are
turned into their ``str()`` at the call, since later they may have changed; an object whose
``__str__`` raises is named by its type. Cycles and very deep nesting are cut with markers,
so freezing always terminates and never raises.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import fractions
import uuid
from collections.abc import Mapping
from typing import Any

#: Values of these exact types are immutable and safe to keep by reference.
IMMUTABLE_TYPES: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        complex,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        decimal.Decimal,
        fractions.Fraction,
        uuid.UUID,
    }
)

#: Nesting deeper than this (the OTel spec's default AnyValue depth limit) is cut.
MAX_DEPTH = 64

CYCLE_MARKER = "<cycle>"
DEPTH_MARKER = "<max depth>"


def describe(value: object) -> str:
    """``str(value)`` as a plain ``str``, or ``"<unprintable Type>"`` when that raises."""
    try:
        text = str(value)
        return text if type(text) is str else str.__str__(text)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"


def _freeze(value: object, depth: int, seen: set[int]) -> object:
    cls = type(value)
    if cls in IMMUTABLE_TYPES:
        return value
    if isinstance(value, enum.Enum):
        return value
    if depth >= MAX_DEPTH:
        return DEPTH_MARKER
    if isinstance(value, (list, tuple, set, frozenset, dict, Mapping, bytearray, memoryview)):
        key = id(value)
        if key in seen:
            return CYCLE_MARKER
        seen.add(key)
        try:
            if isinstance(value, (bytearray, memoryview)):
                return bytes(value)
            if isinstance(value, Mapping):
                return {
                    (k if type(k) is str else describe(k)): _freeze(v, depth + 1, seen)
                    for k, v in list(value.items())
                }
            if isinstance(value, (set, frozenset)):
                return [_freeze(v, depth + 1, seen) for v in value]
            return [_freeze(v, depth + 1, seen) for v in list(value)]
        except Exception:
            return describe(value)
        finally:
            seen.discard(key)
    if isinstance(value, (str, int, float, bytes)):
        # Subclasses of the immutable scalars: keep the plain value, drop the subclass.
        base: type = next(t for t in (str, int, float, bytes) if isinstance(value, t))
        try:
            return base(value)
        except Exception:
            return describe(value)
    if isinstance(value, BaseException):
        return f"{type(value).__qualname__}: {describe(value)}"
    return describe(value)


def freeze_value(value: object) -> object:
    """Return a copy of ``value`` that later changes to ``value`` cannot reach.

    Never raises; see the module docstring for what happens to each kind of value.
    """
    if type(value) in IMMUTABLE_TYPES:
        return value
    try:
        return _freeze(value, 0, set())
    except Exception:
        return f"<unfreezable {type(value).__qualname__}>"


def freeze_attributes(attrs: Mapping[Any, object]) -> dict[str, Any]:
    """Return a dict of frozen values with string keys; never raises."""
    out: dict[str, Any] = {}
    try:
        items = list(attrs.items())
    except Exception:
        return {"fapilog.unreadable_attributes": describe(attrs)}
    for key, value in items:
        name = key if type(key) is str else describe(key)
        out[name] = value if type(value) in IMMUTABLE_TYPES else freeze_value(value)
    return out
