"""OTLP/protobuf: our records as ``ExportLogsServiceRequest`` bytes, written by hand.

The official message classes build an object per record, value and attribute before
serializing; this writes the wire format directly, with bounded caches of what repeats
from record to record (attribute pairs, bodies, severity texts, resource and scope
entries). Fields are written in field-number order, as the official serializer does,
except a record's ``observed_time_unix_nano``, which follows ``time_unix_nano`` when both
are set (one ``struct`` call for the two; parsers accept fields in any order).

Values map as the SDK adapter maps them (``fapilog_otel._sdk._records``): ``bool`` before
``int``; integers outside int64 become their decimal string; ``bytes``, ``bytearray`` and
``memoryview`` become ``bytes_value``; lists, tuples and sets become arrays; mappings
become key-value lists (keys that are not strings become ``str(key)``, empty keys are
dropped); ``None`` becomes an empty ``AnyValue``; subclasses of ``str``, ``int`` and
``float`` become their base value; anything else becomes ``str(value)`` (or
``"<unprintable Type>"``), and containers nested deeper than 64 levels become
``"<max depth>"``. Strings that are not valid UTF-8 (lone surrogates) get backslash
escapes, as in the JSON line encoder.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

from opentelemetry.sdk.resources import Resource

from fapilog_otel._cache import remember
from fapilog_otel._direct import DirectPlan
from fapilog_otel.otlp._compiled import compiled_raw_encoder, compiled_record_encoder
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

__all__ = ["ProtobufEncoder"]

#: Encodes one queued tuple; None for a tuple it leaves to the ordinary path.
RawEncoder = Callable[[Any], "bytes | None"]

#: Integer attributes in this range are cached (larger ones are more likely unique ids).
_SMALL_INT_MIN: Final = -(1 << 31)
_SMALL_INT_MAX: Final = (1 << 31) - 1
_MASK64: Final = (1 << 64) - 1
_UINT32: Final = 1 << 32
_VARINT_TABLE_SIZE: Final = 1 << 14

#: Varints of 0 to 16383 (one or two bytes): every length of a typical record or value.
_VARINTS: Final[tuple[bytes, ...]] = tuple(
    bytes((n,)) if n < 0x80 else bytes(((n & 0x7F) | 0x80, n >> 7))
    for n in range(_VARINT_TABLE_SIZE)
)

_pack_fixed64_field: Final = struct.Struct("<BQ").pack
_pack_times: Final = struct.Struct("<BQBQ").pack
_pack_fixed32_field: Final = struct.Struct("<BI").pack
_pack_double: Final = struct.Struct("<d").pack

# Tags (field number << 3 | wire type) named <message>_<field>.
_KEY_VALUE_KEY: Final = b"\x0a"
_KEY_VALUE_VALUE: Final = b"\x12"
_ANY_STRING: Final = b"\x0a"
_ANY_INT: Final = b"\x18"
_ANY_DOUBLE: Final = b"\x21"
_ANY_ARRAY: Final = b"\x2a"
_ANY_KVLIST: Final = b"\x32"
_ANY_BYTES: Final = b"\x3a"
_LIST_VALUES: Final = b"\x0a"
_REQUEST_RESOURCE_LOGS: Final = b"\x0a"
_RESOURCE_LOGS_RESOURCE: Final = b"\x0a"
_RESOURCE_LOGS_SCOPE_LOGS: Final = b"\x12"
_RESOURCE_LOGS_SCHEMA_URL: Final = b"\x1a"
_RESOURCE_ATTRIBUTES: Final = b"\x0a"
_RESOURCE_DROPPED: Final = b"\x10"
_SCOPE_LOGS_SCOPE: Final = b"\x0a"
_SCOPE_LOGS_LOG_RECORDS: Final = b"\x12"
_SCOPE_LOGS_SCHEMA_URL: Final = b"\x1a"
_SCOPE_NAME: Final = b"\x0a"
_SCOPE_VERSION: Final = b"\x12"
_SCOPE_ATTRIBUTES: Final = b"\x1a"
_SCOPE_DROPPED: Final = b"\x20"
_RECORD_TIME: Final = 0x09
_RECORD_SEVERITY_TEXT: Final = b"\x1a"
_RECORD_BODY: Final = b"\x2a"
_RECORD_ATTRIBUTES: Final = b"\x32"
_RECORD_DROPPED: Final = b"\x38"
_RECORD_FLAGS: Final = 0x45
_RECORD_TRACE_ID: Final = b"\x4a\x10"
_RECORD_SPAN_ID: Final = b"\x52\x08"
_RECORD_OBSERVED_TIME: Final = 0x59
_RECORD_EVENT_NAME: Final = b"\x62"

_ANY_TRUE: Final = b"\x10\x01"
_ANY_FALSE: Final = b"\x10\x00"

#: The severity_number field (varint tag 0x10) for each valid number; 0 is never written.
_SEVERITY_FIELDS: Final[Mapping[int, bytes]] = {n: bytes((0x10, n)) for n in range(1, 25)}


def _varint(n: int) -> bytes:
    """Return the varint of ``n``, which must be 0 or more."""
    if n < _VARINT_TABLE_SIZE:
        return _VARINTS[n]
    if n < 1 << 28:  # unrolled: ids, counts and lengths up to 256 MiB
        if n < 1 << 21:
            return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
        return bytes(
            ((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, ((n >> 14) & 0x7F) | 0x80, n >> 21)
        )
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _varint_size(n: int) -> int:
    if n < 0x80:
        return 1
    if n < _VARINT_TABLE_SIZE:
        return 2
    return (n.bit_length() + 6) // 7


def _frame_size(size: int, first: bool) -> int:
    """A child of ``size`` bytes in its parent: a one-byte tag, the length and the bytes."""
    return 1 + _varint_size(size) + size


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: ``tag``, the length of ``payload`` and ``payload``."""
    return b"".join((tag, _varint(len(payload)), payload))


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def _string_value(text: str) -> bytes:
    return _field(_ANY_STRING, _utf8(text))


_DEPTH_VALUE: Final = _string_value(DEPTH_MARKER)


def _int_value(number: int) -> bytes:
    if INT64_MIN <= number <= INT64_MAX:
        return _ANY_INT + _varint(number & _MASK64)
    return _string_value(describe(number))


def _any_value(value: object, depth: int, budget: Budget) -> bytes:
    """Return the content of the ``AnyValue`` message for ``value``."""
    cls = type(value)
    if cls is str:
        return _string_value(value)  # type: ignore[arg-type]
    if cls is bool:
        return _ANY_TRUE if value else _ANY_FALSE
    if cls is int:
        return _int_value(value)  # type: ignore[arg-type]
    if cls is float:
        return _ANY_DOUBLE + _pack_double(value)
    if cls is bytes:
        return _field(_ANY_BYTES, value)  # type: ignore[arg-type]
    if value is None:
        return b""
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
        return _ANY_DOUBLE + _pack_double(float.__float__(value))
    if isinstance(value, bytes):
        return _field(_ANY_BYTES, bytes(memoryview(value)))
    if isinstance(value, Mapping):
        try:
            items = list(value.items())
        except Exception:
            return _string_value(describe(value))
        budget.spend(len(items))
        pairs = [
            _field(_LIST_VALUES, _key_value(name, _any_value(item, depth + 1, budget)))
            for name, item in ((key_text(key), item) for key, item in items)
            if name
        ]
        return _field(_ANY_KVLIST, b"".join(pairs))
    if isinstance(value, (list, tuple, set, frozenset)):
        try:
            elements = list(value)
        except Exception:
            return _string_value(describe(value))
        budget.spend(len(elements))
        values = [_field(_LIST_VALUES, _any_value(item, depth + 1, budget)) for item in elements]
        return _field(_ANY_ARRAY, b"".join(values))
    if isinstance(value, (bytearray, memoryview)):
        return _field(_ANY_BYTES, bytes(value))
    return _string_value(describe(value))


def _key_value(name: str, value: bytes) -> bytes:
    """The content of a ``KeyValue`` message (``value`` is the ``AnyValue`` content)."""
    key = _utf8(name)
    return b"".join(
        (_KEY_VALUE_KEY, _varint(len(key)), key, _KEY_VALUE_VALUE, _varint(len(value)), value)
    )


def _attribute_field(key_part: bytes, any_value: bytes) -> bytes:
    """A record's attribute field from its encoded key field and ``AnyValue`` content."""
    any_size = len(any_value)
    size = len(key_part) + 1 + _varint_size(any_size) + any_size
    return b"".join(
        (
            _RECORD_ATTRIBUTES,
            _varint(size),
            key_part,
            _KEY_VALUE_VALUE,
            _varint(any_size),
            any_value,
        )
    )


def _framed(records: list[bytes]) -> bytes:
    """The ``log_records`` fields of a scope: each record's tag, length and bytes."""
    parts = [_SCOPE_LOGS_LOG_RECORDS] * (3 * len(records))
    try:
        parts[1::3] = [_VARINTS[size] for size in map(len, records)]
    except IndexError:
        parts[1::3] = [_varint(size) for size in map(len, records)]
    parts[2::3] = records
    return b"".join(parts)


class _ProtobufCodec:
    """The protobuf :class:`~fapilog_otel.otlp._encoded.Codec`, with its caches."""

    __slots__ = ("_budget", "_direct", "_resources", "_scopes", "compiled", "record")

    empty_size: ClassVar[int] = 0

    def __init__(self) -> None:
        self._budget = Budget()
        self._resources: dict[int, tuple[Resource, bytes, bytes]] = {}
        self._scopes: dict[Scope, tuple[bytes, bytes]] = {}
        python = self._record_encoder()
        compiled = compiled_record_encoder(python)
        #: Whether records go through the compiled encoder (see ``_compiled``).
        self.compiled = compiled is not None
        self.record = compiled if compiled is not None else python
        self._direct: tuple[DirectPlan, RawEncoder] | None = None

    def direct(self, plan: DirectPlan) -> RawEncoder:
        """The encoder of queued tuples for ``plan`` (made on first use, kept for the plan).

        It returns one record's bytes, redaction included, or None for a tuple it does not
        take (the caller makes a record of it with ``plan.record``); see ``fapilog_otel._direct``.
        """
        made = self._direct
        if made is not None and made[0] is plan:
            return made[1]
        from fapilog_otel.otlp._protobuf_direct import raw_encoder

        python = raw_encoder(self, plan)
        compiled = compiled_raw_encoder(python, plan) if self.compiled else None
        encode = compiled if compiled is not None else python
        self._direct = (plan, encode)
        return encode

    def begin(self, max_bytes: int) -> None:
        self._budget.set_max_bytes(max_bytes)

    def frame_size(self, size: int, first: bool) -> int:
        return _frame_size(size, first)

    def _top_value(self, value: object) -> bytes:
        self._budget.reset()
        return _any_value(value, 0, self._budget)

    def _attribute(self, key: object, value: object, tag: bytes) -> bytes:
        """An attribute field, or ``b""`` when its key is empty (the caller counts it)."""
        name = key_text(key)
        if not name:
            return b""
        return _field(tag, _key_value(name, self._top_value(value)))

    def _attributes(self, attributes: object, tag: bytes) -> tuple[bytes, int]:
        if not isinstance(attributes, Mapping):
            return b"", 0
        fields = [self._attribute(key, value, tag) for key, value in attributes.items()]
        dropped = getattr(attributes, "dropped", 0)
        dropped = dropped if type(dropped) is int and 0 < dropped < _UINT32 else 0
        return b"".join(fields), dropped + fields.count(b"")

    def resource(self, resource: Resource) -> tuple[bytes, bytes]:
        cached = self._resources.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1], cached[2]
        attributes, dropped = self._attributes(resource.attributes, _RESOURCE_ATTRIBUTES)
        if dropped:
            attributes += _RESOURCE_DROPPED + _varint(min(dropped, _UINT32 - 1))
        schema_url = resource.schema_url
        tail = _field(_RESOURCE_LOGS_SCHEMA_URL, _utf8(key_text(schema_url))) if schema_url else b""
        head = _field(_RESOURCE_LOGS_RESOURCE, attributes)
        # The entry holds the resource, so its id is not reused while the entry lives.
        remember(self._resources, id(resource), (resource, head, tail), CACHE_LIMIT)
        return head, tail

    def scope(self, scope: Scope) -> tuple[bytes, bytes]:
        cached = self._scopes.get(scope)
        if cached is not None:
            return cached
        parts = []
        if scope.name:
            parts.append(_field(_SCOPE_NAME, _utf8(key_text(scope.name))))
        if scope.version:
            parts.append(_field(_SCOPE_VERSION, _utf8(key_text(scope.version))))
        attributes, dropped = self._attributes(scope.attributes, _SCOPE_ATTRIBUTES)
        parts.append(attributes)
        if dropped:
            parts.append(_SCOPE_DROPPED + _varint(min(dropped, _UINT32 - 1)))
        head = _field(_SCOPE_LOGS_SCOPE, b"".join(parts))
        schema_url = scope.schema_url
        tail = _field(_SCOPE_LOGS_SCHEMA_URL, _utf8(key_text(schema_url))) if schema_url else b""
        return remember(self._scopes, scope, (head, tail), CACHE_LIMIT)

    def join(self, resources: list[EncodedResource]) -> bytes:
        out: list[bytes] = []
        for res_head, res_tail, scopes in resources:
            res_parts = [res_head]
            for scope_head, scope_tail, records in scopes:
                scope_logs = b"".join((scope_head, _framed(records), scope_tail))
                res_parts += (_RESOURCE_LOGS_SCOPE_LOGS, _varint(len(scope_logs)), scope_logs)
            res_parts.append(res_tail)
            resource_logs = b"".join(res_parts)
            out += (_REQUEST_RESOURCE_LOGS, _varint(len(resource_logs)), resource_logs)
        return b"".join(out)

    @staticmethod
    def _cached_field(cache: dict[str, bytes], tag: bytes, text: object) -> bytes:
        """Encode a string field, caching it when ``text`` is a plain, short string."""
        field = _field(tag, _utf8(key_text(text)))
        if type(text) is str and len(text) <= CACHED_TEXT_LIMIT:
            remember(cache, text, field, CACHE_LIMIT)
        return field

    def _record_encoder(self) -> Callable[[LogRecord], bytes]:
        """Build the per-record function, with its caches in closure cells (fast to read)."""
        texts: dict[str, bytes] = {}
        bodies: dict[str, bytes] = {}
        events: dict[str, bytes] = {}
        # One cache per value type: True == 1 == 1.0 as dict keys, but encode differently.
        str_pairs: dict[tuple[str, str], bytes] = {}
        int_pairs: dict[tuple[str, int], bytes] = {}
        bool_pairs: dict[tuple[str, bool], bytes] = {}
        float_pairs: dict[tuple[str, float], bytes] = {}
        keys: dict[str, bytes] = {}
        attribute = self._attribute
        top_value = self._top_value
        cached_field = self._cached_field

        def key_field(key: object) -> bytes:
            """The ``key`` field of a KeyValue for ``key``; ``b""`` for an empty key."""
            name = key_text(key)
            field = _field(_KEY_VALUE_KEY, _utf8(name)) if name else b""
            if type(key) is str and len(key) <= CACHED_TEXT_LIMIT:
                remember(keys, key, field, CACHE_LIMIT)
            return field

        # The *_pair functions encode an attribute missing from its cache (and cache it);
        # they return b"" for an empty key, which the caller counts as dropped.
        def str_pair(key: str, value: str) -> bytes:
            key_part = keys.get(key) or key_field(key)
            if not key_part:
                return b""
            data = _utf8(value)
            size = len(data)
            any_size = 1 + _varint_size(size) + size
            field = b"".join(
                (
                    _RECORD_ATTRIBUTES,
                    _varint(len(key_part) + 1 + _varint_size(any_size) + any_size),
                    key_part,
                    _KEY_VALUE_VALUE,
                    _varint(any_size),
                    _ANY_STRING,
                    _varint(size),
                    data,
                )
            )
            if type(key) is str and size <= CACHED_TEXT_LIMIT:
                remember(str_pairs, (key, value), field, CACHE_LIMIT)
            return field

        def int_pair(key: str, value: int) -> bytes:
            key_part = keys.get(key) or key_field(key)
            if not key_part:
                return b""
            field = _attribute_field(key_part, _int_value(value))
            if type(key) is str and _SMALL_INT_MIN <= value <= _SMALL_INT_MAX:
                remember(int_pairs, (key, value), field, CACHE_LIMIT)
            return field

        def float_pair(key: str, value: float) -> bytes:
            key_part = keys.get(key) or key_field(key)
            if not key_part:
                return b""
            field = _attribute_field(key_part, _ANY_DOUBLE + _pack_double(value))
            # 0.0 and -0.0 are equal dict keys but encode differently: never cache zeros.
            if type(key) is str and value:
                remember(float_pairs, (key, value), field, CACHE_LIMIT)
            return field

        def bool_pair(key: str, value: bool) -> bytes:
            key_part = keys.get(key) or key_field(key)
            if not key_part:
                return b""
            field = _attribute_field(key_part, _ANY_TRUE if value else _ANY_FALSE)
            if type(key) is str:
                remember(bool_pairs, (key, value), field, CACHE_LIMIT)
            return field

        def body_field(body: str) -> bytes:
            data = _utf8(body)
            size = len(data)
            field = b"".join(
                (
                    _RECORD_BODY,
                    _varint(1 + _varint_size(size) + size),
                    _ANY_STRING,
                    _varint(size),
                    data,
                )
            )
            if size <= CACHED_TEXT_LIMIT:
                remember(bodies, body, field, CACHE_LIMIT)
            return field

        def encode_record(record: LogRecord) -> bytes:
            timestamp = record.timestamp
            severity = record.severity_number
            text = record.severity_text
            body = record.body
            if body is None:
                body_part = b""
            elif type(body) is str:
                body_part = bodies.get(body) or body_field(body)
            else:
                body_part = _field(_RECORD_BODY, top_value(body))
            observed = record.observed_timestamp
            if timestamp and observed:
                # Both times in one call: field order is free on the wire, and this is the
                # most common shape of record.
                times = _pack_times(_RECORD_TIME, timestamp, _RECORD_OBSERVED_TIME, observed)
                observed = 0
            else:
                times = _pack_fixed64_field(_RECORD_TIME, timestamp) if timestamp else b""
            parts = [
                times,
                _SEVERITY_FIELDS[severity] if severity else b"",
                (texts.get(text) or cached_field(texts, _RECORD_SEVERITY_TEXT, text))
                if text
                else b"",
                body_part,
            ]
            append = parts.append
            dropped = record.dropped_attributes_count
            for key, value in record.attributes.items():
                cls = type(value)
                if cls is str:
                    field = str_pairs.get((key, value)) or str_pair(key, value)
                elif cls is int:
                    field = int_pairs.get((key, value)) or int_pair(key, value)
                elif cls is bool:
                    field = bool_pairs.get((key, value)) or bool_pair(key, value)
                elif cls is float:
                    field = float_pairs.get((key, value)) or float_pair(key, value)
                else:
                    field = attribute(key, value, _RECORD_ATTRIBUTES)
                if field:
                    append(field)
                else:
                    dropped += 1
            trace_flags = record.trace_flags
            trace_id = record.trace_id
            span_id = record.span_id
            if dropped or trace_flags or trace_id or span_id:
                append(_rare_fields(dropped, trace_flags, trace_id, span_id))
            if observed:
                append(_pack_fixed64_field(_RECORD_OBSERVED_TIME, observed))
            event = record.event_name
            if event:
                append(events.get(event) or cached_field(events, _RECORD_EVENT_NAME, event))
            return b"".join(parts)

        return encode_record


def _rare_fields(dropped: int, trace_flags: int, trace_id: int, span_id: int) -> bytes:
    """Fields 7 to 10 of a record; raises for values out of range (to repair the record)."""
    parts = []
    if dropped:
        if not 0 < dropped < _UINT32:
            raise ValueError("dropped_attributes_count out of range")
        parts.append(_RECORD_DROPPED + _varint(dropped))
    flags = trace_flags & 0xFF
    if flags:
        parts.append(_pack_fixed32_field(_RECORD_FLAGS, flags))
    if trace_id:
        parts.append(_RECORD_TRACE_ID + trace_id.to_bytes(16, "big"))
    if span_id:
        parts.append(_RECORD_SPAN_ID + span_id.to_bytes(8, "big"))
    return b"".join(parts)


class ProtobufEncoder(Encoder):
    """Encodes records as OTLP/protobuf ``ExportLogsServiceRequest`` bodies."""

    __slots__ = ()

    content_type: ClassVar[str] = "application/x-protobuf"

    def __init__(self) -> None:
        super().__init__(_ProtobufCodec())
