"""Render records as human-friendly lines for a terminal.

One record becomes one line::

    2026-11-27 12:00:00.123 INFO     checkout  order placed  order_id=123  trace_id=… span_id=…

followed, when the record carries an ``exception.stacktrace`` attribute, by the stack trace
on the lines below. Times are UTC. Values go through :func:`fapilog_otel._jsonline.sanitize`
first, so any object renders; strings that are empty or contain spaces, quotes or control
characters are quoted with Python's ``repr``, containers are written as compact JSON.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, Final

import orjson

from fapilog_otel._jsonline import sanitize
from fapilog_otel.record import LogRecord

__all__ = ["render_pretty"]

STACKTRACE_KEY: Final = "exception.stacktrace"

_RESET: Final = "\x1b[0m"
_DIM: Final = "\x1b[2m"
_BOLD: Final = "\x1b[1m"
_CYAN: Final = "\x1b[36m"

# Lower bound of each severity range (OTel log data model), its colour and default name.
_LEVELS: Final[tuple[tuple[int, str, str], ...]] = (
    (21, "\x1b[1;41m", "CRITICAL"),
    (17, "\x1b[1;31m", "ERROR"),
    (13, "\x1b[33m", "WARNING"),
    (9, "\x1b[32m", "INFO"),
    (5, "\x1b[34m", "DEBUG"),
    (1, "\x1b[2m", "TRACE"),
)
_UNSET_LEVEL: Final = ("", "UNSET")
_LEVEL_WIDTH: Final = 8
_NS_PER_MS: Final = 1_000_000
_MS_PER_S: Final = 1_000
# Control characters other than tab and newline; escaped so a message cannot drive the terminal.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_NEEDS_QUOTES: Final = re.compile(r"[\s\"'\x00-\x1f\x7f-\x9f]")


def render_pretty(record: LogRecord, color: bool) -> str:
    """Render one record for a human, without a trailing newline.

    Args:
        record: The record to render.
        color: Whether to add ANSI colours (dim time, coloured level, bold message, cyan
            keys).

    Returns:
        The line, plus the stack trace on the following lines when there is one.
    """
    level_color, level_name = _level(record)
    level = f"{(record.severity_text or level_name):<{_LEVEL_WIDTH}}"
    head = " ".join(
        (
            _paint(_format_time(record.timestamp), _DIM, color),
            _paint(level, level_color, color),
            record.scope.name,
        )
    )
    pairs = _pairs(record.attributes, color)
    if record.event_name is not None:
        pairs.insert(0, _pair("event_name", record.event_name, color))
    segments = (
        head,
        _paint(_message(record), _BOLD, color),
        " ".join(pairs),
        _ids(record, color),
    )
    line = "  ".join(segment for segment in segments if segment)
    if STACKTRACE_KEY not in record.attributes:
        return line
    return line + "\n" + _stacktrace(record.attributes[STACKTRACE_KEY])


def _level(record: LogRecord) -> tuple[str, str]:
    for lower_bound, level_color, name in _LEVELS:
        if record.severity_number >= lower_bound:
            return level_color, name
    return _UNSET_LEVEL


def _format_time(ns: int) -> str:
    milliseconds, _ = divmod(ns, _NS_PER_MS)
    seconds, millis = divmod(milliseconds, _MS_PER_S)
    try:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))
    except (OverflowError, OSError, ValueError):
        return str(ns)
    return f"{stamp}.{millis:03d}"


def _message(record: LogRecord) -> str:
    body = record.body
    if body is None:
        return ""
    if isinstance(body, str):
        return _escape_controls(body)
    return _format_value(body)


def _stacktrace(value: object) -> str:
    clean = sanitize(value)
    text = clean if isinstance(clean, str) else _format_value(clean)
    return _escape_controls(text.rstrip("\n"))


def _pairs(attributes: Mapping[str, Any], color: bool) -> list[str]:
    return [_pair(key, value, color) for key, value in attributes.items() if key != STACKTRACE_KEY]


def _pair(key: object, value: object, color: bool) -> str:
    key_text = _format_value(key) if not isinstance(key, str) else _quote(key)
    return f"{_paint(key_text, _CYAN, color)}={_format_value(value)}"


def _ids(record: LogRecord, color: bool) -> str:
    pairs = []
    if record.trace_id:
        pairs.append(_pair("trace_id", f"{record.trace_id:032x}", color))
    if record.span_id:
        pairs.append(_pair("span_id", f"{record.span_id:016x}", color))
    return " ".join(pairs)


def _format_value(value: object) -> str:
    clean = sanitize(value)
    if isinstance(clean, str):
        return _quote(clean)
    if isinstance(clean, (dict, list)):
        return orjson.dumps(clean).decode("utf-8")
    return repr(clean)


def _quote(text: str) -> str:
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return repr(text)


def _escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)


def _paint(text: str, code: str, color: bool) -> str:
    if not color or not code or not text:
        return text
    return f"{code}{text}{_RESET}"
