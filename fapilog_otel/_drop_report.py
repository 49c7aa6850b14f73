"""The periodic warning record that reports lost records.

Drops are counted in ``stats()`` and reported on the diagnostics channel; this module adds
the record that reaches the exporters, so whoever reads the logs sees the gap too. At most
one report per interval; intended drops (filtered, no exporter, re-entrant) are not losses
and are never reported.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from fapilog_otel import _stats
from fapilog_otel._raw import RawRecord
from fapilog_otel.record import Severity

#: Drop reasons that are the user's intent or the library's protection, not a loss (a
#: container adds the ``drop_reason`` of each of its filters).
INTENDED = frozenset(
    {
        _stats.FILTERED,
        _stats.NO_EXPORTER,
        _stats.REENTRANT,
        _stats.SAMPLED,
        _stats.RATE_LIMITED,
        _stats.DUPLICATE,
    }
)

#: The scope of the library's own records.
SELF_SCOPE = "fapilog_otel"


class DropReporter:
    """Decides when a drop report is due and builds it.

    Args:
        interval: Seconds between two reports.
        intended: Drop reasons that are not losses (default :data:`INTENDED`).
    """

    def __init__(self, interval: float, intended: frozenset[str] = INTENDED) -> None:
        self.interval = interval
        self.intended = intended
        self._reported = 0
        self._last = float("-inf")

    def check(self, dropped: Mapping[str, int]) -> tuple[RawRecord | None, float]:
        """Look at the drop counts.

        Returns:
            ``(report, 0.0)`` when a report is due now; ``(None, wait)`` when records were
            lost but the last report is younger than the interval (check again in ``wait``
            seconds); ``(None, 0.0)`` when nothing new was lost.
        """
        intended = self.intended
        lost = {k: v for k, v in dropped.items() if k not in intended and v}
        total = sum(lost.values())
        if total <= self._reported:
            return None, 0.0
        now = time.monotonic()
        wait = self._last + self.interval - now
        if wait > 0:
            return None, wait
        delta = total - self._reported
        self._reported = total
        self._last = now
        return _report(delta, lost), 0.0


def _report(delta: int, lost: Mapping[str, int]) -> RawRecord:
    attrs: dict[str, Any] = {"fapilog.dropped.count": delta}
    for reason, count in sorted(lost.items()):
        attrs[f"fapilog.dropped.total.{reason}"] = count
    return (
        time.time_ns(),
        None,
        Severity.WARNING,
        "WARNING",
        f"fapilog_otel dropped {delta} log records",
        attrs,
        SELF_SCOPE,
        None,
        None,
        None,
        None,
        None,
        None,
    )
