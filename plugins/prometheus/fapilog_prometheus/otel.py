"""The OpenTelemetry side: the same figures as OTel metrics, for users who export metrics
over OTLP (or any reader of an OTel ``MeterProvider``).

Counters and gauges are observable instruments whose callbacks read a
:meth:`~fapilog_otel.Container.stats` snapshot when the provider collects (one snapshot
serves every callback of one collection). The two histograms cannot be observed after
the fact, so they are real histograms recorded after each export call, through
:meth:`~fapilog_otel.Container.add_export_listener`, with the same bucket bounds as the
Prometheus ones. Names: ``records_submitted`` becomes ``fapilog_otel.records.submitted``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fapilog_otel import _stats
from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from fapilog_prometheus.figures import Figure, figures

if TYPE_CHECKING:
    from fapilog_otel import Container

__all__ = ["OtelInstrumentation", "instrument_meter_provider", "otel_name"]

_UNITS = {"seconds": "s", "records": "{record}"}
#: How long one stats snapshot serves the callbacks of a collection.
_SNAPSHOT_TTL = 0.5


def otel_name(figure_name: str) -> str:
    """``records_submitted`` -> ``fapilog_otel.records.submitted`` (the first word is the
    namespace, the rest the measured quantity)."""
    return "fapilog_otel." + figure_name.replace("_", ".", 1)


class _Snapshots:
    """The figures of one container, taken at most every :data:`_SNAPSHOT_TTL` seconds."""

    def __init__(self, container: Container, label: str) -> None:
        self._container = weakref.ref(container)
        self._label = label
        self._taken = -1.0
        self._figures: dict[str, Figure] = {}
        self._lock = threading.Lock()

    def figure(self, name: str) -> Figure | None:
        with self._lock:
            now = time.monotonic()
            if now - self._taken > _SNAPSHOT_TTL:
                container = self._container()
                if container is None:
                    self._figures = {}
                else:
                    made = figures(container.stats(), self._label, container.settings.queue_size)
                    self._figures = {f.name: f for f in made}
                self._taken = now
            return self._figures.get(name)


def _observer(
    snapshots: _Snapshots, name: str
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        figure = snapshots.figure(name)
        if figure is None:
            return []
        return [
            Observation(value, dict(zip(figure.labels, label_values, strict=True)))
            for label_values, value in figure.samples
        ]

    return observe


@dataclass
class OtelInstrumentation:
    """The instruments made for one container; :meth:`close` stops their callbacks and
    the histograms' recording (OTel has no way to remove an instrument)."""

    label: str
    names: list[str]
    _closed: list[bool]

    def close(self) -> None:
        """Stop reporting this container's figures. Idempotent."""
        self._closed[0] = True


def instrument_meter_provider(
    container: Container,
    meter_provider: metrics.MeterProvider | None = None,
    *,
    name: str | None = None,
) -> OtelInstrumentation:
    """Report ``container``'s figures as OTel metrics of ``meter_provider``.

    Args:
        meter_provider: Default: the global provider (``metrics.get_meter_provider()``).
        name: The ``container`` attribute's value (default: ``service.name``).

    Returns:
        What was made; the instrument names are in ``names``.
    """
    from fapilog_otel import __version__

    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    meter = provider.get_meter("fapilog_otel", __version__)
    label = name or str(container.resource.attributes.get("service.name", "unknown"))
    container.count_records()
    closed = [False]
    snapshots = _Snapshots(container, label)
    made: list[str] = []
    for figure in figures(container.stats(), label, container.settings.queue_size):
        instrument_name = otel_name(figure.name)
        unit = _UNITS.get(figure.unit, "")
        if figure.kind == "histogram":
            continue
        callback = _unless_closed(_observer(snapshots, figure.name), closed)
        if figure.kind == "counter":
            meter.create_observable_counter(
                instrument_name, [callback], unit=unit, description=figure.help
            )
        else:
            meter.create_observable_gauge(
                instrument_name, [callback], unit=unit, description=figure.help
            )
        made.append(instrument_name)
    sizes = meter.create_histogram(
        otel_name("export_batch_size"),
        unit="{record}",
        description="Records per batch handed to an exporter.",
        explicit_bucket_boundaries_advisory=[float(b) for b in _stats.BATCH_SIZE_BOUNDS],
    )
    seconds = meter.create_histogram(
        otel_name("export_duration"),
        unit="s",
        description="Time one export call took, retries included.",
        explicit_bucket_boundaries_advisory=list(_stats.EXPORT_SECONDS_BOUNDS),
    )
    made += [otel_name("export_batch_size"), otel_name("export_duration")]

    def record_export(exporter: str, records: int, took: float, failed: int) -> None:
        if closed[0]:
            return
        attributes = {"container": label, "exporter": exporter}
        sizes.record(records, attributes)
        seconds.record(took, attributes)

    container.add_export_listener(record_export)
    return OtelInstrumentation(label=label, names=made, _closed=closed)


def _unless_closed(
    observe: Callable[[CallbackOptions], Iterable[Observation]], closed: list[bool]
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [] if closed[0] else observe(options)

    return callback
