"""The OTLP/protobuf encoder's AnyValue mapping: scalars, sequences, mappings and the depth
limit, checked by decoding with the official classes."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValueList
from test_otlp_protobuf import encode_one, kv, make_record, string

from fapilog_otel.otlp._encoded import MAX_DEPTH
from fapilog_otel.otlp._protobuf import ProtobufEncoder


def value_of(value: object) -> AnyValue:
    """The decoded AnyValue of ``value`` as an attribute."""
    return encode_one(make_record(attributes={"v": value})).attributes[0].value


class Color(enum.IntEnum):
    RED = 3


class Text(str):
    def __str__(self) -> str:
        return "overridden"


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


class Exploding(Mapping[str, Any]):
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "exploding"


def nested(depth: int) -> Any:
    """A list nested ``depth`` levels around the string "leaf"."""
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def read_varint(data: bytes, at: int) -> tuple[int, int]:
    """The varint at ``at`` and the offset after it."""
    result = shift = 0
    while True:
        byte = data[at]
        at += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, at


def find_field(data: bytes, number: int) -> bytes | None:
    """The payload of the first length-delimited field ``number`` of a message, if any."""
    at = 0
    while at < len(data):
        tag, at = read_varint(data, at)
        wire_type = tag & 7
        if wire_type == 0:
            _, at = read_varint(data, at)
        elif wire_type in (1, 5):
            at += 8 if wire_type == 1 else 4
        else:
            size, at = read_varint(data, at)
            if tag >> 3 == number:
                return data[at : at + size]
            at += size
    return None


def depth_of_raw(value: object) -> tuple[int, AnyValue]:
    """How many arrays wrap the innermost value of ``value`` as a body, and that value.

    Walks the wire format by hand: upb refuses to decode messages nested more than 100
    deep, and each array level is two messages (AnyValue, ArrayValue).
    """
    data: bytes | None = ProtobufEncoder().encode([make_record(body=value)]).requests[0][0]
    # request.resource_logs, .scope_logs, .log_records, .body
    for number in (1, 2, 2, 5):
        assert data is not None
        data = find_field(data, number)
    levels = 0
    while True:
        assert data is not None
        array = find_field(data, 5)
        if array is None:
            return levels, AnyValue.FromString(data)
        data = find_field(array, 1)
        levels += 1


class TestValues:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("text", string("text")),
            ("", string("")),
            (True, AnyValue(bool_value=True)),
            (False, AnyValue(bool_value=False)),
            (0, AnyValue(int_value=0)),
            (-5, AnyValue(int_value=-5)),
            (2**63 - 1, AnyValue(int_value=2**63 - 1)),
            (-(2**63), AnyValue(int_value=-(2**63))),
            (2**63, string(str(2**63))),
            pytest.param(10**5000, string("<unprintable int>"), id="5001-digit-int"),
            (-(2**63) - 1, string(str(-(2**63) - 1))),
            (1.5, AnyValue(double_value=1.5)),
            (0.0, AnyValue(double_value=0.0)),
            (math.inf, AnyValue(double_value=math.inf)),
            (-math.inf, AnyValue(double_value=-math.inf)),
            (b"\x00\xff", AnyValue(bytes_value=b"\x00\xff")),
            (bytearray(b"ab"), AnyValue(bytes_value=b"ab")),
            (memoryview(b"cd"), AnyValue(bytes_value=b"cd")),
            (None, AnyValue()),
            (Color.RED, AnyValue(int_value=3)),
            (Text("base"), string("base")),
            (Unprintable(), string("<unprintable Unprintable>")),
            (Exploding(), string("exploding")),
            (3 + 4j, string("(3+4j)")),
            ("\ud800x", string("\\ud800x")),
        ],
    )
    def test_scalar_values(self, value: object, expected: AnyValue) -> None:
        """Each kind of value maps as the SDK adapter maps it."""
        assert expected == value_of(value)

    def test_nan(self) -> None:
        """NaN is written as a double."""
        assert math.isnan(value_of(math.nan).double_value)

    @pytest.mark.parametrize("value", [[1, None], (1, None), {1, None}, frozenset([1, None])])
    def test_sequences_become_arrays(self, value: object) -> None:
        """Lists, tuples and sets become arrays; None inside them is an empty AnyValue."""
        items = [AnyValue(int_value=1), AnyValue()]
        actual = list(value_of(value).array_value.values)
        assert items == sorted(actual, key=lambda item: item.ByteSize(), reverse=True)

    def test_nested_mappings(self) -> None:
        """Mappings become key-value lists: keys stringified, empty keys left out."""
        value = {"a": {"b": [None, {"c": b"x"}]}, 1: "one", "": "gone", None: {}}
        expected = AnyValue(
            kvlist_value=KeyValueList(
                values=[
                    kv(
                        "a",
                        AnyValue(
                            kvlist_value=KeyValueList(
                                values=[
                                    kv(
                                        "b",
                                        AnyValue(
                                            array_value=ArrayValue(
                                                values=[
                                                    AnyValue(),
                                                    AnyValue(
                                                        kvlist_value=KeyValueList(
                                                            values=[
                                                                kv("c", AnyValue(bytes_value=b"x"))
                                                            ]
                                                        )
                                                    ),
                                                ]
                                            )
                                        ),
                                    )
                                ]
                            )
                        ),
                    ),
                    kv("1", string("one")),
                    kv("None", AnyValue(kvlist_value=KeyValueList())),
                ]
            )
        )
        assert expected == value_of(value)

    def test_depth_beyond_the_limit_is_cut(self) -> None:
        """Containers nested deeper than MAX_DEPTH levels become "<max depth>"."""
        assert (MAX_DEPTH, string("<max depth>")) == depth_of_raw(nested(MAX_DEPTH + 6))

    def test_depth_at_the_limit_is_kept(self) -> None:
        """A leaf inside MAX_DEPTH nested lists is kept."""
        assert (MAX_DEPTH, string("leaf")) == depth_of_raw(nested(MAX_DEPTH))

    def test_self_reference_is_cut_at_the_depth_limit(self) -> None:
        """A list containing itself ends in "<max depth>" instead of recursing forever."""
        looped: list[Any] = []
        looped.append(looped)
        assert (MAX_DEPTH, string("<max depth>")) == depth_of_raw(looped)

    def test_deepest_maps_still_decode_with_the_official_decoder(self) -> None:
        """Maps nested to the limit (3 messages a level) stay under upb's nesting limit of 100."""
        deep: Any = "leaf"
        for _ in range(MAX_DEPTH + 10):
            deep = {"k": deep}
        body = ProtobufEncoder().encode([make_record(body=deep, attributes={"a": deep})])
        request = ExportLogsServiceRequest.FromString(body.requests[0][0])
        assert 1 == len(request.resource_logs[0].scope_logs[0].log_records)


@pytest.mark.parametrize("field", ["key", "severity_text", "event_name"])
def test_str_subclass_names_encode_as_their_base_value_whatever_was_cached(field: str) -> None:
    """A str subclass with its own ``__str__`` as a key, severity text or event name is
    written as its base value, before and after an equal plain string filled the cache.

    Regression: uncached it was written as ``str(key)`` ("overridden"), cached as the plain
    twin's bytes ("user"), so the output depended on what the encoder had seen before.
    """

    def record(name: str) -> Any:
        if field == "key":
            return make_record(attributes={name: "x"})
        return make_record(**{field: name})

    def decoded_name(log: Any) -> str:
        return log.attributes[0].key if field == "key" else getattr(log, field)

    encoder = ProtobufEncoder()
    fresh = ExportLogsServiceRequest.FromString(
        encoder.encode([record(Text("user"))]).requests[0][0]
    )
    encoder.encode([record("user")])
    cached = ExportLogsServiceRequest.FromString(
        encoder.encode([record(Text("user"))]).requests[0][0]
    )
    for request in (fresh, cached):
        log = request.resource_logs[0].scope_logs[0].log_records[0]
        assert decoded_name(log) == "user"
