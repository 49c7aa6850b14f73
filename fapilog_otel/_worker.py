"""The container worker: one daemon thread with its own asyncio loop.

Data flow (see ``docs/architecture.md``)::

    queue --take(max batch)--> tuples -> LogRecords -> processors -> attribute limits
          --> one batch object handed to every exporter lane (in parallel)
    (or, on the direct path: the tuples themselves, which the OTLP exporters encode with
    the redaction fused in; see ``_direct``)
          --> when every lane is done: exported / failed counted, flush waiters woken

The worker is idle-silent: with an empty queue it sleeps on an event that a producer sets
only when it finds the worker idle (``idle`` flag, checked after the append; the worker sets
the flag before its last look at the queue, so no wake-up is ever missed). It takes a new
batch as soon as every lane has room, so batches grow by themselves while exporters are busy
(an exporter stuck in one call holds the others up for at most ``_stall_after``).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import enum
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Container, Coroutine, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel import _stats
from fapilog_otel._capture import PIPELINE_THREAD, bound_context, mark_pipeline_thread
from fapilog_otel._chain import Chain, ChainLink
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._direct import DirectBatch, breakers_closed, direct_path_enabled, plan_direct
from fapilog_otel._drop_report import INTENDED, DropReporter
from fapilog_otel._lanes import ExporterLane, exporter_name
from fapilog_otel._queue import RecordQueue
from fapilog_otel._raw import BODY, RawRecord
from fapilog_otel._stages import Stages
from fapilog_otel._stats import ExporterStats, ProcessorStats
from fapilog_otel.record import LogRecord
from fapilog_otel.settings import Settings


class State(enum.Enum):
    """Lifecycle of a worker."""

    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class _Batch:
    """Records handed to the lanes, waiting for every lane to finish them."""

    __slots__ = ("failed", "finished", "internal", "mark", "pending", "records")

    def __init__(self, records: list[LogRecord], mark: int, lanes: int, internal: bool) -> None:
        self.records = records
        self.mark = mark
        self.pending = lanes
        #: The most records any lane failed to deliver (all lanes must deliver a record).
        self.failed = 0
        self.finished = lanes == 0
        self.internal = internal


def unique_name(base: str, taken: Container[str]) -> str:
    """``base``, or ``base#2``, ``base#3``... for the first not in ``taken``."""
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}#{n}"
    return name


def in_pipeline_thread() -> bool:
    """Whether the caller runs on one of the library's worker or exporter threads."""
    return bound_context.get() is PIPELINE_THREAD


class Worker:
    """The queue, the worker thread and the exporter lanes of one container.

    Args:
        settings: The container's settings (queue, batching, limits).
        resource: The resource records are exported with.
        exporters: Objects with ``export``/``force_flush``/``shutdown``.
        processors: Objects with ``process(record)``, run in order.
        diagnostics: The container's internal warning channel.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        resource: Resource,
        exporters: Sequence[Any],
        processors: Sequence[Any],
        diagnostics: Diagnostics,
    ) -> None:
        self.queue = RecordQueue(
            capacity=settings.queue_size,
            error_reserve=settings.error_reserve,
            overflow=settings.overflow,
            block_timeout=settings.block_timeout_ms / 1000,
            wake=self.wake,
        )
        self.idle = False
        self.state = State.RUNNING
        self.resource = resource
        self.diagnostics = diagnostics
        self._exporters = list(exporters)
        self._chain = Chain(
            self._chain_links(processors),
            diagnostics,
            async_timeout=settings.plugin_timeout_ms / 1000,
        )
        self._stages = Stages(
            resource=resource,
            chain=self._chain,
            count_limit=settings.limits.attribute_count,
            length_limit=settings.limits.attribute_value_length,
            diagnostics=diagnostics,
        )
        #: The direct path's plan, or None when batches take the ordinary path.
        self._direct = (
            plan_direct(
                chain=self._chain,
                exporters=self._exporters,
                resource=resource,
                count_limit=settings.limits.attribute_count,
                length_limit=settings.limits.attribute_value_length,
                stages=self._stages,
                diagnostics=diagnostics,
            )
            if direct_path_enabled()
            else None
        )
        self._max_batch = settings.batch.max_size
        self._max_delay = settings.batch.max_delay_ms / 1000
        self._export_timeout = settings.batch.export_timeout_ms / 1000
        #: How long a stuck exporter may hold the others up (see ``_lanes_ready``).
        self._stall_after = min(1.0, self._export_timeout)
        self._report_interval = settings.drop_report_interval
        self._state_lock = threading.Lock()
        self._shutdown_result: bool | None = None
        self._start()
        ref = weakref.ref(self)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=lambda: _after_fork(ref))

    # -- start, wake, fork -------------------------------------------------------------

    def _start(self) -> None:
        self.lanes = [self._make_lane(e) for e in self._exporters]
        self._done_mark = 0
        self._done = threading.Condition()
        self._outstanding: deque[_Batch] = deque()
        self._urgent = 0
        self._stop_requested = False
        self._stop_deadline = 0.0
        self._reporter = DropReporter(self._report_interval, INTENDED | self._chain.drop_reasons)
        self._report_timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name="fapilog-worker", daemon=True
        )
        self._thread.start()
        ready.wait()

    def _make_lane(self, exporter: Any) -> ExporterLane:
        counters = self.queue.counters.exporters
        name = unique_name(exporter_name(exporter), counters)
        stats = counters[name] = ExporterStats()
        lane = ExporterLane(exporter, stats, self.diagnostics)
        lane.name = name
        lane.listeners = self.queue.counters.export_listeners
        return lane

    def _chain_links(self, processors: Sequence[Any]) -> list[ChainLink]:
        counters = self.queue.counters.processors
        links = []
        for processor in processors:
            name = unique_name(exporter_name(processor), counters)
            stats = counters[name] = ProcessorStats()
            link = ChainLink(name, processor, stats)
            stats.state = lambda breaker=link.breaker: breaker.state
            links.append(link)
        return links

    def _thread_main(self, ready: threading.Event) -> None:
        mark_pipeline_thread()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._wake_event = asyncio.Event()
        self._lane_progress = asyncio.Event()
        for lane in self.lanes:
            lane.event = asyncio.Event()
            lane.calls = asyncio.Lock()
        self._loop = loop
        ready.set()
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:
            self.diagnostics.warn("worker", f"worker stopped by {type(exc).__name__}: {exc}")
        finally:
            self._close_loop(loop)

    @staticmethod
    def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
        """Cancel what is still scheduled (a late flush request) and close the loop."""
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()

    def wake(self) -> None:
        """Wake the worker if it sleeps; safe from any thread, never raises."""
        self.idle = False
        self._kick()

    def _kick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._wake_event.set)
        except RuntimeError:
            # The loop is closed: the worker has stopped and the queue is closed too.
            return

    def reset_after_fork(self) -> None:
        """In a forked child: an empty queue, zero counters and a new worker thread.

        Exporters with a ``reinit_after_fork()`` method are asked to renew what the fork
        may have left broken (a lock held by one of the parent's threads).
        """
        self.queue.reset_after_fork()
        self.diagnostics.reset_after_fork()
        self._chain.reset_after_fork()
        self._state_lock = threading.Lock()
        for exporter in self._exporters:
            hook = getattr(exporter, "reinit_after_fork", None)
            if callable(hook):
                try:
                    hook()
                except Exception as exc:
                    self.diagnostics.warn("fork", f"{exporter!r}.reinit_after_fork: {exc!r}")
        if self.state is State.RUNNING:
            self._start()
        else:
            self.queue.close()

    # -- the worker's loop -------------------------------------------------------------

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._lane_loop(lane)) for lane in self.lanes]
        try:
            await self._drain()
            while self._outstanding and time.monotonic() < self._stop_deadline:
                self._lane_progress.clear()
                await self._wait(self._lane_progress, self._stop_deadline - time.monotonic())
            await self._shutdown_lanes()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _drain(self) -> None:
        queue = self.queue
        items = queue.items
        while True:
            if not items:
                if self._stop_requested:
                    return
                self._check_drops()
                await self._sleep()
                continue
            if not self._lanes_ready():
                self._lane_progress.clear()
                if self._lanes_ready():
                    continue
                await self._wait(self._lane_progress, self._stall_after)
                continue
            if self._max_delay and len(items) < self._max_batch and not self._urgent:
                await self._wait(self._wake_event, self._max_delay, clear=True)
            raws, mark = queue.take(self._max_batch)
            self._handle(raws, mark)
            self._check_drops()
            await asyncio.sleep(0)

    def _lanes_ready(self) -> bool:
        """Whether to take the next batch: every lane has room, or the lanes without room
        are stalled while another lane is free.

        Waiting for full lanes is the pipeline's backpressure. But one exporter stuck in a
        long call must not hold the others up for its whole export timeout: once its call
        has run for ``stall_after`` seconds and another lane could work, the batches it has
        no room for are failed for it alone (see :meth:`_skip`).
        """
        lanes = self.lanes
        full = [lane for lane in lanes if not lane.has_room]
        if not full:
            return True
        if len(full) == len(lanes):
            return False
        now = time.monotonic()
        return all(lane.stalled(now, self._stall_after) for lane in full)

    async def _sleep(self) -> None:
        event = self._wake_event
        event.clear()
        self.idle = True
        if self.queue.items or self._stop_requested:
            self.idle = False
            return
        await event.wait()
        self.idle = False

    @staticmethod
    async def _wait(event: asyncio.Event, timeout: float, *, clear: bool = False) -> None:
        if clear:
            event.clear()
        try:
            await asyncio.wait_for(event.wait(), max(0.0, timeout))
        except asyncio.TimeoutError:
            return

    def _handle(self, raws: list[RawRecord], mark: int, *, internal: bool = False) -> None:
        """Turn taken tuples into records, process them and hand them to the lanes.

        ``internal`` batches hold the library's own records (drop reports): exporters get
        them and count them, but the container's totals count only what the application
        submitted.
        """
        dropped: dict[str, int] = {}
        tally = self.queue.counters.tally
        if tally is not None and not internal:
            tally.count(raws)
        plan = self._direct
        records: list[Any]
        if plan is not None and not internal and breakers_closed(self._chain):
            records, added = DirectBatch(raws, plan), 0
        else:
            records, added = self._stages.run(raws, dropped, internal=internal)
        if not self.lanes and records:
            dropped[_stats.NO_EXPORTER] = dropped.get(_stats.NO_EXPORTER, 0) + len(records)
            records = []
        if (dropped or added) and not internal:
            self.queue.settle(dropped=dropped, added=added)
        batch = _Batch(records, mark, len(self.lanes) if records else 0, internal)
        self._outstanding.append(batch)
        if batch.finished:
            self._advance()
            return
        for lane in self.lanes:
            # Drop reports are rare and small: they queue even behind a stalled lane.
            if lane.has_room or internal:
                lane.inbox.append(batch)
                lane.event.set()
            else:
                self._skip(lane, batch)

    def _skip(self, lane: ExporterLane, batch: _Batch) -> None:
        """Fail ``batch`` for a stalled lane that has no room for it (counted)."""
        lane.stats.failed += len(batch.records)
        self.diagnostics.warn(
            f"stalled:{lane.name}",
            f"exporter {lane.name!r} has been stuck in one call for over "
            f"{self._stall_after:.3g}s; batches it has no room for fail for it",
        )
        self._lane_done(batch, failed=len(batch.records))

    def _lane_done(self, batch: _Batch, *, failed: int) -> None:
        """Record one lane's outcome for ``batch``; settle it once every lane is done."""
        batch.failed = max(batch.failed, failed)
        batch.pending -= 1
        if batch.pending == 0:
            n = len(batch.records)
            if not batch.internal:
                self.queue.settle(exported=n - batch.failed, failed=batch.failed)
            batch.finished = True
            self._advance()

    async def _lane_loop(self, lane: ExporterLane) -> None:
        inbox = lane.inbox
        event = lane.event
        while True:
            if not inbox:
                event.clear()
                await event.wait()
                continue
            batch: _Batch = inbox[0]
            lane.busy_since = time.monotonic()
            try:
                failed = await lane.export(batch.records, self._export_timeout)
            finally:
                lane.busy_since = None
            inbox.popleft()
            self._lane_done(batch, failed=failed)
            self._lane_progress.set()

    def _advance(self) -> None:
        """Move the done mark past every finished batch at the head; wake flush waiters."""
        outstanding = self._outstanding
        mark = None
        while outstanding and outstanding[0].finished:
            mark = outstanding.popleft().mark
        if mark is not None:
            with self._done:
                self._done_mark = max(self._done_mark, mark)
                self._done.notify_all()

    # -- drop reports ------------------------------------------------------------------

    def _check_drops(self) -> None:
        """Hand a drop report to the lanes when records were lost since the last one."""
        with self.queue.lock:
            dropped = dict(self.queue.counters.dropped)
        report, wait = self._reporter.check(dropped)
        if report is None:
            if wait > 0 and self._report_timer is None and self._loop is not None:
                self._report_timer = self._loop.call_later(wait, self._report_due)
            return
        self.diagnostics.warn("dropped", str(report[BODY]))
        # The report takes the mark of the newest batch: it neither advances nor delays flushes.
        if self._outstanding:
            mark = self._outstanding[-1].mark
        else:
            mark = self.queue.consumed_and_pending()[0]
        self._handle([report], mark, internal=True)

    def _report_due(self) -> None:
        self._report_timer = None
        self._wake_event.set()

    # -- flush and shutdown (any thread but the worker's own) --------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every record queued before the call is exported, then flush exporters.

        Returns:
            True when all of them were exported within ``timeout`` seconds; False on
            timeout, when called from a pipeline thread, or when records of that window
            failed or were lost.
        """
        if self.state is State.STOPPED:
            return bool(self.queue.snapshot()["queued"] == 0)
        if in_pipeline_thread() or self._loop is None:
            return False
        deadline = time.monotonic() + max(0.0, timeout)
        before = self._loss_counts()
        consumed, pending = self.queue.consumed_and_pending()
        target = consumed + pending
        with self._state_lock:
            self._urgent += 1
        try:
            self._kick()
            with self._done:
                while self._done_mark < target:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._thread.is_alive():
                        return False
                    self._done.wait(min(remaining, 0.5))
        finally:
            with self._state_lock:
                self._urgent -= 1
        if self._stop_requested:
            # Shutting down: the exporters are flushed by their shutdown.
            return self._loss_counts() == before
        flushed = self._run_on_loop(self._flush_lanes(deadline), deadline)
        return bool(flushed) and self._loss_counts() == before

    def _loss_counts(self) -> tuple[int, ...]:
        snap = self.queue.snapshot()
        dropped = snap["dropped"]
        return (
            snap["failed"],
            dropped.get(_stats.EVICTED, 0),
            dropped.get(_stats.INTERNAL_ERROR, 0),
        )

    async def _flush_lanes(self, deadline: float) -> bool:
        remaining = max(0.001, deadline - time.monotonic())
        results = await asyncio.gather(*(lane.force_flush(remaining) for lane in self.lanes))
        return all(results)

    def _run_on_loop(self, coro: Coroutine[Any, Any, bool], deadline: float) -> bool | None:
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            return None
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError:
            coro.close()
            return None
        while True:
            remaining = deadline - time.monotonic()
            try:
                return bool(future.result(max(0.0, min(remaining, 0.25))))
            except concurrent.futures.TimeoutError:
                if remaining > 0.25 and self._thread.is_alive():
                    continue
                future.cancel()
                return None
            except Exception:
                future.cancel()
                return None

    def shutdown(self, timeout: float) -> bool:
        """Drain, shut the exporters down and stop the worker; idempotent.

        Returns:
            True when everything queued was exported and the worker stopped in time.
        """
        with self._state_lock:
            state = self.state
            if state is State.RUNNING:
                self.state = State.STOPPING
        deadline = time.monotonic() + max(0.0, timeout)
        if state is not State.RUNNING:
            return self._await_stopped(deadline)
        if in_pipeline_thread():
            # The worker cannot wait for itself: it stops once it has drained.
            self.queue.close()
            self._request_stop(deadline)
            return False
        ok = self.flush(timeout)
        self.queue.close()
        self._request_stop(deadline)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            ok = False
            self.diagnostics.warn("shutdown", f"shutdown did not finish within {timeout:.3g}s")
        else:
            for lane in self.lanes:
                lane.join(max(0.0, deadline - time.monotonic()))
            self._chain.shutdown()
        if self.queue.discard_remaining():
            ok = False
        self._shutdown_result = ok
        self.state = State.STOPPED
        return ok

    def _await_stopped(self, deadline: float) -> bool:
        """For a second shutdown call: wait for the first to finish, return its outcome."""
        if in_pipeline_thread():
            return False
        self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            return False
        if self._shutdown_result is None:
            # Shut down from inside the pipeline: judge by what is left.
            self._shutdown_result = not self.queue.discard_remaining() and (
                self.queue.snapshot()["queued"] == 0
            )
            self.state = State.STOPPED
        return self._shutdown_result

    def _request_stop(self, deadline: float) -> None:
        self._stop_deadline = deadline
        self._stop_requested = True
        self._kick()

    async def _shutdown_lanes(self) -> None:
        remaining = max(0.001, self._stop_deadline - time.monotonic())
        await asyncio.gather(*(lane.shutdown(remaining) for lane in self.lanes))


def _after_fork(ref: weakref.ref[Worker]) -> None:
    worker = ref()
    if worker is not None:
        worker.reset_after_fork()


def register_exit_drain(worker: Worker, timeout: float) -> Callable[[], None]:
    """Register a drain at interpreter exit that holds the worker only weakly.

    The worker (not the container) is what stays alive while records are in flight: a
    logger may outlive the container object that made it.
    """
    ref = weakref.ref(worker)

    def drain_at_exit() -> None:
        target = ref()
        if target is not None and target.state is State.RUNNING:
            target.shutdown(timeout)

    atexit.register(drain_at_exit)
    return drain_at_exit
