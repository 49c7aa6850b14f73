"""The processor chain: plugins in their stages, isolated from each other and the app.

Stages run in a fixed order, whatever order the processors were given in: filters, then
enrichers and plain processors (in the order given), then redactors, so nothing a
processor adds escapes redaction. Each processor is isolated:

* a processor that raises leaves the records as they were and the batch goes on; the
  failure is counted per processor (a redactor fails closed instead: the records it should
  have cleaned are masked, never passed on in clear);
* unless it declares ``in_place = True`` (it never leaves a half-made change), a processor
  works on copies, so a failure halfway cannot leave a record half changed;
* a processor failing in ``CircuitBreaker.threshold`` batches in a row is skipped (a
  redactor: its records masked) until a probe succeeds;
* an ``async def process`` runs on a loop of its own with ``plugin_timeout_ms`` per batch.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from operator import is_
from typing import Any

from fapilog_otel import _stats
from fapilog_otel._breaker import CircuitBreaker
from fapilog_otel._capture import mark_pipeline_thread
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._stats import ProcessorStats
from fapilog_otel.record import LogRecord

#: What a redactor's records carry when it could not clean them.
REDACTION_FAILED = "[REDACTION FAILED]"

#: Stage order of each processor kind.
STAGE_ORDER = {"filter": 0, "enricher": 1, "processor": 1, "redactor": 2}


def processor_kind(processor: object) -> str:
    """A processor's ``kind`` (``processor`` when it declares none or an unknown one)."""
    kind = getattr(processor, "kind", "processor")
    return kind if isinstance(kind, str) and kind in STAGE_ORDER else "processor"


def mask(record: LogRecord) -> LogRecord:
    """Mask ``record`` in place as a failed redaction leaves it: body and every value."""
    if record.body is not None:
        record.body = REDACTION_FAILED
    record.attributes = dict.fromkeys(record.attributes, REDACTION_FAILED)
    return record


class _AsyncRunner:
    """A daemon thread with an event loop for async processors (started on first use)."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coroutine: Any, timeout: float) -> Any:
        """Run ``coroutine`` on the loop; wait at most ``timeout`` seconds for its result."""
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self._ensure())
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def serve() -> None:
                    mark_pipeline_thread()
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=serve, name="fapilog-async-plugins", daemon=True).start()
                ready.wait(5.0)
                self._loop = loop
            return self._loop

    def stop(self) -> None:
        """Stop the loop (its thread ends); a later ``run`` starts a new one."""
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)

    def reset_after_fork(self) -> None:
        """Forget the parent's loop (its thread does not exist in the child)."""
        self._lock = threading.Lock()
        self._loop = None


class ChainLink:
    """One processor in the chain, with how to call it and its accounting."""

    __slots__ = (
        "batch",
        "breaker",
        "copies",
        "drop_reason",
        "is_async",
        "kind",
        "name",
        "processor",
        "single",
        "stats",
    )

    def __init__(self, name: str, processor: Any, stats: ProcessorStats) -> None:
        self.name = name
        self.processor = processor
        self.kind = processor_kind(processor)
        reason = getattr(processor, "drop_reason", None) if self.kind == "filter" else None
        self.drop_reason = reason if isinstance(reason, str) and reason else _stats.FILTERED
        single = getattr(processor, "process", None)
        batch = getattr(processor, "process_batch", None)
        self.is_async = inspect.iscoroutinefunction(single)
        self.batch: Callable[[list[LogRecord]], Any] | None = (
            batch if callable(batch) and not self.is_async else None
        )
        self.single: Callable[[LogRecord], Any] | None = single if callable(single) else None
        in_place = getattr(processor, "in_place", False) is True
        self.copies = not in_place and self.kind != "redactor"
        self.breaker = CircuitBreaker()
        self.stats = stats


class Chain:
    """The processors of one container, in stage order.

    Args:
        links: The processors, each with its name and stats (in the order given).
        diagnostics: Where failures are reported.
        async_timeout: Seconds an async processor may take over one batch.
    """

    def __init__(
        self, links: Sequence[ChainLink], diagnostics: Diagnostics, async_timeout: float
    ) -> None:
        self.links = tuple(sorted(links, key=lambda link: STAGE_ORDER[link.kind]))
        self.diagnostics = diagnostics
        self.async_timeout = async_timeout
        self._async = _AsyncRunner()

    def __bool__(self) -> bool:
        return bool(self.links)

    @property
    def drop_reasons(self) -> frozenset[str]:
        """The reasons the filters count their drops under (intended, never losses)."""
        return frozenset(link.drop_reason for link in self.links if link.kind == "filter")

    def run(
        self, records: list[LogRecord], dropped: dict[str, int], *, internal: bool = False
    ) -> tuple[list[LogRecord], int]:
        """Run every processor over ``records``; filters skip ``internal`` records (the
        library's drop reports, which no filter should hide).

        Returns:
            The records to pass on, and how many of them processors added (records a
            processor returned that were not in its input: a summary, say).
        """
        added = 0
        for link in self.links:
            if not records:
                break
            if internal and link.kind == "filter":
                continue
            if not link.breaker.allows():
                link.stats.skipped += len(records)
                if link.kind == "redactor":
                    link.stats.masked += len(records)
                    records = [mask(record) for record in records]
                continue
            records, link_added = self._run_link(link, records, dropped)
            added += link_added
        return records, added

    def _run_link(
        self, link: ChainLink, records: list[LogRecord], dropped: dict[str, int]
    ) -> tuple[list[LogRecord], int]:
        """Run one processor; count what it dropped (under its reason) and added."""
        removed = added = 0
        try:
            if link.is_async:
                out, failed, removed = self._run_async(link, records)
            elif link.batch is not None:
                out, failed, removed, added = self._run_batch(link, records)
            else:
                out, failed, removed = self._run_each(link, records)
        except BaseException as exc:  # on the worker even SystemExit is a plugin's bug
            self._failed(link, exc, len(records))
            out, failed, removed, added = self._fallback(link, records), True, 0, 0
        if failed:
            link.breaker.failure()
        else:
            link.breaker.success()
        if removed:
            dropped[link.drop_reason] = dropped.get(link.drop_reason, 0) + removed
        link.stats.added += added
        return out, added

    def _run_batch(
        self, link: ChainLink, records: list[LogRecord]
    ) -> tuple[list[LogRecord], bool, int, int]:
        """Returns the records, whether it failed, how many it dropped and added."""
        assert link.batch is not None
        inputs = [record.copy() for record in records] if link.copies else records
        given = inputs[:]  # the processor may change its list in place
        result = link.batch(inputs)
        if type(result) is list and len(result) == len(given) and all(map(is_, result, given)):
            # The common case, checked in one pass at C speed: the same records came back.
            return result, False, 0, 0
        if not isinstance(result, list) or not all(type(r) is LogRecord for r in result):
            raise TypeError(
                f"process_batch returned {type(result).__name__}, not a list of LogRecord"
            )
        given_ids = {id(record) for record in given}
        kept = {id(record) for record in result}
        added = sum(1 for record in result if id(record) not in given_ids)
        removed = sum(1 for record in given if id(record) not in kept)
        return result, False, removed, added

    def _run_each(
        self, link: ChainLink, records: list[LogRecord]
    ) -> tuple[list[LogRecord], bool, int]:
        """Returns the records, whether any call failed, and how many were dropped."""
        single = link.single
        if single is None:
            raise TypeError(f"processor {link.name!r} has neither process nor process_batch")
        out: list[LogRecord] = []
        failed = False
        removed = 0
        copies = link.copies
        for record in records:
            try:
                result = single(record.copy() if copies else record)
            except BaseException as exc:  # on the worker even SystemExit is a plugin's bug
                self._failed(link, exc, 1)
                failed = True
                out.append(self._left(link, record))
                continue
            if result is None:
                removed += 1
            elif type(result) is LogRecord:
                out.append(result)
            else:
                self._failed(link, TypeError(f"returned {type(result).__name__}"), 1)
                failed = True
                out.append(self._left(link, record))
        return out, failed, removed

    def _run_async(
        self, link: ChainLink, records: list[LogRecord]
    ) -> tuple[list[LogRecord], bool, int]:
        """Returns the records, whether any call failed, and how many were dropped."""
        single = link.single
        assert single is not None
        inputs = [record.copy() if link.copies else record for record in records]

        async def run_all() -> list[Any]:
            return await asyncio.gather(*(single(r) for r in inputs), return_exceptions=True)

        try:
            results = self._async.run(run_all(), self.async_timeout)
        except FutureTimeout:
            link.stats.timeouts += 1
            if link.kind == "redactor":
                link.stats.masked += len(records)
            self.diagnostics.warn(
                f"processor-timeout:{link.name}",
                f"async processor {link.name!r} took over {self.async_timeout:.3g}s for a batch",
            )
            return self._fallback(link, records), True, 0
        out: list[LogRecord] = []
        failed = False
        removed = 0
        for original, result in zip(records, results, strict=True):
            if result is None:
                removed += 1
            elif type(result) is LogRecord:
                out.append(result)
            else:
                error = (
                    result
                    if isinstance(result, BaseException)
                    else TypeError(f"returned {type(result).__name__}")
                )
                self._failed(link, error, 1)
                failed = True
                out.append(self._left(link, original))
        return out, failed, removed

    def _left(self, link: ChainLink, record: LogRecord) -> LogRecord:
        """What a failed call leaves of one record: itself, or masked for a redactor."""
        return mask(record) if link.kind == "redactor" else record

    def _fallback(self, link: ChainLink, records: list[LogRecord]) -> list[LogRecord]:
        """What a failed call leaves: the records as they were, or masked for a redactor."""
        if link.kind == "redactor":
            return [mask(record) for record in records]
        return records

    def _failed(self, link: ChainLink, exc: BaseException, records: int) -> None:
        link.stats.errors += records
        if link.kind == "redactor":
            link.stats.masked += records
        outcome = "records masked" if link.kind == "redactor" else "records kept"
        self.diagnostics.warn(
            f"processor:{link.name}",
            f"{link.kind} {link.name!r} raised {type(exc).__name__}: {exc}; {outcome}",
        )

    def shutdown(self) -> None:
        """Call each processor's ``shutdown()`` (if it has one) and stop the async loop.

        Failures are reported, never raised.
        """
        for link in self.links:
            method = getattr(link.processor, "shutdown", None)
            if callable(method):
                try:
                    method()
                except BaseException as exc:
                    self.diagnostics.warn(
                        f"processor-shutdown:{link.name}",
                        f"{link.kind} {link.name!r} shutdown raised {type(exc).__name__}: {exc}",
                    )
        self._async.stop()

    def reset_after_fork(self) -> None:
        """In a forked child: no inherited async loop."""
        self._async.reset_after_fork()
