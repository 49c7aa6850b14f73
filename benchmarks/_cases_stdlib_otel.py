"""The call-site cases of stdlib ``logging`` and of the OpenTelemetry SDK.

``logging`` with a ``NullHandler`` and with a JSON formatter writing to a file; the SDK's
``Logger.emit`` and its handler for ``logging``, both batching to a counting null exporter.
"""

from __future__ import annotations

import importlib
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from itertools import repeat
from typing import Any

from benchmarks._cases_common import FLUSH_TIMEOUT_S, JsonLinesFile, Prepared, Skipped

__all__ = [
    "prepare_otel_handler",
    "prepare_otel_sdk",
    "prepare_stdlib_args",
    "prepare_stdlib_disabled",
    "prepare_stdlib_extra",
    "prepare_stdlib_json_file",
]


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


def prepare_stdlib_args() -> Prepared:
    """Case (d1)."""
    logger, close = _stdlib_logger("bench.d1")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


def prepare_stdlib_extra() -> Prepared:
    """Case (d2)."""
    logger, close = _stdlib_logger("bench.d2")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed", extra={"order_id": 123, "amount": 9.99, "vip": True})

    return Prepared(run=run, close=close)


def prepare_stdlib_disabled() -> Prepared:
    """Case (d3)."""
    logger, close = _stdlib_logger("bench.d3")

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.debug("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


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


def prepare_otel_sdk() -> Prepared:
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


def prepare_otel_handler() -> Prepared:
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


def prepare_stdlib_json_file() -> Prepared:
    """Case (d4)."""
    target = JsonLinesFile()
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
