"""The module-level API: loggers and lifecycle of the default container."""

from __future__ import annotations

from fapilog_otel._default import get_default_container
from fapilog_otel._stats import StatsSnapshot
from fapilog_otel.logger import AsyncLogger, Logger


def get_logger(name: str | None = None) -> Logger:
    """Return a logger of the default container (made from the environment on first use)."""
    return get_default_container().get_logger(name)


def get_async_logger(name: str | None = None) -> AsyncLogger:
    """Return an async logger of the default container."""
    return get_default_container().get_async_logger(name)


def flush(timeout: float = 5.0) -> bool:
    """Flush the default container; see :meth:`Container.flush`."""
    return get_default_container().flush(timeout)


async def aflush(timeout: float = 5.0) -> bool:
    """Flush the default container from async code; see :meth:`Container.aflush`."""
    return await get_default_container().aflush(timeout)


def shutdown(timeout: float = 5.0) -> bool:
    """Shut the default container down; see :meth:`Container.shutdown`."""
    return get_default_container().shutdown(timeout)


async def ashutdown(timeout: float = 5.0) -> bool:
    """Shut the default container down from async code."""
    return await get_default_container().ashutdown(timeout)


def stats() -> StatsSnapshot:
    """The default container's stats; see :meth:`Container.stats`."""
    return get_default_container().stats()
