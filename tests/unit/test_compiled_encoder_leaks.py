"""The compiled record encoder leaks nothing: reference counts and memory stay flat.

Split from ``test_compiled_encoder`` (which checks the bytes); shares its fixtures.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from collections.abc import Callable
from types import ModuleType

from test_compiled_encoder import (
    SPAN_ID,
    TRACE_ID,
    cencode,
    in_fast_subset,
    make_record,
    python_encoder,
)

from fapilog_otel.otlp._compiled import compiled_record_encoder
from fapilog_otel.otlp._encoded import INT64_MIN
from fapilog_otel.record import LogRecord

__all__ = ["cencode"]


class CallCounter:
    """A pure-Python fallback that only counts its calls (it keeps nothing per call)."""

    def __init__(self) -> None:
        self.encode = python_encoder()
        self.calls = 0

    def __call__(self, record: LogRecord) -> bytes:
        self.calls += 1
        return self.encode(record)


def leak_check_records() -> list[LogRecord]:
    """A small record, one that outgrows the stack buffer, and one for the fallback."""
    records = [
        make_record(
            body="hello",
            severity_number=9,
            severity_text="INFO",
            attributes={
                "text": "v2",
                "int": 700,
                "bool": True,
                "float": 0.5,
                "none": None,
                "bytes": b"raw",
            },
            trace_id=TRACE_ID,
            span_id=SPAN_ID,
            event_name="event",
        ),
        make_record(body="é" * 3000, attributes={"big": "ü" * 3000, "i": INT64_MIN}),
        make_record(attributes={"nested": [1000, {"key": b"raw"}]}),
    ]
    assert [True, True, False] == [in_fast_subset(record) for record in records]
    return records


def shared(item: object) -> bool:
    """Whether ``item`` is a process-wide singleton whose count other code moves (a small
    int also moves whenever a count being recorded happens to equal it)."""
    return item is None or type(item) is bool or (type(item) is int and -5 <= item <= 256)


def refcounts_change(encode: Callable[[LogRecord], object], records: list[LogRecord]) -> bool:
    """Whether 10,000 rounds of ``encode`` over ``records`` change a reference count of
    ``encode``, a record, or anything a record holds (after one warm-up round)."""
    for record in records:
        encode(record)
    held: list[object] = [encode, *records]
    for record in records:
        held += (getattr(record, name) for name in LogRecord.__slots__)
        held += record.attributes
        held += record.attributes.values()
    held = [item for item in held if not shared(item)]
    before = [sys.getrefcount(item) for item in held]
    for _ in range(10_000):
        for record in records:
            encode(record)
    after = [sys.getrefcount(item) for item in held]
    return before != after


def traced_growth(
    encode: Callable[[LogRecord], object], records: list[LogRecord], rounds: int
) -> int:
    """Bytes still allocated after ``rounds`` rounds of ``encode`` over ``records``."""
    for record in records:
        encode(record)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            for record in records:
                encode(record)
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()


class TestNoLeaks:
    def test_reference_counts_stay(self, cencode: ModuleType) -> None:
        """Encoding leaves the reference counts of a record and all it holds unchanged."""
        kept: list[object] = []
        # The check sees a leak: an encoder that keeps each body moves the counts.
        assert refcounts_change(lambda record: kept.append(record.body), leak_check_records())
        counter = CallCounter()
        encode = compiled_record_encoder(counter)
        assert encode is not None
        assert not refcounts_change(encode, leak_check_records())
        assert 1 + 10_000 == counter.calls  # only the third record, in every round

    def test_memory_stays_flat(self, cencode: ModuleType) -> None:
        """150,000 encodings (C path, heap buffer and fallback) leave no memory behind."""
        limit = 64 * 1024
        kept: list[bytes] = []
        # The check sees a leak: keeping one small object per call is far over the limit.
        leaky = traced_growth(lambda _: kept.append(b"%d" % len(kept)), leak_check_records(), 5000)
        assert leaky > 10 * limit
        kept.clear()
        counter = CallCounter()
        encode = compiled_record_encoder(counter)
        assert encode is not None
        assert traced_growth(encode, leak_check_records(), 50_000) < limit
        assert 1 + 50_000 == counter.calls


def leak_check_raws() -> tuple[list[tuple[object, ...]], Callable[[object], object], RawCounter]:
    """Queued tuples (a small one, one that outgrows the stack buffer and whose texts are
    too long for the redaction's cache, one with logger- and context-bound attributes, one
    the Python encoder takes) and the compiled direct encoder over the default redactors,
    after one warm-up round."""
    from test_direct_path import BASE_SPEC, build, make_redactors, pipeline

    from fapilog_otel.otlp._compiled import compiled_raw_encoder
    from fapilog_otel.otlp._protobuf import _ProtobufCodec
    from fapilog_otel.otlp._protobuf_direct import raw_encoder

    _, plan = pipeline(make_redactors("default"))
    counter = RawCounter(raw_encoder(_ProtobufCodec(), plan))
    encode = compiled_raw_encoder(counter, plan)
    assert encode is not None
    raws = [
        build({**BASE_SPEC, "attrs": {"user": "ann", "password": "p", "n": 7, "x": 0.5}}),
        build({**BASE_SPEC, "body": "é" * 3000, "attrs": {"big": "ü" * 3000, "i": INT64_MIN}}),
        build({**BASE_SPEC, "bound": {"request_id": "r"}, "context": {"tenant": "t"}}),
        build({**BASE_SPEC, "exc": True}),
    ]
    for raw in raws:
        encode(raw)
    counter.calls = 0
    return raws, encode, counter


class RawCounter:
    """The Python direct encoder, counting its calls."""

    def __init__(self, encode: Callable[[object], object]) -> None:
        self.encode = encode
        self.calls = 0

    def __call__(self, raw: object) -> object:
        self.calls += 1
        return self.encode(raw)


class TestDirectNoLeaks:
    def test_reference_counts_stay(self, cencode: ModuleType) -> None:
        """Encoding queued tuples leaves the counts of each tuple and all it holds as they
        were."""
        raws, encode, counter = leak_check_raws()
        held: list[object] = [encode, *raws]
        for raw in raws:
            held += raw
            for item in raw:
                if isinstance(item, dict):
                    held += item
                    held += item.values()
        held = [item for item in held if not shared(item)]
        before = [sys.getrefcount(item) for item in held]
        for _ in range(10_000):
            for raw in raws:
                encode(raw)
        assert before == [sys.getrefcount(item) for item in held]
        # Every round: only the tuple with an exception; the compiled encoder writes the
        # others itself (asking the redaction about texts too long for its cache).
        assert 10_000 == counter.calls

    def test_memory_stays_flat(self, cencode: ModuleType) -> None:
        """200,000 direct encodings (C path, heap buffer, bound dicts, fallback) leave no
        memory behind."""
        raws, encode, _ = leak_check_raws()
        assert traced_growth(encode, raws, 50_000) < 64 * 1024  # type: ignore[arg-type]
