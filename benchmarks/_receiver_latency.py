"""Delivery latency per record, measured by the receiver from a send time each record carries.

See :mod:`benchmarks._receiver` (``--latency-attribute``) for how the receiver uses it.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Sequence
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

__all__ = ["LATENCY_CAPACITY", "LatencyRecorder", "nearest_rank"]

LATENCY_CAPACITY = 4_000_000


class LatencyRecorder:
    """Delivery latency per record: arrival time minus the send time the record carries.

    Args:
        attribute: The attribute holding the sender's ``time.time_ns()``.
        capacity: Most samples kept between resets (8 bytes each); later ones are counted
            in ``over_capacity`` only.
    """

    def __init__(self, attribute: str, capacity: int = LATENCY_CAPACITY) -> None:
        self.attribute = attribute
        self._capacity = capacity
        self._lock = threading.Lock()
        self._samples = array("q")
        self._missing = 0
        self._over = 0

    def add(self, request: ExportLogsServiceRequest, arrived_ns: int) -> None:
        """Add the latency of every record in ``request``; ``arrived_ns`` is its arrival."""
        key = self.attribute
        found: list[int] = []
        missing = 0
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                records = scope_logs.log_records
                # A scope whose first record lacks the attribute is another workload's.
                if not records or not any(kv.key == key for kv in records[0].attributes):
                    missing += len(records)
                    continue
                for record in records:
                    for kv in record.attributes:
                        if kv.key == key:
                            found.append(arrived_ns - kv.value.int_value)
                            break
                    else:
                        missing += 1
        with self._lock:
            self._missing += missing
            room = self._capacity - len(self._samples)
            self._samples.extend(found[:room] if room < len(found) else found)
            self._over += max(0, len(found) - room)

    def reset(self) -> None:
        """Forget every sample."""
        with self._lock:
            self._samples = array("q")
            self._missing = self._over = 0

    def summary(self) -> dict[str, Any]:
        """Count, min, p50, p99, p99.9 and max in ns (``None`` when there is no sample)."""
        with self._lock:
            ordered = sorted(self._samples)
            missing, over = self._missing, self._over
        n = len(ordered)
        return {
            "count": n,
            "missing": missing,
            "over_capacity": over,
            "min_ns": ordered[0] if n else None,
            "p50_ns": nearest_rank(ordered, 0.5),
            "p99_ns": nearest_rank(ordered, 0.99),
            "p999_ns": nearest_rank(ordered, 0.999),
            "max_ns": nearest_rank(ordered, 1.0),
            "mean_ns": sum(ordered) / n if n else None,
        }


def nearest_rank(ordered: Sequence[int], q: float) -> int | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of sorted values; ``None`` if empty."""
    n = len(ordered)
    return ordered[min(n - 1, max(0, math.ceil(q * n - 1e-9) - 1))] if n else None
