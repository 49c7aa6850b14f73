"""The structlog bridge: FapilogForwarder, with real structlog and a real container."""

from __future__ import annotations

import datetime
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from structlog.testing import CapturingLogger

from fapilog_otel import _default
from fapilog_otel.container import Container
from fapilog_otel.integrations.structlog import FapilogForwarder
from fapilog_otel.record import LogRecord, Scope


@pytest.fixture
def pipeline(make_container: Any) -> tuple[Container, Any]:
    """A real container exporting into an in-memory exporter."""
    container, memory = make_container()
    return container, memory


def bridged(
    container: Any, *processors: Any, wrapped: Any = None, **forwarder: Any
) -> tuple[Any, FapilogForwarder]:
    """A structlog logger whose chain is ``processors`` then a forwarder into ``container``."""
    forward = FapilogForwarder(container, **forwarder)
    log = structlog.wrap_logger(
        wrapped if wrapped is not None else CapturingLogger(),
        processors=[*processors, forward],
        wrapper_class=structlog.make_filtering_bound_logger(logging.NOTSET),
        context_class=dict,
    )
    return log, forward


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


def _without_exception(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if not k.startswith("exception.")}


class Unprintable:
    """A value whose conversion to text fails."""

    def __str__(self) -> str:
        raise RuntimeError("no text")

    __repr__ = __str__


class RaisingContainer:
    """A container whose submit fails, to prove the forwarder swallows and counts."""

    def _submit_raw(self, raw: tuple[Any, ...]) -> None:
        raise RuntimeError("queue closed")


class TestLevels:
    @pytest.mark.parametrize(
        ("method", "expected"),
        [
            ("debug", (5, "DEBUG")),
            ("info", (9, "INFO")),
            ("warning", (13, "WARNING")),
            ("error", (17, "ERROR")),
            ("critical", (21, "CRITICAL")),
        ],
    )
    def test_method_names(self, pipeline: Any, method: str, expected: tuple[int, str]) -> None:
        """Each level method gives the OTel severity number and the level name."""
        log, _ = bridged(pipeline[0])

        getattr(log, method)("x")

        record = single(pipeline)
        assert expected == (record.severity_number, record.severity_text)

    def test_log_with_level_number(self, pipeline: Any) -> None:
        """log(level, ...) maps the stdlib level it was given."""
        log, _ = bridged(pipeline[0])

        log.log(logging.WARNING, "x")

        record = single(pipeline)
        assert (13, "WARNING") == (record.severity_number, record.severity_text)

    def test_add_log_level_key(self, pipeline: Any) -> None:
        """add_log_level's key is used for the level and is not an attribute."""
        log, _ = bridged(pipeline[0], structlog.processors.add_log_level)

        try:
            raise ValueError("x")
        except ValueError:
            log.exception("e")
        log.warning("w")

        assert [(17, "ERROR", {}), (13, "WARNING", {})] == [
            (r.severity_number, r.severity_text, _without_exception(r.attributes))
            for r in delivered(pipeline)
        ]

    def test_level_key_wins_and_aliases(self, pipeline: Any) -> None:
        """A level key wins over the method name; warn, exception and fatal are aliases."""
        log, _ = bridged(pipeline[0])

        log.info("a", level="warn")
        log.info("b", level="exception")
        log.info("c", level="FATAL")

        assert [(13, "WARNING"), (17, "ERROR"), (21, "CRITICAL")] == [
            (r.severity_number, r.severity_text) for r in delivered(pipeline)
        ]

    def test_level_number_key(self, pipeline: Any) -> None:
        """A level_number key gives the severity number and is not an attribute."""
        log, _ = bridged(pipeline[0], structlog.stdlib.add_log_level_number)
        plain, _ = bridged(pipeline[0])

        log.warning("w")
        plain.info("i", level_number=23)

        assert [(13, "WARNING", {}), (12, "INFO", {})] == [
            (r.severity_number, r.severity_text, r.attributes) for r in delivered(pipeline)
        ]

    def test_unknown_method_is_info(self, pipeline: Any) -> None:
        """A method name logging does not know is INFO, its name kept as text."""
        forward = FapilogForwarder(pipeline[0])
        log = structlog.wrap_logger(
            CapturingLogger(), processors=[forward], wrapper_class=structlog.BoundLogger
        )

        log.notice("hello")

        record = single(pipeline)
        assert (9, "NOTICE", "hello") == (record.severity_number, record.severity_text, record.body)


class TestEventDict:
    def test_body_and_bound_values(self, pipeline: Any) -> None:
        """The event is the body; bound and call values are attributes."""
        log, _ = bridged(pipeline[0])

        log.bind(order_id=7, region="eu").info("order placed", vip=True)

        record = single(pipeline)
        assert ("order placed", {"order_id": 7, "region": "eu", "vip": True}) == (
            record.body,
            record.attributes,
        )

    def test_contextvars(self, pipeline: Any) -> None:
        """Values bound with bind_contextvars arrive through merge_contextvars."""
        log, _ = bridged(pipeline[0], structlog.contextvars.merge_contextvars)

        with structlog.contextvars.bound_contextvars(request_id="r-1"):
            log.info("handled")
        log.info("outside")

        inside, outside = delivered(pipeline)
        assert ({"request_id": "r-1"}, {}) == (inside.attributes, outside.attributes)

    def test_mutable_values_frozen(self, pipeline: Any) -> None:
        """Changing a value after the call does not change the record."""
        log, _ = bridged(pipeline[0])
        items = ["a"]
        event = {"kind": "cart"}

        log.info(event, items=items)
        items.append("b")
        event["kind"] = "changed"

        record = single(pipeline)
        assert ({"kind": "cart"}, {"items": ["a"]}) == (record.body, record.attributes)

    def test_unprintable_value(self, pipeline: Any) -> None:
        """A value that cannot be turned into text costs neither the call nor the record."""
        log, forward = bridged(pipeline[0])

        log.info("odd", thing=Unprintable())

        record = single(pipeline)
        stats = pipeline[0].stats()
        assert ("<unprintable Unprintable>", 0) == (record.attributes["thing"], forward.errors)
        assert (1, 1, {}) == (stats["submitted"], stats["exported"], stats["dropped"])


class TestExceptions:
    def test_exception_method(self, pipeline: Any) -> None:
        """log.exception() inside except gives the exception attributes at ERROR."""
        log, _ = bridged(pipeline[0])

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
        assert "exc_info" not in record.attributes

    def test_exception_object(self, pipeline: Any) -> None:
        """An exception object given as exc_info is used, outside any except block too."""
        log, _ = bridged(pipeline[0])

        log.warning("retrying", exc_info=TimeoutError("slow"))

        record = single(pipeline)
        assert ("TimeoutError", "slow") == (
            record.attributes["exception.type"],
            record.attributes["exception.message"],
        )

    def test_exc_info_true_without_exception(self, pipeline: Any) -> None:
        """exc_info=True with no exception being handled adds no exception attributes."""
        log, _ = bridged(pipeline[0])

        log.error("nothing", exc_info=True)

        assert {} == single(pipeline).attributes

    def test_rendered_exception_string(self, pipeline: Any) -> None:
        """A traceback already rendered by format_exc_info becomes exception.stacktrace."""
        log, _ = bridged(pipeline[0], structlog.processors.format_exc_info)

        try:
            raise KeyError("sku")
        except KeyError:
            log.exception("lookup failed")

        attributes = single(pipeline).attributes
        assert {"exception.stacktrace"} == set(attributes)
        assert "KeyError: 'sku'" in attributes["exception.stacktrace"]

    def test_user_exception_attributes_win(self, pipeline: Any) -> None:
        """An exception.* value given by the user is not overwritten."""
        log, _ = bridged(pipeline[0])

        log.error("failed", exc_info=ValueError("x"), **{"exception.type": "Custom"})

        assert "Custom" == single(pipeline).attributes["exception.type"]


class TestScope:
    def test_logger_name_key(self, pipeline: Any) -> None:
        """A logger_name key names the scope and leaves the attributes."""
        log, _ = bridged(pipeline[0])

        log.info("x", logger_name="shop.orders")

        record = single(pipeline)
        assert (Scope("shop.orders"), {}) == (record.scope, record.attributes)

    def test_stdlib_logger_name(self, pipeline: Any) -> None:
        """With a stdlib logger wrapped, add_logger_name's key (or the logger) names the scope."""
        name = f"tests.structlog.{uuid.uuid4().hex}"
        forward = FapilogForwarder(pipeline[0])
        for processors in ([structlog.stdlib.add_logger_name, forward], [forward]):
            log = structlog.wrap_logger(
                logging.getLogger(name),
                processors=processors,
                wrapper_class=structlog.stdlib.BoundLogger,
            )
            log.warning("x")

        assert [(Scope(name), {})] * 2 == [(r.scope, r.attributes) for r in delivered(pipeline)]

    def test_default_scope(self, pipeline: Any) -> None:
        """Without a logger name the configured default is the scope."""
        for forwarder in ({}, {"default_scope": "billing"}):
            log, _ = bridged(pipeline[0], **forwarder)
            log.info("x")

        assert [Scope("structlog"), Scope("billing")] == [r.scope for r in delivered(pipeline)]

    def test_own_loggers_ignored(self, pipeline: Any) -> None:
        """Events named fapilog_otel... never re-enter the pipeline, and are still dropped."""
        log, forward = bridged(pipeline[0])

        log.info("internal", logger_name="fapilog_otel.worker")

        assert ([], 0, 0) == (delivered(pipeline), forward.errors, pipeline[0].stats()["submitted"])


class TestRenderingKeys:
    def test_iso_timestamp(self, pipeline: Any) -> None:
        """An ISO 8601 time stamp with Z becomes the record's time, exactly, not an attribute."""
        log, _ = bridged(pipeline[0])

        log.info("x", timestamp="2024-05-06T07:08:09.123456Z")

        record = single(pipeline)
        expected = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)
        assert (int(expected.timestamp()) * 10**9 + 123_456_000, {}) == (
            record.timestamp,
            record.attributes,
        )

    @pytest.mark.parametrize(
        "stamper",
        [
            structlog.processors.TimeStamper(),
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.TimeStamper(fmt="iso", utc=False),
        ],
    )
    def test_real_time_stamper(self, pipeline: Any, stamper: Any) -> None:
        """A real TimeStamper's value (epoch float, ISO in UTC or local time) is the time."""
        log, _ = bridged(pipeline[0], stamper)

        log.info("x")

        record = single(pipeline)
        assert ({}, True) == (
            record.attributes,
            0 <= record.observed_timestamp - record.timestamp < 10**9,
        )

    def test_unreadable_timestamp_kept(self, pipeline: Any) -> None:
        """A time stamp in a format that cannot be read stays an attribute."""
        log, _ = bridged(pipeline[0], structlog.processors.TimeStamper(fmt="%H:%M"))

        log.info("x")

        record = single(pipeline)
        assert (True, record.observed_timestamp) == (
            "timestamp" in record.attributes,
            record.timestamp,
        )

    def test_infinite_timestamp_kept(self, pipeline: Any) -> None:
        """A time stamp that fails to convert keeps the record and the value."""
        log, forward = bridged(pipeline[0])

        log.info("x", timestamp=float("inf"))

        assert (float("inf"), 0) == (single(pipeline).attributes["timestamp"], forward.errors)

    def test_stack_info(self, pipeline: Any) -> None:
        """StackInfoRenderer's stack becomes code.stacktrace."""
        log, _ = bridged(pipeline[0], structlog.processors.StackInfoRenderer())

        log.info("here", stack_info=True)

        assert "test_stack_info" in single(pipeline).attributes["code.stacktrace"]


class TestTraceContext:
    def test_span_captured(self, pipeline: Any) -> None:
        """The span current at the call gives the record its trace ids."""
        log, _ = bridged(pipeline[0])
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


class TestChain:
    def test_drops_event_by_default(self, pipeline: Any) -> None:
        """Without pass_through the wrapped logger never sees the event."""
        wrapped = CapturingLogger()
        log, _ = bridged(pipeline[0], wrapped=wrapped)

        log.info("x")

        assert ([], 1) == (wrapped.calls, len(delivered(pipeline)))

    def test_pass_through(self, pipeline: Any) -> None:
        """With pass_through the event goes on unchanged to the rest of the chain."""
        wrapped = CapturingLogger()
        log, _ = bridged(pipeline[0], wrapped=wrapped, pass_through=True)
        items = ["a"]

        log.info("x", items=items, exc_info=False)

        (call,) = wrapped.calls
        assert ("info", {"event": "x", "items": items, "exc_info": False}) == (
            call.method_name,
            call.kwargs,
        )
        assert call.kwargs["items"] is items
        assert 1 == len(delivered(pipeline))


class TestNeverRaises:
    def test_failing_container_counted(self) -> None:
        """A failing container is counted; the application sees only structlog's drop."""
        wrapped = CapturingLogger()
        log, forward = bridged(RaisingContainer(), wrapped=wrapped)

        log.info("lost")

        assert (1, "queue closed", []) == (forward.errors, str(forward.last_error), wrapped.calls)

    def test_after_shutdown_counted_as_dropped(self, pipeline: Any) -> None:
        """An event after shutdown is counted by the container, not raised."""
        log, forward = bridged(pipeline[0])
        pipeline[0].shutdown()

        log.info("late")

        stats = pipeline[0].stats()
        assert (1, {"shutdown": 1}, 0) == (stats["submitted"], stats["dropped"], forward.errors)

    def test_nothing_lost_across_threads(self, pipeline: Any) -> None:
        """Every event from many threads is exported exactly once."""
        log, forward = bridged(pipeline[0])

        def work(n: int) -> None:
            for i in range(250):
                log.info("e", worker=n, i=i)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        records = delivered(pipeline)
        stats = pipeline[0].stats()
        assert (1000, 1000, 1000, {}, 0) == (
            stats["submitted"],
            stats["exported"],
            len({(r.attributes["worker"], r.attributes["i"]) for r in records}),
            stats["dropped"],
            forward.errors,
        )


class TestDefaultContainer:
    @pytest.fixture
    def default(self, make_container: Any) -> Iterator[tuple[Container, Any]]:
        """A real container as the default container for the test."""
        container, memory = make_container()
        old = _default.set_default_container(container)
        try:
            yield container, memory
        finally:
            _default.set_default_container(old)

    def test_follows_default_container(self, default: Any, make_container: Any) -> None:
        """Without a container the forwarder uses the default one, looked up per event."""
        log, _ = bridged(None)
        replacement = make_container()

        log.info("first")
        _default.set_default_container(replacement[0])
        log.info("second")

        assert (["first"], ["second"]) == (
            [r.body for r in delivered(default)],
            [r.body for r in delivered(replacement)],
        )


class TestOptional:
    def test_module_imports_without_structlog(self) -> None:
        """Without structlog the module imports; making a forwarder says what to install."""
        code = (
            "import sys; sys.modules['structlog'] = None\n"
            "import fapilog_otel, fapilog_otel.integrations.structlog as m\n"
            "try:\n    m.FapilogForwarder()\n"
            "except ImportError as e:\n    print(e)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )

        assert "pip install structlog" in result.stdout
