"""What the tests of the built-in filters share: a clock that moves when told, records."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel.record import LogRecord, Scope, Severity


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_record(
    body: Any = "m",
    *,
    scope: str = "s",
    severity: int = Severity.INFO,
    attributes: dict[str, Any] | None = None,
    timestamp: int = 1,
) -> LogRecord:
    """A record of ``scope`` with ``body``, ``severity`` and ``attributes``, no trace."""
    return LogRecord(
        timestamp=timestamp,
        scope=Scope(scope),
        resource=Resource.get_empty(),
        body=body,
        attributes=attributes,
        severity_number=severity,
        severity_text="INFO",
        trace_id=0,
    )
