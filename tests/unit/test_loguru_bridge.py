"""The loguru bridge: FapilogSink and add_sink, with real loguru and a real container."""

from __future__ import annotations

import datetime
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from loguru import logger
from opentelemetry.sdk.trace import TracerProvider

from fapilog_otel import _default
from fapilog_otel.container import Container
from fapilog_otel.integrations.loguru import FapilogSink, add_sink
from fapilog_otel.record import LogRecord, Scope

#: A bound key that only this module's records carry, so sinks ignore everyone else's.
MARK = f"tests-loguru-{uuid.uuid4().hex}"

log = logger.bind(**{MARK: True})


def only_ours(record: Any) -> bool:
    """A loguru filter passing only records logged through ``log``."""
    return MARK in record["extra"]


def attributes(record: LogRecord) -> dict[str, Any]:
    """The record's attributes without the test's marker."""
    return {k: v for k, v in record.attributes.items() if k != MARK}


@pytest.fixture
def sinks() -> Iterator[Callable[..., int]]:
    """Adds sinks with add_sink (only this module's records) and removes them afterwards."""
    added: list[int] = []

    def add(container: Any, **options: Any) -> int:
        options.setdefault("level", "TRACE")
        options.setdefault("filter", only_ours)
        handler_id = add_sink(container, **options)
        added.append(handler_id)
        return handler_id

    yield add
    for handler_id in added:
        logger.remove(handler_id)


@pytest.fixture
def pipeline(make_container: Any, sinks: Callable[..., int]) -> tuple[Container, Any]:
    """A real container with an in-memory exporter, fed by a loguru sink."""
    container, memory = make_container()
    sinks(container)
    return container, memory


def delivered(pipeline: tuple[Container, Any]) -> list[LogRecord]:
    """Flush the container and return what its exporter received."""
    container, memory = pipeline
    assert container.flush()
    records: list[LogRecord] = memory.records
    return records


def single(pipeline: tuple[Container, Any]) -> LogRecord:
    """Return the one record the container exported."""
    (record,) = delivered(pipeline)
    return record


class Unprintable:
    """A value whose conversion to text fails."""

    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


class RaisingContainer:
    """A container whose submit fails, to prove the sink swallows and counts."""

    def _submit_raw(self, raw: tuple[Any, ...]) -> None:
        raise RuntimeError("queue closed")


class TestLevels:
    @pytest.mark.parametrize(
        ("method", "expected"),
        [
            ("trace", (1, "TRACE")),
            ("debug", (5, "DEBUG")),
            ("info", (9, "INFO")),
            ("success", (12, "SUCCESS")),
            ("warning", (13, "WARNING")),
            ("error", (17, "ERROR")),
            ("critical", (21, "CRITICAL")),
        ],
    )
    def test_levels(self, pipeline: Any, method: str, expected: tuple[int, str]) -> None:
        """Each loguru level gives the OTel severity number and loguru's level name."""
        getattr(log, method)("x")

        record = single(pipeline)
        assert expected == (record.severity_number, record.severity_text)

    def test_custom_level(self, pipeline: Any) -> None:
        """A custom level maps by its number and keeps its name."""
        name = f"NOTICE_{uuid.uuid4().hex[:8].upper()}"
        logger.level(name, no=35)

        log.log(name, "x")

        record = single(pipeline)
        assert (16, name) == (record.severity_number, record.severity_text)

    def test_sink_level(self, make_container: Any, sinks: Callable[..., int]) -> None:
        """Records below the level given to add_sink do not reach the container."""
        pipeline = make_container()
        sinks(pipeline[0], level="WARNING")

        log.info("too low")
        log.warning("kept")

        assert ["kept"] == [r.body for r in delivered(pipeline)]


class TestRecord:
    def test_message_scope_and_time(self, pipeline: Any) -> None:
        """The formatted message is the body, the module the scope, loguru's time the time."""
        at = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)

        log.patch(lambda r: r.update(time=at)).info("order {} placed", 7)

        record = single(pipeline)
        assert ("order 7 placed", Scope(__name__)) == (record.body, record.scope)
        assert int(at.timestamp()) * 10**9 + 123_456_000 == record.timestamp

    def test_bound_and_contextualized_values(self, pipeline: Any) -> None:
        """Values from bind(), contextualize() and the call's keywords are attributes."""
        with logger.contextualize(request_id="r-1"):
            log.bind(order_id=7).info("placed {vip}", vip=True)
        log.info("outside")

        inside, outside = delivered(pipeline)
        assert ({"request_id": "r-1", "order_id": 7, "vip": True}, {}) == (
            attributes(inside),
            attributes(outside),
        )

    def test_mutable_values_frozen(self, pipeline: Any) -> None:
        """Changing a bound value after the call does not change the record."""
        items = ["a"]

        log.bind(items=items).info("cart")
        items.append("b")

        assert {"items": ["a"]} == attributes(single(pipeline))

    def test_unprintable_value(self, pipeline: Any) -> None:
        """A value that cannot be turned into text costs neither the call nor the record."""
        log.bind(thing=Unprintable()).info("odd")

        record = single(pipeline)
        stats = pipeline[0].stats()
        assert "<unprintable Unprintable>" == record.attributes["thing"]
        assert (1, 1, {}) == (stats["submitted"], stats["exported"], stats["dropped"])

    def test_default_scope(self, pipeline: Any) -> None:
        """A record without a module name gets the default scope."""
        log.patch(lambda r: r.update(name=None)).info("x")

        assert Scope("loguru") == single(pipeline).scope

    def test_own_modules_ignored(self, pipeline: Any) -> None:
        """Records of fapilog_otel's own modules never re-enter the pipeline."""
        log.patch(lambda r: r.update(name="fapilog_otel.worker")).info("internal")

        assert ([], 0) == (delivered(pipeline), pipeline[0].stats()["submitted"])

    def test_code_attributes_opt_in(self, make_container: Any, sinks: Callable[..., int]) -> None:
        """code.* attributes appear only when asked for."""
        plain, with_code = make_container(), make_container()
        sinks(plain[0])
        sinks(with_code[0], code_attributes=True)

        log.info("where")

        assert {} == attributes(single(plain))
        code = single(with_code).attributes
        assert (__file__, "test_code_attributes_opt_in", True) == (
            code["code.file.path"],
            code["code.function.name"],
            isinstance(code["code.line.number"], int),
        )


class TestExceptions:
    def test_logger_exception(self, pipeline: Any) -> None:
        """logger.exception() gives the exception attributes at ERROR."""
        try:
            raise ValueError("bad amount")
        except ValueError:
            log.exception("payment failed")

        record = single(pipeline)
        assert ("ValueError", "bad amount", 17, "payment failed") == (
            record.attributes["exception.type"],
            record.attributes["exception.message"],
            record.severity_number,
            record.body,
        )
        assert "raise ValueError" in record.attributes["exception.stacktrace"]

    def test_opt_exception_object(self, pipeline: Any) -> None:
        """An exception passed with opt(exception=...) is used."""
        log.opt(exception=TimeoutError("slow")).warning("retrying")

        record = single(pipeline)
        assert ("TimeoutError", "slow", 13) == (
            record.attributes["exception.type"],
            record.attributes["exception.message"],
            record.severity_number,
        )

    def test_no_exception(self, pipeline: Any) -> None:
        """A record without an exception has no exception attributes."""
        log.error("plain")

        assert {} == attributes(single(pipeline))

    def test_user_exception_attributes_win(self, pipeline: Any) -> None:
        """An exception.* value bound by the user is not overwritten."""
        log.bind(**{"exception.type": "Custom"}).opt(exception=ValueError("x")).error("failed")

        assert "Custom" == single(pipeline).attributes["exception.type"]


class TestTraceContext:
    def test_span_captured(self, pipeline: Any) -> None:
        """The span current at the call gives the record its trace ids."""
        tracer = TracerProvider().get_tracer("test")

        with tracer.start_as_current_span("work") as span:
            log.info("in span")
        log.info("after span")

        inside, outside = delivered(pipeline)
        expected = span.get_span_context()
        assert (expected.trace_id, expected.span_id, int(expected.trace_flags)) == (
            inside.trace_id,
            inside.span_id,
            inside.trace_flags,
        )
        assert (0, 0) == (outside.trace_id, outside.span_id)


class TestNeverRaises:
    def test_failing_container_counted(self) -> None:
        """A failing container is counted; with catch=False nothing reaches the caller either."""
        sink = FapilogSink(RaisingContainer())
        handler_id = logger.add(sink, level="TRACE", filter=only_ours, catch=False)
        try:
            log.info("lost")
        finally:
            logger.remove(handler_id)

        assert (1, "queue closed") == (sink.errors, str(sink.last_error))

    def test_after_shutdown_counted_as_dropped(self, pipeline: Any) -> None:
        """A record after shutdown is counted by the container, not raised."""
        pipeline[0].shutdown()

        log.info("late")

        stats = pipeline[0].stats()
        assert (1, {"shutdown": 1}) == (stats["submitted"], stats["dropped"])

    def test_nothing_lost_across_threads(self, pipeline: Any) -> None:
        """Every record from many threads is exported exactly once."""

        def work(n: int) -> None:
            for i in range(250):
                log.bind(worker=n, i=i).info("e")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        records = delivered(pipeline)
        stats = pipeline[0].stats()
        assert (1000, 1000, 1000, {}) == (
            stats["submitted"],
            stats["exported"],
            len({(r.attributes["worker"], r.attributes["i"]) for r in records}),
            stats["dropped"],
        )


class TestAddSink:
    def test_returns_removable_handler(self, make_container: Any) -> None:
        """add_sink returns loguru's handler id; removing it stops the records."""
        pipeline = make_container()
        handler_id = add_sink(pipeline[0], level="TRACE", filter=only_ours)

        log.info("kept")
        logger.remove(handler_id)
        log.info("after removal")

        assert ["kept"] == [r.body for r in delivered(pipeline)]

    def test_options_passed_to_add(self, make_container: Any, sinks: Callable[..., int]) -> None:
        """Keyword options (a filter here) reach logger.add and override the defaults."""
        pipeline = make_container()
        sinks(pipeline[0], filter=lambda r: only_ours(r) and "keep" in r["extra"])

        log.bind(keep=True).info("kept")
        log.info("filtered out")

        assert ["kept"] == [r.body for r in delivered(pipeline)]

    def test_default_container(self, make_container: Any, sinks: Callable[..., int]) -> None:
        """Without a container the sink uses the default one, looked up per record."""
        first, second = make_container(), make_container()
        old = _default.set_default_container(first[0])
        try:
            sinks(None)
            log.info("first")
            _default.set_default_container(second[0])
            log.info("second")
        finally:
            _default.set_default_container(old)

        assert (["first"], ["second"]) == (
            [r.body for r in delivered(first)],
            [r.body for r in delivered(second)],
        )


class TestOptional:
    def test_module_imports_without_loguru(self) -> None:
        """Without loguru the module imports; add_sink says what to install."""
        code = (
            "import sys; sys.modules['loguru'] = None\n"
            "import fapilog_otel, fapilog_otel.integrations.loguru as m\n"
            "try:\n    m.add_sink()\n"
            "except ImportError as e:\n    print(e)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )

        assert "pip install loguru" in result.stdout
