"""The bounded queue between the call sites and the worker, with its overflow policies.

The fast path lives in the loggers: ``if len(items) < limit: items.append(raw)``. A
``deque.append`` is atomic, so producers never take a lock. Everything else (waiting under
``block``, evicting under ``drop_oldest``, counting drops) happens here on the slow path,
under :attr:`RecordQueue.lock`, which the worker also takes once per batch.

Records at ERROR and above are the last to be dropped: records below ERROR may fill the queue
only up to :attr:`low_limit`, leaving a reserve that only ERROR and above may use, and
``drop_oldest`` never evicts an ERROR record to make room for a lower one.

Capacity is a soft bound: producers racing on the fast path may overshoot it by at most one
record per producer thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from fapilog_otel import _stats
from fapilog_otel._raw import SEVERITY_NUMBER, RawRecord
from fapilog_otel._stats import Counters
from fapilog_otel.record import Severity

#: Limit value that sends every record to the slow path (after shutdown).
CLOSED = -1

#: How far ``drop_oldest`` looks past leading ERROR records for one it may evict.
EVICTION_SCAN = 64


class RecordQueue:
    """The records waiting for the worker, and the accounting of the whole pipeline.

    Args:
        capacity: Records the queue holds.
        error_reserve: Share of ``capacity`` kept for ERROR and above.
        overflow: ``block``, ``drop_newest`` or ``drop_oldest``.
        block_timeout: Seconds a blocked producer waits before dropping its record.
        wake: Called (without the lock) after a slow-path append, to wake the worker.
    """

    def __init__(
        self,
        *,
        capacity: int,
        error_reserve: float,
        overflow: str,
        block_timeout: float,
        wake: Callable[[], None],
    ) -> None:
        self.items: deque[RawRecord] = deque()
        self.capacity = capacity
        self.open_limits = (max(1, capacity - int(capacity * error_reserve)), capacity)
        self.low_limit, self.high_limit = self.open_limits
        self.overflow = overflow
        self.block_timeout = block_timeout
        self.counters = Counters()
        self.lock = threading.Lock()
        self.space = threading.Condition(self.lock)
        self.space_waiters = 0
        self._wake = wake

    # -- the producers' slow path ------------------------------------------------------

    def drop(self, reason: str, count: int = 1) -> None:
        """Count ``count`` records dropped for ``reason``."""
        with self.lock:
            self.counters.dropped[reason] += count

    def put(self, raw: RawRecord) -> None:
        """Queue ``raw`` applying the overflow policy; may wait under ``block``."""
        if self.offer(raw):
            return
        deadline = time.monotonic() + self.block_timeout
        high = raw[SEVERITY_NUMBER] >= Severity.ERROR
        with self.space:
            while True:
                limit = self.high_limit if high else self.low_limit
                if limit == CLOSED:
                    self.counters.dropped[_stats.SHUTDOWN] += 1
                    return
                if len(self.items) < limit:
                    self.items.append(raw)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.counters.dropped[_stats.BLOCK_TIMEOUT] += 1
                    return
                self.space_waiters += 1
                try:
                    self.space.wait(remaining)
                finally:
                    self.space_waiters -= 1
        self._wake()

    def offer(self, raw: RawRecord) -> bool:
        """Queue ``raw`` without waiting.

        Returns:
            True when the record is accounted for (queued or dropped and counted); False
            only under ``block`` when the queue is full, so the caller may wait and retry
            (or give up with :meth:`give_up`).
        """
        high = raw[SEVERITY_NUMBER] >= Severity.ERROR
        with self.lock:
            limit = self.high_limit if high else self.low_limit
            if limit == CLOSED:
                self.counters.dropped[_stats.SHUTDOWN] += 1
                return True
            if len(self.items) < limit:
                self.items.append(raw)
            elif self.overflow == "block":
                return False
            elif self.overflow == "drop_newest" or not self._evict_for(high):
                self.counters.dropped[_stats.QUEUE_FULL] += 1
                return True
            else:
                self.items.append(raw)
        self._wake()
        return True

    def give_up(self) -> None:
        """Count a record whose producer stopped waiting for room (``block`` timed out)."""
        self.drop(_stats.BLOCK_TIMEOUT)

    def _evict_for(self, high: bool) -> bool:
        """Evict the oldest record to make room; never an ERROR record for a lower one.

        For a record below ERROR, the oldest record below ERROR among the first
        :data:`EVICTION_SCAN` is evicted; when those are all ERROR records, nothing is.
        """
        items = self.items
        if not items:
            return True
        if high or items[0][SEVERITY_NUMBER] < Severity.ERROR:
            try:
                items.popleft()
            except IndexError:
                return True
            self.counters.dropped[_stats.EVICTED] += 1
            return True
        for index in range(1, min(EVICTION_SCAN, len(items))):
            if items[index][SEVERITY_NUMBER] < Severity.ERROR:
                del items[index]
                self.counters.dropped[_stats.EVICTED] += 1
                return True
        return False

    # -- the worker's side -------------------------------------------------------------

    def take(self, max_items: int) -> tuple[list[RawRecord], int]:
        """Remove up to ``max_items`` of the oldest records (worker only).

        Returns:
            The records, and the count of records removed from the queue so far (taken or
            evicted), which is the batch's mark for :meth:`Worker.flush`.
        """
        items = self.items
        with self.lock:
            n = min(max_items, len(items))
            popleft = items.popleft
            batch = [popleft() for _ in range(n)]
            c = self.counters
            c.taken += n
            c.in_flight += n
            if self.space_waiters:
                self.space.notify_all()
            return batch, c.taken + c.dropped[_stats.EVICTED]

    def settle(
        self,
        *,
        exported: int = 0,
        failed: int = 0,
        dropped: dict[str, int] | None = None,
        added: int = 0,
    ) -> None:
        """Move finished in-flight records to their outcome; ``added`` records that
        processors made join the ones in flight."""
        with self.lock:
            c = self.counters
            if added:
                c.added += added
                c.in_flight += added
            c.exported += exported
            c.failed += failed
            done = exported + failed
            if dropped:
                for reason, n in dropped.items():
                    c.dropped[reason] += n
                    done += n
            c.in_flight -= done

    def close(self) -> None:
        """Send every later record to the slow path, where it is counted as ``shutdown``."""
        with self.lock:
            self.low_limit = self.high_limit = CLOSED
            self.space.notify_all()

    def discard_remaining(self) -> int:
        """Count what is still queued as dropped at shutdown; return how many."""
        with self.lock:
            n = len(self.items)
            self.items.clear()
            if n:
                self.counters.dropped[_stats.SHUTDOWN] += n
        return n

    def snapshot(self) -> _stats.StatsSnapshot:
        """Return a consistent snapshot of the counters."""
        with self.lock:
            return _stats.snapshot(self.counters, len(self.items))

    def consumed_and_pending(self) -> tuple[int, int]:
        """Return (records removed from the queue so far, records still in it)."""
        with self.lock:
            c = self.counters
            return c.taken + c.dropped[_stats.EVICTED], len(self.items)

    def reset_after_fork(self) -> None:
        """Give a forked child an empty queue, zero counters and fresh locks."""
        self.items.clear()
        self.counters.reset()
        self.lock = threading.Lock()
        self.space = threading.Condition(self.lock)
        self.space_waiters = 0
        self.low_limit, self.high_limit = self.open_limits
