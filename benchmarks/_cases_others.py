"""The call-site cases of structlog, loguru and fapilog 0.18, and the reference floors.

The floors are the least a logging call can cost: an empty function, an empty method and
a ``deque.append``, each taking the same arguments as the logging calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from itertools import repeat
from typing import Any

from benchmarks._cases_common import FLUSH_TIMEOUT_S, JsonLinesFile, Prepared, Skipped

__all__ = [
    "prepare_fapilog_018",
    "prepare_loguru",
    "prepare_reference",
    "prepare_reference_deque",
    "prepare_reference_method",
    "prepare_structlog",
    "prepare_structlog_disabled",
    "prepare_structlog_file",
]


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


def prepare_structlog() -> Prepared:
    """Case (f1)."""
    log = _structlog_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def prepare_structlog_disabled() -> Prepared:
    """Case (f2)."""
    log = _structlog_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.debug("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def prepare_structlog_file() -> Prepared:
    """Case (f3): structlog's own advice for speed, orjson into a ``BytesLogger``."""
    try:
        import orjson
        import structlog
    except ImportError as exc:
        raise Skipped(f"structlog or orjson not importable: {exc}") from exc
    target = JsonLinesFile()
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


def prepare_loguru() -> Prepared:
    """Case (g1): loguru with one handler, ``add(file, serialize=True)`` at INFO.

    loguru has one process-wide logger; its default stderr handler is removed for the run
    (the benchmark process has no other use for it).
    """
    logger = _loguru_logger()
    target = JsonLinesFile()
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


def prepare_fapilog_018() -> Prepared:
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


def prepare_reference() -> Prepared:
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


def prepare_reference_method() -> Prepared:
    """Case (ref-m)."""
    log = _EmptyLogger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def prepare_reference_deque() -> Prepared:
    """Case (ref-q): the least a queueing logger does, a tuple built and appended."""
    queue: deque[tuple[Any, ...]] = deque()
    append = queue.append

    def run(n: int) -> None:
        message, order_id, amount, vip = "order placed", 123, 9.99, True
        for _ in repeat(None, n):
            append((message, order_id, amount, vip))

    return Prepared(run=run, settle=queue.clear)
