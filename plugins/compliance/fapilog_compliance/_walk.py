"""The walk every profile shares: each value of a record's body and attributes, at any depth.

A profile says three things, and :class:`ValueWalker` does the rest:

* what its detectors make of a text (:meth:`ValueWalker._scan`, uncached; the walker caches
  the result per distinct string, as log messages repeat);
* what it makes of an integer and of a whole-number float (a card number logged as a
  number);
* what a key means (:meth:`ValueWalker._decide`): nothing (its value is walked like any
  other), a replacement for the whole value under it, and the context its nested keys are
  read in (``name`` under ``patient``).

Strings, integers, floats, bytes, dicts, lists and tuples are walked; ``None``, booleans,
dates and times, UUIDs and complex numbers cannot hold what a profile looks for and are
kept; any other value (a ``Decimal``, an enum, an object of the application's) is read as
its ``str()``, and replaced by the cleaned text when that changes. Keys are never changed,
nor are the event name, the scope and the resource. The record's attribute dict is changed
in place; a nested dict or list that needs a change is replaced by a changed copy, never
changed itself, as it may be shared with a logger's bound context. Nesting deeper than a
logger ever produces is masked, not walked.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from fapilog_otel.record import LogRecord

__all__ = ["DEPTH_CUT", "Decision", "Replace", "ValueWalker", "masking"]

#: Nesting at which a value is masked instead of walked (loggers cut nesting at 64).
DEPTH_CUT = 66

#: Distinct strings whose cleaned form is cached before the cache is emptied.
TEXT_CACHE_LIMIT = 4096

#: Strings longer than this are scanned every time, not cached.
MAX_CACHED_LENGTH = 16384

#: Characters the text cache may hold (its keys) before it is emptied: bounds its memory.
TEXT_CACHE_CHARS = 4_000_000

#: Distinct keys (per context) whose decision is cached before the cache is emptied.
KEY_CACHE_LIMIT = 4096

#: Replaces the whole value under a key: called with the value and its depth.
Replace = Callable[[Any, int], Any]

#: What a key means: the replacement of its whole value (``None``: walk it as usual), and
#: the context the keys nested in its value are decided in.
Decision = tuple[Replace | None, object]

#: Values that hold no text a profile looks for.
_KEPT: frozenset[type] = frozenset(
    {
        bool,
        type(None),
        complex,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
        uuid.UUID,
    }
)

#: Marks a cached text that the detectors left as it was.
_UNCHANGED = ""


class ValueWalker:
    """The base of the profiles' processors (a redactor, changing records in place).

    Args:
        fallback: What a value is replaced with when it cannot be read or is nested too
            deep to walk.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "redactor"
    fapilog_api_version: ClassVar[int] = 1
    in_place: ClassVar[bool] = True

    def __init__(self, fallback: str) -> None:
        self._fallback = fallback
        self._texts: dict[str, str] = {}
        self._text_chars = 0
        self._keys: dict[object, dict[str, Decision]] = {}

    def _scan(self, text: str) -> str:
        """``text`` with what the profile finds replaced; ``text`` itself when nothing is."""
        raise NotImplementedError

    def _integer(self, value: int) -> Any:
        """What becomes of an ``int`` value (not a ``bool``); ``value`` itself to keep it."""
        return value

    def _decide(self, key: str, context: object) -> Decision:
        """What ``key`` means when met in ``context`` (``None`` at the top)."""
        return None, None

    def process(self, record: LogRecord) -> LogRecord:
        """Clean ``record`` in place (see :meth:`process_batch`) and return it."""
        self.process_batch([record])
        return record

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Clean the body and the attributes of every record in place; return the list."""
        value_of = self._value
        fields = self._mapping
        for record in records:
            body = record.body
            if body is not None:
                new = value_of(body, None, 0)
                if new is not body:
                    record.body = new
            attributes = record.attributes
            if attributes:
                fields(attributes, None, 0, False)
        return records

    def _text(self, text: str) -> str:
        """``text`` cleaned, from the cache when it was seen before."""
        cached = self._texts.get(text)
        if cached is not None:
            return text if cached is _UNCHANGED else cached
        clean = self._scan(text)
        length = len(text)
        if length <= MAX_CACHED_LENGTH:
            texts = self._texts
            if len(texts) >= TEXT_CACHE_LIMIT or self._text_chars + length > TEXT_CACHE_CHARS:
                texts.clear()
                self._text_chars = 0
            texts[text] = _UNCHANGED if clean is text else clean
            self._text_chars += length
        return clean

    def _decision(self, key: Any, context: object) -> Decision:
        """The decision for ``key`` in ``context``, cached."""
        name = key if key.__class__ is str else str(key)
        cache = self._keys.get(context)
        if cache is None:
            cache = self._keys.setdefault(context, {})
        decision = cache.get(name)
        if decision is None:
            if len(cache) >= KEY_CACHE_LIMIT:
                cache.clear()
            decision = cache[name] = self._decide(name, context)
        return decision

    def _value(self, value: Any, context: object, depth: int) -> Any:
        """``value`` cleaned; a changed container comes back as a copy."""
        cls = value.__class__
        if cls is str:
            return self._text(value) if value else value
        if cls is int:
            return self._integer(value)
        if cls is dict:
            if depth >= DEPTH_CUT:
                return self._fallback
            return self._mapping(value, context, depth + 1, True)
        if cls is list or cls is tuple:
            if depth >= DEPTH_CUT:
                return self._fallback
            return self._sequence(value, context, depth + 1)
        if cls in _KEPT:
            return value
        if cls is float:
            return self._float(value)
        if cls is bytes:
            text = value.decode("utf-8", "surrogateescape")
            clean = self._text(text)
            return value if clean is text else clean.encode("utf-8", "surrogateescape")
        return self._other(value, context, depth)

    def _float(self, value: float) -> Any:
        """A whole-number float is judged as the integer it equals (it is written so)."""
        if value.is_integer():
            new = self._integer(int(value))
            if new.__class__ is not int:
                return new
        return value

    def _other(self, value: Any, context: object, depth: int) -> Any:
        """A value of no plain type, judged as the exporters write it."""
        if isinstance(value, str):
            text = str.__str__(value)
            clean = self._text(text)
            return value if clean is text else clean
        if isinstance(value, int):
            if isinstance(value, bool):
                return value
            new = self._integer(int.__int__(value))
            return value if new.__class__ is int else new
        if isinstance(value, float):
            new = self._float(float.__float__(value))
            return value if new.__class__ is float else new
        if isinstance(value, Mapping):
            if depth >= DEPTH_CUT:
                return self._fallback
            try:
                plain = dict(value)
            except Exception:
                return self._fallback
            new = self._mapping(plain, context, depth + 1, True)
            return value if new is plain else new
        if isinstance(value, (list, tuple, set, frozenset)):
            if depth >= DEPTH_CUT:
                return self._fallback
            items = list(value)
            new = self._sequence(items, context, depth + 1)
            return value if new is items else new
        try:
            text = str(value)
        except Exception:
            return self._fallback
        if text.__class__ is not str:
            return self._fallback
        clean = self._text(text)
        return value if clean is text else clean

    def _mapping(
        self, value: dict[Any, Any], context: object, depth: int, copy: bool
    ) -> dict[Any, Any]:
        """A dict with its values cleaned: in place, or a copy when ``copy`` and changed."""
        out = value
        decision_of = self._decision
        value_of = self._value
        for key, item in value.items():
            replace, inner = decision_of(key, context)
            if replace is not None:
                new = replace(item, depth)
            elif item is None:
                continue
            else:
                new = value_of(item, inner, depth)
            if new is not item:
                if copy and out is value:
                    out = dict(value)
                out[key] = new
        return out

    def _sequence(self, value: Any, context: object, depth: int) -> Any:
        """A list or tuple with its items cleaned; a copy of the same type when changed."""
        changed: list[Any] | None = None
        value_of = self._value
        for index, item in enumerate(value):
            new = value_of(item, context, depth)
            if new is not item:
                if changed is None:
                    changed = list(value)
                changed[index] = new
        if changed is None:
            return value
        return changed if value.__class__ is list else tuple(changed)


def masking(mask: str) -> Replace:
    """A replacement that puts ``mask`` in place of the whole value."""

    def replace(value: Any, depth: int) -> Any:
        return mask

    return replace
