"""The Container: isolation between containers, lifecycle (flush, shutdown, context managers),
the resource, the 'none' exporter and the logger provider. The processor chain is tested in
test_container_processors.py."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord

THREADS = 4
PER_THREAD = 250
TASKS = 50
PER_TASK = 10


class CountingExporter(InMemoryExporter):
    """An in-memory exporter that also counts its shutdown calls."""

    def __init__(self) -> None:
        super().__init__()
        self.shutdowns = 0

    def shutdown(self) -> None:
        self.shutdowns += 1
        super().shutdown()


class RaisingExporter:
    """An exporter whose every export raises."""

    name = "raising"

    def export(self, batch: Sequence[LogRecord]) -> None:
        raise RuntimeError("export failed")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        return None


class HangingExporter:
    """An exporter whose export blocks until released."""

    name = "hanging"

    def __init__(self) -> None:
        self.release = threading.Event()

    def export(self, batch: Sequence[LogRecord]) -> None:
        self.release.wait(30)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self.release.set()


def log_from_threads(container: fo.Container, tag: str) -> None:
    """Log PER_THREAD records from each of THREADS threads to ``container``."""

    def work(i: int) -> None:
        log = container.get_logger(f"thread-{i}")
        for n in range(PER_THREAD):
            log.info("t", tag=tag, thread=i, n=n)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


async def log_from_tasks(container: fo.Container, tag: str) -> None:
    """Log PER_TASK records from each of TASKS tasks to ``container``."""

    async def work(i: int) -> None:
        alog = container.get_async_logger(f"task-{i}")
        for n in range(PER_TASK):
            await alog.info("a", tag=tag, task=i, n=n)
            await asyncio.sleep(0)

    await asyncio.gather(*(work(i) for i in range(TASKS)))


class TestIsolation:
    def test_each_exporter_gets_exactly_its_containers_records(self, make_container: Any) -> None:
        """Two containers used from threads and tasks at once never exchange records."""
        c1, m1 = make_container(service_name="svc-a")
        c2, m2 = make_container(service_name="svc-b")

        async def tasks() -> None:
            await asyncio.gather(log_from_tasks(c1, "a"), log_from_tasks(c2, "b"))

        runner = threading.Thread(target=asyncio.run, args=(tasks(),))
        runner.start()
        t1 = threading.Thread(target=log_from_threads, args=(c1, "a"))
        t2 = threading.Thread(target=log_from_threads, args=(c2, "b"))
        t1.start()
        t2.start()
        for t in (runner, t1, t2):
            t.join()
        assert c1.flush(10.0)
        assert c2.flush(10.0)
        expected = THREADS * PER_THREAD + TASKS * PER_TASK
        for exporter, tag, service in ((m1, "a", "svc-a"), (m2, "b", "svc-b")):
            assert expected == len(exporter.records)
            assert {tag} == {r.attributes["tag"] for r in exporter.records}
            assert {service} == {r.resource.attributes["service.name"] for r in exporter.records}
        for c in (c1, c2):
            stats = c.stats()
            assert (expected, expected, 0, 0, {}) == (
                stats["submitted"],
                stats["exported"],
                stats["failed"],
                stats["queued"],
                {k: v for k, v in stats["dropped"].items() if v},
            )

    def test_per_thread_order_is_kept(self, make_container: Any) -> None:
        """Records of one thread arrive in the order that thread logged them."""
        c, mem = make_container()
        log_from_threads(c, "x")
        assert c.flush(10.0)
        for i in range(THREADS):
            ns = [r.attributes["n"] for r in mem.records if r.attributes["thread"] == i]
            assert list(range(PER_THREAD)) == ns

    def test_stats_are_per_container(self, make_container: Any) -> None:
        """Logging to one container leaves the other container's stats at zero."""
        c1, _ = make_container()
        c2, _ = make_container()
        for _ in range(7):
            c1.get_logger("x").info("m")
        assert c1.flush(5.0)
        assert (7, 0) == (c1.stats()["submitted"], c2.stats()["submitted"])
        assert (7, 0) == (c1.stats()["exported"], c2.stats()["exported"])

    def test_shutdown_of_one_leaves_the_other_working(self, make_container: Any) -> None:
        """After one container shuts down the other keeps delivering."""
        c1, m1 = make_container()
        c2, m2 = make_container()
        assert c1.shutdown(5.0)
        c1.get_logger("x").info("late")
        c2.get_logger("x").info("alive")
        assert c2.flush(5.0)
        assert ([], ["alive"]) == ([r.body for r in m1.records], [r.body for r in m2.records])
        assert 1 == c1.stats()["dropped"].get("shutdown", 0)
        assert False is m2.is_shutdown

    def test_same_logger_name_in_two_containers_are_distinct(self, make_container: Any) -> None:
        """get_logger('x') of two containers returns different loggers."""
        c1, _ = make_container()
        c2, _ = make_container()
        assert c1.get_logger("x") is not c2.get_logger("x")


class TestLifecycle:
    def test_with_block_shuts_down(self, make_container: Any) -> None:
        """Leaving a with block delivers what was logged and shuts the exporter down."""
        mem = CountingExporter()
        c, _ = make_container(exporters=[mem])
        with c as entered:
            assert c is entered
            c.get_logger("x").info("inside")
        assert True is c.is_shutdown
        assert (["inside"], 1) == ([r.body for r in mem.records], mem.shutdowns)

    def test_async_with_block_shuts_down(self, make_container: Any) -> None:
        """Leaving an async with block delivers what was logged and shuts down."""
        mem = CountingExporter()
        c, _ = make_container(exporters=[mem])

        async def main() -> None:
            async with c as entered:
                assert c is entered
                await c.get_async_logger("x").info("inside")

        asyncio.run(main())
        assert True is c.is_shutdown
        assert (["inside"], 1) == ([r.body for r in mem.records], mem.shutdowns)

    def test_with_block_shuts_down_on_error(self, make_container: Any) -> None:
        """A with block left by an exception still shuts down and lets the error through."""
        mem = CountingExporter()
        c, _ = make_container(exporters=[mem])
        with pytest.raises(KeyError), c:
            c.get_logger("x").info("inside")
            raise KeyError("k")
        assert (True, ["inside"]) == (c.is_shutdown, [r.body for r in mem.records])

    def test_shutdown_is_idempotent(self, make_container: Any) -> None:
        """A second shutdown returns the first result and does not shut exporters again."""
        mem = CountingExporter()
        c, _ = make_container(exporters=[mem])
        c.get_logger("x").info("m")
        first = c.shutdown(5.0)
        second = c.shutdown(5.0)
        assert (True, True, 1) == (first, second, mem.shutdowns)

    def test_failed_shutdown_is_idempotent_and_does_not_wait_again(
        self, make_container: Any
    ) -> None:
        """With a hung exporter shutdown returns False, and again False without waiting."""
        hang = HangingExporter()
        c, _ = make_container(exporters=[hang], batch={"export_timeout_ms": 10_000})
        try:
            c.get_logger("x").info("m")
            assert False is c.shutdown(0.3)
            start = time.monotonic()
            assert False is c.shutdown(5.0)
            assert time.monotonic() - start < 1.0
        finally:
            hang.release.set()

    def test_aclose_and_ashutdown(self, make_container: Any) -> None:
        """ashutdown() delivers and aclose() afterwards returns the same result."""
        c, mem = make_container()

        async def main() -> tuple[bool, bool]:
            await c.get_async_logger("x").info("m")
            return await c.ashutdown(5.0), await c.aclose(5.0)

        assert (True, True) == asyncio.run(main())
        assert ["m"] == [r.body for r in mem.records]

    @pytest.mark.parametrize("method", ["info", "error", "event", "exception", "log"])
    def test_logging_after_shutdown_counts_shutdown_drops(
        self, make_container: Any, method: str
    ) -> None:
        """Every kind of call after shutdown is counted as dropped with reason shutdown."""
        c, mem = make_container()
        log = c.get_logger("x")
        assert c.shutdown(5.0)
        if method == "log":
            log.log("info", "late")
        else:
            getattr(log, method)("late")
        stats = c.stats()
        assert ({"shutdown": 1}, 1, []) == (
            {k: v for k, v in stats["dropped"].items() if v},
            stats["submitted"],
            mem.records,
        )

    def test_async_logging_after_shutdown_counts_shutdown_drops(self, make_container: Any) -> None:
        """An async call after shutdown returns at once and counts a shutdown drop."""
        c, _ = make_container()
        assert c.shutdown(5.0)
        asyncio.run(c.get_async_logger("x").info("late"))
        assert 1 == c.stats()["dropped"].get("shutdown", 0)

    def test_flush_true_when_delivered(self, make_container: Any) -> None:
        """flush() returns True once every record logged before it was exported."""
        c, mem = make_container()
        for i in range(100):
            c.get_logger("x").info("m", i=i)
        assert True is c.flush(5.0)
        assert list(range(100)) == [r.attributes["i"] for r in mem.records]

    def test_flush_false_when_an_exporter_fails(self, make_container: Any) -> None:
        """flush() returns False when records of its window failed to export."""
        c, _ = make_container(exporters=[RaisingExporter(), InMemoryExporter()])
        c.get_logger("x").info("m")
        assert False is c.flush(5.0)

    def test_flush_after_shutdown(self, make_container: Any) -> None:
        """flush() after a clean shutdown returns True (nothing is pending)."""
        c, _ = make_container()
        c.get_logger("x").info("m")
        assert c.shutdown(5.0)
        assert True is c.flush(1.0)

    def test_flush_with_nothing_logged(self, make_container: Any) -> None:
        """flush() on an idle container returns True."""
        c, _ = make_container()
        assert True is c.flush(1.0)

    def test_stats_keys(self, make_container: Any) -> None:
        """stats() is a Mapping with the documented keys and types."""
        c, _ = make_container()
        stats = c.stats()
        assert {
            "submitted",
            "exported",
            "failed",
            "queued",
            "dropped",
            "added",
            "exporters",
            "processors",
            "processor_errors",
        } == set(stats)
        assert all(isinstance(stats[k], int) for k in ("submitted", "exported", "failed", "queued"))
        assert {"memory"} == set(stats["exporters"])


class TestNoExporter:
    def test_none_exporter_counts_no_exporter_drops(self) -> None:
        """With exporters=['none'] records are dropped with reason no_exporter."""
        c = fo.Container(fo.Settings(exporters=["none"], diagnostics=False))
        try:
            log = c.get_logger("x")
            for _ in range(5):
                log.info("m")
            c.flush(5.0)
            stats = c.stats()
            assert (5, 0, {"no_exporter": 5}) == (
                stats["submitted"],
                stats["exported"],
                {k: v for k, v in stats["dropped"].items() if v},
            )
        finally:
            c.shutdown(1.0)

    def test_none_exporter_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """OTEL_LOGS_EXPORTER=none makes a container without exporters."""
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
        c = fo.Container(fo.Settings(diagnostics=False))
        try:
            c.get_logger("x").info("m")
            c.flush(5.0)
            assert ({}, 1) == (c.stats()["exporters"], c.stats()["dropped"].get("no_exporter"))
        finally:
            c.shutdown(1.0)


class TestResource:
    def test_service_name_and_attributes_from_settings(self, make_container: Any) -> None:
        """service_name and resource_attributes end up in the record's resource."""
        c, mem = make_container(
            service_name="billing", resource_attributes={"deployment.environment": "test"}
        )
        c.get_logger("x").info("m")
        assert c.flush(5.0)
        attrs = mem.records[0].resource.attributes
        assert ("billing", "test") == (attrs["service.name"], attrs["deployment.environment"])
        assert dict(c.resource.attributes) == dict(attrs)

    def test_otel_environment_variables(
        self, make_container: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES build the resource."""
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=core,region=eu%2Dwest")
        c, mem = make_container()
        c.get_logger("x").info("m")
        assert c.flush(5.0)
        attrs = mem.records[0].resource.attributes
        assert ("from-env", "core", "eu-west") == (
            attrs["service.name"],
            attrs["team"],
            attrs["region"],
        )

    def test_service_name_variable_beats_resource_attributes(
        self, make_container: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OTEL_SERVICE_NAME wins over service.name in OTEL_RESOURCE_ATTRIBUTES (OTel spec)."""
        monkeypatch.setenv("OTEL_SERVICE_NAME", "winner")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=loser")
        c, _ = make_container()
        assert "winner" == c.resource.attributes["service.name"]

    def test_settings_beat_environment(
        self, make_container: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An explicit service_name wins over OTEL_SERVICE_NAME."""
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        c, _ = make_container(service_name="explicit")
        assert "explicit" == c.resource.attributes["service.name"]

    def test_fapilog_variable_beats_otel_variable(
        self, make_container: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_SERVICE_NAME wins over OTEL_SERVICE_NAME."""
        monkeypatch.setenv("OTEL_SERVICE_NAME", "otel")
        monkeypatch.setenv("FAPILOG_SERVICE_NAME", "fapilog")
        c, _ = make_container()
        assert "fapilog" == c.resource.attributes["service.name"]

    def test_explicit_resource(self, make_container: Any) -> None:
        """A resource passed to the container is used as given."""
        from opentelemetry.sdk.resources import Resource

        mem = InMemoryExporter()
        c = fo.Container(
            fo.Settings(service_name="ignored", diagnostics=False),
            exporters=[mem],
            resource=Resource({"service.name": "given"}),
        )
        try:
            c.get_logger("x").info("m")
            assert c.flush(5.0)
            assert "given" == mem.records[0].resource.attributes["service.name"]
        finally:
            c.shutdown(1.0)

    def test_invalid_resource_attributes_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A malformed OTEL_RESOURCE_ATTRIBUTES raises ConfigurationError naming it."""
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "novalue")
        with pytest.raises(fo.ConfigurationError, match="OTEL_RESOURCE_ATTRIBUTES"):
            fo.Settings()


class TestLoggerProvider:
    def test_provider_records_go_through_the_container(self, make_container: Any) -> None:
        """A record emitted through c.logger_provider reaches the container's exporter."""
        pytest.importorskip("fapilog_otel._sdk")
        c, mem = make_container(service_name="sdk-svc")
        try:
            provider = c.logger_provider
        except ImportError as exc:  # pragma: no cover - _sdk being written concurrently
            pytest.skip(f"fapilog_otel._sdk not usable: {exc}")
        provider.get_logger("lib").emit(body="from sdk", attributes={"k": 1})
        assert c.flush(5.0)
        record = mem.records[0]
        assert ("from sdk", {"k": 1}, "lib", "sdk-svc") == (
            record.body,
            record.attributes,
            record.scope.name,
            record.resource.attributes["service.name"],
        )

    def test_provider_is_per_container(self, make_container: Any) -> None:
        """Each container has its own provider, created once."""
        pytest.importorskip("fapilog_otel._sdk")
        c1, _ = make_container()
        c2, _ = make_container()
        assert c1.logger_provider is c1.logger_provider
        assert c1.logger_provider is not c2.logger_provider
