"""The hand-written OTLP/JSON encoder: the OTLP/JSON rules, and agreement with protobuf."""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk.resources import Resource
from otlp_receivers import decode_otlp_json

from fapilog_otel.otlp._json import JsonEncoder
from fapilog_otel.otlp._protobuf import ProtobufEncoder
from fapilog_otel.record import LogRecord, Scope

RESOURCE = Resource({"service.name": "checkout"})
OTHER_RESOURCE = Resource({"service.name": "billing"}, "https://opentelemetry.io/schemas/1.30.0")
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0x00F067AA0BA902B7
T0 = 1_700_000_000_123_456_789


def make_record(**overrides: Any) -> LogRecord:
    """A record with only a timestamp, a scope and a resource; keywords set more fields."""
    fields: dict[str, Any] = {"timestamp": T0, "scope": Scope("app"), "resource": RESOURCE}
    fields.update(overrides)
    return LogRecord(**fields)


def parse_json(body: bytes) -> ExportLogsServiceRequest:
    """Decode an OTLP/JSON body into the official message (hex ids converted first)."""
    return decode_otlp_json(body)


def canonical(message: ExportLogsServiceRequest) -> bytes:
    """The message in canonical serialization (NaN-safe comparison of two messages)."""
    return message.SerializeToString(deterministic=True)


def json_record(record: LogRecord) -> dict[str, Any]:
    """The raw JSON object of a single encoded record."""
    body = JsonEncoder().encode([record]).requests[0][0]
    document: dict[str, Any] = json.loads(body)
    return dict(document["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0])


def json_value(value: object) -> Any:
    """The raw JSON AnyValue of ``value`` as an attribute."""
    return json_record(make_record(attributes={"v": value}))["attributes"][0]["value"]


class Color(enum.IntEnum):
    RED = 3


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")


def nested(depth: int) -> Any:
    """A list nested ``depth`` levels around the string "leaf"."""
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


VARIED_RECORDS = [
    make_record(
        observed_timestamp=T0 + 9,
        severity_number=17,
        severity_text="ERROR",
        body="failed",
        attributes={
            "s": "x",
            "i": -(2**63),
            "big": 2**64,
            "b": False,
            "f": -0.5,
            "nan": math.nan,
            "inf": math.inf,
            "ninf": -math.inf,
            "bytes": b"\x00\xfe",
            "none": None,
            "list": [1, None, "a", [2.5, {"k": None}]],
            "map": {"a": {"b": True}, 3: "three", "": "dropped"},
            "empty_list": [],
            "empty_map": {},
            "enum": Color.RED,
            "odd": Unprintable(),
            "surrogate": "\udc80",
            "": "counted",
        },
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        trace_flags=1,
        event_name="failure",
        dropped_attributes_count=1,
    ),
    make_record(body=None, scope=Scope("db", "1.0", "https://s", {"pool": 2})),
    make_record(body={"structured": [1, 2]}, resource=OTHER_RESOURCE),
    make_record(body=b"raw", scope=Scope("db", "1.0", "https://s", {"pool": 2})),
    make_record(body=nested(40), severity_number=99),
    make_record(timestamp=0, observed_timestamp=0, body="no times"),
    make_record(timestamp=0, observed_timestamp=T0, severity_text="INFO"),
]


class TestAgreementWithProtobuf:
    def test_json_decodes_to_the_protobuf_message(self) -> None:
        """The JSON and protobuf encodings of the same records decode to the same message."""
        expected = ProtobufEncoder().encode(VARIED_RECORDS)
        actual = JsonEncoder().encode(VARIED_RECORDS)
        assert [n for _, n in expected.requests] == [n for _, n in actual.requests]
        assert [
            canonical(ExportLogsServiceRequest.FromString(b)) for b, _ in expected.requests
        ] == [canonical(parse_json(b)) for b, _ in actual.requests]

    @pytest.mark.parametrize("record", VARIED_RECORDS)
    def test_each_record_alone_agrees(self, record: LogRecord) -> None:
        """Each record alone also decodes the same from both encodings."""
        expected = ProtobufEncoder().encode([record]).requests[0][0]
        actual = JsonEncoder().encode([record]).requests[0][0]
        assert canonical(ExportLogsServiceRequest.FromString(expected)) == canonical(
            parse_json(actual)
        )


class TestJsonRules:
    def test_record_members_use_otlp_json_conventions(self) -> None:
        """camelCase keys, hex ids, int64 as strings, enums and uint32 as numbers."""
        record = make_record(
            observed_timestamp=T0 + 1,
            severity_number=9,
            severity_text="INFO",
            body="hello",
            attributes={"n": 5},
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
            trace_flags=1,
            event_name="ev",
            dropped_attributes_count=2,
        )
        assert {
            "timeUnixNano": str(T0),
            "observedTimeUnixNano": str(T0 + 1),
            "severityNumber": 9,
            "severityText": "INFO",
            "body": {"stringValue": "hello"},
            "attributes": [{"key": "n", "value": {"intValue": "5"}}],
            "droppedAttributesCount": 2,
            "flags": 1,
            "traceId": "0af7651916cd43dd8448eb211c80319c",
            "spanId": "00f067aa0ba902b7",
            "eventName": "ev",
        } == json_record(record)

    def test_defaults_are_left_out(self) -> None:
        """A record with only times has only the time members."""
        assert {"timeUnixNano": str(T0), "observedTimeUnixNano": str(T0)} == json_record(
            make_record(severity_text="", event_name="")
        )

    def test_record_without_any_member_is_empty_object(self) -> None:
        """A record with nothing set is {}."""
        assert {} == json_record(make_record(timestamp=0))

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, {}),
            (True, {"boolValue": True}),
            (7, {"intValue": "7"}),
            (-(2**63), {"intValue": str(-(2**63))}),
            (2**63, {"stringValue": str(2**63)}),
            (1.25, {"doubleValue": 1.25}),
            (math.nan, {"doubleValue": "NaN"}),
            (math.inf, {"doubleValue": "Infinity"}),
            (-math.inf, {"doubleValue": "-Infinity"}),
            (b"\x00\xff", {"bytesValue": "AP8="}),
            ([], {"arrayValue": {}}),
            ({}, {"kvlistValue": {}}),
            ([None], {"arrayValue": {"values": [{}]}}),
            ({"k": None}, {"kvlistValue": {"values": [{"key": "k", "value": {}}]}}),
            (Color.RED, {"intValue": "3"}),
            (Unprintable(), {"stringValue": "<unprintable Unprintable>"}),
            ("\ud800", {"stringValue": "\\ud800"}),
        ],
    )
    def test_values(self, value: object, expected: Any) -> None:
        """Each kind of value follows the OTLP/JSON mapping."""
        assert expected == json_value(value)

    def test_resource_and_scope_wrappers(self) -> None:
        """Resource and scope objects, their schema URLs and attributes, are camelCase."""
        record = make_record(scope=Scope("db", "2", "https://s", {"": 1}), resource=OTHER_RESOURCE)
        document = json.loads(JsonEncoder().encode([record]).requests[0][0])
        resource_logs = document["resourceLogs"][0]
        scope_logs = resource_logs["scopeLogs"][0]
        assert (
            {"attributes": [{"key": "service.name", "value": {"stringValue": "billing"}}]},
            "https://opentelemetry.io/schemas/1.30.0",
            {"name": "db", "version": "2", "droppedAttributesCount": 1},
            "https://s",
        ) == (
            resource_logs["resource"],
            resource_logs["schemaUrl"],
            scope_logs["scope"],
            scope_logs["schemaUrl"],
        )


class TestSplitting:
    def test_bodies_fit_and_parse(self) -> None:
        """Every body is valid JSON under the limit; the records come out in order."""
        records = [make_record(body=f"m{i}" * (i % 9), scope=Scope(f"s{i % 2}")) for i in range(50)]
        expected = [
            r.body.string_value
            for rl in parse_json(JsonEncoder().encode(records).requests[0][0]).resource_logs
            for s in rl.scope_logs
            for r in s.log_records
        ]
        for max_bytes in (400, 1000, 3000):
            encoded = JsonEncoder().encode(records, max_bytes)
            assert [] == [len(b) for b, _ in encoded.requests if len(b) > max_bytes]
            actual = [
                r.body.string_value
                for body, _ in encoded.requests
                for rl in parse_json(body).resource_logs
                for s in rl.scope_logs
                for r in s.log_records
            ]
            assert expected == actual

    def test_exact_fit_is_one_request(self) -> None:
        """A body exactly at the limit is sent whole; one byte less splits it."""
        records = [make_record(body=str(i)) for i in range(10)]
        size = len(JsonEncoder().encode(records).requests[0][0])
        assert (1, 2) == (
            len(JsonEncoder().encode(records, size).requests),
            len(JsonEncoder().encode(records, size - 1).requests),
        )

    def test_oversize_record_is_counted(self) -> None:
        """A record too large alone is counted and left out."""
        records = [make_record(body="a"), make_record(body="b" * 5000)]
        encoded = JsonEncoder().encode(records, 1000)
        assert (1, 1) == (encoded.records, encoded.oversize)

    def test_empty_input_gives_no_requests(self) -> None:
        """Encoding nothing yields no request."""
        assert [] == JsonEncoder().encode([]).requests


class TestCaches:
    def test_true_one_and_one_point_zero_stay_distinct(self) -> None:
        """Values equal as dict keys (True, 1, 1.0) keep their own encodings when repeated."""
        encoder = JsonEncoder()
        values = [True, 1, 1.0] * 2
        records = [make_record(attributes={"v": v}, body=v) for v in values]
        for _ in range(2):
            document = json.loads(encoder.encode(records).requests[0][0])
            logs = document["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
            assert [{"boolValue": True}, {"intValue": "1"}, {"doubleValue": 1.0}] * 2 == [
                log["attributes"][0]["value"] for log in logs
            ]
