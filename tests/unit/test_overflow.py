"""Overload: every record accounted for under each overflow policy, the ERROR reserve,
per-thread ordering and the periodic warning record that reports drops."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

import fapilog_otel as fo
from fapilog_otel.record import LogRecord

N = 5_000
QUEUE = 64
SELF_SCOPE = "fapilog_otel"
REASON = {"block": "block_timeout", "drop_newest": "queue_full", "drop_oldest": "evicted"}


class GatedExporter:
    """Blocks every export until ``release`` is set; keeps what it was given."""

    name = "gated"

    def __init__(self, *, delay: float = 0.0) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.delay = delay
        self.records: list[LogRecord] = []

    def export(self, batch: Sequence[LogRecord]) -> None:
        self.entered.set()
        self.release.wait(30)
        if self.delay:
            time.sleep(self.delay)
        self.records.extend(batch)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self.release.set()

    def user_records(self) -> list[LogRecord]:
        """What the exporter got, without the library's own drop reports."""
        return [r for r in self.records if r.scope.name != SELF_SCOPE]

    def reports(self) -> list[LogRecord]:
        """The library's drop-report records the exporter got."""
        return [r for r in self.records if r.scope.name == SELF_SCOPE]


def nonzero(dropped: Any) -> dict[str, int]:
    """The drop reasons with a count above zero."""
    return {k: v for k, v in dropped.items() if v}


def start_blocked(c: fo.Container, gated: GatedExporter) -> None:
    """Log one record and wait until the exporter is stuck on it."""
    c.get_logger("warmup").info("warmup")
    assert gated.entered.wait(10)


def fill_lane(c: fo.Container) -> None:
    """After :func:`start_blocked`: log one more record and wait until the worker has put
    it in the stuck lane's inbox, so the lane has no room and the worker takes nothing
    more from the queue (for about a second, until the lane counts as stalled)."""
    c.get_logger("warmup").info("filler")
    (lane,) = c._worker.lanes
    deadline = time.monotonic() + 10
    while len(lane.inbox) < lane.DEPTH:
        assert time.monotonic() < deadline, "the worker never filled the lane's inbox"
        time.sleep(0.001)


class TestAccounting:
    @pytest.mark.parametrize("overflow", ["block", "drop_newest", "drop_oldest"])
    def test_every_record_is_accounted_for(self, make_container: Any, overflow: str) -> None:
        """Under overload submitted matches the calls and exported+failed+dropped+queued adds up."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=QUEUE, overflow=overflow, block_timeout_ms=0
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(N):
                log.info("m", n=n)
            mid = c.stats()
            assert 0 < sum(mid["dropped"].values())
        finally:
            gated.release.set()
        assert c.flush(10.0)
        stats = c.stats()
        calls = N + 1
        assert calls == stats["submitted"]
        assert stats["submitted"] == (
            stats["exported"] + stats["failed"] + sum(stats["dropped"].values()) + stats["queued"]
        )
        assert (0, 0) == (stats["queued"], stats["failed"])
        # Container totals count what the application logged; the exporter's own counts
        # also include the library's drop-report records.
        assert len(gated.user_records()) == stats["exported"]
        assert len(gated.records) == stats["exporters"]["gated"]["exported"]
        assert 1 <= len(gated.reports())
        assert [REASON[overflow]] == list(nonzero(stats["dropped"]))

    def test_drop_newest_keeps_the_oldest(self, make_container: Any) -> None:
        """drop_newest delivers the first records and drops the later ones."""
        gated = GatedExporter()
        c, _ = make_container(exporters=[gated], queue_size=QUEUE, overflow="drop_newest")
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(500):
                log.info("m", n=n)
        finally:
            gated.release.set()
        assert c.flush(10.0)
        ns = [r.attributes["n"] for r in gated.user_records() if "n" in r.attributes]
        assert list(range(len(ns))) == ns
        assert 500 - len(ns) == c.stats()["dropped"]["queue_full"]

    def test_drop_oldest_keeps_the_newest(self, make_container: Any) -> None:
        """drop_oldest delivers the last records logged and evicts older ones."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=QUEUE, overflow="drop_oldest", error_reserve=0
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(500):
                log.info("m", n=n)
        finally:
            gated.release.set()
        assert c.flush(10.0)
        ns = [r.attributes["n"] for r in gated.user_records() if "n" in r.attributes]
        assert list(range(500 - QUEUE, 500)) == ns[-QUEUE:]
        assert ns == sorted(ns)
        assert 500 - len(ns) == c.stats()["dropped"]["evicted"]

    def test_block_waits_for_room(self, make_container: Any) -> None:
        """Under block a producer waits for room and gets in when the exporter catches up."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=4,
            error_reserve=0,
            overflow="block",
            block_timeout_ms=20_000,
            batch={"max_size": 1},
        )
        done = threading.Event()
        try:
            start_blocked(c, gated)

            def produce() -> None:
                log = c.get_logger("p")
                for n in range(20):
                    log.info("m", n=n)
                done.set()

            producer = threading.Thread(target=produce)
            producer.start()
            assert False is done.wait(0.2)
        finally:
            gated.release.set()
        producer.join(10)
        assert done.is_set()
        assert c.flush(10.0)
        stats = c.stats()
        assert ({}, 21) == (nonzero(stats["dropped"]), stats["exported"])
        assert list(range(20)) == [r.attributes["n"] for r in gated.user_records()[1:]]

    def test_block_timeout_drops_after_waiting(self, make_container: Any) -> None:
        """Under block a producer gives up after block_timeout_ms and counts block_timeout."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=4,
            error_reserve=0,
            overflow="block",
            block_timeout_ms=30,
            batch={"max_size": 1},
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("p")
            for n in range(10):
                log.info("m", n=n)
            stats = c.stats()
            assert 10 + 1 == stats["submitted"]
            assert 0 < stats["dropped"]["block_timeout"]
            assert 11 == stats["queued"] + stats["dropped"]["block_timeout"]
        finally:
            gated.release.set()
        assert c.flush(10.0)


class TestErrorReserve:
    @pytest.mark.parametrize("overflow", ["block", "drop_newest", "drop_oldest"])
    def test_errors_get_in_when_info_filled_the_queue(
        self, make_container: Any, overflow: str
    ) -> None:
        """With the queue full of INFO, ERROR records still get in (the error reserve)."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=QUEUE,
            error_reserve=0.25,
            overflow=overflow,
            block_timeout_ms=0,
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(500):
                log.info("info", n=n)
            assert 0 < sum(c.stats()["dropped"].values())
            # The reserve is QUEUE // 4 records: room for these ERRORs plus one CRITICAL.
            for n in range(QUEUE // 4 - 1):
                log.error("error", n=n)
            log.critical("critical")
        finally:
            gated.release.set()
        assert c.flush(10.0)
        errors = [r.attributes.get("n") for r in gated.user_records() if r.body == "error"]
        assert list(range(QUEUE // 4 - 1)) == errors
        assert 1 == sum(1 for r in gated.user_records() if r.body == "critical")

    def test_drop_oldest_never_evicts_error_for_info(self, make_container: Any) -> None:
        """drop_oldest drops a new INFO record rather than evict an older ERROR one."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=8, error_reserve=0.5, overflow="drop_oldest"
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(100):
                log.error("error", n=n)
            for n in range(100):
                log.info("info", n=n)
        finally:
            gated.release.set()
        assert c.flush(10.0)
        delivered = gated.user_records()
        errors = [r.attributes["n"] for r in delivered if r.body == "error"]
        infos = [r for r in delivered if r.body == "info"]
        assert [] == infos
        # The newest ERRORs fill the whole queue; earlier ones may have been taken mid-way.
        assert list(range(92, 100)) == errors[-8:]
        assert sorted(set(errors)) == errors
        assert 100 == c.stats()["dropped"]["queue_full"]

    def test_drop_oldest_evicts_info_before_errors(self, make_container: Any) -> None:
        """When an ERROR needs room, the records evicted are INFO and the ERRORs survive."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=8, error_reserve=0.5, overflow="drop_oldest"
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(4):
                log.info("info", n=n)
            for n in range(4):
                log.error("error", n=n)
        finally:
            gated.release.set()
        assert c.flush(10.0)
        bodies = [r.body for r in gated.user_records()[1:]]
        assert (4, 4) == (bodies.count("info"), bodies.count("error"))
        assert {} == nonzero(c.stats()["dropped"])

    def test_drop_oldest_evicts_info_behind_a_leading_error(self, make_container: Any) -> None:
        """With an ERROR at the head, drop_oldest evicts the oldest INFO behind it."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=8, error_reserve=0.0, overflow="drop_oldest"
        )
        try:
            start_blocked(c, gated)
            fill_lane(c)
            log = c.get_logger("load")
            log.error("error")
            for n in range(7):
                log.info("old", n=n)
            log.info("new")
        finally:
            gated.release.set()
        assert c.flush(10.0)
        bodies = [(r.body, r.attributes.get("n")) for r in gated.user_records()[2:]]
        assert [("error", None)] + [("old", n) for n in range(1, 7)] + [("new", None)] == bodies
        assert {"evicted": 1} == nonzero(c.stats()["dropped"])

    def test_async_logger_errors_use_the_reserve(self, make_container: Any) -> None:
        """The async logger's ERROR records also get in when INFO filled the queue."""
        import asyncio

        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=QUEUE,
            error_reserve=0.25,
            overflow="drop_newest",
        )
        try:
            start_blocked(c, gated)

            async def main() -> None:
                alog = c.get_async_logger("a")
                for n in range(300):
                    await alog.info("info", n=n)
                for n in range(QUEUE // 4):
                    await alog.error("error", n=n)

            asyncio.run(main())
        finally:
            gated.release.set()
        assert c.flush(10.0)
        assert QUEUE // 4 == sum(1 for r in gated.user_records() if r.body == "error")


class TestOrdering:
    @pytest.mark.parametrize("overflow", ["block", "drop_newest", "drop_oldest"])
    def test_per_thread_order_survives_overload(self, make_container: Any, overflow: str) -> None:
        """Under overload each thread's delivered records keep the order it logged them in."""
        slow = GatedExporter(delay=0.001)
        slow.release.set()
        c, _ = make_container(
            exporters=[slow],
            queue_size=QUEUE,
            overflow=overflow,
            block_timeout_ms=1,
            batch={"max_size": 16},
        )

        def produce(t: int) -> None:
            log = c.get_logger(f"t{t}")
            for n in range(1_000):
                log.info("m", t=t, n=n)

        threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert c.flush(10.0)
        user = slow.user_records()
        for t in range(4):
            ns = [r.attributes["n"] for r in user if r.attributes["t"] == t]
            assert sorted(ns) == ns
            assert len(set(ns)) == len(ns)
        stats = c.stats()
        assert 4_000 == stats["submitted"]
        assert len(user) == stats["exported"]
        assert len(slow.records) == stats["exporters"]["gated"]["exported"]


class TestDropReport:
    def test_warning_record_reports_drops(self, make_container: Any) -> None:
        """Drops produce a WARNING record of scope fapilog_otel with fapilog.dropped.count."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=8, overflow="drop_newest", drop_report_interval=0.05
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(100):
                log.info("m", n=n)
        finally:
            gated.release.set()
        dropped = c.stats()["dropped"]["queue_full"]
        deadline = time.monotonic() + 10
        while sum(r.attributes["fapilog.dropped.count"] for r in gated.reports()) < dropped:
            assert time.monotonic() < deadline, gated.reports()
            c.flush(1.0)
            time.sleep(0.02)
        reports = gated.reports()
        assert dropped == sum(r.attributes["fapilog.dropped.count"] for r in reports)
        first = reports[0]
        assert (13, "WARNING") == (first.severity_number, first.severity_text)
        assert 0 < first.attributes["fapilog.dropped.count"]
        assert reports[-1].attributes["fapilog.dropped.total.queue_full"] == dropped

    def test_reports_are_rate_limited(self, make_container: Any) -> None:
        """With a long interval, many separate drops give a single report record."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated], queue_size=8, overflow="drop_newest", drop_report_interval=3600
        )
        try:
            start_blocked(c, gated)
            log = c.get_logger("load")
            for n in range(100):
                log.info("m", n=n)
        finally:
            gated.release.set()
        assert c.flush(10.0)
        for round_ in range(5):
            gated.release.clear()
            gated.entered.clear()
            start_blocked(c, gated)
            try:
                for n in range(50):
                    c.get_logger("load").info("again", round=round_, n=n)
            finally:
                gated.release.set()
            assert c.flush(10.0)
        assert 1 == len(gated.reports())

    def test_flush_after_a_report_returns_true(self, make_container: Any) -> None:
        """A flush after the drop report was exported returns True without waiting it out."""
        gated = GatedExporter()
        c, _ = make_container(exporters=[gated], queue_size=8, overflow="drop_newest")
        try:
            start_blocked(c, gated)
            for n in range(100):
                c.get_logger("load").info("m", n=n)
        finally:
            gated.release.set()
        deadline = time.monotonic() + 10
        while not gated.reports():
            assert time.monotonic() < deadline, "no drop report was emitted"
            time.sleep(0.01)
        start = time.monotonic()
        assert True is c.flush(2.0)
        assert time.monotonic() - start < 1.5
        assert True is c.shutdown(2.0)

    def test_first_report_is_not_delayed_by_the_interval(self, make_container: Any) -> None:
        """The first drops are reported at once, whatever the interval and the clock's origin."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=8,
            overflow="drop_newest",
            drop_report_interval=time.monotonic() + 3600,
        )
        try:
            start_blocked(c, gated)
            for n in range(100):
                c.get_logger("load").info("m", n=n)
        finally:
            gated.release.set()
        deadline = time.monotonic() + 5
        while not gated.reports() and time.monotonic() < deadline:
            c.flush(0.5)
            time.sleep(0.01)
        assert 1 == len(gated.reports())

    def test_no_report_without_drops(self, make_container: Any) -> None:
        """A pipeline that drops nothing emits no report record."""
        c, mem = make_container(drop_report_interval=0.01)
        for n in range(100):
            c.get_logger("x").info("m", n=n)
        assert c.flush(5.0)
        assert [] == [r for r in mem.records if r.scope.name == SELF_SCOPE]

    def test_shutdown_drops_are_not_reported_after_shutdown(self, make_container: Any) -> None:
        """Logging after shutdown counts drops without any record reaching the exporter."""
        c, mem = make_container(drop_report_interval=0.01)
        assert c.shutdown(5.0)
        for _ in range(10):
            c.get_logger("x").info("late")
        assert (10, []) == (c.stats()["dropped"]["shutdown"], mem.records)
