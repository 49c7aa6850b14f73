"""The compiled record encoder (``_cencode``): the pure-Python encoder's bytes for every
record, its own work limited to the fast subset, no leaks, and the switch to pure Python."""

from __future__ import annotations

import enum
import functools
import importlib.util
import math
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.sdk.resources import Resource

from fapilog_otel.otlp import _compiled
from fapilog_otel.otlp._compiled import (
    COMPILED_AVAILABLE,
    PURE_PYTHON_VARIABLE,
    compiled_record_encoder,
)
from fapilog_otel.otlp._encoded import INT64_MAX, INT64_MIN
from fapilog_otel.otlp._protobuf import ProtobufEncoder, _ProtobufCodec
from fapilog_otel.record import LogRecord, Scope

RecordEncoder = Callable[[LogRecord], bytes]

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,
)

RESOURCE = Resource({"service.name": "checkout"})
SCOPE = Scope("app")
T0 = 1_700_000_000_123_456_789
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0x00F067AA0BA902B7
UINT32 = 1 << 32
UINT64 = 1 << 64
UINT128 = 1 << 128


def python_encoder() -> RecordEncoder:
    """A fresh pure-Python ``encode_record`` (built with the compiled encoder switched off)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(PURE_PYTHON_VARIABLE, "1")
        encode = _ProtobufCodec()._record_encoder()
    assert not isinstance(encode, functools.partial)
    return encode


class CountingFallback:
    """A pure-Python encoder that remembers the records it was called with."""

    def __init__(self) -> None:
        self.encode = python_encoder()
        self.records: list[LogRecord] = []

    def __call__(self, record: LogRecord) -> bytes:
        self.records.append(record)
        return self.encode(record)


@pytest.fixture(scope="module")
def cencode() -> ModuleType:
    """The extension module; the test is skipped when it was not built."""
    return pytest.importorskip(
        "fapilog_otel.otlp._cencode",
        reason="the _cencode extension was not built (no C compiler at install time)",
        exc_type=ModuleNotFoundError,
    )


@pytest.fixture(scope="module")
def fallback(cencode: ModuleType) -> CountingFallback:
    """The compiled encoder's fallback, shared by the tests of this module."""
    return CountingFallback()


@pytest.fixture(scope="module")
def compiled(fallback: CountingFallback) -> RecordEncoder:
    """The compiled encoder over ``fallback``."""
    encode = compiled_record_encoder(fallback)
    assert encode is not None
    return encode


@pytest.fixture(scope="module")
def reference() -> RecordEncoder:
    """A pure-Python encoder of its own, so the fallback's caches cannot touch it."""
    return python_encoder()


def make_record(**overrides: Any) -> LogRecord:
    """A record with a timestamp, scope and resource; keywords set more fields."""
    fields: dict[str, Any] = {"timestamp": T0, "scope": SCOPE, "resource": RESOURCE}
    fields.update(overrides)
    return LogRecord(**fields)


def outcome(encode: RecordEncoder, record: LogRecord) -> tuple[str, object]:
    """The bytes ``encode`` returns for ``record``, or the type and text of what it raised."""
    try:
        return "bytes", encode(record)
    except Exception as error:
        return type(error).__name__, str(error)


def encodable(text: str) -> bool:
    """Whether ``text`` is valid UTF-8 material (no lone surrogates)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def in_fast_subset(record: LogRecord) -> bool:
    """Whether the compiled encoder encodes ``record`` itself (else it calls the fallback)."""

    def uint(value: object, limit: int) -> bool:
        return type(value) is int and 0 <= value < limit

    def text(value: object) -> bool:
        return type(value) is str and encodable(value)

    def scalar(value: object) -> bool:
        if type(value) is int:
            return INT64_MIN <= value <= INT64_MAX
        return text(value) or value is None or type(value) in (bool, float, bytes)

    attributes = record.attributes
    return (
        type(record) is LogRecord
        and uint(record.timestamp, UINT64)
        and uint(record.observed_timestamp, UINT64)
        and uint(record.severity_number, 25)
        and (record.severity_text is None or text(record.severity_text))
        and (record.body is None or text(record.body))
        and type(attributes) is dict
        and all(text(key) and key and scalar(value) for key, value in attributes.items())
        and uint(record.dropped_attributes_count, UINT32)
        and uint(record.trace_flags, UINT32)
        and uint(record.trace_id, UINT128)
        and uint(record.span_id, UINT64)
        and (record.event_name is None or text(record.event_name))
    )


# -- What hypothesis draws: values in and out of the fast subset. --------------------------


class Text(str):
    """A str subclass (encoded as its base value, by the Python encoder)."""


class Number(int):
    """An int subclass."""


class Color(enum.IntEnum):
    RED = 3


class Sub(LogRecord):
    """A LogRecord subclass: not exactly LogRecord, so never read from its slots."""

    __slots__ = ()


#: Code points at the UTF-8 width boundaries, in every str storage kind (1, 2, 4 bytes).
EDGE_CHARACTERS = ["\x00", "\x7f", "\x80", "é", "\xff", "\u07ff", "\u0800", "\ud7ff"]
EDGE_CHARACTERS += ["\ue000", "\uffff", "\U00010000", "😀", "\U0010ffff"]
LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]

good_texts = st.text(st.characters(codec="utf-8") | st.sampled_from(EDGE_CHARACTERS), max_size=40)
long_good_texts = st.builds(lambda text, n: text * n, good_texts, st.integers(1, 400))
#: Mostly valid UTF-8, sometimes with a lone surrogate (the Python encoder escapes those).
texts = good_texts | st.text(
    st.characters() | st.sampled_from(EDGE_CHARACTERS + LONE_SURROGATES), min_size=1
)

int64s = st.integers(INT64_MIN, INT64_MAX) | st.sampled_from([INT64_MIN, INT64_MAX, 0, -1])
floats = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308]
)
fast_values = st.one_of(
    good_texts, st.booleans(), int64s, floats, st.binary(max_size=300), st.none()
)
any_values = st.one_of(
    fast_values,
    texts,
    st.integers(),
    st.sampled_from([INT64_MIN - 1, INT64_MAX + 1, UINT64, -UINT128]),
    texts.map(Text),
    st.integers().map(Number),
    st.just(Color.RED),
    st.lists(fast_values, max_size=3),
    st.dictionaries(good_texts, fast_values, max_size=3),
    st.binary(max_size=10).map(bytearray),
    st.just(object()),
)
any_keys = st.one_of(
    good_texts.filter(bool),
    st.just(""),
    texts,
    texts.map(Text),
    st.integers(-3, 3),
    st.sampled_from(["user", "status"]),
)
any_attributes = st.dictionaries(any_keys, any_values, max_size=6)


def uints(limit: int) -> st.SearchStrategy[int]:
    """Ints in [0, limit): zero, the largest, or any."""
    return st.just(0) | st.just(limit - 1) | st.integers(0, limit - 1)


def wild_uints(limit: int) -> st.SearchStrategy[Any]:
    """Ints out of [0, limit), or not exact ints."""
    return st.sampled_from([limit, -1, True]) | st.integers().map(Number) | st.integers()


optional_texts = st.none() | good_texts
wild_texts = st.one_of(texts, texts.map(Text), st.just(0), st.integers())

#: Per field: values inside the fast subset.
FAST_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": uints(UINT64) | st.just(T0),
    "observed_timestamp": st.none() | uints(UINT64),
    "severity_number": st.integers(0, 24),
    "severity_text": optional_texts,
    "body": st.none() | good_texts | long_good_texts,
    "attributes": st.dictionaries(good_texts.filter(bool), fast_values, max_size=8),
    "trace_id": uints(UINT128),
    "span_id": uints(UINT64),
    "trace_flags": uints(UINT32) | st.integers(0, 0x1FF),
    "event_name": optional_texts,
    "dropped_attributes_count": uints(UINT32),
}
#: Per field: values that are mostly outside it.
WILD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "timestamp": wild_uints(UINT64),
    "observed_timestamp": wild_uints(UINT64),
    "severity_number": wild_uints(25) | st.just(Color.RED),
    "severity_text": wild_texts,
    "body": wild_texts | any_values,
    "attributes": any_attributes | any_attributes.map(OrderedDict),
    "trace_id": wild_uints(UINT128),
    "span_id": wild_uints(UINT64),
    "trace_flags": wild_uints(UINT32),
    "event_name": wild_texts,
    "dropped_attributes_count": wild_uints(UINT32),
}


@st.composite
def records(draw: st.DrawFn, wild: bool = True) -> LogRecord:
    """Records of the fast subset; with ``wild``, some fields (or the class) may be outside."""
    wild_fields = draw(st.sets(st.sampled_from(sorted(WILD_FIELDS)), max_size=3)) if wild else ()
    fields = {
        name: draw(WILD_FIELDS[name] if name in wild_fields else fast)
        for name, fast in FAST_FIELDS.items()
    }
    record_type = draw(st.sampled_from([LogRecord] * 9 + [Sub])) if wild else LogRecord
    return record_type(scope=SCOPE, resource=RESOURCE, **fields)


fast_records = functools.partial(records, wild=False)


class TestSameBytes:
    @pytest.mark.property
    @SETTINGS
    @given(record=records())
    def test_any_record(
        self,
        record: LogRecord,
        compiled: RecordEncoder,
        reference: RecordEncoder,
        fallback: CountingFallback,
    ) -> None:
        """Any record: the Python encoder's bytes (or exception), and the fallback is called
        exactly when the record is outside the fast subset."""
        fallback.records.clear()
        assert outcome(reference, record) == outcome(compiled, record)
        expected_calls = [] if in_fast_subset(record) else [record]
        assert expected_calls == fallback.records

    @pytest.mark.property
    @SETTINGS
    @given(record=fast_records())
    def test_fast_subset(
        self,
        record: LogRecord,
        compiled: RecordEncoder,
        reference: RecordEncoder,
        fallback: CountingFallback,
    ) -> None:
        """Records of the fast subset are encoded in C, to the Python encoder's bytes."""
        fallback.records.clear()
        assert reference(record) == compiled(record)
        assert [] == fallback.records

    @pytest.mark.parametrize(
        "overrides",
        [
            {},
            {"timestamp": 0, "observed_timestamp": T0},
            {"timestamp": T0, "observed_timestamp": 0},
            {"timestamp": 0, "observed_timestamp": 0},
            {"timestamp": UINT64 - 1, "observed_timestamp": UINT64 - 1},
            {"body": "", "severity_text": "", "event_name": ""},
            {"body": "x" * 5000, "attributes": {"k" * 300: "v" * 20000}},
            {"attributes": {f"key{n}": n for n in range(200)}},
            {"attributes": {"min": INT64_MIN, "max": INT64_MAX, "neg": -1, "zero": 0}},
            {"attributes": {"nan": math.nan, "inf": -math.inf, "negzero": -0.0}},
            {"attributes": {"none": None, "bytes": b"\x00\xff", "empty": b"", "s": ""}},
            {"attributes": {"é": "ü", "日本": "語", "😀": "\U0010ffff", "\x80": "\u07ff"}},
            {"body": "".join(EDGE_CHARACTERS), "attributes": {c: c for c in EDGE_CHARACTERS}},
            {"trace_id": 1, "span_id": 1, "trace_flags": 256},
            {"trace_id": UINT128 - 1, "span_id": UINT64 - 1, "trace_flags": UINT32 - 1},
            {"dropped_attributes_count": UINT32 - 1, "timestamp": 0},
        ],
    )
    def test_edge_records(
        self,
        overrides: dict[str, Any],
        compiled: RecordEncoder,
        reference: RecordEncoder,
        fallback: CountingFallback,
    ) -> None:
        """Boundary values of the fast subset are encoded in C, to the same bytes."""
        fallback.records.clear()
        record = make_record(**overrides)
        assert reference(record) == compiled(record)
        assert [] == fallback.records

    @pytest.mark.parametrize(
        "overrides",
        [
            {"timestamp": UINT64},
            {"timestamp": -1},
            {"observed_timestamp": True},
            {"severity_number": 25},
            {"severity_number": -1},
            {"severity_number": Color.RED},
            {"severity_text": Text("INFO")},
            {"body": "\ud800"},
            {"body": ["a", 1]},
            {"body": Text("hi")},
            {"attributes": {"": 1}},
            {"attributes": {1: "one"}},
            {"attributes": {"big": INT64_MAX + 1}},
            {"attributes": {"small": INT64_MIN - 1}},
            {"attributes": {"n": Number(5)}},
            {"attributes": {"s": Text("x")}},
            {"attributes": {"lone": "\udfff"}},
            {"attributes": {"\udfff": "lone key"}},
            {"attributes": {"nested": {"a": [1, 2]}}},
            {"attributes": {"ba": bytearray(b"x")}},
            {"attributes": OrderedDict(a=1)},
            {"trace_id": UINT128},
            {"trace_id": -1},
            {"span_id": UINT64},
            {"trace_flags": UINT32},
            {"trace_flags": -1},
            {"dropped_attributes_count": UINT32},
            {"dropped_attributes_count": -1},
            {"event_name": 0},
        ],
    )
    def test_records_outside_the_subset(
        self,
        overrides: dict[str, Any],
        compiled: RecordEncoder,
        reference: RecordEncoder,
        fallback: CountingFallback,
    ) -> None:
        """Each way out of the fast subset calls the fallback once, with the same outcome."""
        fallback.records.clear()
        record = make_record(**overrides)
        assert outcome(reference, record) == outcome(compiled, record)
        assert [record] == fallback.records

    def test_subclass_and_unset_slot(
        self, compiled: RecordEncoder, reference: RecordEncoder, fallback: CountingFallback
    ) -> None:
        """A LogRecord subclass, and a record with a slot never set, go to the fallback."""
        fallback.records.clear()
        sub = Sub(timestamp=T0, scope=SCOPE, resource=RESOURCE, body="sub")
        unset = LogRecord.__new__(LogRecord)
        unset.timestamp = T0
        assert reference(sub) == compiled(sub)
        unset_outcome = outcome(compiled, unset)
        assert outcome(reference, unset) == unset_outcome
        assert "AttributeError" == unset_outcome[0]
        assert [id(sub), id(unset)] == [id(record) for record in fallback.records]


class TestDecoding:
    def test_full_record_parses(self, compiled: RecordEncoder) -> None:
        """The official protobuf classes read every field the compiled encoder writes."""
        record = make_record(
            observed_timestamp=T0 + 5,
            severity_number=13,
            severity_text="WARNING",
            body="slow request ⏱",
            attributes={
                "user": "alice",
                "ms": 812,
                "ok": True,
                "ratio": 0.25,
                "raw": b"\x01\x02",
                "gone": None,
                "neg": INT64_MIN,
            },
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
            trace_flags=0x101,
            event_name="checkout.slow",
            dropped_attributes_count=2,
        )
        decoded = logs_pb2.LogRecord.FromString(compiled(record))
        assert T0 == decoded.time_unix_nano
        assert T0 + 5 == decoded.observed_time_unix_nano
        assert 13 == decoded.severity_number
        assert "WARNING" == decoded.severity_text
        assert AnyValue(string_value="slow request ⏱") == decoded.body
        values = {kv.key: kv.value for kv in decoded.attributes}
        assert ["user", "ms", "ok", "ratio", "raw", "gone", "neg"] == list(values)
        assert AnyValue(string_value="alice") == values["user"]
        assert AnyValue(int_value=812) == values["ms"]
        assert AnyValue(bool_value=True) == values["ok"]
        assert AnyValue(double_value=0.25) == values["ratio"]
        assert AnyValue(bytes_value=b"\x01\x02") == values["raw"]
        assert AnyValue() == values["gone"]
        assert AnyValue(int_value=INT64_MIN) == values["neg"]
        assert TRACE_ID.to_bytes(16, "big") == decoded.trace_id
        assert SPAN_ID.to_bytes(8, "big") == decoded.span_id
        assert 0x01 == decoded.flags
        assert "checkout.slow" == decoded.event_name
        assert 2 == decoded.dropped_attributes_count

    def test_minimal_record_parses(self, compiled: RecordEncoder) -> None:
        """A record with only an observed time parses with every other field at its default."""
        decoded = logs_pb2.LogRecord.FromString(
            compiled(make_record(timestamp=0, observed_timestamp=7))
        )
        assert logs_pb2.LogRecord(observed_time_unix_nano=7) == decoded

    @pytest.mark.property
    @SETTINGS
    @given(record=fast_records())
    def test_fast_records_parse(self, record: LogRecord, compiled: RecordEncoder) -> None:
        """Every record of the fast subset parses, with its attributes in order."""
        decoded = logs_pb2.LogRecord.FromString(compiled(record))
        assert list(record.attributes) == [kv.key for kv in decoded.attributes]
        assert record.timestamp == decoded.time_unix_nano
        assert (record.body or "") == decoded.body.string_value


class TestModule:
    def fresh_module(self) -> ModuleType:
        """A new instance of the extension module, with its own (empty) state."""
        spec = importlib.util.find_spec("fapilog_otel.otlp._cencode")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def test_needs_setup(self, cencode: ModuleType) -> None:
        """Encoding before setup() is an error, not a guess at the record's layout."""
        module = self.fresh_module()
        with pytest.raises(RuntimeError, match="setup"):
            module.encode_record(python_encoder(), make_record())

    def test_setup_checks_the_layout(self, cencode: ModuleType) -> None:
        """setup() takes only a class whose fields are object slots."""

        class NoSlots:
            timestamp = 0

        module = self.fresh_module()
        with pytest.raises(TypeError, match="class"):
            module.setup(LogRecord(timestamp=0, scope=SCOPE, resource=RESOURCE))
        with pytest.raises(TypeError, match="not an object slot"):
            module.setup(NoSlots)
        with pytest.raises(AttributeError):
            module.setup(Scope)

    def test_wrong_argument_count(self, cencode: ModuleType) -> None:
        """encode_record takes exactly the fallback and the record."""
        with pytest.raises(TypeError, match="2 arguments"):
            cencode.encode_record(python_encoder())

    def test_fallback_errors_pass_through(self, compiled: RecordEncoder) -> None:
        """What the fallback raises reaches the caller unchanged."""
        with pytest.raises(KeyError):
            compiled(make_record(severity_number=99))

    def test_extension_imports(self, cencode: ModuleType) -> None:
        """When the extension was built, it is what the encoder uses."""
        assert COMPILED_AVAILABLE
        encode = compiled_record_encoder(python_encoder())
        assert isinstance(encode, functools.partial)
        assert cencode.encode_record is encode.func


class TestSwitch:
    @pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "On", " on "])
    def test_true_values_force_python(
        self, value: str, monkeypatch: pytest.MonkeyPatch, cencode: ModuleType
    ) -> None:
        """FAPILOG_PURE_PYTHON set to a true value keeps the pure-Python encoder."""
        monkeypatch.setenv(PURE_PYTHON_VARIABLE, value)
        assert compiled_record_encoder(python_encoder()) is None

    @pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "maybe"])
    def test_other_values_keep_compiled(
        self, value: str, monkeypatch: pytest.MonkeyPatch, cencode: ModuleType
    ) -> None:
        """Any other value (or none) leaves the compiled encoder on."""
        monkeypatch.setenv(PURE_PYTHON_VARIABLE, value)
        assert isinstance(compiled_record_encoder(python_encoder()), functools.partial)

    def test_without_the_extension(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the extension there is no compiled encoder, whatever the environment."""
        monkeypatch.setattr(_compiled, "_MODULE", None)
        monkeypatch.delenv(PURE_PYTHON_VARIABLE, raising=False)
        assert compiled_record_encoder(python_encoder()) is None


class TestPurePython:
    """These run whether or not the extension was built."""

    @pytest.fixture
    def pure_python(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        """FAPILOG_PURE_PYTHON=1 while the test builds its encoders."""
        monkeypatch.setenv(PURE_PYTHON_VARIABLE, "1")
        yield

    def test_no_compiled_encoder(self, pure_python: None) -> None:
        """With FAPILOG_PURE_PYTHON=1 the compiled encoder is never chosen."""
        assert compiled_record_encoder(python_encoder()) is None

    def test_encoder_works(self, pure_python: None) -> None:
        """The protobuf encoder encodes and the record parses, on the pure-Python path."""
        record = make_record(
            body="hi", attributes={"n": 1, "s": "x"}, trace_id=TRACE_ID, span_id=SPAN_ID
        )
        encoder = ProtobufEncoder()
        assert not isinstance(encoder._codec.record, functools.partial)
        encoded = encoder.encode([record])
        assert 1 == len(encoded.requests)
        body = encoded.requests[0][0]
        assert struct.pack("<Q", T0) in body
        assert python_encoder()(record) in body
