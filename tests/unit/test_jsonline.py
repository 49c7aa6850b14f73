"""Tests for the JSON-lines encoding shared by the console and file exporters."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.resources import Resource

from fapilog_otel._jsonline import MAX_DEPTH, encode_json_line, format_timestamp, sanitize
from fapilog_otel.record import LogRecord, Scope, Severity

# 2026-11-27T12:00:00.123456789Z
TS = 1_795_780_800_123_456_789
RESOURCE = Resource({"service.name": "svc", "service.version": "1.2", "host.name": "h"})


def make_record(**overrides: Any) -> LogRecord:
    fields: dict[str, Any] = {
        "timestamp": TS,
        "severity_text": "INFO",
        "severity_number": Severity.INFO,
        "body": "order placed",
        "scope": Scope("checkout"),
        "resource": RESOURCE,
    }
    fields.update(overrides)
    return LogRecord(**fields)


def encode_attributes(attributes: dict[Any, Any]) -> Any:
    line = encode_json_line(make_record(attributes=attributes))
    return orjson.loads(line)["attributes"]


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")

    __repr__ = __str__


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


class TestFormatTimestamp:
    def test_utc_microseconds_z(self) -> None:
        """Nanoseconds become RFC 3339 UTC with microseconds and a Z."""
        assert "2026-11-27T12:00:00.123456Z" == format_timestamp(TS)

    def test_epoch(self) -> None:
        """Zero is the Unix epoch, zero-padded."""
        assert "1970-01-01T00:00:00.000000Z" == format_timestamp(0)

    def test_second_change_is_not_served_from_cache(self) -> None:
        """Consecutive calls in different seconds each get their own second."""
        format_timestamp(TS)
        assert "2026-11-27T12:00:01.000000Z" == format_timestamp(TS - 123_456_789 + 10**9)

    def test_out_of_range_falls_back_to_number(self) -> None:
        """A time the platform cannot format comes out as the raw number, not an error."""
        assert str(10**30) == format_timestamp(10**30)


class TestEncodeJsonLine:
    def test_full_schema_in_order(self) -> None:
        """Every field appears under its schema name, in schema order, on one line."""
        record = make_record(
            trace_id=0xABC,
            span_id=0x12,
            event_name="order.placed",
            attributes={"order_id": 123, "amount": 9.99},
        )

        line = encode_json_line(record)

        expected = {
            "timestamp": "2026-11-27T12:00:00.123456Z",
            "severity_text": "INFO",
            "severity_number": 9,
            "body": "order placed",
            "scope": "checkout",
            "trace_id": "00000000000000000000000000000abc",
            "span_id": "0000000000000012",
            "event_name": "order.placed",
            "attributes": {"order_id": 123, "amount": 9.99},
            "resource": {"service.name": "svc", "service.version": "1.2"},
        }
        assert expected == orjson.loads(line)
        assert list(expected) == list(orjson.loads(line))
        assert line.endswith(b"\n")
        assert 1 == line.count(b"\n")

    def test_empty_fields_left_out(self) -> None:
        """Zero ids, no event name, no attributes, no body and no service keys are omitted."""
        record = make_record(
            body=None,
            severity_text=None,
            severity_number=0,
            resource=Resource({"host.name": "h"}),
        )

        assert {"timestamp": "2026-11-27T12:00:00.123456Z", "scope": "checkout"} == (
            orjson.loads(encode_json_line(record))
        )

    def test_resource_changes_are_seen(self) -> None:
        """The resource cache never serves one resource's keys for another."""
        encode_json_line(make_record())
        other = Resource({"service.name": "other"})

        assert {"service.name": "other"} == orjson.loads(
            encode_json_line(make_record(resource=other))
        )["resource"]

    def test_structured_body(self) -> None:
        """A mapping body is written as a JSON object."""
        line = encode_json_line(make_record(body={"k": [1, 2]}))
        assert {"k": [1, 2]} == orjson.loads(line)["body"]

    def test_none_values_stay_null(self) -> None:
        """None attribute values are written as null (not mistaken for NaN)."""
        assert {"a": None, "b": [None, 1.5]} == encode_attributes({"a": None, "b": [None, 1.5]})

    def test_frozen_containers(self) -> None:
        """Read-only mappings and tuples, as the core freezes them, encode as JSON."""
        value = types.MappingProxyType({"a": (1, 2), "b": frozenset({3})})
        assert {"v": {"a": [1, 2], "b": [3]}} == encode_attributes({"v": value})


class TestHostileValues:
    def test_bytes_are_base64(self) -> None:
        """bytes, bytearray and memoryview become base64, as in OTLP/JSON."""
        expected = {"a": "AAH/", "b": "AAH/", "c": "AAH/"}
        raw = b"\x00\x01\xff"
        assert expected == encode_attributes({"a": raw, "b": bytearray(raw), "c": memoryview(raw)})

    def test_non_finite_floats_are_strings(self) -> None:
        """NaN and infinities become strings instead of orjson's silent null."""
        expected = {"n": "NaN", "p": "Infinity", "m": "-Infinity", "ok": 1.5}
        attributes = {"n": float("nan"), "p": float("inf"), "m": float("-inf"), "ok": 1.5}
        assert expected == encode_attributes(attributes)

    def test_nested_non_finite_float(self) -> None:
        """A NaN deep inside a list of dicts is found and written as a string."""
        assert {"v": [{"x": "NaN"}]} == encode_attributes({"v": [{"x": float("nan")}]})

    def test_nan_beside_none(self) -> None:
        """None and NaN in one record come out as null and "NaN"."""
        assert {"a": None, "b": "NaN"} == encode_attributes({"a": None, "b": float("nan")})

    def test_huge_ints_are_strings(self) -> None:
        """Integers beyond 64 bits become decimal strings; 64-bit edges stay numbers."""
        expected = {"big": str(2**100), "neg": str(-(2**100)), "max": 2**64 - 1, "min": -(2**63)}
        attributes = {"big": 2**100, "neg": -(2**100), "max": 2**64 - 1, "min": -(2**63)}
        assert expected == encode_attributes(attributes)

    def test_cycle(self) -> None:
        """A list that contains itself twice is cut at the repeat, without hanging."""
        loop: list[Any] = [1]
        loop.append(loop)
        loop.append(loop)
        assert {"v": [1, "<cycle>", "<cycle>"]} == encode_attributes({"v": loop})

    def test_dict_cycle(self) -> None:
        """A dict that contains itself is cut at the repeat."""
        loop: dict[str, Any] = {"a": 1}
        loop["self"] = loop
        assert {"v": {"a": 1, "self": "<cycle>"}} == encode_attributes({"v": loop})

    def test_deep_nesting(self) -> None:
        """1,000 nested dicts encode, truncated at the depth limit."""
        deep: dict[str, Any] = {}
        node = deep
        for _ in range(1000):
            node["x"] = {}
            node = node["x"]

        value = encode_attributes({"v": deep})["v"]

        levels = 0
        while isinstance(value, dict):
            value = value["x"]
            levels += 1
        assert "<max depth>" == value
        assert MAX_DEPTH == levels

    def test_megabyte_string(self) -> None:
        """A 1 MB string goes through whole."""
        text = "é" * (1 << 19)
        assert {"v": text} == encode_attributes({"v": text})

    def test_str_raises(self) -> None:
        """An object whose __str__ raises becomes a placeholder naming its type."""
        assert {"v": "<unrepresentable Unprintable>"} == encode_attributes({"v": Unprintable()})

    def test_non_str_keys(self) -> None:
        """Non-string keys are written as str(key)."""
        expected = {"v": {"1": "a", "None": "b", "(1, 2)": "c", "<unrepresentable Unprintable>": 1}}
        value = {1: "a", None: "b", (1, 2): "c", Unprintable(): 1}
        assert expected == encode_attributes({"v": value})

    def test_lone_surrogate(self) -> None:
        """A string that is not valid UTF-8 is escaped rather than rejected."""
        assert {"v": "a\\ud800b"} == encode_attributes({"v": "a\ud800b"})

    def test_surrogate_in_body(self) -> None:
        """The body is sanitized too."""
        line = encode_json_line(make_record(body="\udcff"))
        assert "\\udcff" == orjson.loads(line)["body"]

    def test_other_objects(self) -> None:
        """Dates, enums, dataclasses, sets and plain objects get readable JSON forms."""
        when = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)
        attributes = {
            "when": when,
            "color": Color.RED,
            "point": Point(1, 2.5),
            "set": {7},
            "obj": Exception("boom"),
        }
        expected = {
            "when": "2026-11-27T12:00:00+00:00",
            "color": "red",
            "point": {"x": 1, "y": 2.5},
            "set": [7],
            "obj": "boom",
        }
        assert expected == encode_attributes(attributes)

    def test_fast_and_sanitized_paths_agree(self) -> None:
        """Exotic values encode the same whether or not a hostile neighbour forces sanitizing."""
        when = datetime.date(2026, 11, 27)
        attributes: dict[Any, Any] = {"when": when, "p": Point(1, 2.0), "b": b"x", "c": Color.RED}

        fast = encode_attributes(attributes)
        slow = encode_attributes({**attributes, "nan": float("nan")})

        del slow["nan"]
        assert fast == slow

    def test_everything_at_once(self) -> None:
        """All hostile values together still make one valid JSON line."""
        loop: list[Any] = []
        loop.append(loop)
        attributes = {
            "b": b"\xff",
            "n": float("nan"),
            "i": 2**100,
            "c": loop,
            "u": Unprintable(),
            "k": {1: 2},
            "s": "x" * (1 << 20),
        }

        line = encode_json_line(make_record(attributes=attributes))

        assert 1 == line.count(b"\n")
        assert set(attributes) == set(orjson.loads(line)["attributes"])


class TestSanitize:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, None),
            (True, True),
            (3, 3),
            (1.5, 1.5),
            ("s", "s"),
            ((1, (2,)), [1, [2]]),
            (b"\x00", "AA=="),
            (float("nan"), "NaN"),
            (2**70, str(2**70)),
        ],
    )
    def test_values(self, value: object, expected: object) -> None:
        """Each kind of value maps to its documented JSON-safe form."""
        assert expected == sanitize(value)

    def test_result_always_encodes(self) -> None:
        """Whatever goes in, orjson accepts what comes out."""
        loop: dict[Any, Any] = {}
        loop[Unprintable()] = loop
        orjson.dumps(sanitize({"v": loop, "w": [float("inf"), b"", 2**65]}))

    def test_shared_child_is_not_a_cycle(self) -> None:
        """The same list twice side by side is repeated, not reported as a cycle."""
        shared = [1]
        assert [[1], [1]] == sanitize([shared, shared])

    def test_broken_mapping(self) -> None:
        """A mapping whose iteration raises becomes a placeholder."""

        class Broken(dict[str, int]):
            def items(self) -> Any:
                raise RuntimeError("broken")

        assert "<unrepresentable Broken>" == sanitize(Broken(a=1))
