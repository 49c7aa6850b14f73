"""The hand-written OTLP/protobuf encoder, checked by decoding with the official classes.

How values map to AnyValue is tested in test_otlp_protobuf_values.py."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1.resource_pb2 import Resource as PbResource
from opentelemetry.sdk.resources import Resource

from fapilog_otel.otlp._encoded import EncodedRequests
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
