"""Re-entrancy: exporters and processors that log, flush or shut down their own container
from inside the pipeline must neither deadlock nor loop."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

import fapilog_otel as fo
from fapilog_otel.record import LogRecord

#: Correctness bound for calls that must return "at once" instead of waiting out a timeout.
PROMPT = 2.0


class SelfAware:
    """An exporter that is handed its container after construction."""

    name = "self-aware"

    def __init__(self) -> None:
        self.container: fo.Container | None = None
        self.records: list[LogRecord] = []
        self.results: list[Any] = []
        self.durations: list[float] = []

    def export(self, batch: Sequence[LogRecord]) -> None:
        self.records.extend(batch)
        assert self.container is not None
        start = time.monotonic()
        self.results.append(self.inside(self.container))
        self.durations.append(time.monotonic() - start)

    def inside(self, container: fo.Container) -> Any:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        return None


class LoggingExporter(SelfAware):
    """Logs to its own container on every export, with every kind of call."""

    def inside(self, container: fo.Container) -> Any:
        log = container.get_logger("inside")
        log.info("from export")
        log.bind(k=1).warning("bound from export")
        log.event("inside.event")
        log.log("error", "via log")
        try:
            raise ValueError("inner")
        except ValueError:
            log.exception("exception from export")
        return 5


class FlushingExporter(SelfAware):
    """Calls flush() on its own container inside export."""

    def inside(self, container: fo.Container) -> Any:
        return container.flush(30.0)


class ShuttingDownExporter(SelfAware):
    """Calls shutdown() on its own container inside export."""

    def inside(self, container: fo.Container) -> Any:
        return container.shutdown(30.0)


def body_set(records: list[LogRecord]) -> set[Any]:
    """The bodies of ``records``, leaving out the library's own drop reports."""
    return {r.body for r in records if r.scope.name != "fapilog_otel"}


class TestLoggingInsideExport:
    def test_logging_inside_export_is_dropped_as_reentrant(self, make_container: Any) -> None:
        """Records logged by an exporter into its own container are counted, never looped."""
        exporter = LoggingExporter()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        assert True is c.flush(5.0)
        c.get_logger("app").info("outside 2")
        assert True is c.flush(5.0)
        stats = c.stats()
        assert {"outside", "outside 2"} == body_set(exporter.records)
        assert 5 * len(exporter.results) == stats["dropped"]["reentrant"]
        assert (2, 2) == (stats["submitted"] - stats["dropped"]["reentrant"], stats["exported"])

    def test_logging_exporter_does_not_keep_an_idle_container_busy(
        self, make_container: Any
    ) -> None:
        """Drop reports of reentrant records do not feed an endless export loop when idle."""
        exporter = LoggingExporter()
        c, _ = make_container(exporters=[exporter], drop_report_interval=0.01)
        exporter.container = c
        for _ in range(3):
            c.get_logger("app").info("outside")
            c.flush(5.0)
        settled = len(exporter.records)
        # No flush can show that nothing more happens: watch the idle container briefly.
        time.sleep(0.3)
        assert len(exporter.records) - settled <= 1

    def test_async_exporter_logging_is_dropped_as_reentrant(self, make_container: Any) -> None:
        """An async exporter awaiting the async logger of its own container does not loop."""

        class AsyncLogging:
            name = "async-logging"

            def __init__(self) -> None:
                self.container: fo.Container | None = None
                self.records: list[LogRecord] = []

            async def export(self, batch: Sequence[LogRecord]) -> None:
                self.records.extend(batch)
                assert self.container is not None
                await self.container.get_async_logger("inside").info("from async export")
                self.container.get_logger("inside").info("sync from async export")

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                return True

            def shutdown(self) -> None:
                return None

        exporter = AsyncLogging()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        assert True is c.flush(5.0)
        assert {"outside"} == body_set(exporter.records)
        assert 2 == c.stats()["dropped"]["reentrant"]

    def test_processor_logging_is_dropped_as_reentrant(self, make_container: Any) -> None:
        """A processor that logs into its container has those records counted as reentrant."""

        class LoggingProcessor:
            name = "logging-processor"
            container: fo.Container | None = None

            def process(self, record: LogRecord) -> LogRecord:
                assert self.container is not None
                self.container.get_logger("proc").info("from processor")
                return record

        processor = LoggingProcessor()
        c, mem = make_container(processors=[processor])
        processor.container = c
        for _ in range(3):
            c.get_logger("app").info("outside")
        assert True is c.flush(5.0)
        assert (3, 3) == (len(mem.records), c.stats()["dropped"]["reentrant"])

    def test_context_binding_inside_export_is_harmless(self, make_container: Any) -> None:
        """Binding context inside export neither raises nor lets export logs through."""

        class Binding(SelfAware):
            def inside(self, container: fo.Container) -> Any:
                with fo.bound_contextvars(x=1):
                    fo.bind_contextvars(y=2)
                    container.get_logger("inside").info("bound inside")
                fo.clear_contextvars()
                container.get_logger("inside").info("after clear")
                return fo.get_contextvars()

        exporter = Binding()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        assert True is c.flush(5.0)
        assert ({"outside"}, 2) == (body_set(exporter.records), c.stats()["dropped"]["reentrant"])


class TestFlushAndShutdownInsideExport:
    def test_flush_inside_export_returns_false_at_once(self, make_container: Any) -> None:
        """flush() called from inside export returns False immediately instead of deadlocking."""
        exporter = FlushingExporter()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        assert True is c.flush(5.0)
        assert [False] == exporter.results
        assert exporter.durations[0] < PROMPT

    def test_aflush_inside_async_export_returns_false(self, make_container: Any) -> None:
        """aflush() awaited from inside an async export returns False instead of hanging."""

        class AsyncFlushing:
            name = "async-flushing"

            def __init__(self) -> None:
                self.container: fo.Container | None = None
                self.results: list[bool] = []

            async def export(self, batch: Sequence[LogRecord]) -> None:
                assert self.container is not None
                self.results.append(await self.container.aflush(30.0))

        exporter = AsyncFlushing()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        start = time.monotonic()
        c.flush(10.0)
        assert time.monotonic() - start < PROMPT
        assert [False] == exporter.results

    def test_shutdown_inside_export_does_not_deadlock(self, make_container: Any) -> None:
        """shutdown() from inside export returns False at once and the container stops."""
        exporter = ShuttingDownExporter()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        start = time.monotonic()
        c.flush(5.0)
        assert time.monotonic() - start < PROMPT
        assert [False] == exporter.results
        assert True is c.is_shutdown
        start = time.monotonic()
        c.shutdown(5.0)
        assert time.monotonic() - start < PROMPT
        c.get_logger("app").info("late")
        assert 1 == c.stats()["dropped"]["shutdown"]

    def test_second_shutdown_after_one_from_inside_reports_success(
        self, make_container: Any
    ) -> None:
        """After a shutdown from inside export, a later shutdown() returns True: all delivered."""
        exporter = ShuttingDownExporter()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        c.get_logger("app").info("outside")
        c.flush(5.0)
        assert True is c.shutdown(5.0)
        assert (1, 0) == (c.stats()["exported"], c.stats()["queued"])


@pytest.fixture
def stdlib_bridge() -> Iterator[Any]:
    """The stdlib bridge module, or skip when it is not available."""
    module = pytest.importorskip("fapilog_otel.stdlib")
    yield module


class TestStdlibInsideExport:
    def test_stdlib_logging_inside_export_does_not_loop(
        self, make_container: Any, stdlib_bridge: Any
    ) -> None:
        """With the stdlib bridge installed, stdlib logging inside export is not re-queued."""

        class StdlibLogging(SelfAware):
            def inside(self, container: fo.Container) -> Any:
                logging.getLogger("exporter.internal").warning("sending %d records", 1)
                return None

        exporter = StdlibLogging()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        target = logging.getLogger("reentrancy-test")
        target.propagate = False
        internal = logging.getLogger("exporter.internal")
        old_level = target.level
        handler = stdlib_bridge.install(c, logger=target, level=logging.INFO)
        # The exporter's logger feeds the same handler, as it would under the root logger.
        internal.addHandler(handler)
        internal.propagate = False
        try:
            target.info("from the app")
            assert True is c.flush(5.0)
            target.info("again")
            assert True is c.flush(5.0)
        finally:
            internal.removeHandler(handler)
            internal.propagate = True
            stdlib_bridge.uninstall(handler)
            target.setLevel(old_level)
            target.propagate = True
        assert {"from the app", "again"} == body_set(exporter.records)
        assert len(exporter.results) == c.stats()["dropped"]["reentrant"]

    def test_diagnostics_do_not_go_through_stdlib(
        self, make_container: Any, stdlib_bridge: Any
    ) -> None:
        """Internal warnings (a raising exporter) never reach a stdlib handler on the root."""

        class Raising:
            name = "raising"

            def export(self, batch: Sequence[LogRecord]) -> None:
                raise RuntimeError("down")

        captured: list[logging.LogRecord] = []

        class Collect(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                captured.append(record)

        root = logging.getLogger()
        collect = Collect()
        root.addHandler(collect)
        try:
            c, _ = make_container(exporters=[Raising()], diagnostics=True)
            c.get_logger("app").info("x")
            c.flush(5.0)
        finally:
            root.removeHandler(collect)
        assert [] == [r for r in captured if "fapilog" in r.name or "down" in r.getMessage()]


class TestProviderInsideExport:
    def test_sdk_provider_emit_inside_export_is_reentrant(self, make_container: Any) -> None:
        """Emitting through the container's SDK provider inside export does not loop."""
        pytest.importorskip("fapilog_otel._sdk")

        class ProviderLogging(SelfAware):
            def inside(self, container: fo.Container) -> Any:
                container.logger_provider.get_logger("lib").emit(body="from provider")
                return None

        exporter = ProviderLogging()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c
        _ = c.logger_provider
        c.get_logger("app").info("outside")
        assert True is c.flush(5.0)
        assert ({"outside"}, 1) == (body_set(exporter.records), c.stats()["dropped"]["reentrant"])


class TestOtherThreads:
    def test_application_threads_are_not_marked(self, make_container: Any) -> None:
        """Threads started by the application (even from an export) are not pipeline threads."""

        class Spawning(SelfAware):
            def inside(self, container: fo.Container) -> Any:
                marked: list[bool] = []
                t = threading.Thread(target=lambda: marked.append(container._is_pipeline_thread()))
                t.start()
                t.join()
                return (container._is_pipeline_thread(), marked[0])

        exporter = Spawning()
        c, _ = make_container(exporters=[exporter])
        exporter.container = c

        def work() -> None:
            c.get_logger("thread").info("from thread")

        t = threading.Thread(target=work)
        t.start()
        t.join()
        assert True is c.flush(5.0)
        assert {"from thread"} == body_set(exporter.records)
        assert [(True, False)] == exporter.results
        assert 0 == c.stats()["dropped"].get("reentrant", 0)
