"""The accounting of one pipeline: every record submitted ends up counted exactly once.

``submitted == exported + failed + sum(dropped.values()) + queued`` holds in every snapshot,
where ``queued`` counts records waiting in the queue and records the worker has taken but
not finished. The library's own drop-report records are not part of these totals (they are
counted by each exporter in ``exporters``): ``submitted`` is what the application logged.
Counters are changed under the queue's lock (never on the fast path of a log
call, which only appends), so a snapshot is consistent.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
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


class Histogram:
    """Observations counted in buckets with fixed upper bounds (inclusive, as Prometheus'
    ``le``), plus their sum and count; the last bucket takes everything above the bounds.

    Observed on the worker's loop only; a snapshot read meanwhile may be one observation
    behind in ``sum`` (never torn in the counts a reader sums).
    """

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Count one observation of ``value``."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def snapshot(self) -> dict[str, Any]:
        """``bounds``, per-bucket ``counts`` (one more than the bounds), ``sum``, ``count``."""
        counts = list(self.counts)
        return {
            "bounds": list(self.bounds),
            "counts": counts,
            "sum": self.sum,
            "count": sum(counts),
        }


#: Upper bounds of the batch-size histogram, in records.
BATCH_SIZE_BOUNDS = (1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
#: Upper bounds of the export-duration histogram, in seconds.
EXPORT_SECONDS_BOUNDS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)


class ExporterStats:
    """Outcomes of one exporter, in records (``timeouts`` and ``errors`` in calls).

    ``circuit_open`` counts records failed without calling the exporter while its circuit
    was open (it kept raising or timing out); ``circuit`` is the circuit's state. When the
    exporter has an ``outcomes()`` method (reason -> count), its result is shown under
    ``"outcomes"``.
    """

    __slots__ = (
        "batch_sizes",
        "circuit",
        "circuit_open",
        "errors",
        "export_seconds",
        "exported",
        "failed",
        "outcomes",
        "timeouts",
    )

    def __init__(self) -> None:
        self.exported = 0
        self.failed = 0
        self.errors = 0
        self.timeouts = 0
        self.circuit_open = 0
        self.circuit: Callable[[], str] | None = None
        self.outcomes: Callable[[], Mapping[str, int]] | None = None
        #: Records per batch handed to the exporter (batches failed while the circuit was
        #: open are not counted: the exporter never saw them).
        self.batch_sizes = Histogram(BATCH_SIZE_BOUNDS)
        #: Seconds each export call took, retries included, timeouts at their limit.
        self.export_seconds = Histogram(EXPORT_SECONDS_BOUNDS)

    def snapshot(self) -> dict[str, Any]:
        """Return the counts as a plain dict."""
        values: dict[str, Any] = {
            "exported": self.exported,
            "failed": self.failed,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "circuit_open": self.circuit_open,
            "circuit": self.circuit() if self.circuit is not None else "closed",
            "batch_sizes": self.batch_sizes.snapshot(),
            "export_seconds": self.export_seconds.snapshot(),
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


#: The severity names records are counted under: the OTel short names of the six ranges.
_SEVERITY_RANGES = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
#: The logger label that every logger past the tally's limit is counted under.
OTHER_LOGGERS = "_other"
_SEVERITY_AND_SCOPE = itemgetter(2, 6)


def severity_range(number: int) -> str:
    """The OTel short name of the range ``number`` falls in (1-4 TRACE ... 21-24 FATAL);
    ``UNSPECIFIED`` outside 1..24."""
    if isinstance(number, int) and 1 <= number <= 24:
        return _SEVERITY_RANGES[(number - 1) // 4]
    return "UNSPECIFIED"


class RecordTally:
    """Records counted by severity range and logger, for log-derived metrics.

    Counted when the worker takes them from the queue, so records dropped at a full queue
    are not in it (``dropped`` counts them by reason). At most ``max_loggers`` logger
    names are kept apart; records of any other logger count under :data:`OTHER_LOGGERS`,
    so the number of label values stays bounded whatever the application names its
    loggers. Off until :meth:`~fapilog_otel.Container.count_records` turns it on.
    """

    def __init__(self, max_loggers: int) -> None:
        self.max_loggers = max_loggers
        self._counts: dict[tuple[str, str], int] = {}
        self._kept: set[str] = set()
        self._names: dict[object, str] = {}
        self._lock = threading.Lock()

    def count(self, raws: Sequence[tuple[Any, ...]]) -> None:
        """Count a batch of queued tuples (severity number in slot 2, scope in slot 6)."""
        seen = Counter(map(_SEVERITY_AND_SCOPE, raws))
        with self._lock:
            counts = self._counts
            for (number, scope), n in seen.items():
                key = (severity_range(number), self._logger(scope))
                counts[key] = counts.get(key, 0) + n

    def _logger(self, scope: object) -> str:
        name = self._names.get(scope)
        if name is None:
            text = scope if isinstance(scope, str) else str(getattr(scope, "name", scope))
            if text not in self._kept and len(self._kept) < self.max_loggers:
                self._kept.add(text)
            name = text if text in self._kept else OTHER_LOGGERS
            if len(self._names) < 4 * self.max_loggers + 64:
                self._names[scope] = name
        return name

    def snapshot(self) -> dict[str, dict[str, int]]:
        """Severity range -> logger -> records."""
        with self._lock:
            items = list(self._counts.items())
        result: dict[str, dict[str, int]] = {}
        for (severity, logger), n in items:
            result.setdefault(severity, {})[logger] = n
        return result


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
        self.tally: RecordTally | None = None
        #: Called after every export call: (exporter, records, seconds, failed).
        self.export_listeners: list[Callable[[str, int, float, int], None]] = []

    def reset(self) -> None:
        """Start from zero (a forked child does not inherit its parent's counts), keeping
        the record tally on when it was, and the export listeners."""
        tally, listeners = self.tally, self.export_listeners
        self.__init__()  # type: ignore[misc]
        self.export_listeners = listeners
        if tally is not None:
            self.tally = RecordTally(tally.max_loggers)


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
            **({"records": counters.tally.snapshot()} if counters.tally is not None else {}),
        }
    )
