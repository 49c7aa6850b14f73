"""What the built-in filters share: level names in their settings, keys from values."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from fapilog_otel.record import Severity
from fapilog_otel.settings import LEVEL_ALIASES

__all__ = ["LevelName", "OptionalLevelName", "hashable", "severity_of"]


def _normalise_level(value: Any) -> Any:
    """Lower-case a level name and resolve its aliases; ``"none"`` (or blank) is ``None``."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("", "none"):
            return None
        return LEVEL_ALIASES.get(lowered, lowered)
    return value


_Level = Literal["trace", "debug", "info", "warning", "error", "critical"]

#: A level as settings spell it: ``trace`` ... ``critical``, any case, ``warn``/``fatal``
#: accepted as aliases.
LevelName = Annotated[_Level, BeforeValidator(_normalise_level)]

#: A :data:`LevelName` or ``None``, which the string ``"none"`` (or a blank) also means.
OptionalLevelName = Annotated[_Level | None, BeforeValidator(_normalise_level)]


def severity_of(level: str) -> int:
    """Return the OTel severity number of a validated :data:`LevelName`."""
    return Severity.BY_NAME[level]


#: Marks a stand-in for an unhashable value, so it never equals a value logged as is.
_UNHASHABLE = object()


def hashable(value: object) -> Hashable:
    """Return ``value`` if it can be hashed, else a stand-in made from its type and ``repr``.

    Two lists or dicts with the same contents (in the same order) get equal stand-ins; a
    stand-in never equals a hashable value, such as a string that looks like the ``repr``.
    A value whose ``repr`` raises gets a stand-in equal to nothing else.
    """
    try:
        hash(value)
    except Exception:
        try:
            text = repr(value)
        except Exception:
            text = object.__repr__(value)
        return (_UNHASHABLE, type(value).__qualname__, text)
    return value
