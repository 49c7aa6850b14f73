"""What a container's figures are, whatever system shows them.

:func:`figures` turns one :meth:`~fapilog_otel.Container.stats` snapshot into a list of
:class:`Figure` objects; the Prometheus collector and the OpenTelemetry instruments both
read that list, so the two always show the same numbers under matching names. Names here
have no prefix and no unit suffix: Prometheus shows ``records_submitted`` as
``fapilog_otel_records_submitted_total``, OpenTelemetry as ``fapilog_otel.records.submitted``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Figure", "HistogramValue", "figures"]

Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class HistogramValue:
    """A histogram's buckets: ``bounds`` (inclusive upper bounds), per-bucket ``counts``
    (one more than the bounds: the last takes everything above), their ``sum``."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]
    sum: float

    @property
    def count(self) -> int:
        """How many observations in all."""
        return sum(self.counts)


@dataclass
class Figure:
    """One measured quantity and its values by label set."""

    name: str
    kind: Kind
    help: str
    unit: str = ""
    labels: tuple[str, ...] = ()
    samples: list[tuple[tuple[str, ...], Any]] = field(default_factory=list)

    def add(self, label_values: tuple[str, ...], value: Any) -> None:
        """Add the value of one label set (``label_values`` in :attr:`labels` order)."""
        self.samples.append((label_values, value))


def _histogram(snapshot: Mapping[str, Any]) -> HistogramValue:
    return HistogramValue(
        bounds=tuple(float(b) for b in snapshot["bounds"]),
        counts=tuple(int(c) for c in snapshot["counts"]),
        sum=float(snapshot["sum"]),
    )


def _totals(stats: Mapping[str, Any], container: str) -> list[Figure]:
    submitted = Figure("records_submitted", "counter", "Records the application logged.")
    exported = Figure("records_exported", "counter", "Records every exporter delivered.")
    failed = Figure("records_failed", "counter", "Records an exporter failed to deliver.")
    added = Figure("records_added", "counter", "Records processors added (summaries).")
    dropped = Figure(
        "records_dropped",
        "counter",
        "Records dropped, by reason (queue_full, evicted, filtered, sampled, shutdown...).",
        labels=("reason",),
    )
    queued = Figure("queue_depth", "gauge", "Records queued or being processed.")
    for figure, key in ((submitted, "submitted"), (exported, "exported")):
        figure.add((container,), stats[key])
    failed.add((container,), stats["failed"])
    added.add((container,), stats.get("added", 0))
    queued.add((container,), stats["queued"])
    for reason, count in sorted(stats["dropped"].items()):
        dropped.add((container, str(reason)), count)
    return [submitted, exported, failed, added, dropped, queued]


def _exporters(stats: Mapping[str, Any], container: str) -> list[Figure]:
    records = Figure(
        "exporter_records",
        "counter",
        "Records per exporter and outcome (exported or failed).",
        labels=("exporter", "outcome"),
    )
    errors = Figure("exporter_errors", "counter", "Export calls that raised.", labels=("exporter",))
    timeouts = Figure(
        "exporter_timeouts", "counter", "Export calls that timed out.", labels=("exporter",)
    )
    retries = Figure(
        "exporter_retries",
        "counter",
        "Requests an exporter sent again (exporters that report retries).",
        labels=("exporter",),
    )
    circuit = Figure(
        "exporter_circuit_open",
        "gauge",
        "1 while an exporter's circuit is open or half-open (it kept failing), else 0.",
        labels=("exporter",),
    )
    outcomes = Figure(
        "exporter_outcomes",
        "counter",
        "The exporter's own outcome counts (HTTP statuses, spool figures...).",
        labels=("exporter", "outcome"),
    )
    sizes = Figure(
        "export_batch_size",
        "histogram",
        "Records per batch handed to an exporter.",
        unit="records",
        labels=("exporter",),
    )
    seconds = Figure(
        "export_duration",
        "histogram",
        "Time one export call took, retries included.",
        unit="seconds",
        labels=("exporter",),
    )
    for name, counts in sorted(stats["exporters"].items()):
        key = (container, str(name))
        records.add((*key, "exported"), counts["exported"])
        records.add((*key, "failed"), counts["failed"])
        errors.add(key, counts["errors"])
        timeouts.add(key, counts["timeouts"])
        circuit.add(key, 0 if counts.get("circuit", "closed") == "closed" else 1)
        own = counts.get("outcomes") or {}
        if "retries" in own:
            retries.add(key, own["retries"])
        for outcome, n in sorted(own.items()):
            if isinstance(n, (int, float)) and not isinstance(n, bool):
                outcomes.add((*key, str(outcome)), n)
        if "batch_sizes" in counts:
            sizes.add(key, _histogram(counts["batch_sizes"]))
            seconds.add(key, _histogram(counts["export_seconds"]))
    return [records, errors, timeouts, retries, circuit, outcomes, sizes, seconds]


def _processors(stats: Mapping[str, Any], container: str) -> list[Figure]:
    described = {
        "errors": "Records whose processing raised or returned something else than a record.",
        "timeouts": "Batches an async processor did not finish in time.",
        "skipped": "Records that passed a processor while its circuit was open.",
        "masked": "Records a redactor could not clean and masked whole.",
    }
    made = {
        key: Figure(f"processor_{key}", "counter", text, labels=("processor",))
        for key, text in described.items()
    }
    for name, counts in sorted(stats["processors"].items()):
        for key, figure in made.items():
            figure.add((container, str(name)), counts.get(key, 0))
    return list(made.values())


def _records(stats: Mapping[str, Any], container: str) -> list[Figure]:
    logged = Figure(
        "log_records",
        "counter",
        "Records by severity range and logger (at most max_loggers names, the rest as _other).",
        labels=("severity", "logger"),
    )
    for severity, by_logger in sorted(stats.get("records", {}).items()):
        for logger, n in sorted(by_logger.items()):
            logged.add((container, str(severity), str(logger)), n)
    return [logged]


def figures(stats: Mapping[str, Any], container: str, capacity: int) -> list[Figure]:
    """The figures of one container's ``stats`` snapshot, every sample labelled with
    ``container`` first (the container's label value), then the figure's own labels.

    Args:
        stats: What :meth:`~fapilog_otel.Container.stats` returned.
        container: The value of the ``container`` label.
        capacity: The container's queue size (``queue_capacity``).
    """
    capacity_figure = Figure("queue_capacity", "gauge", "Records the queue holds at most.")
    capacity_figure.add((container,), capacity)
    made = [
        *_totals(stats, container),
        capacity_figure,
        *_exporters(stats, container),
        *_processors(stats, container),
        *_records(stats, container),
    ]
    for figure in made:
        figure.labels = ("container", *figure.labels)
    return made
