"""The call-site cases of fapilog-otel.

A counting null exporter (plain, in a recording span, and at a disabled level) and JSON
lines to a file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

from benchmarks._cases_common import FLUSH_TIMEOUT_S, JsonLinesFile, Prepared, Skipped

__all__ = [
    "prepare_fapilog_disabled",
    "prepare_fapilog_file",
    "prepare_fapilog_in_span",
    "prepare_fapilog_info",
]


class _CountingNullExporter:
    """A fapilog-otel exporter that drops every batch and counts the records it saw."""

    def __init__(self) -> None:
        self.records = 0

    def export(self, batch: Sequence[Any]) -> None:
        """Count the batch and drop it."""
        self.records += len(batch)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here."""
        return True

    def shutdown(self) -> None:
        """Nothing to release."""


def _fapilog_case(*, level_method: str, in_span: bool) -> Prepared:
    """Set up a fapilog-otel container on a null exporter and a call loop for it."""
    try:
        import fapilog_otel as fo
    except ImportError as exc:
        raise Skipped(f"fapilog_otel not importable: {exc}") from exc
    if not (hasattr(fo, "Container") and hasattr(fo, "Settings")):
        raise Skipped("fapilog_otel has no Container/Settings yet")

    exporter = _CountingNullExporter()
    container = fo.Container(
        fo.Settings(level="info", queue_size=1_000_000, overflow="block"),
        exporters=[exporter],
    )
    log = container.get_logger("bench")
    calls = 0
    flush_failures = 0

    if level_method == "info" and not in_span:

        def run(n: int) -> None:
            for _ in repeat(None, n):
                log.info("order placed", order_id=123, amount=9.99, vip=True)

    elif level_method == "info":
        span_cm = _span_factory()

        def run(n: int) -> None:
            with span_cm():
                for _ in repeat(None, n):
                    log.info("order placed", order_id=123, amount=9.99, vip=True)

    else:

        def run(n: int) -> None:
            for _ in repeat(None, n):
                log.debug("order placed", order_id=123, amount=9.99, vip=True)

    def counted_run(n: int) -> None:
        nonlocal calls
        calls += n
        run(n)

    def settle() -> None:
        nonlocal flush_failures
        if not container.flush(timeout=FLUSH_TIMEOUT_S):
            flush_failures += 1

    def summary() -> str:
        expected = calls if level_method == "info" else 0
        parts = [f"exported {exporter.records:,}/{expected:,}"]
        try:
            dropped = dict(container.stats().get("dropped", {}))
        except Exception as exc:
            dropped = {"stats() failed": repr(exc)}
        if any(dropped.values()):
            parts.append(f"dropped {dropped}")
        if flush_failures:
            parts.append(f"{flush_failures} flush timeouts")
        return ", ".join(parts)

    return Prepared(run=counted_run, settle=settle, summary=summary, close=container.shutdown)


def _span_factory() -> Callable[[], Any]:
    """Return a callable that opens a recording span of a private tracer provider."""
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("b")
    return lambda: tracer.start_as_current_span("s")


def prepare_fapilog_info() -> Prepared:
    """Case (a)."""
    return _fapilog_case(level_method="info", in_span=False)


def prepare_fapilog_in_span() -> Prepared:
    """Case (b)."""
    return _fapilog_case(level_method="info", in_span=True)


def prepare_fapilog_disabled() -> Prepared:
    """Case (c)."""
    return _fapilog_case(level_method="debug", in_span=False)


def prepare_fapilog_file() -> Prepared:
    """Case (a2)."""
    try:
        import fapilog_otel as fo
    except ImportError as exc:
        raise Skipped(f"fapilog_otel not importable: {exc}") from exc
    target = JsonLinesFile()
    container = fo.Container(
        fo.Settings(
            level="info",
            queue_size=1_000_000,
            overflow="block",
            exporters=["file"],
            file={"path": str(target.path)},
            diagnostics=False,
        )
    )
    info = container.get_logger("bench").info
    calls = 0
    flush_failures = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            info("order placed", order_id=123, amount=9.99, vip=True)

    def settle() -> None:
        nonlocal flush_failures
        if not container.flush(timeout=FLUSH_TIMEOUT_S):
            flush_failures += 1
        target.take()

    def summary() -> str:
        note = target.note(calls)
        return note + (f", {flush_failures} flush timeouts" if flush_failures else "")

    def close() -> None:
        container.shutdown()
        target.remove()

    return Prepared(run=run, settle=settle, summary=summary, close=close)
