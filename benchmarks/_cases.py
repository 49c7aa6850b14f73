"""The benchmark cases: one function per library that prepares its timed call.

See :mod:`benchmarks.callsite` for what each case measures and how it is timed.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

__all__ = ["CASES", "CaseResult", "CaseSpec", "Prepared", "Skipped"]

FLUSH_TIMEOUT_S = 30.0


class Skipped(Exception):
    """A case cannot run here, typically because its library is not installed."""


def _nothing() -> None:
    """Do nothing: the default settle and close step of a case."""


def _no_notes() -> str:
    """Report nothing: the default summary of a case."""
    return ""


@dataclass
class Prepared:
    """A case set up and ready to time.

    Attributes:
        run: Makes ``n`` log calls; the only thing that is timed.
        settle: Called after each timed repeat, untimed: flush what the library queued.
        summary: Called once at the end: a short note, such as how many records arrived.
        close: Releases what the case set up.
    """

    run: Callable[[int], None]
    settle: Callable[[], None] = _nothing
    summary: Callable[[], str] = _no_notes
    close: Callable[[], object] = _nothing


@dataclass(frozen=True)
class CaseSpec:
    """One row of the table: a key, a description and how to set the case up.

    Attributes:
        key: Short name used in the table, in ``--only`` and in the JSON.
        title: What the case measures.
        prepare: Builds the case; raises :class:`Skipped` if it cannot run here.
        budget_ns: The performance budget for this case from the architecture, if any.
    """

    key: str
    title: str
    prepare: Callable[[], Prepared]
    budget_ns: float | None = None


@dataclass
class CaseResult:
    """What one case measured, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples_ns_per_call: list[float] = field(default_factory=list)
    notes: str = ""
    budget_ns: float | None = None

    @property
    def median(self) -> float | None:
        """Median ns per call over the repeats, or ``None`` if nothing was measured."""
        return statistics.median(self.samples_ns_per_call) if self.samples_ns_per_call else None

    @property
    def minimum(self) -> float | None:
        """Fastest repeat in ns per call, or ``None`` if nothing was measured."""
        return min(self.samples_ns_per_call) if self.samples_ns_per_call else None


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


def _prepare_fapilog_info() -> Prepared:
    """Case (a)."""
    return _fapilog_case(level_method="info", in_span=False)


def _prepare_fapilog_in_span() -> Prepared:
    """Case (b)."""
    return _fapilog_case(level_method="info", in_span=True)


def _prepare_fapilog_disabled() -> Prepared:
    """Case (c)."""
    return _fapilog_case(level_method="debug", in_span=False)


def _stdlib_logger() -> tuple[logging.Logger, Callable[[], None]]:
    """A stdlib logger at INFO with only a ``NullHandler``, and a function undoing that."""
    logger = logging.getLogger("bench")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def close() -> None:
        logger.removeHandler(handler)

    return logger, close


def _prepare_stdlib_args() -> Prepared:
    """Case (d1)."""
    logger, close = _stdlib_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


def _prepare_stdlib_extra() -> Prepared:
    """Case (d2)."""
    logger, close = _stdlib_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed", extra={"order_id": 123, "amount": 9.99, "vip": True})

    return Prepared(run=run, close=close)


def _prepare_stdlib_disabled() -> Prepared:
    """Case (d3)."""
    logger, close = _stdlib_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.debug("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


def _prepare_otel_sdk() -> Prepared:
    """Case (e)."""
    try:
        from opentelemetry._logs import SeverityNumber
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs import export as sdk_export
    except ImportError as exc:
        raise Skipped(f"opentelemetry-sdk not importable: {exc}") from exc

    success = sdk_export.LogRecordExportResult.SUCCESS

    class CountingNullExporter(sdk_export.LogRecordExporter):
        """An SDK exporter that drops every batch and counts the records it saw."""

        def __init__(self) -> None:
            self.records = 0

        def export(self, batch: Sequence[Any]) -> Any:
            """Count the batch and drop it."""
            self.records += len(batch)
            return success

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            """Nothing is buffered here."""
            return True

        def shutdown(self) -> None:
            """Nothing to release."""

    exporter = CountingNullExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(
        sdk_export.BatchLogRecordProcessor(exporter, max_queue_size=2_000_000)
    )
    logger = provider.get_logger("bench")
    info = SeverityNumber.INFO
    calls = 0
    flush_failures = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            logger.emit(
                body="order placed",
                attributes={"order_id": 123, "amount": 9.99, "vip": True},
                severity_number=info,
                severity_text="INFO",
            )

    def settle() -> None:
        nonlocal flush_failures
        if not provider.force_flush(timeout_millis=int(FLUSH_TIMEOUT_S * 1000)):
            flush_failures += 1

    def summary() -> str:
        note = f"exported {exporter.records:,}/{calls:,}"
        return note + (f", {flush_failures} flush timeouts" if flush_failures else "")

    return Prepared(run=run, settle=settle, summary=summary, close=provider.shutdown)


def _structlog_logger() -> Any:
    """A structlog bound logger filtering at INFO that renders JSON into the void."""
    try:
        import structlog
    except ImportError as exc:
        raise Skipped(f"structlog not importable: {exc}") from exc

    return structlog.wrap_logger(
        structlog.ReturnLoggerFactory()(),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    ).bind()


def _prepare_structlog() -> Prepared:
    """Case (f1)."""
    log = _structlog_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def _prepare_structlog_disabled() -> Prepared:
    """Case (f2)."""
    log = _structlog_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.debug("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def _empty(message: str, /, **attributes: Any) -> None:
    """Take a logger's arguments and do nothing with them."""


def _prepare_reference() -> Prepared:
    """Case (ref)."""
    call = _empty

    def run(n: int) -> None:
        for _ in repeat(None, n):
            call("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


CASES: tuple[CaseSpec, ...] = (
    CaseSpec("a", "fapilog_otel info, 3 attrs", _prepare_fapilog_info, 1_000.0),
    CaseSpec("b", "fapilog_otel info, 3 attrs, in span", _prepare_fapilog_in_span, 1_500.0),
    CaseSpec("c", "fapilog_otel debug, disabled", _prepare_fapilog_disabled, 100.0),
    CaseSpec("d1", "stdlib info %s args, NullHandler", _prepare_stdlib_args),
    CaseSpec("d2", "stdlib info extra=, NullHandler", _prepare_stdlib_extra),
    CaseSpec("d3", "stdlib debug, disabled", _prepare_stdlib_disabled),
    CaseSpec("e", "OTel SDK emit, BatchLogRecordProcessor", _prepare_otel_sdk),
    CaseSpec("f1", "structlog info, JSON", _prepare_structlog),
    CaseSpec("f2", "structlog debug, disabled", _prepare_structlog_disabled),
    CaseSpec("ref", "empty function, same args", _prepare_reference),
)
