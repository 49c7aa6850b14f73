"""The audit trail's line format: canonical JSON lines, each MACed and chained.

Every line of a trail file is one JSON object with these fields, whatever its ``type``:

* ``v``: the format version, ``1``;
* ``type``: ``header`` (the first line of each file), ``record`` (an audit event),
  ``resume`` (a process went on appending after a writer that stopped without sealing),
  or ``seal`` (the last line of a finished file);
* ``seq``: the line's number in the whole trail, from 0, across files and processes;
* ``prev``: the ``mac`` of the line before it in the trail (the previous file's seal, for
  a header); :data:`GENESIS` (64 zeros) for the very first line;
* ``mac``: HMAC-SHA256, in lowercase hex, under the trail's key, of the line's *body*.

The body is the line without ``mac``, encoded canonically: ``orjson.dumps(fields,
option=orjson.OPT_SORT_KEYS)`` (keys sorted at every level, no whitespace, UTF-8). The
line on disk is exactly that body with ``,"mac":"<hex>"`` put before its final ``}``, and
a newline: so the MACed bytes are the line's own bytes up to ``,"mac":``, plus ``}``.
Values that JSON cannot hold are made JSON-safe first (``fapilog_otel``'s sanitizer:
bytes in base64, big integers and NaN as strings), so the body always round-trips.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from collections.abc import Mapping
from typing import Any, Final

import orjson
from fapilog_otel._jsonline import format_timestamp, sanitize
from fapilog_otel.record import LogRecord

__all__ = [
    "FORMAT_VERSION",
    "GENESIS",
    "LINE_TYPES",
    "MIN_KEY_BYTES",
    "Chain",
    "LineError",
    "decode_line",
    "encode_line",
    "record_fields",
    "stamp",
]

#: The ``v`` of every line this module writes.
FORMAT_VERSION: Final = 1
#: The ``prev`` of a trail's first line.
GENESIS: Final = "0" * 64
#: The shortest key accepted, in bytes (of its UTF-8 encoding).
MIN_KEY_BYTES: Final = 16
#: The kinds of line, by ``type``.
LINE_TYPES: Final = frozenset({"header", "record", "resume", "seal"})

_MAC_FIELD: Final = b',"mac":"'
_MAC_HEX_LENGTH: Final = 64
_END: Final = b'"}'


class LineError(Exception):
    """A line that is not a well-formed line of the trail, or whose MAC does not match."""


def _mac(key: bytes, body: bytes) -> str:
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def encode_line(key: bytes, fields: Mapping[str, Any]) -> tuple[bytes, str]:
    """Encode ``fields`` (JSON-safe, without ``mac``) as one MACed line.

    Returns:
        The line with its newline, and its MAC.
    """
    body = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    mac = _mac(key, body)
    return b"%s%s%s%s\n" % (body[:-1], _MAC_FIELD, mac.encode("ascii"), _END), mac


def decode_line(key: bytes, line: bytes) -> dict[str, Any]:
    """Check one line (without its newline) and return its fields, ``mac`` included.

    Raises:
        LineError: The line has no ``mac`` at its end, its MAC does not match its body
            under ``key``, or its body is not a line of this format.
    """
    cut = line.rfind(_MAC_FIELD)
    mac_end = cut + len(_MAC_FIELD) + _MAC_HEX_LENGTH
    if cut <= 0 or not line.endswith(_END) or mac_end != len(line) - len(_END):
        raise LineError("malformed: the line does not end with its mac field")
    body = line[:cut] + b"}"
    mac = line[cut + len(_MAC_FIELD) : mac_end].decode("ascii", errors="replace")
    if not hmac.compare_digest(_mac(key, body), mac):
        raise LineError("MAC mismatch: the line was altered or forged, or the key is wrong")
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise LineError(f"a valid MAC over a body that is not JSON: {exc}") from None
    if not isinstance(fields, dict) or fields.get("v") != FORMAT_VERSION:
        raise LineError(f"not a version {FORMAT_VERSION} line of an audit trail")
    if fields.get("type") not in LINE_TYPES or not isinstance(fields.get("seq"), int):
        raise LineError(f"unknown line type {fields.get('type')!r} or no seq")
    fields["mac"] = mac
    return fields


class Chain:
    """Where a trail stands: the next line's ``seq`` and the last line's MAC.

    Args:
        key: The trail's key.
        seq: The ``seq`` of the next line.
        prev: The MAC of the last line written (:data:`GENESIS` before the first).
    """

    __slots__ = ("_key", "prev", "seq")

    def __init__(self, key: bytes, seq: int = 0, prev: str = GENESIS) -> None:
        self._key = key
        self.seq = seq
        self.prev = prev

    def __repr__(self) -> str:
        return f"Chain(seq={self.seq!r}, prev={self.prev!r})"

    def append(self, kind: str, fields: Mapping[str, Any]) -> bytes:
        """Make the next line of type ``kind`` from ``fields`` and advance the chain."""
        line, self.prev = encode_line(self._key, self._fields(kind, fields))
        self.seq += 1
        return line

    def _fields(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {**fields, "v": FORMAT_VERSION, "type": kind, "seq": self.seq, "prev": self.prev}


def record_fields(record: LogRecord) -> dict[str, Any]:
    """The content of a record line: what the event says, JSON-safe.

    ``time`` (RFC 3339, UTC, microseconds) and ``time_unix_nano``, ``severity`` and
    ``severity_number``, ``event_name``, ``body``, ``attributes``, ``scope`` (the logger
    name), ``trace_id`` and ``span_id`` (hex, or ``null``), ``service`` (the resource's
    ``service.name``, or ``null``).
    """
    service = record.resource.attributes.get("service.name")
    return {
        "time": format_timestamp(record.timestamp),
        "time_unix_nano": record.timestamp,
        "severity": record.severity_text,
        "severity_number": record.severity_number,
        "event_name": sanitize(record.event_name),
        "body": sanitize(record.body),
        "attributes": sanitize(record.attributes),
        "scope": record.scope.name,
        "trace_id": f"{record.trace_id:032x}" if record.trace_id else None,
        "span_id": f"{record.span_id:016x}" if record.span_id else None,
        "service": sanitize(service),
    }


def stamp() -> dict[str, Any]:
    """The ``time`` and ``pid`` that header, resume and seal lines carry."""
    return {"time": format_timestamp(time.time_ns()), "pid": os.getpid()}
