"""The direct path's OTLP/protobuf encoder: one queued tuple straight to LogRecord bytes.

See ``fapilog_otel._direct`` for the path and ``_protobuf`` for the wire format. The bytes
are those ``_protobuf``'s record encoder writes for the record the ordinary path would
make of the tuple; each attribute's and body's redacted encoding is cached under the
value as logged, so a repeated attribute costs one lookup, redaction included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from fapilog_otel._cache import remember
from fapilog_otel._direct import DirectPlan
from fapilog_otel._raw import RawRecord
from fapilog_otel.otlp._encoded import CACHE_LIMIT, CACHED_TEXT_LIMIT
from fapilog_otel.otlp._protobuf import (
    _KEY_VALUE_KEY,
    _RECORD_EVENT_NAME,
    _RECORD_OBSERVED_TIME,
    _RECORD_SEVERITY_TEXT,
    _RECORD_TIME,
    _SEVERITY_FIELDS,
    _SMALL_INT_MAX,
    _SMALL_INT_MIN,
    _attribute_field,
    _int_value,
    _pack_fixed64_field,
    _pack_times,
    _ProtobufCodec,
    _rare_fields,
)
from fapilog_otel.record import LogRecord, Scope

__all__ = ["RawEncoder", "raw_encoder"]

#: Encodes one queued tuple; None for a tuple it leaves to the ordinary path.
RawEncoder = Callable[[RawRecord], "bytes | None"]

#: The types of attribute value the direct path encodes itself (exact types only).
_SCALARS: Final = frozenset({str, int, bool, float, type(None)})

#: The scope of the one-field records pieces are encoded with (never sent).
_NO_SCOPE: Final = Scope("")


def raw_encoder(codec: _ProtobufCodec, plan: DirectPlan) -> RawEncoder:
    """Build the per-tuple function of the direct path for ``plan``.

    It writes what ``encode_record`` writes for the record that the ordinary path would
    make of the tuple: the attributes merged (context-bound, logger-bound, the call's),
    redacted, and encoded; each attribute's and body's redacted encoding is cached under
    the value as logged. It takes tuples without an exception or a resource of their
    own, with a ``str`` (or no) body, plain ``str`` keys, ``str``, ``int``, ``bool``,
    ``float`` and ``None`` values and at most ``plan.count_limit`` attributes; it returns None for
    the others, and raises for a tuple whose fields are out of range.
    """
    redaction = plan.redaction
    count_limit = plan.count_limit
    resource = plan.resource
    if redaction is None:
        clean_attribute = None
        clean_text = None
    else:
        clean_attribute = redaction.attribute
        clean_text = redaction.text
    record_encoder = codec.record
    cached_field = codec._cached_field
    keys: dict[str, bytes] = {}
    texts: dict[str, bytes] = {}
    levels: dict[str | None, tuple[int, bytes]] = {}
    #: The span of the last record that had one, and its encoded trace fields.
    last_span: list[Any] = [None, b""]
    events: dict[str, bytes] = {}
    bodies: dict[str, bytes] = {}
    # Keyed by the value's type too: True == 1 == 1.0 as dict keys.
    pairs: dict[tuple[type, str, object], bytes] = {}
    no_attributes: dict[str, object] = {}

    def only(body: object, attributes: dict[str, object]) -> bytes:
        """What the record encoder writes for a record of just ``body`` and
        ``attributes``: the body's or the attributes' fields alone."""
        return record_encoder(
            LogRecord(
                timestamp=0,
                body=body,
                attributes=attributes,
                scope=_NO_SCOPE,
                resource=resource,
            )
        )

    def attribute(key: str, value: object) -> bytes | None:
        """The attribute's field, redacted (cached when it repeats); b"" for an empty key;
        None for a key or value the direct path does not take."""
        cls = type(value)
        if type(key) is not str or cls not in _SCALARS:
            return None
        if not key:
            return b""
        clean = value if clean_attribute is None else clean_attribute(key, value)
        clean_cls = type(clean)
        if clean_cls is int:
            key_part = keys.get(key) or cached_field(keys, _KEY_VALUE_KEY, key)
            field = _attribute_field(key_part, _int_value(clean))  # type: ignore[arg-type]
        else:
            field = only(None, {key: clean})
        if _cacheable(value):
            remember(pairs, (cls, key, value), field, CACHE_LIMIT)
        return field

    def body_field(body: str) -> bytes:
        field = only(body if clean_text is None else clean_text(body), no_attributes)
        if len(body) <= CACHED_TEXT_LIMIT:
            remember(bodies, body, field, CACHE_LIMIT)
        return field

    def level_fields(number: int, text: str | None) -> tuple[int, bytes]:
        """The severity number and text fields (cached by text, checked by number)."""
        number_part = _SEVERITY_FIELDS[number] if number else b""
        text_part = cached_field(texts, _RECORD_SEVERITY_TEXT, text) if text else b""
        level = (number, number_part + text_part)
        if text is None or (type(text) is str and len(text) <= CACHED_TEXT_LIMIT):
            remember(levels, text, level, CACHE_LIMIT)
        return level

    def event_field(event: str) -> bytes:
        return events.get(event) or cached_field(events, _RECORD_EVENT_NAME, event)

    def encode_raw(raw: RawRecord) -> bytes | None:
        (stamp, observed, number, text, body, attrs, _, bound, context, span, event, exc,
         own_resource) = raw  # fmt: skip
        if exc is not None or own_resource is not None:
            return None
        if bound or context:
            attrs = {**(context or no_attributes), **(bound or no_attributes),
                     **(attrs or no_attributes)}  # fmt: skip
        if body is None:
            body_part = b""
        elif type(body) is str:
            body_part = bodies.get(body) or body_field(body)
        else:
            return None
        if observed is None:
            observed = stamp
        if stamp and observed:
            times = _pack_times(_RECORD_TIME, stamp, _RECORD_OBSERVED_TIME, observed)
            observed = 0
        else:
            times = _pack_fixed64_field(_RECORD_TIME, stamp) if stamp else b""
        level = levels.get(text)
        if level is None or level[0] != number:
            level = level_fields(number, text)
        parts = [times, level[1], body_part]
        dropped = 0
        if attrs:
            if count_limit is not None and len(attrs) > count_limit:
                return None
            append = parts.append
            try:
                for key, value in attrs.items():
                    field = pairs.get((type(value), key, value)) or attribute(key, value)
                    if field:
                        append(field)
                    elif field is None:
                        return None
                    else:
                        dropped += 1
            except TypeError:  # an unhashable value: a container, for the ordinary path
                return None
        if dropped:
            trace_id, span_id, trace_flags = span or (0, 0, 0)
            parts.append(_rare_fields(dropped, trace_flags, trace_id, span_id))
        elif span is not None:
            # The records of one span come in runs: its fields are made once per run.
            if span != last_span[0]:
                trace_id, span_id, trace_flags = span
                last_span[:] = (span, _rare_fields(0, trace_flags, trace_id, span_id))
            parts.append(last_span[1])
        if observed:
            parts.append(_pack_fixed64_field(_RECORD_OBSERVED_TIME, observed))
        if event:
            parts.append(event_field(event))
        return b"".join(parts)

    return encode_raw


def _cacheable(value: object) -> bool:
    """Whether an attribute's encoding is worth caching under its value (as the record
    encoder caches: short strings, small ints, booleans, floats other than zero; and
    None)."""
    cls = type(value)
    if cls is str:
        return len(value) <= CACHED_TEXT_LIMIT  # type: ignore[arg-type]
    if cls is int:
        return _SMALL_INT_MIN <= value <= _SMALL_INT_MAX  # type: ignore[operator]
    return cls is bool or value is None or bool(value)
