"""Exporter faults: exporters that raise, hang, fail or are async, and how the container
counts them while the other exporters and the application carry on. What export() returns
is tested in test_exporter_results.py."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord

#: Extra time allowed on top of a timeout for the library's own bookkeeping. A correctness
#: bound (the timeout is honoured), not a performance expectation.
MARGIN = 2.0


class Base:
    """An exporter that keeps what it exports and tracks concurrent calls."""

    name = "base"

    def __init__(self) -> None:
        self.records: list[LogRecord] = []
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def export(self, batch: Sequence[LogRecord]) -> Any:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            return self.do_export(batch)
        finally:
            with self._lock:
                self.active -= 1

    def do_export(self, batch: Sequence[LogRecord]) -> Any:
        self.records.extend(batch)
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        return None


class Raising(Base):
    """Raises on every export."""

    name = "raising"

    def do_export(self, batch: Sequence[LogRecord]) -> Any:
        raise ConnectionError("collector down")


class Hanging(Base):
    """Blocks on an Event in export until released."""

    name = "hanging"

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def do_export(self, batch: Sequence[LogRecord]) -> Any:
        self.entered.set()
        self.release.wait(30)
        self.records.extend(batch)

    def shutdown(self) -> None:
        self.release.set()


class Slow(Base):
    """Takes a little time per batch, so batches queue up behind it."""

    name = "slow"

    def do_export(self, batch: Sequence[LogRecord]) -> Any:
        time.sleep(0.002)
        self.records.extend(batch)


class Returning(Base):
    """Returns a fixed value from export."""

    def __init__(self, result: Any) -> None:
        super().__init__()
        self.result = result
        self.name = f"returning-{result!r}"

    def do_export(self, batch: Sequence[LogRecord]) -> Any:
        self.records.extend(batch)
        return self.result


class AsyncExporter:
    """An exporter whose export is a coroutine."""

    name = "async"

    def __init__(self, *, hang: bool = False, fail: bool = False) -> None:
        self.records: list[LogRecord] = []
        self.hang = hang
        self.fail = fail
        self.loop_threads: set[str] = set()

    async def export(self, batch: Sequence[LogRecord]) -> fo.ExportResult:
        self.loop_threads.add(threading.current_thread().name)
        await asyncio.sleep(0)
        if self.hang:
            await asyncio.sleep(3600)
        if self.fail:
            raise RuntimeError("async failure")
        self.records.extend(batch)
        return fo.ExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        return None


def log_n(c: fo.Container, n: int, **attrs: Any) -> None:
    """Log ``n`` INFO records numbered by attribute ``i``."""
    log = c.get_logger("faults")
    for i in range(n):
        log.info("m", i=i, **attrs)


class TestRaisingExporter:
    def test_raising_exporter_counts_failures_and_other_gets_everything(
        self, make_container: Any
    ) -> None:
        """Batches an exporter raises on are failed and counted; the other exporter gets all."""
        bad, good = Raising(), Base()
        c, _ = make_container(exporters=[bad, good])
        log_n(c, 200)
        assert False is c.flush(5.0)
        stats = c.stats()
        assert list(range(200)) == [r.attributes["i"] for r in good.records]
        assert 200 == stats["exporters"]["raising"]["failed"]
        assert bad.calls == stats["exporters"]["raising"]["errors"]
        assert (200, 0, 0) == (
            stats["exporters"]["base"]["exported"],
            stats["exporters"]["base"]["failed"],
            stats["exporters"]["base"]["errors"],
        )
        assert 200 == stats["failed"] + stats["exported"]
        assert 200 == stats["submitted"]

    def test_failures_never_reach_the_caller(self, make_container: Any) -> None:
        """Log calls return None while the only exporter raises."""
        c, _ = make_container(exporters=[Raising()])
        log = c.get_logger("x")
        assert [None] * 10 == [log.info("m") for _ in range(10)]
        c.flush(5.0)
        assert 10 == c.stats()["failed"]

    def test_exporter_recovers_after_failures(self, make_container: Any) -> None:
        """An exporter that raised once gets the next batches and they count as exported."""

        class Flaky(Base):
            name = "flaky"
            fail_next = True

            def do_export(self, batch: Sequence[LogRecord]) -> Any:
                if self.fail_next:
                    self.fail_next = False
                    raise OSError("transient")
                self.records.extend(batch)

        flaky = Flaky()
        c, _ = make_container(exporters=[flaky])
        c.get_logger("x").info("lost")
        assert False is c.flush(5.0)
        c.get_logger("x").info("delivered")
        assert True is c.flush(5.0)
        assert ["delivered"] == [r.body for r in flaky.records]

    def test_exporter_raising_base_exception_does_not_stop_the_pipeline(
        self, make_container: Any
    ) -> None:
        """An exporter raising SystemExit fails its batch; later records are still delivered."""

        class Exiting(Base):
            name = "exiting"
            first = True

            def do_export(self, batch: Sequence[LogRecord]) -> Any:
                if self.first:
                    self.first = False
                    raise SystemExit(3)
                self.records.extend(batch)

        exiting, good = Exiting(), Base()
        c, _ = make_container(exporters=[exiting, good])
        c.get_logger("x").info("first")
        c.flush(2.0)
        c.get_logger("x").info("second")
        assert True is c.flush(2.0)
        assert (["second"], ["first", "second"]) == (
            [r.body for r in exiting.records],
            [r.body for r in good.records],
        )


class TestHangingExporter:
    def test_hanging_exporter_times_out_and_other_is_unaffected(self, make_container: Any) -> None:
        """With export_timeout_ms=200 a hung exporter's batches fail; the other gets all."""
        hung, good = Hanging(), Base()
        c, _ = make_container(exporters=[hung, good], batch={"export_timeout_ms": 200})
        try:
            log_n(c, 50)
            assert hung.entered.wait(5)
            log_n(c, 50, late=True)
            start = time.monotonic()
            assert False is c.flush(1.0)
            assert time.monotonic() - start < 1.0 + MARGIN
            stats = c.stats()
            assert 100 == len(good.records)
            assert 100 == stats["exporters"]["base"]["exported"]
            assert 1 <= stats["exporters"]["hanging"]["timeouts"]
            assert 100 == stats["exporters"]["hanging"]["failed"]
            assert 100 == stats["failed"]
        finally:
            hung.release.set()

    def test_hung_exporter_holds_others_up_for_a_second_not_its_timeout(
        self, make_container: Any
    ) -> None:
        """With the default 30 s export timeout, a hung exporter delays the others ~1 s only."""
        hung, good = Hanging(), Base()
        c, _ = make_container(exporters=[hung, good], batch={"max_size": 10})
        try:
            log_n(c, 10)
            assert hung.entered.wait(5)
            start = time.monotonic()
            log_n(c, 200, late=True)
            deadline = start + 10
            while len(good.records) < 210 and time.monotonic() < deadline:
                time.sleep(0.05)
            waited = time.monotonic() - start
            assert 210 == len(good.records)
            assert waited < 1.0 + MARGIN
            # The lane counts a batch once export() has returned: a moment after the
            # exporter holds its records.
            while c.stats()["exporters"]["base"]["exported"] < 210 and time.monotonic() < deadline:
                time.sleep(0.01)
            stats = c.stats()
            assert 210 == stats["exporters"]["base"]["exported"]
            assert 0 == stats["exporters"]["hanging"]["exported"]
            assert 0 < stats["exporters"]["hanging"]["failed"]
        finally:
            hung.release.set()

    def test_hung_exporter_is_never_called_concurrently(self, make_container: Any) -> None:
        """While a timed-out export still runs, the exporter is not called again."""
        hung = Hanging()
        c, _ = make_container(exporters=[hung], batch={"export_timeout_ms": 100})
        try:
            for round_ in range(5):
                log_n(c, 10, round=round_)
                c.flush(0.5)
            assert (1, 1) == (hung.calls, hung.max_active)
        finally:
            hung.release.set()
        deadline = time.monotonic() + 5
        while hung.active:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        # Five failed calls in a row opened the exporter's circuit: batches fail at once
        # until its cooldown (1 s) is over and a probe succeeds.
        assert "open" == c.stats()["exporters"]["hanging"]["circuit"]
        time.sleep(1.1)
        # Batches reaching the lane while the timed-out call was finishing fail at once by
        # design; this round lets the lane see that the call has returned.
        log_n(c, 1, settle=True)
        c.flush(5.0)
        log_n(c, 3, after=True)
        assert True is c.flush(5.0)
        assert 1 == hung.max_active
        assert [0, 1, 2] == [r.attributes["i"] for r in hung.records if "after" in r.attributes]

    def test_busy_exporter_is_never_called_concurrently(self, make_container: Any) -> None:
        """Under load from several threads a slow exporter runs one export at a time."""
        slow = Slow()
        c, _ = make_container(exporters=[slow, Base()], batch={"max_size": 8})
        threads = [threading.Thread(target=log_n, args=(c, 300)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert c.flush(10.0)
        assert (1, 1200) == (slow.max_active, len(slow.records))

    def test_shutdown_honours_its_timeout(self, make_container: Any) -> None:
        """shutdown() with a hung exporter returns False within its timeout."""
        hung, good = Hanging(), Base()
        c, _ = make_container(exporters=[hung, good], batch={"export_timeout_ms": 60_000})
        try:
            log_n(c, 10)
            assert hung.entered.wait(5)
            start = time.monotonic()
            assert False is c.shutdown(1.0)
            assert time.monotonic() - start < 1.0 + MARGIN
            assert True is c.is_shutdown
            assert 10 == len(good.records)
        finally:
            hung.release.set()

    def test_flush_honours_its_timeout_without_export_timeout(self, make_container: Any) -> None:
        """flush() returns False within its timeout even when the export timeout is long."""
        hung = Hanging()
        c, _ = make_container(exporters=[hung], batch={"export_timeout_ms": 60_000})
        try:
            log_n(c, 5)
            assert hung.entered.wait(5)
            start = time.monotonic()
            assert False is c.flush(0.5)
            assert time.monotonic() - start < 0.5 + MARGIN
        finally:
            hung.release.set()

    def test_application_is_not_blocked_by_a_hung_exporter(self, make_container: Any) -> None:
        """With the default drop-free settings, logging while the exporter hangs returns."""
        hung = Hanging()
        c, _ = make_container(exporters=[hung], overflow="drop_newest", queue_size=16)
        try:
            log_n(c, 1)
            assert hung.entered.wait(5)
            log_n(c, 1_000)
            stats = c.stats()
            assert 1_001 == stats["submitted"]
            assert 0 < stats["dropped"]["queue_full"]
        finally:
            hung.release.set()


class TestConcurrentFlush:
    def test_flush_true_while_another_thread_keeps_logging(self, make_container: Any) -> None:
        """flush() returns True while other threads log and the exporter is busy; no timeouts."""
        slow = Slow()
        c, _ = make_container(exporters=[slow])
        stop = threading.Event()

        def produce() -> None:
            log = c.get_logger("bg")
            while not stop.is_set():
                log.info("m")
                time.sleep(0.0005)

        producer = threading.Thread(target=produce)
        producer.start()
        try:
            results = [c.flush(5.0) for _ in range(10)]
        finally:
            stop.set()
            producer.join()
        assert [True] * 10 == results
        assert 0 == c.stats()["exporters"]["slow"]["timeouts"]


class TestAsyncExporter:
    def test_async_exporter_receives_records(self, make_container: Any) -> None:
        """An exporter with async def export receives every record, on the worker thread."""
        exporter = AsyncExporter()
        c, _ = make_container(exporters=[exporter])
        log_n(c, 20)
        assert True is c.flush(5.0)
        assert list(range(20)) == [r.attributes["i"] for r in exporter.records]
        assert 20 == c.stats()["exporters"]["async"]["exported"]
        assert {"fapilog-worker"} == exporter.loop_threads

    def test_hanging_async_exporter_times_out(self, make_container: Any) -> None:
        """A hung async export is cancelled after the export timeout; the other exporter works."""
        hung, good = AsyncExporter(hang=True), Base()
        c, _ = make_container(exporters=[hung, good], batch={"export_timeout_ms": 200})
        log_n(c, 10)
        start = time.monotonic()
        assert False is c.flush(2.0)
        assert time.monotonic() - start < 2.0 + MARGIN
        stats = c.stats()
        assert 10 == len(good.records)
        assert (10, 1) <= (
            stats["exporters"]["async"]["failed"],
            stats["exporters"]["async"]["timeouts"],
        )

    def test_raising_async_exporter_is_counted(self, make_container: Any) -> None:
        """An async export that raises fails its batch and counts an error."""
        bad = AsyncExporter(fail=True)
        c, _ = make_container(exporters=[bad])
        log_n(c, 4)
        assert False is c.flush(5.0)
        stats = c.stats()["exporters"]["async"]
        assert (4, 0) == (stats["failed"], stats["exported"])
        assert 1 <= stats["errors"]


class Counting(Base):
    """An exporter with its own outcome counts."""

    name = "counting"

    def __init__(self, outcomes: Any) -> None:
        super().__init__()
        self._outcomes = outcomes

    def outcomes(self) -> Any:
        if isinstance(self._outcomes, Exception):
            raise self._outcomes
        return self._outcomes


class TestOutcomes:
    def test_exporter_outcomes_appear_in_stats(self, make_container: Any) -> None:
        """An exporter's outcomes() mapping is shown under its name in stats()."""
        c, _ = make_container(exporters=[Counting({"retries": 2, "http_503": 2})])
        assert {"retries": 2, "http_503": 2} == c.stats()["exporters"]["counting"]["outcomes"]

    def test_failing_outcomes_do_not_break_stats(self, make_container: Any) -> None:
        """outcomes() raising is reported in the snapshot instead of raising from stats()."""
        c, _ = make_container(exporters=[Counting(RuntimeError("broken"))])
        mine = c.stats()["exporters"]["counting"]
        assert "outcomes" not in mine
        assert "RuntimeError: broken" == mine["outcomes_error"]

    def test_exporters_without_outcomes_have_none(self, make_container: Any) -> None:
        """Exporters without outcomes() show only the lane's counts."""
        c, _ = make_container(exporters=[Base()])
        lane_counts = {"exported", "failed", "errors", "timeouts", "circuit_open", "circuit"}
        histograms = {"batch_sizes", "export_seconds"}
        assert lane_counts | histograms == set(c.stats()["exporters"]["base"])


class TestContainerExporters:
    def test_exporters_in_order(self, make_container: Any) -> None:
        """Container.exporters lists the exporters in the order given."""
        first, second = InMemoryExporter(), Base()
        c, _ = make_container(exporters=[first, second])
        assert (first, second) == c.exporters


class TestExporterCircuitBreaker:
    def test_raising_exporter_is_not_called_while_open_then_probed(
        self, make_container: Any
    ) -> None:
        """Five raising batches open the circuit; later batches fail uncalled; a probe
        after the cooldown closes it again once the exporter works."""
        exporter = Raising()
        c, _ = make_container(exporters=[exporter])
        for i in range(8):
            log_n(c, 1, round=i)
            c.flush(5.0)
        stats = c.stats()["exporters"][exporter.name]
        assert 5 == exporter.calls
        assert (3, 8, "open") == (stats["circuit_open"], stats["failed"], stats["circuit"])
        exporter.do_export = Base.do_export.__get__(exporter)  # type: ignore[method-assign]
        time.sleep(1.1)
        log_n(c, 2, after=True)
        assert c.flush(5.0)
        assert "closed" == c.stats()["exporters"][exporter.name]["circuit"]

    def test_failure_results_never_open_the_circuit(self, make_container: Any) -> None:
        """An exporter returning FAILURE is called for every batch (retries are its own)."""
        exporter = Returning(fo.ExportResult.FAILURE)
        c, _ = make_container(exporters=[exporter])
        for i in range(8):
            log_n(c, 1, round=i)
            c.flush(5.0)
        assert 8 == exporter.calls
        assert "closed" == c.stats()["exporters"][exporter.name]["circuit"]
