"""OTLP encoders under arbitrary values: they never raise, and protobuf and JSON agree."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk.resources import Resource
from otlp_receivers import decode_otlp_json

from fapilog_otel.otlp._json import JsonEncoder
from fapilog_otel.otlp._protobuf import ProtobufEncoder
from fapilog_otel.record import LogRecord, Scope

pytestmark = pytest.mark.property

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,
)

RESOURCES = [Resource({"service.name": "a"}), Resource({"service.name": "b"}, "https://s")]


class Unprintable:
    def __str__(self) -> str:
        raise ValueError("no")


class Plain:
    def __str__(self) -> str:
        return "plain object"


# Every character, lone surrogates included.
texts = st.text(st.characters(codec=None, exclude_categories=()), max_size=20)
keys = texts | st.integers(-5, 5) | st.none() | st.booleans()
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.just(math.nan)
    | texts
    | st.binary(max_size=20)
    | st.builds(bytearray, st.binary(max_size=5))
    | st.builds(Unprintable)
    | st.builds(Plain)
)
hashables = st.none() | st.booleans() | st.integers(-10, 10) | texts
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.frozensets(hashables, max_size=3)
        | st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


@st.composite
def records(draw: st.DrawFn) -> LogRecord:
    """A record with arbitrary attributes, body, ids and texts."""
    return LogRecord(
        timestamp=draw(st.integers(0, 2**64 - 1)),
        observed_timestamp=draw(st.integers(0, 2**64 - 1)),
        severity_number=draw(st.integers(-5, 30)),
        severity_text=draw(st.none() | texts),
        body=draw(values),
        attributes=draw(st.dictionaries(texts, values, max_size=5)),
        scope=Scope(draw(texts), draw(st.none() | texts)),
        resource=draw(st.sampled_from(RESOURCES)),
        trace_id=draw(st.integers(0, 2**128 - 1)),
        span_id=draw(st.integers(0, 2**64 - 1)),
        trace_flags=draw(st.integers(0, 2**16)),
        event_name=draw(st.none() | texts),
        dropped_attributes_count=draw(st.integers(0, 100)),
    )


def canonical_from_json(body: bytes) -> bytes:
    """An OTLP/JSON body parsed and serialized canonically."""
    return decode_otlp_json(body).SerializeToString(deterministic=True)


def canonical_from_protobuf(body: bytes) -> bytes:
    """A protobuf body parsed and serialized canonically."""
    return ExportLogsServiceRequest.FromString(body).SerializeToString(deterministic=True)


class TestOtlpEncoding:
    @SETTINGS
    @given(st.lists(records(), min_size=1, max_size=4))
    def test_protobuf_and_json_decode_to_the_same_message(self, batch: list[LogRecord]) -> None:
        """Arbitrary records never make an encoder raise or drop them; both formats agree."""
        protobuf = ProtobufEncoder().encode(batch)
        json_requests = JsonEncoder().encode(batch)
        assert (len(batch), 0, 0) == (protobuf.records, protobuf.oversize, protobuf.invalid)
        assert (len(batch), 0, 0) == (
            json_requests.records,
            json_requests.oversize,
            json_requests.invalid,
        )
        assert [canonical_from_protobuf(b) for b, _ in protobuf.requests] == [
            canonical_from_json(b) for b, _ in json_requests.requests
        ]

    @SETTINGS
    @given(
        st.lists(records(), min_size=1, max_size=6),
        st.integers(min_value=1, max_value=3000),
    )
    def test_split_requests_fit_and_account_for_every_record(
        self, batch: list[LogRecord], max_bytes: int
    ) -> None:
        """Under any limit every body fits, and each record is sent or counted oversize."""
        for encoder in (ProtobufEncoder(), JsonEncoder()):
            encoded = encoder.encode(batch, max_bytes)
            assert [] == [len(b) for b, _ in encoded.requests if len(b) > max_bytes]
            assert len(batch) == encoded.records + encoded.oversize
