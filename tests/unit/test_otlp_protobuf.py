"""The hand-written OTLP/protobuf encoder, checked by decoding with the official classes."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.sdk.resources import Resource

from fapilog_otel.otlp._encoded import MAX_DEPTH, EncodedRequests
from fapilog_otel.otlp._protobuf import ProtobufEncoder
from fapilog_otel.record import LogRecord, Scope

RESOURCE = Resource({"service.name": "checkout", "deployment.environment": "test"})
OTHER_RESOURCE = Resource({"service.name": "billing"}, "https://opentelemetry.io/schemas/1.30.0")
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0x00F067AA0BA902B7
T0 = 1_700_000_000_123_456_789


def make_record(**overrides: Any) -> LogRecord:
    """A record with only a timestamp, a scope and a resource; keywords set more fields."""
    fields: dict[str, Any] = {"timestamp": T0, "scope": Scope("app"), "resource": RESOURCE}
    fields.update(overrides)
    return LogRecord(**fields)


def decode(body: bytes) -> ExportLogsServiceRequest:
    """Decode one request body with the official classes."""
    return ExportLogsServiceRequest.FromString(body)


def encode_one(record: LogRecord) -> logs_pb2.LogRecord:
    """Encode a single record and return it decoded."""
    encoded = ProtobufEncoder().encode([record])
    assert 1 == len(encoded.requests)
    return decode(encoded.requests[0][0]).resource_logs[0].scope_logs[0].log_records[0]


def value_of(value: object) -> AnyValue:
    """The decoded AnyValue of ``value`` as an attribute."""
    return encode_one(make_record(attributes={"v": value})).attributes[0].value


def string(text: str) -> AnyValue:
    """An AnyValue holding a string."""
    return AnyValue(string_value=text)


def kv(key: str, value: AnyValue) -> KeyValue:
    """A KeyValue."""
    return KeyValue(key=key, value=value)


def all_records(encoded: EncodedRequests) -> Iterator[logs_pb2.LogRecord]:
    """Every record of every request, in order."""
    for body, _ in encoded.requests:
        for resource_logs in decode(body).resource_logs:
            for scope_logs in resource_logs.scope_logs:
                yield from scope_logs.log_records


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


class TestRecordFields:
    def test_every_field_is_written(self) -> None:
        """A fully populated record decodes with every field of the log data model."""
        record = make_record(
            observed_timestamp=T0 + 5,
            severity_number=13,
            severity_text="WARNING",
            body="slow request",
            attributes={"ms": 812, "user": "alice", "ok": True},
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
            trace_flags=1,
            event_name="request.slow",
            dropped_attributes_count=2,
        )
        expected = logs_pb2.LogRecord(
            time_unix_nano=T0,
            observed_time_unix_nano=T0 + 5,
            severity_number=13,
            severity_text="WARNING",
            body=string("slow request"),
            attributes=[
                kv("ms", AnyValue(int_value=812)),
                kv("user", string("alice")),
                kv("ok", AnyValue(bool_value=True)),
            ],
            dropped_attributes_count=2,
            flags=1,
            trace_id=TRACE_ID.to_bytes(16, "big"),
            span_id=SPAN_ID.to_bytes(8, "big"),
            event_name="request.slow",
        )
        assert expected == encode_one(record)

    def test_zero_and_empty_fields_are_left_out(self) -> None:
        """Only the times are written for a record without severity, body, ids or event."""
        record = make_record(severity_text="", event_name="")
        actual = encode_one(record)
        assert ["time_unix_nano", "observed_time_unix_nano"] == [
            field.name for field, _ in actual.ListFields()
        ]
        assert not actual.HasField("body")

    def test_ids_and_flags_are_big_endian_and_masked(self) -> None:
        """Ids are 16 and 8 big-endian bytes; flags keep their low 8 bits."""
        actual = encode_one(make_record(trace_id=1, span_id=2, trace_flags=0x1FF))
        assert (b"\x00" * 15 + b"\x01", b"\x00" * 7 + b"\x02", 0xFF) == (
            actual.trace_id,
            actual.span_id,
            actual.flags,
        )

    def test_flags_zero_in_the_low_byte_are_left_out(self) -> None:
        """Trace flags whose low byte is 0 are not written."""
        assert not encode_one(make_record(trace_flags=0x100)).flags

    @pytest.mark.parametrize(("given", "expected"), [(30, 24), (-3, 0), (24, 24), (1, 1)])
    def test_severity_is_clamped(self, given: int, expected: int) -> None:
        """Severity numbers outside 0-24 are clamped."""
        assert expected == encode_one(make_record(severity_number=given)).severity_number

    def test_empty_attribute_keys_are_dropped_and_counted(self) -> None:
        """A top-level attribute with key "" is left out and added to the dropped count."""
        actual = encode_one(make_record(attributes={"": 1, "a": 2}, dropped_attributes_count=3))
        assert ([kv("a", AnyValue(int_value=2))], 4) == (
            list(actual.attributes),
            actual.dropped_attributes_count,
        )

    def test_non_string_body_is_an_any_value(self) -> None:
        """A mapping body becomes a key-value list."""
        actual = encode_one(make_record(body={"order": 7}))
        expected = AnyValue(kvlist_value=KeyValueList(values=[kv("order", AnyValue(int_value=7))]))
        assert expected == actual.body

    def test_bytes_match_the_official_serialization(self) -> None:
        """The decoded request equals one built with the official classes."""
        record = make_record(
            severity_number=9, severity_text="INFO", body="hi", attributes={"a": "b"}
        )
        expected = ExportLogsServiceRequest(
            resource_logs=[
                logs_pb2.ResourceLogs(
                    resource=PbResource(
                        attributes=[
                            kv("service.name", string("checkout")),
                            kv("deployment.environment", string("test")),
                        ]
                    ),
                    scope_logs=[
                        logs_pb2.ScopeLogs(
                            scope=InstrumentationScope(name="app"),
                            log_records=[
                                logs_pb2.LogRecord(
                                    time_unix_nano=T0,
                                    observed_time_unix_nano=T0,
                                    severity_number=9,
                                    severity_text="INFO",
                                    body=string("hi"),
                                    attributes=[kv("a", string("b"))],
                                )
                            ],
                        )
                    ],
                )
            ]
        )
        body = ProtobufEncoder().encode([record]).requests[0][0]
        assert expected == decode(body)


class TestResourcesAndScopes:
    def test_resource_and_scope_fields(self) -> None:
        """Resource attributes and schema URL, and every scope field, are written."""
        scope = Scope("db", "2.1", "https://example.com/schema", {"pool": 4, "": "x"})
        encoded = ProtobufEncoder().encode([make_record(scope=scope, resource=OTHER_RESOURCE)])
        resource_logs = decode(encoded.requests[0][0]).resource_logs[0]
        scope_logs = resource_logs.scope_logs[0]
        assert (
            [kv("service.name", string("billing"))],
            "https://opentelemetry.io/schemas/1.30.0",
            InstrumentationScope(
                name="db",
                version="2.1",
                attributes=[kv("pool", AnyValue(int_value=4))],
                dropped_attributes_count=1,
            ),
            "https://example.com/schema",
        ) == (
            list(resource_logs.resource.attributes),
            resource_logs.schema_url,
            scope_logs.scope,
            scope_logs.schema_url,
        )

    def test_grouping_by_resource_then_scope_in_order_of_appearance(self) -> None:
        """Records group under their resource and scope; order within a scope is kept."""
        records = [
            make_record(body="a1", scope=Scope("a")),
            make_record(body="b1", scope=Scope("b")),
            make_record(body="x1", scope=Scope("a"), resource=OTHER_RESOURCE),
            make_record(body="a2", scope=Scope("a")),
            make_record(body="b2", scope=Scope("b")),
        ]
        encoded = ProtobufEncoder().encode(records)
        request = decode(encoded.requests[0][0])
        actual = [
            (
                resource_logs.resource.attributes[0].value.string_value,
                scope_logs.scope.name,
                [r.body.string_value for r in scope_logs.log_records],
            )
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
        ]
        assert [
            ("checkout", "a", ["a1", "a2"]),
            ("checkout", "b", ["b1", "b2"]),
            ("billing", "a", ["x1"]),
        ] == actual
        assert [(encoded.requests[0][0], 5)] == encoded.requests

    def test_equal_resources_and_scopes_share_one_entry(self) -> None:
        """Distinct but equal Resource and Scope objects are grouped together."""
        twin = Resource(dict(RESOURCE.attributes))
        records = [make_record(scope=Scope("s", "1")), make_record(scope=Scope("s", "1"))]
        records[1].resource = twin
        request = decode(ProtobufEncoder().encode(records).requests[0][0])
        assert (1, 1, 2) == (
            len(request.resource_logs),
            len(request.resource_logs[0].scope_logs),
            len(request.resource_logs[0].scope_logs[0].log_records),
        )

    def test_empty_input_gives_no_requests(self) -> None:
        """Encoding nothing yields no request."""
        encoded = ProtobufEncoder().encode([])
        assert ([], 0, 0) == (encoded.requests, encoded.oversize, encoded.invalid)


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


class TestCaches:
    def test_repeated_floats_and_both_zeros(self) -> None:
        """Cached float attributes decode right when repeated; 0.0 and -0.0 keep their sign."""
        import math as _math

        encoder = ProtobufEncoder()
        values = [9.99, 0.0, -0.0, 9.99, -0.0, 0.0, float("inf"), 9.99]
        records = [make_record(attributes={"amount": v}) for v in values]
        for _ in range(2):
            decoded = [
                r.attributes[0].value.double_value for r in all_records(encoder.encode(records))
            ]
            assert values == decoded
            assert [_math.copysign(1, v) for v in values] == [_math.copysign(1, v) for v in decoded]

    def test_true_one_and_one_point_zero_stay_distinct(self) -> None:
        """Values equal as dict keys (True, 1, 1.0) keep their own encodings when repeated."""
        encoder = ProtobufEncoder()
        values = [True, 1, 1.0, 1, True, 1.0, False, 0, 0.0]
        records = [make_record(attributes={"v": v}, body=v) for v in values]
        decoded = list(all_records(encoder.encode(records)))
        decoded += list(all_records(encoder.encode(records)))
        kinds = [
            (r.attributes[0].value.WhichOneof("value"), r.body.WhichOneof("value")) for r in decoded
        ]
        expected = {
            bool: ("bool_value", "bool_value"),
            int: ("int_value", "int_value"),
            float: ("double_value", "double_value"),
        }
        assert [expected[type(v)] for v in values] * 2 == kinds

    def test_same_string_under_different_keys(self) -> None:
        """A cached value is not reused for another key."""
        records = [make_record(attributes={"a": "x"}), make_record(attributes={"b": "x"})]
        actual = [r.attributes[0].key for r in all_records(ProtobufEncoder().encode(records))]
        assert ["a", "b"] == actual

    def test_many_distinct_values_keep_encoding_correctly(self) -> None:
        """Past the cache limit the caches are emptied and encoding stays correct."""
        records = [make_record(body=f"m{i}", attributes={"i": i}) for i in range(20_000)]
        decoded = list(all_records(ProtobufEncoder().encode(records)))
        assert [(f"m{i}", i) for i in range(20_000)] == [
            (r.body.string_value, r.attributes[0].value.int_value) for r in decoded
        ]


def request_sizes(records: Sequence[LogRecord], max_bytes: int) -> EncodedRequests:
    """Encode with a size limit."""
    return ProtobufEncoder().encode(records, max_bytes)


class TestSplitting:
    def test_requests_stay_under_the_limit_and_keep_order(self) -> None:
        """Each body fits; together they hold every record once, in order."""
        records = [
            make_record(body=f"message {i}" * (i % 7), scope=Scope(f"s{i % 3}")) for i in range(60)
        ]
        whole = ProtobufEncoder().encode(records)
        expected = [r.body.string_value for r in all_records(whole)]
        for max_bytes in (300, 512, 1000, 4000):
            encoded = request_sizes(records, max_bytes)
            assert [] == [len(body) for body, _ in encoded.requests if len(body) > max_bytes]
            assert expected == [r.body.string_value for r in all_records(encoded)]
            assert [n for _, n in encoded.requests] == [
                sum(len(s.log_records) for rl in decode(b).resource_logs for s in rl.scope_logs)
                for b, _ in encoded.requests
            ]

    def test_split_is_greedy(self) -> None:
        """A request is closed only when the next record would not fit in it."""
        records = [make_record(body="x" * (i * 13 % 200)) for i in range(40)]
        max_bytes = 900
        encoded = request_sizes(records, max_bytes)
        taken = 0
        for _, count in encoded.requests[:-1]:
            taken += count
            with_next = ProtobufEncoder().encode(records[taken - count : taken + 1])
            assert len(with_next.requests[0][0]) > max_bytes
        assert 40 == taken + encoded.requests[-1][1]

    def test_exact_fit_is_one_request(self) -> None:
        """A body exactly at the limit is sent whole; one byte less splits it."""
        records = [make_record(body=str(i)) for i in range(10)]
        size = len(ProtobufEncoder().encode(records).requests[0][0])
        assert (1, 2) == (
            len(request_sizes(records, size).requests),
            len(request_sizes(records, size - 1).requests),
        )

    def test_oversize_record_is_counted_and_the_rest_sent(self) -> None:
        """A record too large alone is left out and counted; its neighbours are sent."""
        records = [make_record(body="a"), make_record(body="b" * 5000), make_record(body="c")]
        encoded = request_sizes(records, 1000)
        assert (["a", "c"], 1, 0) == (
            [r.body.string_value for r in all_records(encoded)],
            encoded.oversize,
            encoded.invalid,
        )

    def test_value_with_too_many_parts_is_oversize(self) -> None:
        """A structure sharing one list many times is stopped early and counted oversize."""
        bomb: Any = [1]
        for _ in range(60):
            bomb = [bomb, bomb]
        encoded = request_sizes([make_record(attributes={"bomb": bomb}), make_record()], 10_000)
        assert (1, 1) == (encoded.records, encoded.oversize)


class TestNeverRaises:
    @pytest.mark.parametrize(
        "overrides",
        [
            {"timestamp": -1},
            {"timestamp": 1.5},
            {"observed_timestamp": 2**64},
            {"severity_text": 5},
            {"event_name": ["x"]},
            {"trace_id": 2**200, "span_id": -1},
            {"trace_flags": "x"},
            {"attributes": None},
            {"attributes": {1: "one", None: 2}},
            {"dropped_attributes_count": -4},
        ],
    )
    def test_bad_fields_are_repaired(self, overrides: dict[str, Any]) -> None:
        """Fields of the wrong type or out of range are repaired, not fatal."""
        record = make_record(body="kept")
        for name, value in overrides.items():
            setattr(record, name, value)
        encoded = ProtobufEncoder().encode([record])
        assert (["kept"], 0) == (
            [r.body.string_value for r in all_records(encoded)],
            encoded.invalid,
        )

    def test_repaired_values(self) -> None:
        """Repair zeroes bad times and ids and describes non-string texts."""
        record = make_record(severity_text=5, trace_id=-1, attributes={1: "one"})
        record.timestamp = -1
        actual = encode_one(record)
        assert (0, "5", b"", [kv("1", string("one"))]) == (
            actual.time_unix_nano,
            actual.severity_text,
            actual.trace_id,
            list(actual.attributes),
        )

    def test_unusable_resource_or_scope_counts_invalid(self) -> None:
        """A record whose resource or scope cannot be used is counted invalid; others pass."""
        bad_resource = make_record(body="r")
        bad_resource.resource = object()  # type: ignore[assignment]
        bad_scope = make_record(body="s")
        bad_scope.scope = [1]  # type: ignore[assignment]
        encoded = ProtobufEncoder().encode([bad_resource, make_record(body="ok"), bad_scope])
        assert (["ok"], 2) == (
            [r.body.string_value for r in all_records(encoded)],
            encoded.invalid,
        )
