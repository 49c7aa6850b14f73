"""The synchronous Logger: levels, the level gate, attributes, exceptions, binding,
trace correlation, timestamps and freezing of values at the call."""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import fapilog_otel as fo
from fapilog_otel.record import LogRecord

LEVELS = [
    ("trace", 1, "TRACE"),
    ("debug", 5, "DEBUG"),
    ("info", 9, "INFO"),
    ("warning", 13, "WARNING"),
    ("error", 17, "ERROR"),
    ("critical", 21, "CRITICAL"),
]


class CustomError(Exception):
    """An exception defined outside builtins, to check the qualified type name."""


def only(container: fo.Container, exporter: Any) -> LogRecord:
    """Flush and return the single record the exporter received."""
    assert container.flush(timeout=5.0)
    assert 1 == len(exporter.records)
    return exporter.records[0]


def flushed(container: fo.Container, exporter: Any) -> list[LogRecord]:
    """Flush and return every record the exporter received."""
    assert container.flush(timeout=5.0)
    return list(exporter.records)


class TestLevels:
    @pytest.mark.parametrize(("method", "number", "text"), LEVELS)
    def test_each_level_sets_severity_number_and_text(
        self, make_container: Any, method: str, number: int, text: str
    ) -> None:
        """Every level method writes the spec's severity number and the capitalised name."""
        c, mem = make_container(level="trace")
        getattr(c.get_logger("t"), method)("hello")
        record = only(c, mem)
        assert (number, text) == (record.severity_number, record.severity_text)
        assert "hello" == record.body

    def test_default_level_is_info(self, make_container: Any) -> None:
        """Without a level setting, trace and debug are discarded and info passes."""
        c, mem = make_container()
        log = c.get_logger("t")
        log.trace("t")
        log.debug("d")
        log.info("i")
        log.warning("w")
        assert ["i", "w"] == [r.body for r in flushed(c, mem)]
        assert 2 == c.stats()["submitted"]

    def test_disabled_levels_produce_nothing(self, make_container: Any) -> None:
        """Below the threshold every method (event and exception included) is silent."""
        c, mem = make_container(level="critical")
        log = c.get_logger("t")
        log.trace("x")
        log.debug("x")
        log.info("x")
        log.warning("x")
        log.error("x")
        log.event("e")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("x")
        log.log("error", "x")
        log.log(17, "x")
        log.critical("kept")
        assert ["kept"] == [r.body for r in flushed(c, mem)]
        assert 1 == c.stats()["submitted"]

    def test_disabled_level_returns_none_without_capturing(self, make_container: Any) -> None:
        """A disabled level neither evaluates into a record nor touches the stats."""
        c, _ = make_container(level="error")
        assert None is c.get_logger("t").info("x", big=list(range(10)))
        assert 0 == c.stats()["submitted"]

    @pytest.mark.parametrize(
        ("level", "number", "text"),
        [
            ("warning", 13, "WARNING"),
            ("WARN", 13, "WARNING"),
            ("fatal", 21, "CRITICAL"),
            (17, 17, "ERROR"),
            (18, 18, "ERROR"),
            (12, 12, "INFO"),
            (24, 24, "CRITICAL"),
        ],
    )
    def test_log_method_takes_names_and_numbers(
        self, make_container: Any, level: str | int, number: int, text: str
    ) -> None:
        """log(level, msg) accepts a level name (with aliases) or a severity number."""
        c, mem = make_container()
        c.get_logger("t").log(level, "m", k=1)
        record = only(c, mem)
        assert (number, text, "m", {"k": 1}) == (
            record.severity_number,
            record.severity_text,
            record.body,
            record.attributes,
        )

    def test_log_method_honours_the_level_gate(self, make_container: Any) -> None:
        """log() below the threshold produces nothing."""
        c, mem = make_container(level="warning")
        log = c.get_logger("t")
        log.log("info", "dropped")
        log.log(9, "dropped")
        log.log(13, "kept")
        assert ["kept"] == [r.body for r in flushed(c, mem)]

    def test_is_enabled_for(self, make_container: Any) -> None:
        """is_enabled_for answers the level gate for names and numbers."""
        c, _ = make_container(level="warning")
        log = c.get_logger("t")
        assert (False, True, False, True) == (
            log.is_enabled_for("info"),
            log.is_enabled_for("error"),
            log.is_enabled_for(9),
            log.is_enabled_for(13),
        )


class TestAttributeNames:
    @pytest.mark.parametrize("method", ["info", "warning", "exception"])
    def test_reserved_looking_names_are_plain_attributes(
        self, make_container: Any, method: str
    ) -> None:
        """msg, level, name and event_name are ordinary attribute names (message is positional)."""
        c, mem = make_container()
        getattr(c.get_logger("t"), method)("body", msg=1, level=2, name=3, event_name=4)
        record = only(c, mem)
        assert "body" == record.body
        assert {"msg": 1, "level": 2, "name": 3, "event_name": 4} == {
            k: record.attributes[k] for k in ("msg", "level", "name", "event_name")
        }
        assert None is record.event_name

    def test_log_accepts_level_and_msg_keywords(self, make_container: Any) -> None:
        """log(level, msg, level=..., msg=...) keeps the keywords as attributes."""
        c, mem = make_container()
        c.get_logger("t").log("error", "body", level="x", msg="y")
        record = only(c, mem)
        assert (17, "body", {"level": "x", "msg": "y"}) == (
            record.severity_number,
            record.body,
            record.attributes,
        )

    def test_event_accepts_name_keyword(self, make_container: Any) -> None:
        """event(name, name=...) keeps the keyword as an attribute."""
        c, mem = make_container()
        c.get_logger("t").event("user.login", name="alice", event_name="other")
        record = only(c, mem)
        assert ("user.login", {"name": "alice", "event_name": "other"}) == (
            record.event_name,
            record.attributes,
        )

    def test_bind_accepts_any_name(self, make_container: Any) -> None:
        """bind(msg=..., level=..., name=...) binds those names as attributes."""
        c, mem = make_container()
        c.get_logger("t").bind(msg=1, level=2, name=3).info("body")
        assert {"msg": 1, "level": 2, "name": 3} == only(c, mem).attributes

    def test_self_is_an_ordinary_attribute_name(self, make_container: Any) -> None:
        """self= works as an attribute name for every method, bind included."""
        c, mem = make_container()
        log = c.get_logger("t")
        log.info("a", self=1)
        log.exception("b", self=2)
        log.event("c", self=3)
        log.log("info", "d", self=4)
        log.bind(self=5).info("e")
        assert [1, 2, 3, 4, 5] == [r.attributes["self"] for r in flushed(c, mem)]

    def test_async_bind_accepts_self(self, make_container: Any) -> None:
        """AsyncLogger.bind(self=...) binds it like any other name."""
        c, _ = make_container()
        assert {"self": 1} == c.get_async_logger("t").bind(self=1)._bound


class TestEvent:
    def test_event_sets_name_info_and_empty_body(self, make_container: Any) -> None:
        """event() records event_name at INFO with no body and the keywords as attributes."""
        c, mem = make_container()
        c.get_logger("t").event("user.login", user_id=7)
        record = only(c, mem)
        assert ("user.login", 9, "INFO", None, {"user_id": 7}) == (
            record.event_name,
            record.severity_number,
            record.severity_text,
            record.body,
            record.attributes,
        )

    def test_plain_records_have_no_event_name(self, make_container: Any) -> None:
        """A level method leaves event_name unset."""
        c, mem = make_container()
        c.get_logger("t").info("x")
        assert None is only(c, mem).event_name


class TestException:
    def test_builtin_exception_attributes(self, make_container: Any) -> None:
        """exception() logs at ERROR with type, message and stack trace of the current error."""
        c, mem = make_container()
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            c.get_logger("t").exception("failed", order_id=1)
        record = only(c, mem)
        assert (17, "ERROR", "failed") == (
            record.severity_number,
            record.severity_text,
            record.body,
        )
        attrs = record.attributes
        assert "ZeroDivisionError" == attrs["exception.type"]
        assert "division by zero" == attrs["exception.message"]
        assert "Traceback (most recent call last)" in attrs["exception.stacktrace"]
        assert "test_builtin_exception_attributes" in attrs["exception.stacktrace"]
        assert 1 == attrs["order_id"]

    def test_non_builtin_exception_type_is_qualified(self, make_container: Any) -> None:
        """exception.type of a non-builtin class is module.qualname."""
        c, mem = make_container()
        try:
            raise CustomError("custom")
        except CustomError:
            c.get_logger("t").exception("failed")
        record = only(c, mem)
        assert f"{__name__}.CustomError" == record.attributes["exception.type"]
        assert "custom" == record.attributes["exception.message"]

    def test_user_attribute_wins_over_exception_attribute(self, make_container: Any) -> None:
        """A keyword named exception.type overrides the captured one; the others stay."""
        c, mem = make_container()
        try:
            raise KeyError("k")
        except KeyError:
            c.get_logger("t").exception("failed", **{"exception.type": "mine"})
        attrs = only(c, mem).attributes
        assert "mine" == attrs["exception.type"]
        assert "'k'" == attrs["exception.message"]

    def test_bound_attribute_wins_over_exception_attribute(self, make_container: Any) -> None:
        """A bound exception.message overrides the captured one."""
        c, mem = make_container()
        log = c.get_logger("t").bind(**{"exception.message": "bound"})
        try:
            raise KeyError("k")
        except KeyError:
            log.exception("failed")
        attrs = only(c, mem).attributes
        assert ("bound", "KeyError") == (attrs["exception.message"], attrs["exception.type"])

    def test_exception_outside_except_block_has_no_exception_attributes(
        self, make_container: Any
    ) -> None:
        """exception() with no error being handled logs at ERROR without exception.*."""
        c, mem = make_container()
        c.get_logger("t").exception("no error", k=1)
        record = only(c, mem)
        assert (17, {"k": 1}) == (record.severity_number, record.attributes)

    def test_error_method_does_not_attach_exception(self, make_container: Any) -> None:
        """error() inside an except block does not attach the exception."""
        c, mem = make_container()
        try:
            raise ValueError("v")
        except ValueError:
            c.get_logger("t").error("plain")
        assert {} == only(c, mem).attributes

    def test_exception_after_handler_left_has_no_attributes(self, make_container: Any) -> None:
        """Once the except block is left, exception() no longer sees that error."""
        c, mem = make_container()
        try:
            raise ValueError("v")
        except ValueError:
            pass
        c.get_logger("t").exception("later")
        assert {} == only(c, mem).attributes


class TestBind:
    def test_bind_returns_a_new_logger(self, make_container: Any) -> None:
        """bind() returns a different logger and leaves the parent unchanged."""
        c, mem = make_container()
        parent = c.get_logger("t")
        child = parent.bind(request_id="r-1")
        assert parent is not child
        parent.info("parent")
        child.info("child")
        records = flushed(c, mem)
        assert [("parent", {}), ("child", {"request_id": "r-1"})] == [
            (r.body, r.attributes) for r in records
        ]

    def test_bind_chains(self, make_container: Any) -> None:
        """bind() on a bound logger keeps the earlier bindings; later values win."""
        c, mem = make_container()
        log = c.get_logger("t").bind(a=1, b=1).bind(b=2, c=3)
        log.info("x")
        assert {"a": 1, "b": 2, "c": 3} == only(c, mem).attributes

    def test_bound_logger_keeps_scope(self, make_container: Any) -> None:
        """A bound logger logs under the parent's scope name."""
        c, mem = make_container()
        c.get_logger("orders").bind(a=1).info("x")
        assert "orders" == only(c, mem).scope.name

    def test_bound_values_are_frozen_at_bind(self, make_container: Any) -> None:
        """A list bound and then mutated is logged as it was when bound."""
        c, mem = make_container()
        items = [1, 2]
        log = c.get_logger("t").bind(items=items)
        items.append(3)
        log.info("x")
        assert [1, 2] == only(c, mem).attributes["items"]

    def test_precedence_context_then_bound_then_call(self, make_container: Any) -> None:
        """Call keywords beat logger-bound attributes, which beat context-bound ones."""
        c, mem = make_container()
        log = c.get_logger("t").bind(k="bound", b="bound")
        with fo.bound_contextvars(k="ctx", b="ctx", x="ctx"):
            log.info("m", k="call")
        assert {"k": "call", "b": "bound", "x": "ctx"} == only(c, mem).attributes

    def test_contextvars_apply_only_inside_block(self, make_container: Any) -> None:
        """bound_contextvars attributes are present inside the block and gone after it."""
        c, mem = make_container()
        log = c.get_logger("t")
        with fo.bound_contextvars(request_id="r-9"):
            log.info("in")
        log.info("out")
        assert [{"request_id": "r-9"}, {}] == [r.attributes for r in flushed(c, mem)]

    def test_bind_contextvars_and_unbind(self, make_container: Any) -> None:
        """bind_contextvars adds attributes until unbound or cleared."""
        c, mem = make_container()
        log = c.get_logger("t")
        try:
            fo.bind_contextvars(a=1, b=2)
            log.info("both")
            fo.unbind_contextvars("a")
            log.info("b only")
        finally:
            fo.clear_contextvars()
        log.info("none")
        assert [{"a": 1, "b": 2}, {"b": 2}, {}] == [r.attributes for r in flushed(c, mem)]


class TestTraceContext:
    def test_ids_come_from_the_current_span(self, make_container: Any) -> None:
        """Inside a span the record carries its trace id, span id and flags."""
        c, mem = make_container()
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("op") as span:
            c.get_logger("t").info("in span")
            ctx = span.get_span_context()
        record = only(c, mem)
        assert (ctx.trace_id, ctx.span_id, int(ctx.trace_flags)) == (
            record.trace_id,
            record.span_id,
            record.trace_flags,
        )
        assert 0 != record.trace_id
        assert 1 == record.trace_flags & 1  # sampled

    def test_ids_are_zero_outside_a_span(self, make_container: Any) -> None:
        """Outside any span trace_id, span_id and trace_flags are 0."""
        c, mem = make_container()
        c.get_logger("t").info("no span")
        record = only(c, mem)
        assert (0, 0, 0) == (record.trace_id, record.span_id, record.trace_flags)

    def test_ids_are_captured_at_the_call(self, make_container: Any) -> None:
        """Records logged in two sibling spans carry each span's own id."""
        c, mem = make_container()
        tracer = TracerProvider().get_tracer("test")
        expected = []
        for name in ("a", "b"):
            with tracer.start_as_current_span(name) as span:
                c.get_logger("t").info(name)
                expected.append(span.get_span_context().span_id)
        assert expected == [r.span_id for r in flushed(c, mem)]

    def test_exception_and_event_carry_span_ids(self, make_container: Any) -> None:
        """exception() and event() capture the current span too."""
        c, mem = make_container()
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("op") as span:
            log = c.get_logger("t")
            log.event("e")
            log.exception("x")
            span_id = span.get_span_context().span_id
        assert [span_id, span_id] == [r.span_id for r in flushed(c, mem)]


class TestTimestamps:
    def test_timestamp_is_the_call_time(self, make_container: Any) -> None:
        """timestamp lies between the times read just before and after the call."""
        c, mem = make_container()
        before = time.time_ns()
        c.get_logger("t").info("x")
        after = time.time_ns()
        record = only(c, mem)
        assert before <= record.timestamp <= after

    @pytest.mark.parametrize("method", ["info", "event", "exception", "log"])
    def test_observed_timestamp_equals_timestamp(self, make_container: Any, method: str) -> None:
        """Records made by a logger have observed_timestamp == timestamp."""
        c, mem = make_container()
        log = c.get_logger("t")
        if method == "log":
            log.log("info", "x")
        else:
            getattr(log, method)("x")
        record = only(c, mem)
        assert record.timestamp == record.observed_timestamp
        assert 0 < record.timestamp


class TestFreezing:
    def test_list_mutated_after_call_is_unchanged(self, make_container: Any) -> None:
        """A list attribute mutated after the call is logged as it was at the call."""
        c, mem = make_container()
        items = [1, 2]
        c.get_logger("t").info("x", items=items)
        items.append(3)
        assert [1, 2] == only(c, mem).attributes["items"]

    def test_nested_values_are_frozen(self, make_container: Any) -> None:
        """Dicts and lists nested in an attribute are copied at the call."""
        c, mem = make_container()
        value: dict[str, Any] = {"a": [1, {"b": [2]}], "c": {"d": 1}}
        c.get_logger("t").info("x", v=value, s="plain")
        value["a"][1]["b"].append(3)
        value["c"]["d"] = 99
        value["new"] = True
        assert {"a": [1, {"b": [2]}], "c": {"d": 1}} == only(c, mem).attributes["v"]

    def test_mutable_values_after_immutable_ones_are_frozen(self, make_container: Any) -> None:
        """A mutable value is frozen even when it follows immutable ones in the keywords."""
        c, mem = make_container()
        items = [1]
        c.get_logger("t").info("x", a=1, b="s", c=items)
        items.append(2)
        assert [1] == only(c, mem).attributes["c"]

    def test_dict_body_is_frozen(self, make_container: Any) -> None:
        """A dict message body is logged as a dict, as it was at the call."""
        c, mem = make_container()
        body: dict[str, Any] = {"event": "x", "items": [1]}
        c.get_logger("t").info(body)
        body["items"].append(2)
        assert {"event": "x", "items": [1]} == only(c, mem).body

    def test_event_and_exception_attributes_are_frozen(self, make_container: Any) -> None:
        """event() and exception() freeze their keyword values too."""
        c, mem = make_container()
        items = [1]
        log = c.get_logger("t")
        log.event("e", items=items)
        log.exception("x", items=items)
        items.append(2)
        assert [[1], [1]] == [r.attributes["items"] for r in flushed(c, mem)]

    def test_context_values_are_frozen_at_bind(self, make_container: Any) -> None:
        """A list bound to the context and then mutated is logged as it was when bound."""
        c, mem = make_container()
        items = [1]
        with fo.bound_contextvars(items=items):
            items.append(2)
            c.get_logger("t").info("x")
        assert [1] == only(c, mem).attributes["items"]


class TestBodies:
    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            (None, None),
            (42, 42),
            (1.5, 1.5),
            (True, True),
            (b"raw", b"raw"),
            ({"k": "v"}, {"k": "v"}),
            ([1, "a"], [1, "a"]),
        ],
    )
    def test_non_str_bodies_are_kept(self, make_container: Any, body: Any, expected: Any) -> None:
        """A message that is not a str is kept as that value (frozen), not stringified."""
        c, mem = make_container()
        c.get_logger("t").info(body)
        assert expected == only(c, mem).body

    def test_arbitrary_object_body_becomes_its_str(self, make_container: Any) -> None:
        """An arbitrary object as message is logged as its str() at the call."""

        class Thing:
            def __str__(self) -> str:
                return "a thing"

        c, mem = make_container()
        c.get_logger("t").info(Thing())
        assert "a thing" == only(c, mem).body


class TestScopeAndResource:
    def test_scope_name_is_logger_name(self, make_container: Any) -> None:
        """Each logger's name becomes the record's instrumentation scope name."""
        c, mem = make_container()
        c.get_logger("checkout").info("a")
        c.get_logger("billing.invoices").info("b")
        assert ["checkout", "billing.invoices"] == [r.scope.name for r in flushed(c, mem)]

    def test_logger_without_name_has_root_scope(self, make_container: Any) -> None:
        """get_logger() without a name logs under the scope 'root'."""
        c, mem = make_container()
        c.get_logger().info("a")
        assert "root" == only(c, mem).scope.name

    def test_get_logger_returns_the_same_logger(self, make_container: Any) -> None:
        """The container hands out one logger per name."""
        c, _ = make_container()
        assert c.get_logger("x") is c.get_logger("x")
        assert "x" == c.get_logger("x").name

    def test_record_carries_container_resource(self, make_container: Any) -> None:
        """The record's resource has the container's service.name."""
        c, mem = make_container(service_name="svc-logger")
        c.get_logger("t").info("x")
        assert "svc-logger" == only(c, mem).resource.attributes["service.name"]
