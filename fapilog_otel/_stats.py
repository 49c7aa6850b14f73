"""The accounting of one pipeline: every record submitted ends up counted exactly once.

``submitted == exported + failed + sum(dropped.values()) + queued`` holds in every snapshot,
where ``queued`` counts records waiting in the queue and records the worker has taken but
not finished. The library's own drop-report records are not part of these totals (they are
counted by each exporter in ``exporters``): ``submitted`` is what the application logged.
Counters are changed under the queue's lock (never on the fast path of a log
call, which only appends), so a snapshot is consistent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

#: Why a record was dropped. Reasons are strings so plugins can add their own.
QUEUE_FULL = "queue_full"
"""``overflow=drop_newest`` and the queue was full."""
EVICTED = "evicted"
"""``overflow=drop_oldest`` evicted the record to make room for a newer one."""
BLOCK_TIMEOUT = "block_timeout"
"""``overflow=block`` waited ``block_timeout_ms`` and the queue was still full."""
REENTRANT = "reentrant"
"""Logged from the pipeline's own threads (an exporter logging while it exports)."""
SHUTDOWN = "shutdown"
"""Logged after shutdown, or still queued when the shutdown timeout ran out."""
FILTERED = "filtered"
"""A processor returned ``None``."""
NO_EXPORTER = "no_exporter"
"""The container has no exporter (``OTEL_LOGS_EXPORTER=none``)."""
INTERNAL_ERROR = "internal_error"
"""The library failed to capture or convert the record (reported on the diagnostics channel)."""


class ExporterStats:
    """Outcomes of one exporter, in records (``timeouts`` and ``errors`` in calls).

    ``circuit_open`` counts records failed without calling the exporter while its circuit
    was open (it kept raising or timing out); ``circuit`` is the circuit's state. When the
    exporter has an ``outcomes()`` method (reason -> count), its result is shown under
    ``"outcomes"``.
    """

    __slots__ = ("circuit", "circuit_open", "errors", "exported", "failed", "outcomes", "timeouts")

    def __init__(self) -> None:
        self.exported = 0
        self.failed = 0
        self.errors = 0
        self.timeouts = 0
        self.circuit_open = 0
        self.circuit: Callable[[], str] | None = None
        self.outcomes: Callable[[], Mapping[str, int]] | None = None

    def snapshot(self) -> dict[str, Any]:
        """Return the counts as a plain dict."""
        values: dict[str, Any] = {
            "exported": self.exported,
            "failed": self.failed,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "circuit_open": self.circuit_open,
            "circuit": self.circuit() if self.circuit is not None else "closed",
        }
        if self.outcomes is not None:
            try:
                values["outcomes"] = dict(self.outcomes())
            except Exception as exc:
                values["outcomes_error"] = f"{type(exc).__name__}: {exc}"
        return values


#: Drop reasons of the built-in filters (intended, like ``filtered``).
SAMPLED = "sampled"
"""The ``sample`` filter left the record out."""
RATE_LIMITED = "rate_limited"
"""The ``rate_limit`` filter's budget for the record's key was spent."""
DUPLICATE = "duplicate"
"""The ``dedupe`` filter suppressed a repeat (counted in the summary too)."""


class ProcessorStats:
    """Outcomes of one processor: failures, skips while circuit-broken, masking, additions.

    ``errors`` counts records whose processing raised (or returned something that is not a
    record); ``timeouts`` counts batches an async processor did not finish in time;
    ``skipped`` counts records that passed while the circuit was open; ``masked`` counts
    records a redactor could not clean and masked instead; ``added`` counts records the
    processor added (a summary, say).
    """

    __slots__ = ("added", "errors", "masked", "skipped", "state", "timeouts")

    def __init__(self) -> None:
        self.errors = 0
        self.timeouts = 0
        self.skipped = 0
        self.masked = 0
        self.added = 0
        self.state: Callable[[], str] | None = None

    def snapshot(self) -> dict[str, Any]:
        """Return the counts (and the circuit's state) as a plain dict."""
        return {
            "errors": self.errors,
            "timeouts": self.timeouts,
            "skipped": self.skipped,
            "masked": self.masked,
            "added": self.added,
            "circuit": self.state() if self.state is not None else "closed",
        }


class Counters:
    """The mutable counters behind :class:`StatsSnapshot`; changed under the queue lock."""

    def __init__(self) -> None:
        self.taken = 0
        self.in_flight = 0
        self.exported = 0
        self.failed = 0
        self.dropped: Counter[str] = Counter()
        self.added = 0
        self.processors: dict[str, ProcessorStats] = {}
        self.exporters: dict[str, ExporterStats] = {}

    def reset(self) -> None:
        """Start from zero (a forked child does not inherit its parent's counts)."""
        self.__init__()  # type: ignore[misc]


class StatsSnapshot(Mapping[str, Any]):
    """A read-only view of a container's counters at one moment.

    Keys: ``submitted``, ``exported``, ``failed``, ``queued``, ``added`` (ints), ``dropped``
    (reason -> count), ``exporters`` (exporter name -> its counts), ``processors``
    (processor name -> its counts) and ``processor_errors`` (processor name -> failures).
    ``submitted + added == exported + failed + sum(dropped) + queued``: ``added`` counts
    records processors added (summaries), which ``submitted`` (what the application
    logged) does not include.
    """

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"StatsSnapshot({self._values!r})"


def snapshot(counters: Counters, queue_length: int) -> StatsSnapshot:
    """Build a snapshot; call with the queue lock held."""
    dropped = dict(counters.dropped)
    queued = queue_length + counters.in_flight
    submitted = counters.exported + counters.failed + sum(dropped.values()) + queued
    submitted -= counters.added
    return StatsSnapshot(
        {
            "submitted": submitted,
            "exported": counters.exported,
            "failed": counters.failed,
            "queued": queued,
            "added": counters.added,
            "dropped": dropped,
            "exporters": {name: s.snapshot() for name, s in counters.exporters.items()},
            "processors": {name: s.snapshot() for name, s in counters.processors.items()},
            "processor_errors": {
                name: s.errors for name, s in counters.processors.items() if s.errors
            },
        }
    )
