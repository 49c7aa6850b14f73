"""The stdlib logging bridge: FapilogHandler, install, uninstall and the level mapping."""

from __future__ import annotations

import logging
import logging.config
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from fapilog_otel import _default, _raw
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.stdlib import FapilogHandler, install, severity_number, uninstall

RESOURCE = Resource({"service.name": "bridge-test"})


class FakeContainer:
    """Stands in for Container._submit_raw / _is_pipeline_thread: collects the raw tuples."""

    def __init__(self) -> None:
        self.raws: list[tuple[Any, ...]] = []

    def _submit_raw(self, raw: tuple[Any, ...]) -> None:
        self.raws.append(raw)

    def _is_pipeline_thread(self) -> bool:
        return False

    def records(self) -> list[LogRecord]:
        return [_raw.to_record(raw, RESOURCE) for raw in self.raws]


class RaisingContainer(FakeContainer):
    """A container whose submit fails, to prove the handler swallows and counts."""

    def _submit_raw(self, raw: tuple[Any, ...]) -> None:
        raise RuntimeError("queue closed")


@pytest.fixture
def container() -> FakeContainer:
    return FakeContainer()


@pytest.fixture
def default_container() -> Iterator[FakeContainer]:
    """Make a fake container the default container for the test, then restore the old one."""
    fake = FakeContainer()
    old = _default.set_default_container(fake)  # type: ignore[arg-type]
    try:
        yield fake
    finally:
        _default.set_default_container(old)


def _logger_with(handler: logging.Handler) -> Iterator[logging.Logger]:
    logger = logging.getLogger(f"tests.stdlib.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(1)
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def logger(container: FakeContainer) -> Iterator[logging.Logger]:
    yield from _logger_with(FapilogHandler(container))


def make_stdlib_record(msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    """Return a stdlib record as a logger would make it, for handing to the handler directly.

    Used where a record must not pass through pytest's own capture handlers, which pytest
    also adds to non-propagating loggers.
    """
    return logging.LogRecord("tests.stdlib.direct", level, __file__, 1, msg, args, None)


def single(container: FakeContainer) -> LogRecord:
    """Return the one record the container received."""
    (record,) = container.records()
    return record


class TestSeverityNumber:
    @pytest.mark.parametrize(
        ("levelno", "expected"),
        [
            (-5, 0),
            (0, 0),
            (1, 1),
            (4, 1),
            (5, 1),
            (6, 2),
            (7, 3),
            (8, 4),
            (9, 4),
            (10, 5),
            (11, 6),
            (12, 7),
            (13, 8),
            (19, 8),
            (20, 9),
            (21, 10),
            (22, 11),
            (23, 12),
            (29, 12),
            (30, 13),
            (31, 14),
            (33, 16),
            (40, 17),
            (42, 19),
            (49, 20),
            (50, 21),
            (51, 22),
            (52, 23),
            (53, 24),
            (59, 24),
            (60, 24),
            (1000, 24),
        ],
    )
    def test_table(self, levelno: int, expected: int) -> None:
        """Level numbers map onto the OTel severity ranges as the spec's table says."""
        assert expected == severity_number(levelno)

    @pytest.mark.parametrize(
        ("level", "expected"),
        [
            (logging.DEBUG, (5, "DEBUG")),
            (logging.INFO, (9, "INFO")),
            (logging.WARNING, (13, "WARNING")),
            (logging.ERROR, (17, "ERROR")),
            (logging.CRITICAL, (21, "CRITICAL")),
        ],
    )
    def test_standard_levels_through_handler(
        self,
        container: FakeContainer,
        logger: logging.Logger,
        level: int,
        expected: tuple[int, str],
    ) -> None:
        """Records at the standard levels carry the spec number and the stdlib level name."""
        logger.log(level, "x")

        record = single(container)
        assert expected == (record.severity_number, record.severity_text)


class TestFapilogHandler:
    def test_basic_mapping(self, container: FakeContainer, logger: logging.Logger) -> None:
        """Message, extras, logger name, resource and timestamps are mapped."""
        logger.info("order %s placed", 123, extra={"order_id": 123, "vip": True})

        record = single(container)
        assert ("order 123 placed", {"order_id": 123, "vip": True}) == (
            record.body,
            record.attributes,
        )
        assert (Scope(logger.name), RESOURCE) == (record.scope, record.resource)
        assert (None, 0) == (record.event_name, record.trace_id)
        assert record.timestamp <= record.observed_timestamp

    def test_timestamp_from_record_created(self, container: FakeContainer) -> None:
        """The timestamp is the stdlib record's creation time in nanoseconds."""
        stdlib_record = make_stdlib_record("m")
        stdlib_record.created = 1_700_000_000.5

        FapilogHandler(container).handle(stdlib_record)

        assert 1_700_000_000_500_000_000 == single(container).timestamp

    def test_custom_level_name_kept(self, container: FakeContainer) -> None:
        """A custom level keeps its name as severity text and maps within its range."""
        stdlib_record = make_stdlib_record("notice", level=25)
        stdlib_record.levelname = "NOTICE"

        FapilogHandler(container).handle(stdlib_record)

        record = single(container)
        assert (12, "NOTICE") == (record.severity_number, record.severity_text)

    def test_bad_format_arguments(self, container: FakeContainer) -> None:
        """A message that fails to format keeps the raw message and records why."""
        handler = FapilogHandler(container)

        handler.handle(make_stdlib_record("%d items", "many"))

        record = single(container)
        assert "%d items" == record.body
        assert record.attributes["logging.format_error"].startswith("TypeError: ")

    def test_exception(self, container: FakeContainer, logger: logging.Logger) -> None:
        """exc_info becomes the OTel exception attributes."""
        try:
            raise ValueError("bad amount")
        except ValueError:
            logger.exception("payment failed")

        record = single(container)
        assert ("ValueError", "bad amount", 17) == (
            record.attributes["exception.type"],
            record.attributes["exception.message"],
            record.severity_number,
        )
        assert "raise ValueError" in record.attributes["exception.stacktrace"]

    def test_user_exception_attributes_win(
        self, container: FakeContainer, logger: logging.Logger
    ) -> None:
        """An exception.* extra given by the user is not overwritten."""
        try:
            raise ValueError("bad amount")
        except ValueError:
            logger.error("failed", exc_info=True, extra={"exception.type": "Custom"})

        assert "Custom" == single(container).attributes["exception.type"]

    def test_event_name_extra(self, container: FakeContainer, logger: logging.Logger) -> None:
        """An otel.event.name extra becomes the event name and leaves the attributes."""
        logger.info("", extra={"otel.event.name": "user.login", "user_id": 7})

        record = single(container)
        assert ("user.login", {"user_id": 7}) == (record.event_name, record.attributes)

    def test_span_captured(self, container: FakeContainer, logger: logging.Logger) -> None:
        """The span current at the call gives the record its trace ids."""
        tracer = TracerProvider().get_tracer("test")

        with tracer.start_as_current_span("work") as span:
            logger.info("in span")
        logger.info("after span")

        inside, outside = container.records()
        expected = span.get_span_context()
        assert (expected.trace_id, expected.span_id, int(expected.trace_flags)) == (
            inside.trace_id,
            inside.span_id,
            inside.trace_flags,
        )
        assert (0, 0) == (outside.trace_id, outside.span_id)

    def test_code_attributes_opt_in(self, container: FakeContainer) -> None:
        """code.* attributes appear only when the handler was asked for them."""
        for handler in (FapilogHandler(container), FapilogHandler(container, code_attributes=True)):
            for logger in _logger_with(handler):
                logger.info("where")

        without, with_code = container.records()
        assert {} == without.attributes
        assert (__file__, "test_code_attributes_opt_in") == (
            with_code.attributes["code.file.path"],
            with_code.attributes["code.function.name"],
        )
        assert isinstance(with_code.attributes["code.line.number"], int)

    def test_stack_info(self, container: FakeContainer, logger: logging.Logger) -> None:
        """stack_info=True is kept as code.stacktrace."""
        logger.info("here", stack_info=True)

        assert "Stack (most recent call last)" in single(container).attributes["code.stacktrace"]

    def test_extra_values_frozen(self, container: FakeContainer, logger: logging.Logger) -> None:
        """Changing an extra value after the call does not change the record."""
        items = ["a"]

        logger.info("cart", extra={"items": items})
        items.append("b")

        assert {"items": ["a"]} == single(container).attributes

    def test_own_loggers_ignored(self, container: FakeContainer) -> None:
        """Records of fapilog_otel's own loggers never re-enter the pipeline."""
        handler = FapilogHandler(container)

        for name in ("fapilog_otel", "fapilog_otel.worker"):
            record = make_stdlib_record("internal")
            record.name = name
            handler.handle(record)

        assert ([], 0) == (container.raws, handler.errors)

    def test_handler_level_and_filters(self, container: FakeContainer) -> None:
        """The handler's level and filters still apply."""
        handler = FapilogHandler(container, level=logging.WARNING)
        handler.addFilter(lambda record: "secret" not in record.getMessage())

        for logger in _logger_with(handler):
            logger.info("too low")
            logger.warning("secret stuff")
            logger.warning("kept")

        assert ["kept"] == [record.body for record in container.records()]

    def test_errors_counted_never_raised(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A failing container is counted, and nothing is raised or printed."""
        handler = FapilogHandler(RaisingContainer())

        for logger in _logger_with(handler):
            logger.info("lost")

        assert (1, "queue closed", "") == (
            handler.errors,
            str(handler.last_error),
            capsys.readouterr().err,
        )

    def test_default_container_resolved_per_record(self, default_container: FakeContainer) -> None:
        """Without a container the handler follows the default container, record by record."""
        replacement = FakeContainer()

        for logger in _logger_with(FapilogHandler()):
            logger.info("first")
            _default.set_default_container(replacement)  # type: ignore[arg-type]
            logger.info("second")

        assert (["first"], ["second"]) == (
            [r.body for r in default_container.records()],
            [r.body for r in replacement.records()],
        )


class TestInstall:
    def test_install_attaches_and_sets_level(self, container: FakeContainer) -> None:
        """install attaches a handler to the named logger and sets its level."""
        name = f"tests.stdlib.install.{uuid.uuid4().hex}"

        handler = install(container, level=logging.WARNING, logger=name)
        try:
            target = logging.getLogger(name)
            target.propagate = False
            target.info("dropped by level")
            target.warning("kept")
        finally:
            uninstall(handler)

        assert (logging.WARNING, ["kept"]) == (
            target.level,
            [r.body for r in container.records()],
        )

    def test_install_is_idempotent_per_container(self, container: FakeContainer) -> None:
        """Installing twice for one container returns the first handler; another gets its own."""
        target = logging.getLogger(f"tests.stdlib.install.{uuid.uuid4().hex}")

        first = install(container, logger=target)
        second = install(container, logger=target)
        other = install(FakeContainer(), logger=target)
        try:
            handlers = list(target.handlers)
        finally:
            uninstall(first)
            uninstall(other)

        assert (True, [first, other], []) == (first is second, handlers, target.handlers)

    def test_install_on_root_by_default(self, container: FakeContainer) -> None:
        """Without a logger, install uses the root logger; uninstall removes it again."""
        root = logging.getLogger()
        level = root.level

        handler = install(container, level=logging.DEBUG)
        try:
            installed = handler in root.handlers
        finally:
            uninstall(handler)
            root.setLevel(level)

        assert (True, False) == (installed, handler in root.handlers)


class TestDictConfig:
    def test_docstring_example_config(self, default_container: FakeContainer) -> None:
        """The module docstring's dictConfig handler entry builds a working handler."""
        name = f"tests.stdlib.dictconfig.{uuid.uuid4().hex}"

        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {
                    "otel": {
                        "()": "fapilog_otel.stdlib.FapilogHandler",
                        "level": "INFO",
                        "code_attributes": True,
                    },
                },
                "loggers": {name: {"level": "INFO", "handlers": ["otel"], "propagate": False}},
            }
        )
        target = logging.getLogger(name)
        try:
            target.debug("below level")
            target.info("configured")
        finally:
            for handler in list(target.handlers):
                target.removeHandler(handler)

        record = single(default_container)
        assert ("configured", "test_docstring_example_config") == (
            record.body,
            record.attributes["code.function.name"],
        )
