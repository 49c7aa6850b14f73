"""The Prometheus side: a collector that reads containers' figures at scrape time.

Nothing is counted twice and nothing runs on the logging path: each scrape takes one
:meth:`~fapilog_otel.Container.stats` snapshot per container and turns it into metric
families. One :class:`ContainerCollector` serves every container registered in a
registry (Prometheus refuses two collectors with the same metric names), each container's
samples told apart by the ``container`` label.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from fapilog_prometheus.figures import Figure, HistogramValue, figures

if TYPE_CHECKING:
    from fapilog_otel import Container

__all__ = ["PREFIX", "ContainerCollector", "collector_for"]

#: Every metric's name starts with this.
PREFIX = "fapilog_otel_"
#: Units Prometheus' naming conventions put at the end of a metric's name.
_BASE_UNITS = ("seconds", "bytes")


def prometheus_name(figure: Figure) -> str:
    """``fapilog_otel_<name>``, with the unit when it is a base unit (``_seconds``); a
    counter's ``_total`` is added by prometheus_client."""
    name = PREFIX + figure.name
    if figure.unit in _BASE_UNITS:
        name += "_" + figure.unit
    return name


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


def _buckets(value: HistogramValue) -> list[tuple[str, float]]:
    """Cumulative buckets, ending with ``+Inf`` (the total)."""
    buckets = []
    running = 0
    for bound, count in zip(value.bounds, value.counts[:-1], strict=True):
        running += count
        buckets.append((_bound(bound), float(running)))
    buckets.append(("+Inf", float(value.count)))
    return buckets


class ContainerCollector(Collector):
    """Reads the figures of the containers added to it, at every scrape.

    Containers are held weakly: one that is garbage collected leaves the scrape output.
    """

    def __init__(self) -> None:
        self._members: dict[str, weakref.ref[Container]] = {}
        self._lock = threading.Lock()

    def add(self, container: Container, name: str | None = None) -> str:
        """Scrape ``container`` from now on; return its ``container`` label value.

        Args:
            name: The label value; default: the container's ``service.name``. A name
                already taken gets ``#2``, ``#3``... so two containers never mix.
        """
        base = name or str(container.resource.attributes.get("service.name", "unknown"))
        with self._lock:
            self._forget_dead()
            label = base
            n = 1
            while label in self._members:
                n += 1
                label = f"{base}#{n}"
            self._members[label] = weakref.ref(container)
        return label

    def remove(self, label: str) -> None:
        """Stop scraping the container added under ``label``."""
        with self._lock:
            self._members.pop(label, None)

    @property
    def labels(self) -> list[str]:
        """The ``container`` label values being scraped."""
        with self._lock:
            self._forget_dead()
            return sorted(self._members)

    def _forget_dead(self) -> None:
        for label in [k for k, ref in self._members.items() if ref() is None]:
            del self._members[label]

    def describe(self) -> list[Metric]:
        """Nothing: the families depend on the containers, so they are not described
        ahead of time (the registry then skips its duplicate-name check for them)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One snapshot per container, merged into one family per figure."""
        with self._lock:
            members = [(label, ref()) for label, ref in sorted(self._members.items())]
        families: dict[str, Metric] = {}
        for label, container in members:
            if container is None:
                continue
            stats = container.stats()
            for figure in figures(stats, label, container.settings.queue_size):
                family = families.get(figure.name)
                if family is None:
                    family = families[figure.name] = _family(figure)
                for label_values, value in figure.samples:
                    _add(family, figure, list(label_values), value)
        yield from (family for family in families.values() if family.samples)


def _family(figure: Figure) -> Metric:
    name = prometheus_name(figure)
    labels = list(figure.labels)
    if figure.kind == "counter":
        return CounterMetricFamily(name, figure.help, labels=labels)
    if figure.kind == "gauge":
        return GaugeMetricFamily(name, figure.help, labels=labels)
    return HistogramMetricFamily(name, figure.help, labels=labels)


def _add(family: Any, figure: Figure, label_values: list[str], value: Any) -> None:
    if figure.kind == "histogram":
        family.add_metric(label_values, _buckets(value), value.sum)
    else:
        family.add_metric(label_values, float(value))


_collectors: weakref.WeakKeyDictionary[CollectorRegistry, ContainerCollector] = (
    weakref.WeakKeyDictionary()
)
_collectors_lock = threading.Lock()


def collector_for(registry: CollectorRegistry) -> ContainerCollector:
    """The :class:`ContainerCollector` registered in ``registry``, registered on first
    use (one per registry, however many containers)."""
    with _collectors_lock:
        collector = _collectors.get(registry)
        if collector is None:
            collector = _collectors[registry] = ContainerCollector()
            registry.register(collector)
        return collector
