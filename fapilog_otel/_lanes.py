"""Exporter lanes: each exporter runs in its own lane, in parallel with the others and
never concurrently with itself.

A synchronous exporter gets a dedicated daemon thread (not a ``ThreadPoolExecutor``: those
refuse work once interpreter shutdown begins, which is exactly when the exit-time drain
needs them). An ``async def export`` runs on the worker's loop. Either way the call is
bounded by the export timeout: a call that runs past it has its batch counted as failed,
and while a timed-out call is still running the lane fails new batches at once instead of
calling the exporter concurrently with itself.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fapilog_otel._breaker import CircuitBreaker
from fapilog_otel._capture import mark_pipeline_thread
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._stats import ExporterStats
from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult, PartialSuccess

_STOP = object()


class PluginCrash(RuntimeError):
    """A plugin raised a ``BaseException`` that is not an ``Exception`` (``SystemExit``...).

    Such an exception would stop the worker's loop; on a pipeline thread it can only be a
    plugin's bug (signals are delivered to the main thread), so it is wrapped in this
    ordinary exception and counted like any other failure.
    """


async def _guarded(awaitable: Awaitable[Any]) -> Any:
    """Await ``awaitable``, turning a stray ``BaseException`` into :class:`PluginCrash`."""
    try:
        return await awaitable
    except (Exception, asyncio.CancelledError):
        raise
    except BaseException as exc:
        raise PluginCrash(f"{type(exc).__name__}: {exc}") from exc


def exporter_name(exporter: object) -> str:
    """The name an exporter is reported under: its ``name`` attribute or its class name."""
    name = getattr(exporter, "name", None)
    return name if isinstance(name, str) and name else type(exporter).__name__


def is_success(result: object) -> bool:
    """Map what ``export`` returned to success: ``None``, ``True`` or a SUCCESS enum."""
    if result is None or result is True:
        return True
    if result is False:
        return False
    if isinstance(result, ExportResult):
        return result is ExportResult.SUCCESS
    return getattr(result, "name", None) == "SUCCESS"


def rejected_count(result: PartialSuccess, batch_size: int) -> int:
    """How many records of a batch of ``batch_size`` a :class:`PartialSuccess` failed."""
    rejected = result.rejected
    if type(rejected) is not int:
        try:
            rejected = int(rejected)
        except Exception:
            return batch_size
    return min(max(rejected, 0), batch_size)


class _CallThread:
    """A daemon thread that runs one call at a time and reports back to a loop."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, loop: asyncio.AbstractEventLoop, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        """Run ``fn`` on the thread; the returned future (of ``loop``) gets its outcome."""
        future: asyncio.Future[Any] = loop.create_future()
        self.busy = True
        self._jobs.put((loop, fn, future))
        return future

    def stop(self) -> None:
        """Ask the thread to end once its current call returns."""
        self._jobs.put(_STOP)

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the thread to end."""
        self._thread.join(timeout)

    def _run(self) -> None:
        mark_pipeline_thread()
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            loop, fn, future = job
            try:
                outcome: tuple[bool, Any] = (True, fn())
            except Exception as exc:
                outcome = (False, exc)
            except BaseException as exc:
                outcome = (False, PluginCrash(f"{type(exc).__name__}: {exc}"))
            self.busy = False
            try:
                loop.call_soon_threadsafe(_settle, future, outcome)
            except RuntimeError:
                # The worker's loop is closed (shutdown timed out): nobody waits any more.
                continue


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class ExporterLane:
    """One exporter, its inbox of batches and its own thread (for synchronous exporters).

    Args:
        exporter: Anything with ``export``, ``force_flush`` and ``shutdown``.
        stats: Where this lane's outcomes are counted.
        diagnostics: Where failures are reported.
    """

    #: Batches a lane may hold before the worker waits for it.
    DEPTH = 2

    def __init__(self, exporter: Any, stats: ExporterStats, diagnostics: Diagnostics) -> None:
        self.exporter = exporter
        self.name = exporter_name(exporter)
        self.stats = stats
        outcomes = getattr(exporter, "outcomes", None)
        if callable(outcomes):
            stats.outcomes = outcomes
        self.is_async = inspect.iscoroutinefunction(getattr(exporter, "export", None))
        self.inbox: deque[Any] = deque()
        #: Set by the worker when it adds to the inbox; made on the worker's loop.
        self.event = asyncio.Event()
        #: Held for each call to the exporter, so calls queue up instead of overlapping.
        self.calls = asyncio.Lock()
        #: When the export now running started (``time.monotonic()``), or ``None``.
        self.busy_since: float | None = None
        self._diagnostics = diagnostics
        self.breaker = CircuitBreaker()
        stats.circuit = lambda: self.breaker.state
        self._thread = _CallThread(f"fapilog-export-{self.name}")
        #: Called after each export call (see ``Container.add_export_listener``).
        self.listeners: list[Callable[[str, int, float, int], None]] = []

    @property
    def has_room(self) -> bool:
        """Whether the worker may hand this lane another batch."""
        return len(self.inbox) < self.DEPTH

    def stalled(self, now: float, after: float) -> bool:
        """Whether the lane's current export has been running for ``after`` seconds."""
        return self.busy_since is not None and now - self.busy_since >= after

    async def export(self, records: Sequence[LogRecord], timeout: float) -> int:
        """Export one batch within ``timeout`` seconds; count and return how many failed.

        An exporter that raised or timed out in :class:`CircuitBreaker` ``threshold``
        batches in a row is not called while its circuit is open: its batches fail at once
        (counted in ``circuit_open``) until a probe succeeds. Returning FAILURE is not a
        fault of the plugin and never opens the circuit.
        """
        n = len(records)
        if not self.breaker.allows():
            self.stats.failed += n
            self.stats.circuit_open += n
            return n
        started = time.monotonic()
        result = await self._call(lambda: self.exporter.export(records), timeout, "export")
        seconds = time.monotonic() - started
        self.stats.export_seconds.observe(seconds)
        self.stats.batch_sizes.observe(n)
        if result is _FAILED:
            self.breaker.failure()
        else:
            self.breaker.success()
        if result is _FAILED:
            failed = n
        elif isinstance(result, PartialSuccess):
            failed = rejected_count(result, n)
        else:
            failed = 0 if is_success(result) else n
        self.stats.exported += n - failed
        self.stats.failed += failed
        if self.listeners:
            self._tell_listeners(n, seconds, failed)
        return failed

    def _tell_listeners(self, n: int, seconds: float, failed: int) -> None:
        for listener in self.listeners:
            try:
                listener(self.name, n, seconds, failed)
            except Exception as exc:
                self._diagnostics.warn(
                    f"listener:{self.name}", f"an export listener failed: {exc!r}"
                )

    async def force_flush(self, timeout: float) -> bool:
        """Ask the exporter to push out what it buffers, within ``timeout`` seconds."""
        millis = max(1, int(timeout * 1000))
        method = getattr(self.exporter, "force_flush", None)
        if method is None:
            return True
        result = await self._call(lambda: method(millis), timeout, "force_flush")
        return result is None or bool(result)

    async def shutdown(self, timeout: float) -> bool:
        """Shut the exporter down and stop the lane's thread."""
        method = getattr(self.exporter, "shutdown", None)
        result: Any = True
        if method is not None:
            result = await self._call(method, timeout, "shutdown")
        self._thread.stop()
        return result is not _FAILED

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the lane's thread to end."""
        self._thread.join(timeout)

    async def _call(self, fn: Callable[[], Any], timeout: float, what: str) -> Any:
        """Run ``fn`` within ``timeout``; return its result, or ``_FAILED`` (counted).

        Calls wait for the lane's previous call to return (within the same timeout); a call
        that finds the exporter's thread still stuck in a call that already timed out fails
        at once instead of overlapping it.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self.calls.acquire(), timeout)
        except asyncio.TimeoutError:
            self.stats.timeouts += 1
            self._diagnostics.warn(
                f"queued:{self.name}",
                f"exporter {self.name!r} {what} waited {timeout:.3g}s for an earlier call",
            )
            return _FAILED
        try:
            return await self._call_locked(fn, max(0.0, deadline - loop.time()), what)
        finally:
            self.calls.release()

    async def _call_locked(self, fn: Callable[[], Any], timeout: float, what: str) -> Any:
        try:
            if self.is_async and what == "export":
                return await asyncio.wait_for(_guarded(fn()), timeout)
            if self._thread.busy:
                self._diagnostics.warn(
                    f"busy:{self.name}",
                    f"exporter {self.name!r} is still running an earlier call that timed "
                    f"out; {what} skipped",
                )
                self.stats.timeouts += 1
                return _FAILED
            future = self._thread.submit(asyncio.get_running_loop(), fn)
            result = await asyncio.wait_for(asyncio.shield(future), timeout)
            if inspect.isawaitable(result):
                return await asyncio.wait_for(_guarded(result), timeout)
            return result
        except asyncio.TimeoutError:
            self.stats.timeouts += 1
            self._diagnostics.warn(
                f"timeout:{self.name}",
                f"exporter {self.name!r} {what} did not finish within {timeout:.3g}s",
            )
            return _FAILED
        except Exception as exc:
            self.stats.errors += 1
            self._diagnostics.warn(
                f"error:{self.name}:{type(exc).__name__}",
                f"exporter {self.name!r} {what} raised {type(exc).__name__}: {exc}",
            )
            return _FAILED


class _Failed:
    """The outcome of a call that raised or timed out."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<failed>"


_FAILED: Any = _Failed()
