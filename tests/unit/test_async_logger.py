"""The AsyncLogger: its methods inside asyncio tasks, context isolation between tasks, and
backpressure that awaits instead of blocking the event loop."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord


class GatedExporter:
    """Blocks every export until ``release`` is set; ``entered`` is set on the first call."""

    name = "gated"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.records: list[LogRecord] = []

    def export(self, batch: Sequence[LogRecord]) -> None:
        self.entered.set()
        self.release.wait(30)
        self.records.extend(batch)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def shutdown(self) -> None:
        self.release.set()


class TestAsyncMethods:
    def test_every_method_logs_from_a_task(self, make_container: Any) -> None:
        """trace..critical, event, exception and log all produce records when awaited."""
        c, mem = make_container(level="trace")
        alog = c.get_async_logger("a")

        async def main() -> None:
            await alog.trace("t")
            await alog.debug("d")
            await alog.info("i", k=1)
            await alog.warning("w")
            await alog.error("e")
            await alog.critical("c")
            await alog.event("user.login", user_id=7)
            await alog.log("warning", "l")
            try:
                raise ValueError("boom")
            except ValueError:
                await alog.exception("x")

        asyncio.run(main())
        assert c.flush(5.0)
        records = mem.records
        assert [
            ("t", 1),
            ("d", 5),
            ("i", 9),
            ("w", 13),
            ("e", 17),
            ("c", 21),
            (None, 9),
            ("l", 13),
            ("x", 17),
        ] == [(r.body, r.severity_number) for r in records]
        assert "user.login" == records[6].event_name
        assert {"k": 1} == records[2].attributes
        assert "ValueError" == records[8].attributes["exception.type"]
        assert "boom" == records[8].attributes["exception.message"]
        assert {"a"} == {r.scope.name for r in records}

    def test_disabled_levels_are_awaitable_and_silent(self, make_container: Any) -> None:
        """Below the threshold the async methods can be awaited and produce nothing."""
        c, mem = make_container(level="error")
        alog = c.get_async_logger("a")

        async def main() -> None:
            await alog.debug("x")
            await alog.info("x")
            await alog.event("x")
            await alog.log("info", "x")
            await alog.error("kept")

        asyncio.run(main())
        assert c.flush(5.0)
        assert ["kept"] == [r.body for r in mem.records]

    def test_bind_returns_new_async_logger(self, make_container: Any) -> None:
        """bind() on an async logger returns an async logger that adds the attributes."""
        c, mem = make_container()
        alog = c.get_async_logger("a")
        bound = alog.bind(request_id="r-1")

        async def main() -> None:
            await bound.info("bound")
            await alog.info("plain")

        asyncio.run(main())
        assert c.flush(5.0)
        assert isinstance(bound, fo.AsyncLogger)
        assert [{"request_id": "r-1"}, {}] == [r.attributes for r in mem.records]

    def test_attributes_are_frozen_at_the_call(self, make_container: Any) -> None:
        """A list passed to an async call and mutated afterwards is logged as it was."""
        c, mem = make_container()
        items = [1]

        async def main() -> None:
            await c.get_async_logger("a").info("x", items=items)
            items.append(2)

        asyncio.run(main())
        assert c.flush(5.0)
        assert [1] == mem.records[0].attributes["items"]

    def test_aflush_from_a_task(self, make_container: Any) -> None:
        """aflush() returns True from inside a running loop once records are exported."""
        c, mem = make_container()

        async def main() -> bool:
            await c.get_async_logger("a").info("x")
            return await c.aflush(5.0)

        assert True is asyncio.run(main())
        assert 1 == len(mem.records)


class TestContextInTasks:
    def test_concurrent_tasks_never_mix_request_ids(self, make_container: Any) -> None:
        """Two tasks binding different request ids each log only their own id."""
        c, mem = make_container()
        alog = c.get_async_logger("a")

        async def handle(request_id: str) -> None:
            with fo.bound_contextvars(request_id=request_id):
                for i in range(50):
                    await alog.info("step", task=request_id, i=i)
                    await asyncio.sleep(0)

        async def main() -> None:
            await asyncio.gather(handle("r-1"), handle("r-2"))

        asyncio.run(main())
        assert c.flush(5.0)
        records = mem.records
        assert 100 == len(records)
        assert [] == [
            r.attributes for r in records if r.attributes["task"] != r.attributes["request_id"]
        ]
        for request_id in ("r-1", "r-2"):
            steps = [r.attributes["i"] for r in records if r.attributes["task"] == request_id]
            assert list(range(50)) == steps

    def test_child_task_inherits_and_does_not_leak(self, make_container: Any) -> None:
        """A task started in a bound context inherits it; its own bindings stay in it."""
        c, mem = make_container()
        alog = c.get_async_logger("a")

        async def child() -> None:
            fo.bind_contextvars(child_only=True)
            await alog.info("child")

        async def main() -> None:
            with fo.bound_contextvars(request_id="outer"):
                await asyncio.create_task(child())
                await alog.info("parent")

        asyncio.run(main())
        assert c.flush(5.0)
        assert [
            ("child", {"request_id": "outer", "child_only": True}),
            ("parent", {"request_id": "outer"}),
        ] == [(r.body, r.attributes) for r in mem.records]

    def test_sync_logger_sees_task_context(self, make_container: Any) -> None:
        """The sync logger called inside a task also picks up that task's bound context."""
        c, mem = make_container()
        log = c.get_logger("s")

        async def handle(request_id: str) -> None:
            with fo.bound_contextvars(request_id=request_id):
                await asyncio.sleep(0)
                log.info(request_id)

        async def main() -> None:
            await asyncio.gather(*(handle(f"r-{i}") for i in range(10)))

        asyncio.run(main())
        assert c.flush(5.0)
        assert [] == [r for r in mem.records if r.body != r.attributes["request_id"]]
        assert 10 == len(mem.records)


def fill_until_full(c: fo.Container, gated: GatedExporter, capacity: int) -> int:
    """Log until the worker has its maximum in flight and the queue is full; return count.

    With ``batch.max_size=1`` and a gated exporter, two batches are in flight (one being
    exported, one waiting in the lane) and ``capacity`` records wait in the queue.
    """

    async def main() -> int:
        alog = c.get_async_logger("fill")
        await alog.info("first")
        assert await asyncio.to_thread(gated.entered.wait, 10)
        n = 1
        while c.stats()["queued"] < capacity + 2:
            await alog.info("fill")
            n += 1
            assert n < 1000, c.stats()
            # Give the worker thread the GIL so it can take its second batch.
            await asyncio.sleep(0.002)
        return n

    return asyncio.run(main())


class TestBackpressure:
    def test_blocked_call_awaits_without_blocking_the_loop(self, make_container: Any) -> None:
        """Under overflow=block a full queue makes the call await while other tasks run,
        then the record is dropped and counted as block_timeout."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=4,
            error_reserve=0,
            overflow="block",
            block_timeout_ms=300,
            batch={"max_size": 1},
        )
        try:
            filled = fill_until_full(c, gated, 4)
            ticks = 0

            async def ticker(stop: asyncio.Event) -> None:
                nonlocal ticks
                while not stop.is_set():
                    ticks += 1
                    await asyncio.sleep(0.005)

            async def main() -> tuple[int, int]:
                stop = asyncio.Event()
                task = asyncio.create_task(ticker(stop))
                await asyncio.sleep(0)
                before = ticks
                await c.get_async_logger("a").info("blocked")
                during = ticks - before
                stop.set()
                await task
                return during, c.stats()["dropped"].get("block_timeout", 0)

            during, timeouts = asyncio.run(main())
            assert 0 < during
            assert 1 == timeouts
        finally:
            gated.release.set()
        assert c.flush(5.0)
        stats = c.stats()
        user_records = [r for r in gated.records if r.scope.name != "fapilog_otel"]
        assert filled == len(user_records)
        assert filled + 1 == stats["submitted"]
        assert filled == stats["exported"]
        assert 1 == _self_reports(gated.records)

    def test_blocked_call_gets_in_when_room_appears(self, make_container: Any) -> None:
        """An awaiting call is queued (not dropped) once the exporter frees room in time."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=4,
            error_reserve=0,
            overflow="block",
            block_timeout_ms=20_000,
            batch={"max_size": 1},
        )
        try:
            filled = fill_until_full(c, gated, 4)

            async def main() -> None:
                task = asyncio.create_task(c.get_async_logger("a").info("waiter"))
                for _ in range(20):
                    await asyncio.sleep(0.001)
                assert not task.done()
                gated.release.set()
                await asyncio.wait_for(task, 10)

            asyncio.run(main())
        finally:
            gated.release.set()
        assert c.flush(5.0)
        stats = c.stats()
        assert {} == {k: v for k, v in stats["dropped"].items() if v}
        assert filled + 1 == len(gated.records)
        assert "waiter" == gated.records[-1].body

    @pytest.mark.parametrize("overflow", ["drop_newest", "drop_oldest"])
    def test_dropping_policies_never_await(self, make_container: Any, overflow: str) -> None:
        """Under the drop policies a call on a full queue returns at once and counts a drop."""
        gated = GatedExporter()
        c, _ = make_container(
            exporters=[gated],
            queue_size=4,
            error_reserve=0,
            overflow=overflow,
            batch={"max_size": 1},
        )
        try:
            fill_until_full(c, gated, 4)
            reason = "queue_full" if overflow == "drop_newest" else "evicted"
            before = c.stats()["dropped"].get(reason, 0)

            async def main() -> None:
                alog = c.get_async_logger("a")
                for _ in range(10):
                    await alog.info("over")

            asyncio.run(main())
            assert 10 == c.stats()["dropped"].get(reason, 0) - before
        finally:
            gated.release.set()


def _self_reports(records: list[LogRecord]) -> int:
    """How many of ``records`` are the library's own drop reports."""
    return sum(1 for r in records if r.scope.name == "fapilog_otel")


class TestAsyncLoggerIsolation:
    def test_async_logger_is_per_container(self, make_container: Any) -> None:
        """Async loggers of two containers deliver only to their own exporter."""
        c1, m1 = make_container(exporters=[InMemoryExporter()])
        c2, m2 = make_container(exporters=[InMemoryExporter()])

        async def main() -> None:
            await c1.get_async_logger("x").info("one")
            await c2.get_async_logger("x").info("two")

        asyncio.run(main())
        assert c1.flush(5.0) and c2.flush(5.0)
        assert (["one"], ["two"]) == ([r.body for r in m1.records], [r.body for r in m2.records])
