"""Hostile values: whatever a log call is given, it never raises, the record is exported,
its attribute keys are strings and the JSON line encoder writes parseable JSON for it."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import math
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fapilog_otel as fo
from fapilog_otel.record import LogRecord

pytestmark = pytest.mark.property

try:
    from fapilog_otel._jsonline import encode_json_line
except ImportError:  # pragma: no cover - written concurrently by another engineer
    encode_json_line = None  # type: ignore[assignment]

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
    derandomize=True,
)


class Unprintable:
    """An object whose __str__ and __repr__ raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class UnprintableStr(str):
    """A str subclass whose __str__ and __repr__ raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


class WeirdInt(int):
    """An int subclass whose conversions raise."""

    def __int__(self) -> int:
        raise RuntimeError("no int")

    def __index__(self) -> int:
        raise RuntimeError("no index")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class RaisingMapping(Mapping[str, Any]):
    """A Mapping whose every access raises."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("no iteration")

    def __len__(self) -> int:
        raise RuntimeError("no len")


class PlainMapping(Mapping[Any, Any]):
    """A well-behaved custom Mapping with non-str keys."""

    def __init__(self) -> None:
        self._data = {1: "one", (2, 3): [4], None: {"x": b"\x00"}}

    def __getitem__(self, key: Any) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class RaisingSequence(Sequence[int]):
    """A Sequence whose iteration raises halfway."""

    def __getitem__(self, index: Any) -> Any:
        if index >= 2:
            raise RuntimeError("broken sequence")
        return index

    def __len__(self) -> int:
        return 5


class Color(enum.Enum):
    RED = 1
    WEIRD = float("nan")


@dataclasses.dataclass
class Point:
    x: int
    y: list[int]


def deep_list(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def deep_dict(depth: int) -> Any:
    value: Any = {"bottom": True}
    for i in range(depth):
        value = {f"k{i}": value}
    return value


def self_list() -> Any:
    value: list[Any] = [1]
    value.append(value)
    return value


def self_dict() -> Any:
    value: dict[str, Any] = {"a": 1}
    value["self"] = value
    return value


def mutual_cycle() -> Any:
    a: list[Any] = []
    b: dict[str, Any] = {"a": a}
    a.append(b)
    return a


def generator() -> Any:
    return (i for i in range(3))


#: Factories of hostile values; each call builds a fresh one (cycles, mutable containers).
FACTORIES: list[Callable[[], Any]] = [
    lambda: 2**100,
    lambda: -(2**80),
    lambda: 2**64,
    lambda: float("nan"),
    lambda: float("inf"),
    lambda: float("-inf"),
    lambda: [float("nan"), {"x": float("-inf")}],
    lambda: b"\x00\xff\xfe binary",
    lambda: bytearray(b"abc"),
    lambda: memoryview(b"mem"),
    lambda: "x" * (1 << 20),
    lambda: "\ud800 lone surrogate",
    lambda: "line\nbreak\r\u2028\x00nul",
    lambda: deep_list(200),
    lambda: deep_dict(200),
    lambda: deep_list(5000),
    self_list,
    self_dict,
    mutual_cycle,
    Unprintable,
    lambda: UnprintableStr("sub"),
    lambda: WeirdInt(5),
    RaisingMapping,
    PlainMapping,
    RaisingSequence,
    lambda: {1, 2, 3},
    lambda: frozenset({"a"}),
    lambda: {(1, 2): "tuple key", None: "none key", 1.5: "float key"},
    lambda: {Unprintable(): "unprintable key"},
    lambda: (1, "two", [3]),
    lambda: object(),
    lambda: object,
    lambda: len,
    lambda: lambda: None,
    generator,
    lambda: ValueError("an exception as a value"),
    lambda: Color.RED,
    lambda: Color.WEIRD,
    lambda: Point(1, [2]),
    lambda: decimal.Decimal("NaN"),
    lambda: decimal.Decimal("1e400"),
    lambda: complex(1, float("inf")),
    lambda: datetime.datetime(1, 1, 1),
    lambda: datetime.timedelta(days=-1),
    lambda: uuid.UUID(int=0),
    lambda: threading.Lock(),
    lambda: mock.MagicMock(),
    lambda: mock.Mock(spec=str),
    lambda: ...,
    lambda: NotImplemented,
    lambda: True,
    lambda: None,
]

hostile_objects = st.sampled_from(FACTORIES).map(lambda factory: factory())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.binary(max_size=64),
    st.complex_numbers(),
)

hostile_values = st.recursive(
    st.one_of(scalars, hostile_objects),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
        st.tuples(children, children),
        st.frozensets(st.one_of(st.integers(), st.text(max_size=4)), max_size=4),
    ),
    max_leaves=8,
)

odd_keys = st.one_of(
    st.sampled_from(["", "a.b", "ünï", "with space", "msg", "level", "name", "self", "🙂", "\x00"]),
    st.text(max_size=12),
)

hostile_attrs = st.dictionaries(odd_keys, hostile_values, max_size=6)

levels = st.one_of(
    st.sampled_from(["trace", "DEBUG", "Info", "warn", "fatal", "bogus", ""]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.just(None),
    hostile_objects,
)


class Checking:
    """An exporter that encodes every record to a JSON line and checks it on the worker."""

    name = "checking"

    def __init__(self) -> None:
        self.count = 0
        self.problems: list[str] = []

    def export(self, batch: Sequence[LogRecord]) -> None:
        for record in batch:
            if record.scope.name != "fapilog_otel":
                self.count += 1
            self.check(record)

    def check(self, record: LogRecord) -> None:
        try:
            keys = list(record.attributes)
            if not all(type(k) is str for k in keys):
                self.problems.append(f"non-str attribute key in {keys[:5]!r}")
            if encode_json_line is None:
                return
            line = encode_json_line(record)
            if not line.endswith(b"\n") or line.count(b"\n") != 1:
                self.problems.append(f"not one line: {line[:200]!r}")
            parsed = json.loads(line)
            if not isinstance(parsed, dict) or "timestamp" not in parsed:
                self.problems.append(f"unexpected envelope: {str(parsed)[:200]}")
        except BaseException as exc:
            self.problems.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        return None


def safe_repr(value: Any) -> str:
    """repr() that never raises and stays short."""
    try:
        return repr(value)[:120]
    except BaseException:
        return f"<{type(value).__name__}>"


def attempt(raised: list[str], what: str, call: Callable[[], Any], *inputs: Any) -> None:
    """Run ``call``; record (instead of raising into hypothesis) anything it raises."""
    try:
        call()
    except BaseException as exc:
        shown = ", ".join(safe_repr(i) for i in inputs)
        raised.append(f"{what}({shown}) raised {type(exc).__name__}: {exc}")


@pytest.fixture
def checked(make_container: Any) -> tuple[fo.Container, Checking]:
    """A container (queue large enough never to drop) exporting into a Checking exporter."""
    exporter = Checking()
    c, _ = make_container(exporters=[exporter], level="trace", queue_size=1_000_000)
    return c, exporter


def assert_all_delivered(c: fo.Container, exporter: Checking, calls: int) -> None:
    """Every call was exported, nothing dropped or failed, every line was valid JSON."""
    assert c.flush(30.0)
    stats = c.stats()
    assert [] == exporter.problems[:5]
    assert calls == exporter.count, f"dropped: {dict(stats['dropped'])}"
    assert (calls, calls, 0, {}) == (
        stats["submitted"],
        stats["exported"],
        stats["failed"],
        {k: v for k, v in stats["dropped"].items() if v},
    )


class TestHostileAttributes:
    def test_hostile_attributes_and_messages(self, checked: Any) -> None:
        """Any message and attribute values: no raise, exported, valid JSON line."""
        c, exporter = checked
        log = c.get_logger("hostile")
        calls = 0

        raised: list[str] = []

        @SETTINGS
        @given(msg=hostile_values, attrs=hostile_attrs)
        def run(msg: Any, attrs: dict[str, Any]) -> None:
            nonlocal calls
            attempt(raised, "info", lambda: log.info(msg, **attrs), msg, attrs)
            calls += 1

        run()
        assert [] == raised[:3]
        assert_all_delivered(c, exporter, calls)

    def test_every_method_with_hostile_input(self, checked: Any) -> None:
        """event, exception, log, bind and context binding never raise with hostile input."""
        c, exporter = checked
        log = c.get_logger("hostile")
        calls = 0
        raised: list[str] = []

        @SETTINGS
        @given(
            msg=hostile_values,
            attrs=hostile_attrs,
            bound=hostile_attrs,
            context=hostile_attrs,
            level=levels,
            event_name=st.one_of(st.text(), hostile_objects),
        )
        def run(
            msg: Any,
            attrs: dict[str, Any],
            bound: dict[str, Any],
            context: dict[str, Any],
            level: Any,
            event_name: Any,
        ) -> None:
            nonlocal calls
            with fo.bound_contextvars(**context):
                child = log
                attempt(raised, "bind", lambda: log.bind(**bound), bound)
                if not raised:
                    child = log.bind(**bound)
                attempt(raised, "log", lambda: child.log(level, msg, **attrs), level, msg)
                attempt(raised, "event", lambda: child.event(event_name, **attrs), event_name)
                try:
                    raise ValueError(msg)
                except ValueError:
                    attempt(raised, "exception", lambda: child.exception(msg, **attrs), msg)
            calls += 3

        run()
        assert [] == raised[:3]
        assert_all_delivered(c, exporter, calls)

    def test_async_logger_with_hostile_input(self, checked: Any) -> None:
        """The async logger never raises with hostile input either."""
        import asyncio

        c, exporter = checked
        alog = c.get_async_logger("hostile")
        calls = 0
        raised: list[str] = []

        @SETTINGS
        @given(msg=hostile_values, attrs=hostile_attrs, level=levels)
        def run(msg: Any, attrs: dict[str, Any], level: Any) -> None:
            nonlocal calls

            async def main() -> None:
                await alog.warning(msg, **attrs)
                await alog.log(level, msg, **attrs)

            attempt(raised, "async", lambda: asyncio.run(main()), msg, level)
            calls += 2

        run()
        assert [] == raised[:3]
        assert_all_delivered(c, exporter, calls)


class TestHostileExamples:
    @pytest.mark.parametrize("factory", FACTORIES)
    def test_each_hostile_value(self, checked: Any, factory: Callable[[], Any]) -> None:
        """Each hostile value, as message, attribute, bound and context value, is delivered."""
        c, exporter = checked
        log = c.get_logger("each")
        log.info(factory(), value=factory())
        log.bind(value=factory()).warning("bound")
        with fo.bound_contextvars(value=factory()):
            log.error("context")
        log.event("ev", value=factory())
        assert_all_delivered(c, exporter, 4)

    def test_odd_keyword_names(self, checked: Any) -> None:
        """Odd attribute names arrive unchanged."""
        c, exporter = checked
        seen: list[dict[str, Any]] = []
        original = exporter.check

        def keep(record: LogRecord) -> None:
            seen.append(dict(record.attributes))
            original(record)

        exporter.check = keep  # type: ignore[method-assign]
        odd = {"": 1, "a.b": 2, "ünï": 3, "with space": 4, "msg": 5, "level": 6, "name": 7}
        c.get_logger("odd").info("m", **odd)
        assert_all_delivered(c, exporter, 1)
        assert [odd] == seen

    def test_cycles_and_depth_are_cut_with_markers(self, make_container: Any) -> None:
        """A self-containing list and very deep nesting are frozen with markers, not errors."""
        c, mem = make_container()
        looped = self_list()
        c.get_logger("x").info("m", looped=looped, deep=deep_list(5000))
        assert c.flush(5.0)
        attrs = mem.records[0].attributes
        assert [1, "<cycle>"] == attrs["looped"]
        depth = 0
        value = attrs["deep"]
        while isinstance(value, list):
            value = value[0]
            depth += 1
        assert "<max depth>" == value
        assert depth <= 64

    def test_huge_integers_are_kept_and_encoded(self, make_container: Any) -> None:
        """Integers beyond 64 bits stay ints on the record and are written as strings."""
        pytest.importorskip("fapilog_otel._jsonline")
        c, mem = make_container()
        c.get_logger("x").info("m", big=2**100, small=-(2**80))
        assert c.flush(5.0)
        record = mem.records[0]
        assert (2**100, -(2**80)) == (record.attributes["big"], record.attributes["small"])
        attrs = json.loads(encode_json_line(record))["attributes"]
        assert (str(2**100), str(-(2**80))) == (attrs["big"], attrs["small"])

    def test_non_finite_floats_are_kept_and_encoded(self, make_container: Any) -> None:
        """NaN and infinities stay floats on the record and are written as JSON strings."""
        pytest.importorskip("fapilog_otel._jsonline")
        c, mem = make_container()
        c.get_logger("x").info("m", nan=float("nan"), inf=float("inf"), ninf=float("-inf"))
        assert c.flush(5.0)
        record = mem.records[0]
        assert math.isnan(record.attributes["nan"])
        attrs = json.loads(encode_json_line(record))["attributes"]
        assert ("NaN", "Infinity", "-Infinity") == (attrs["nan"], attrs["inf"], attrs["ninf"])

    def test_many_attributes_are_limited_and_counted(self, make_container: Any) -> None:
        """More attributes than the count limit are cut and the cut is counted."""
        c, mem = make_container(limits={"attribute_count": 128})
        c.get_logger("x").info("m", **{f"k{i}": i for i in range(1000)})
        assert c.flush(5.0)
        record = mem.records[0]
        assert (128, 872) == (len(record.attributes), record.dropped_attributes_count)

    def test_object_with_raising_class_attribute(self, make_container: Any) -> None:
        """An object whose __class__ lookup raises is logged (as text), not lost."""

        class Evil:
            @property  # type: ignore[misc]
            def __class__(self) -> type:
                raise RuntimeError("no class")

            def __str__(self) -> str:
                return "evil"

        c, mem = make_container()
        log = c.get_logger("x")
        assert None is log.info("m", evil=Evil())
        assert None is log.info(Evil())
        assert c.flush(5.0)
        assert 2 == len(mem.records)
