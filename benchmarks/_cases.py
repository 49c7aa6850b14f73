"""The benchmark cases: one function per library that prepares its timed call.

See :mod:`benchmarks.callsite` for what each case measures and how it is timed.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import statistics
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path
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
        max_calls: Times at most this many calls per repeat (for a library so slow that
            the suite's count would take minutes); ``None`` takes the suite's count.
    """

    key: str
    title: str
    prepare: Callable[[], Prepared]
    budget_ns: float | None = None
    max_calls: int | None = None

    def calls(self, requested: int) -> int:
        """The calls per repeat this case makes when the suite asks for ``requested``."""
        return requested if self.max_calls is None else min(requested, self.max_calls)


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


def _stdlib_logger(name: str) -> tuple[logging.Logger, Callable[[], None]]:
    """A stdlib logger at INFO with only a ``NullHandler``, and a function undoing that.

    Each case has its own logger: cases are all set up before their interleaved repeats,
    so a shared one would carry every case's handler.
    """
    logger = logging.getLogger(name)
    handler = logging.NullHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def close() -> None:
        logger.removeHandler(handler)

    return logger, close


def _prepare_stdlib_args() -> Prepared:
    """Case (d1)."""
    logger, close = _stdlib_logger("bench.d1")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


def _prepare_stdlib_extra() -> Prepared:
    """Case (d2)."""
    logger, close = _stdlib_logger("bench.d2")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed", extra={"order_id": 123, "amount": 9.99, "vip": True})

    return Prepared(run=run, close=close)


def _prepare_stdlib_disabled() -> Prepared:
    """Case (d3)."""
    logger, close = _stdlib_logger("bench.d3")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.debug("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


class _JsonLinesFile:
    """A temporary file a case writes JSON lines to, counted and emptied between repeats.

    The writers open it for appending, so emptying it under them is safe: their next write
    lands at the new end of the file. Counting newlines means a record counts once it is
    fully written, however the library buffered it.
    """

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="fapilog-bench-", suffix=".jsonl")
        os.close(handle)
        self.path = Path(name)
        self.lines = 0
        self.bad_lines = 0

    def take(self) -> None:
        """Count the complete lines written since the last call, check one, empty the file."""
        data = self.path.read_bytes()
        os.truncate(self.path, 0)
        self.lines += data.count(b"\n")
        complete = data.rsplit(b"\n", 2)
        if len(complete) >= 2:
            try:
                json.loads(complete[-2])
            except ValueError:
                self.bad_lines += 1

    def note(self, calls: int) -> str:
        """The notes column: lines written against calls made (and any line not JSON)."""
        note = f"written {self.lines:,}/{calls:,} lines"
        return note + (f", {self.bad_lines} sampled lines not JSON" if self.bad_lines else "")

    def remove(self) -> None:
        """Delete the file."""
        self.path.unlink(missing_ok=True)


def _prepare_fapilog_file() -> Prepared:
    """Case (a2)."""
    try:
        import fapilog_otel as fo
    except ImportError as exc:
        raise Skipped(f"fapilog_otel not importable: {exc}") from exc
    target = _JsonLinesFile()
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


def _sdk_null_provider() -> tuple[Any, Callable[[], int]]:
    """An SDK ``LoggerProvider`` batching to an exporter that drops and counts every record.

    Returns:
        The provider and a function returning how many records the exporter has seen.
    """
    try:
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
    return provider, lambda: exporter.records


def _sdk_case(provider: Any, exported: Callable[[], int], run: Callable[[int], None]) -> Prepared:
    """Wrap an SDK call loop: count its calls, force-flush between repeats, check the count."""
    calls = 0
    flush_failures = 0

    def counted_run(n: int) -> None:
        nonlocal calls
        calls += n
        run(n)

    def settle() -> None:
        nonlocal flush_failures
        if not provider.force_flush(timeout_millis=int(FLUSH_TIMEOUT_S * 1000)):
            flush_failures += 1

    def summary() -> str:
        note = f"exported {exported():,}/{calls:,}"
        return note + (f", {flush_failures} flush timeouts" if flush_failures else "")

    return Prepared(run=counted_run, settle=settle, summary=summary, close=provider.shutdown)


def _prepare_otel_sdk() -> Prepared:
    """Case (e)."""
    provider, exported = _sdk_null_provider()
    from opentelemetry._logs import SeverityNumber

    logger = provider.get_logger("bench")
    info = SeverityNumber.INFO

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.emit(
                body="order placed",
                attributes={"order_id": 123, "amount": 9.99, "vip": True},
                severity_number=info,
                severity_text="INFO",
            )

    return _sdk_case(provider, exported, run)


def _otel_logging_handler(provider: Any) -> tuple[logging.Handler, str]:
    """The OTel handler for stdlib ``logging``, and where it came from.

    ``opentelemetry-instrumentation-logging``'s ``LoggingHandler`` when that is installed,
    else the SDK's own (deprecated in favour of the former, still shipped).
    """
    for module_name in (
        "opentelemetry.instrumentation.logging.handler",
        "opentelemetry.instrumentation.logging",
    ):
        try:
            handler_class = importlib.import_module(module_name).LoggingHandler
        except (ImportError, AttributeError):
            continue
        handler: logging.Handler = handler_class(logger_provider=provider)
        return handler, module_name
    from opentelemetry.sdk._logs import LoggingHandler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return LoggingHandler(logger_provider=provider), "opentelemetry.sdk._logs"


def _prepare_otel_handler() -> Prepared:
    """Case (e2)."""
    provider, exported = _sdk_null_provider()
    handler, origin = _otel_logging_handler(provider)
    logger = _private_stdlib_logger("bench.e2", handler)

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed", extra={"order_id": 123, "amount": 9.99, "vip": True})

    case = _sdk_case(provider, exported, run)
    counted_summary, shutdown = case.summary, case.close

    def close() -> None:
        logger.removeHandler(handler)
        shutdown()

    case.summary = lambda: f"{counted_summary()}, handler from {origin}"
    case.close = close
    return case


def _private_stdlib_logger(name: str, handler: logging.Handler) -> logging.Logger:
    """A stdlib logger at INFO whose only handler is ``handler`` (no propagation)."""
    logger = logging.getLogger(name)
    logger.handlers.clear()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


#: Attribute names every ``LogRecord`` has; the rest came from ``extra=``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class _JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` with ``json.dumps``."""
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS:
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def _prepare_stdlib_json_file() -> Prepared:
    """Case (d4)."""
    target = _JsonLinesFile()
    handler = logging.FileHandler(target.path, mode="a", encoding="utf-8")
    handler.setFormatter(_JsonFormatter())
    logger = _private_stdlib_logger("bench.d4", handler)
    calls = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            logger.info("order placed", extra={"order_id": 123, "amount": 9.99, "vip": True})

    def close() -> None:
        logger.removeHandler(handler)
        handler.close()
        target.remove()

    return Prepared(run=run, settle=target.take, summary=lambda: target.note(calls), close=close)


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


def _prepare_structlog_file() -> Prepared:
    """Case (f3): structlog's own advice for speed, orjson into a ``BytesLogger``."""
    try:
        import orjson
        import structlog
    except ImportError as exc:
        raise Skipped(f"structlog or orjson not importable: {exc}") from exc
    target = _JsonLinesFile()
    stream = target.path.open("ab")
    log = structlog.wrap_logger(
        structlog.BytesLoggerFactory(stream)(),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    ).bind()
    calls = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    def settle() -> None:
        stream.flush()
        target.take()

    def close() -> None:
        stream.close()
        target.remove()

    return Prepared(run=run, settle=settle, summary=lambda: target.note(calls), close=close)


def _loguru_logger() -> Any:
    """loguru's logger, or :class:`Skipped`."""
    try:
        from loguru import logger
    except ImportError as exc:
        raise Skipped(f"loguru not importable: {exc}") from exc
    return logger


def _prepare_loguru() -> Prepared:
    """Case (g1): loguru with one handler, ``add(file, serialize=True)`` at INFO.

    loguru has one process-wide logger; its default stderr handler is removed for the run
    (the benchmark process has no other use for it).
    """
    logger = _loguru_logger()
    target = _JsonLinesFile()
    logger.remove()
    handler_id = logger.add(str(target.path), serialize=True, level="INFO")
    attached = True
    calls = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            logger.info("order placed", order_id=123, amount=9.99, vip=True)

    def detach() -> None:
        nonlocal attached
        if attached:
            attached = False
            logger.remove(handler_id)

    def summary() -> str:
        detach()
        target.take()
        return target.note(calls)

    def close() -> None:
        detach()
        target.remove()

    # loguru's file is block-buffered and has no flush method: what it still holds is
    # counted at the end, when removing the handler closes the file.
    return Prepared(run=run, settle=target.take, summary=summary, close=close)


class _CountingFapilogSink:
    """A fapilog 0.18 sink that drops every event and counts it."""

    name = "bench_null"

    def __init__(self) -> None:
        self.records = 0

    async def start(self) -> None:
        """Nothing to open."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def write(self, entry: dict[str, Any]) -> None:
        """Count the event and drop it."""
        self.records += 1


def _prepare_fapilog_018() -> Prepared:
    """Case (h): the published fapilog 0.18, its default pipeline, a counting null sink.

    Its defaults (queue 10,000, ``drop_on_full``, the ``runtime_info`` and ``context_vars``
    enrichers, the ``url_credentials`` redactor) are kept; only the sink is replaced, the
    level fixed at INFO (its default depends on the terminal) and its signal and exit
    handlers turned off, so that they do not take over this process.
    """
    try:
        import fapilog
    except ImportError as exc:
        raise Skipped(f"fapilog not importable ({exc}): pip install 'fapilog==0.18.*'") from exc
    version = getattr(fapilog, "__version__", "?")
    if not version.startswith("0.18."):
        raise Skipped(f"fapilog {version} installed, the case is written for 0.18")
    sink = _CountingFapilogSink()
    settings = fapilog.Settings(
        core={
            "log_level": "INFO",
            "signal_handler_enabled": False,
            "atexit_drain_enabled": False,
        }
    )
    log = fapilog.get_logger(
        "bench", settings=settings, sinks=[sink], auto_detect=False, reuse=False
    )
    calls = 0
    settle_timeouts = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    def settle() -> None:
        # fapilog 0.18's sync logger has no flush: wait until every submitted event was
        # written or dropped.
        nonlocal settle_timeouts
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while sink.records + log._dropped < log._submitted:
            if time.monotonic() > deadline:
                settle_timeouts += 1
                return
            time.sleep(0.005)

    def summary() -> str:
        parts = [f"delivered {sink.records:,}/{calls:,}"]
        if log._dropped:
            parts.append(f"dropped {log._dropped:,}")
        if settle_timeouts:
            parts.append(f"{settle_timeouts} settle timeouts")
        return ", ".join(parts) + f" (fapilog {version})"

    def close() -> None:
        asyncio.run(log.stop_and_drain())

    return Prepared(run=run, settle=settle, summary=summary, close=close)


def _empty(message: str, /, **attributes: Any) -> None:
    """Take a logger's arguments and do nothing with them."""


def _prepare_reference() -> Prepared:
    """Case (ref)."""
    call = _empty

    def run(n: int) -> None:
        for _ in repeat(None, n):
            call("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


class _EmptyLogger:
    """A logger whose ``info`` takes the arguments and does nothing."""

    def info(self, message: str, /, **attributes: Any) -> None:
        """Do nothing."""


def _prepare_reference_method() -> Prepared:
    """Case (ref-m)."""
    log = _EmptyLogger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def _prepare_reference_deque() -> Prepared:
    """Case (ref-q): the least a queueing logger does, a tuple built and appended."""
    queue: deque[tuple[Any, ...]] = deque()
    append = queue.append

    def run(n: int) -> None:
        message, order_id, amount, vip = "order placed", 123, 9.99, True
        for _ in repeat(None, n):
            append((message, order_id, amount, vip))

    return Prepared(run=run, settle=queue.clear)


CASES: tuple[CaseSpec, ...] = (
    CaseSpec("a", "fapilog_otel info, 3 attrs", _prepare_fapilog_info, 1_000.0),
    CaseSpec("b", "fapilog_otel info, 3 attrs, in span", _prepare_fapilog_in_span, 1_500.0),
    CaseSpec("c", "fapilog_otel debug, disabled", _prepare_fapilog_disabled, 100.0),
    CaseSpec("a2", "fapilog_otel info, JSON lines to a file", _prepare_fapilog_file),
    CaseSpec("d1", "stdlib info %s args, NullHandler", _prepare_stdlib_args),
    CaseSpec("d2", "stdlib info extra=, NullHandler", _prepare_stdlib_extra),
    CaseSpec("d3", "stdlib debug, disabled", _prepare_stdlib_disabled),
    CaseSpec("d4", "stdlib info extra=, json.dumps formatter, file", _prepare_stdlib_json_file),
    CaseSpec("e", "OTel SDK emit, BatchLogRecordProcessor", _prepare_otel_sdk),
    CaseSpec("e2", "stdlib info -> OTel LoggingHandler, batch", _prepare_otel_handler),
    CaseSpec("f1", "structlog info, JSON", _prepare_structlog),
    CaseSpec("f2", "structlog debug, disabled", _prepare_structlog_disabled),
    CaseSpec("f3", "structlog info, orjson to a file", _prepare_structlog_file),
    CaseSpec("g1", "loguru info, serialize=True, file", _prepare_loguru),
    CaseSpec("h", "fapilog 0.18 info, defaults, null sink", _prepare_fapilog_018, None, 10_000),
    CaseSpec("ref", "empty function, same args", _prepare_reference),
    CaseSpec("ref-m", "empty method, same args", _prepare_reference_method),
    CaseSpec("ref-q", "deque.append of a 4-tuple", _prepare_reference_deque),
)
