"""OTLP/JSON: our records as ``ExportLogsServiceRequest`` JSON, written by hand.

The protobuf JSON mapping with the OTLP rules (``opentelemetry-proto``
``docs/specification.md``, "JSON Protobuf Encoding"): lowerCamelCase keys; ``traceId`` and
``spanId`` as lowercase hex, not base64; enums as integers; 64-bit integers (times and
``intValue``) as decimal strings; 32-bit ones as numbers; ``bytesValue`` in base64;
doubles as numbers, except NaN and the infinities, which are the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``; fields at their default left out; ``None`` as ``{}``.

Values map exactly as in :mod:`fapilog_otel.otlp._protobuf`, so both encodings of a batch
decode to the same message. Strings are escaped by ``orjson``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

import orjson
from opentelemetry.sdk.resources import Resource

from fapilog_otel._cache import remember
from fapilog_otel.otlp._encoded import (
    CACHE_LIMIT,
    CACHED_TEXT_LIMIT,
    DEPTH_MARKER,
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    Budget,
    EncodedResource,
    Encoder,
    TooLarge,
    describe,
    key_text,
)
from fapilog_otel.record import LogRecord, Scope

__all__ = ["JsonEncoder"]

_UINT64: Final = 1 << 64
_UINT32: Final = 1 << 32

_REQUEST_HEAD: Final = b'{"resourceLogs":['
_REQUEST_TAIL: Final = b"]}"
_NULL_VALUE: Final = b"{}"
_TRUE_VALUE: Final = b'{"boolValue":true}'
_FALSE_VALUE: Final = b'{"boolValue":false}'
_NON_FINITE: Final[Mapping[str, bytes]] = {
    "nan": b'{"doubleValue":"NaN"}',
    "inf": b'{"doubleValue":"Infinity"}',
    "-inf": b'{"doubleValue":"-Infinity"}',
}

#: The severityNumber member for each valid number (0 is never written).
_SEVERITY_MEMBERS: Final[Mapping[int, bytes]] = {
    n: b',"severityNumber":%d' % n for n in range(1, 25)
}


def _string(text: str) -> bytes:
    """``text`` as a JSON string (lone surrogates backslash-escaped, as in protobuf)."""
    try:
        return orjson.dumps(text)
    except orjson.JSONEncodeError:
        return orjson.dumps(text.encode("utf-8", "backslashreplace").decode())


def _string_value(text: str) -> bytes:
    return b'{"stringValue":%s}' % _string(text)


_DEPTH_VALUE: Final = _string_value(DEPTH_MARKER)


def _int_value(number: int) -> bytes:
    if INT64_MIN <= number <= INT64_MAX:
        return b'{"intValue":"%d"}' % number
    return _string_value(describe(number))


def _double_value(number: float) -> bytes:
    if math.isfinite(number):
        return b'{"doubleValue":%s}' % orjson.dumps(number)
    return _NON_FINITE[repr(number)]


def _bytes_value(data: bytes) -> bytes:
    return b'{"bytesValue":"%s"}' % base64.b64encode(data)


def _any_value(value: object, depth: int, budget: Budget) -> bytes:
    """Return the JSON of the ``AnyValue`` for ``value``."""
    cls = type(value)
    if cls is str:
        return _string_value(value)  # type: ignore[arg-type]
    if cls is bool:
        return _TRUE_VALUE if value else _FALSE_VALUE
    if cls is int:
        return _int_value(value)  # type: ignore[arg-type]
    if cls is float:
        return _double_value(value)  # type: ignore[arg-type]
    if cls is bytes:
        return _bytes_value(value)  # type: ignore[arg-type]
    if value is None:
        return _NULL_VALUE
    if depth >= MAX_DEPTH:
        return _DEPTH_VALUE
    try:
        return _other_value(value, depth, budget)
    except TooLarge:
        raise
    except Exception:
        return _string_value(describe(value))


def _other_value(value: object, depth: int, budget: Budget) -> bytes:
    if isinstance(value, str):
        return _string_value(str.__str__(value))
    if isinstance(value, int):
        return _int_value(int.__int__(value))
    if isinstance(value, float):
        return _double_value(float.__float__(value))
    if isinstance(value, bytes):
        return _bytes_value(bytes(memoryview(value)))
    if isinstance(value, Mapping):
        try:
            items = list(value.items())
        except Exception:
            return _string_value(describe(value))
        budget.spend(len(items))
        pairs = [
            _key_value(name, _any_value(item, depth + 1, budget))
            for name, item in ((key_text(key), item) for key, item in items)
            if name
        ]
        if not pairs:
            return b'{"kvlistValue":{}}'
        return b'{"kvlistValue":{"values":[%s]}}' % b",".join(pairs)
    if isinstance(value, (list, tuple, set, frozenset)):
        try:
            elements = list(value)
        except Exception:
            return _string_value(describe(value))
        budget.spend(len(elements))
        if not elements:
            return b'{"arrayValue":{}}'
        values = [_any_value(item, depth + 1, budget) for item in elements]
        return b'{"arrayValue":{"values":[%s]}}' % b",".join(values)
    if isinstance(value, (bytearray, memoryview)):
        return _bytes_value(bytes(value))
    return _string_value(describe(value))


def _key_value(name: str, value: bytes) -> bytes:
    """A ``KeyValue`` object (``value`` is the ``AnyValue`` JSON)."""
    return b'{"key":%s,"value":%s}' % (_string(name), value)


def _member(name: bytes, value: bytes) -> bytes:
    """``,"name":value`` (every member but a message's first starts with the comma)."""
    return b',"%s":%s' % (name, value)


def _message(members: list[bytes]) -> bytes:
    """An object of members made by :func:`_member`."""
    return b"{%s}" % b"".join(members)[1:]


def _times(timestamp: int, observed: int) -> bytes:
    """The opening brace and time members of a record; raises for a time out of range."""
    if timestamp:
        if type(timestamp) is not int or not 0 < timestamp < _UINT64:
            raise ValueError("time_unix_nano out of range")
        if not observed:
            return b'{"timeUnixNano":"%d"' % timestamp
    if observed:
        if type(observed) is not int or not 0 < observed < _UINT64:
            raise ValueError("observed_time_unix_nano out of range")
        if not timestamp:
            return b'{"observedTimeUnixNano":"%d"' % observed
        digits = b"%d" % timestamp
        other = digits if observed == timestamp else b"%d" % observed
        return b'{"timeUnixNano":"%s","observedTimeUnixNano":"%s"' % (digits, other)
    return b"{"


def _rare_members(dropped: int, trace_flags: int, trace_id: int, span_id: int) -> bytes:
    """Members for fields 7 to 10 of a record; raises for values out of range."""
    parts = []
    if dropped:
        if not 0 < dropped < _UINT32:
            raise ValueError("dropped_attributes_count out of range")
        parts.append(b',"droppedAttributesCount":%d' % dropped)
    flags = trace_flags & 0xFF
    if flags:
        parts.append(b',"flags":%d' % flags)
    if trace_id:
        parts.append(b',"traceId":"%s"' % trace_id.to_bytes(16, "big").hex().encode())
    if span_id:
        parts.append(b',"spanId":"%s"' % span_id.to_bytes(8, "big").hex().encode())
    return b"".join(parts)


class _JsonCodec:
    """The JSON :class:`~fapilog_otel.otlp._encoded.Codec`, with its caches."""

    __slots__ = ("_budget", "_resources", "_scopes", "record")

    empty_size: ClassVar[int] = len(_REQUEST_HEAD) + len(_REQUEST_TAIL)

    def __init__(self) -> None:
        self._budget = Budget()
        self._resources: dict[int, tuple[Resource, bytes, bytes]] = {}
        self._scopes: dict[Scope, tuple[bytes, bytes]] = {}
        self.record = self._record_encoder()

    def begin(self, max_bytes: int) -> None:
        self._budget.set_max_bytes(max_bytes)

    def frame_size(self, size: int, first: bool) -> int:
        return size if first else size + 1

    def _top_value(self, value: object) -> bytes:
        self._budget.reset()
        return _any_value(value, 0, self._budget)

    def _attribute(self, key: object, value: object) -> bytes:
        """A ``KeyValue`` object, or ``b""`` when its key is empty (the caller counts it)."""
        name = key_text(key)
        if not name:
            return b""
        return _key_value(name, self._top_value(value))

    def _attributes(self, attributes: object) -> list[bytes]:
        """The members ``attributes`` and ``droppedAttributesCount`` of a resource or scope."""
        if not isinstance(attributes, Mapping):
            return []
        pairs = [self._attribute(key, value) for key, value in attributes.items()]
        dropped = getattr(attributes, "dropped", 0)
        dropped = dropped if type(dropped) is int and 0 < dropped < _UINT32 else 0
        dropped = min(dropped + pairs.count(b""), _UINT32 - 1)
        members = []
        if len(pairs) > pairs.count(b""):
            members.append(b',"attributes":[%s]' % b",".join(pair for pair in pairs if pair))
        if dropped:
            members.append(b',"droppedAttributesCount":%d' % dropped)
        return members

    def resource(self, resource: Resource) -> tuple[bytes, bytes]:
        cached = self._resources.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1], cached[2]
        members = self._attributes(resource.attributes)
        head = b'{"resource":%s,"scopeLogs":[' % _message(members)
        schema_url = resource.schema_url
        tail = b'],"schemaUrl":%s}' % _string(key_text(schema_url)) if schema_url else b"]}"
        # The entry holds the resource, so its id is not reused while the entry lives.
        remember(self._resources, id(resource), (resource, head, tail), CACHE_LIMIT)
        return head, tail

    def scope(self, scope: Scope) -> tuple[bytes, bytes]:
        cached = self._scopes.get(scope)
        if cached is not None:
            return cached
        members = []
        if scope.name:
            members.append(_member(b"name", _string(key_text(scope.name))))
        if scope.version:
            members.append(_member(b"version", _string(key_text(scope.version))))
        members += self._attributes(scope.attributes)
        head = b'{"scope":%s,"logRecords":[' % _message(members)
        schema_url = scope.schema_url
        tail = b'],"schemaUrl":%s}' % _string(key_text(schema_url)) if schema_url else b"]}"
        return remember(self._scopes, scope, (head, tail), CACHE_LIMIT)

    def join(self, resources: list[EncodedResource]) -> bytes:
        resource_logs = []
        for res_head, res_tail, scopes in resources:
            scope_logs = [
                b"".join((scope_head, b",".join(records), scope_tail))
                for scope_head, scope_tail, records in scopes
            ]
            resource_logs.append(b"".join((res_head, b",".join(scope_logs), res_tail)))
        return b"".join((_REQUEST_HEAD, b",".join(resource_logs), _REQUEST_TAIL))

    @staticmethod
    def _cached_member(cache: dict[str, bytes], name: bytes, text: object) -> bytes:
        """Encode a string member, caching it when ``text`` is a plain, short string."""
        member = _member(name, _string(key_text(text)))
        if type(text) is str and len(text) <= CACHED_TEXT_LIMIT:
            remember(cache, text, member, CACHE_LIMIT)
        return member

    def _record_encoder(self) -> Callable[[LogRecord], bytes]:
        """Build the per-record function, with its caches in closure cells (fast to read)."""
        texts: dict[str, bytes] = {}
        bodies: dict[str, bytes] = {}
        events: dict[str, bytes] = {}
        # One cache per value type: True == 1 == 1.0 as dict keys, but encode differently.
        str_pairs: dict[tuple[str, str], bytes] = {}
        int_pairs: dict[tuple[str, int], bytes] = {}
        bool_pairs: dict[tuple[str, bool], bytes] = {}
        attribute = self._attribute
        top_value = self._top_value
        cached_member = self._cached_member

        def pair(cache: dict[Any, bytes], key: object, value: object) -> bytes:
            item = attribute(key, value)
            if item and type(key) is str and len(item) <= CACHED_TEXT_LIMIT:
                remember(cache, (key, value), item, CACHE_LIMIT)
            return item

        def body_member(body: str) -> bytes:
            member = b',"body":%s' % _string_value(body)
            if len(body) <= CACHED_TEXT_LIMIT:
                remember(bodies, body, member, CACHE_LIMIT)
            return member

        def encode_record(record: LogRecord) -> bytes:
            timestamp = record.timestamp
            observed = record.observed_timestamp
            severity = record.severity_number
            text = record.severity_text
            body = record.body
            if body is None:
                body_part = b""
            elif type(body) is str:
                body_part = bodies.get(body) or body_member(body)
            else:
                body_part = b',"body":%s' % top_value(body)
            parts = [
                _times(timestamp, observed),
                _SEVERITY_MEMBERS[severity] if severity else b"",
                (texts.get(text) or cached_member(texts, b"severityText", text)) if text else b"",
                body_part,
            ]
            append = parts.append
            dropped = record.dropped_attributes_count
            attributes = record.attributes
            if attributes:
                items: list[bytes] = []
                add = items.append
                for key, value in attributes.items():
                    cls = type(value)
                    if cls is str:
                        item = str_pairs.get((key, value)) or pair(str_pairs, key, value)
                    elif cls is int:
                        item = int_pairs.get((key, value)) or pair(int_pairs, key, value)
                    elif cls is bool:
                        item = bool_pairs.get((key, value)) or pair(bool_pairs, key, value)
                    else:
                        item = attribute(key, value)
                    if item:
                        add(item)
                    else:
                        dropped += 1
                if items:
                    append(b',"attributes":[%s]' % b",".join(items))
            trace_flags = record.trace_flags
            trace_id = record.trace_id
            span_id = record.span_id
            if dropped or trace_flags or trace_id or span_id:
                append(_rare_members(dropped, trace_flags, trace_id, span_id))
            event = record.event_name
            if event:
                append(events.get(event) or cached_member(events, b"eventName", event))
            if not (timestamp or observed):
                # The first member written keeps its leading comma; drop it.
                parts[0] = b"{" + b"".join(parts[1:])[1:]
                del parts[1:]
            append(b"}")
            return b"".join(parts)

        return encode_record


class JsonEncoder(Encoder):
    """Encodes records as OTLP/JSON ``ExportLogsServiceRequest`` bodies."""

    __slots__ = ()

    content_type: ClassVar[str] = "application/json"

    def __init__(self) -> None:
        super().__init__(_JsonCodec())
