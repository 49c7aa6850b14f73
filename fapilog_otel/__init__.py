"""fapilog-otel: async-first, OpenTelemetry-native structured logging.

Zero configuration::

    import fapilog_otel as fo

    log = fo.get_logger("checkout")
    log.info("order placed", order_id=123, amount=9.99)

Isolated pipelines: :class:`Container`. Configuration: :class:`Settings` and the
``FAPILOG_*`` / ``OTEL_*`` variables (``docs/configuration.md``).
"""

from __future__ import annotations

from fapilog_otel._api import (
    aflush,
    ashutdown,
    flush,
    get_async_logger,
    get_logger,
    shutdown,
    stats,
)
from fapilog_otel._default import get_default_container, set_default_container
from fapilog_otel.container import Container
from fapilog_otel.context import (
    bind_contextvars,
    bound_contextvars,
    clear_contextvars,
    get_contextvars,
    unbind_contextvars,
)
from fapilog_otel.errors import ConfigurationError, FapilogError, PluginError
from fapilog_otel.logger import AsyncLogger, Logger
from fapilog_otel.record import LogRecord, Scope, Severity
from fapilog_otel.settings import Settings
from fapilog_otel.typing import ExportResult, PartialSuccess

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncLogger",
    "ConfigurationError",
    "Container",
    "ExportResult",
    "FapilogError",
    "LogRecord",
    "Logger",
    "PartialSuccess",
    "PluginError",
    "Scope",
    "Settings",
    "Severity",
    "aflush",
    "ashutdown",
    "bind_contextvars",
    "bound_contextvars",
    "clear_contextvars",
    "flush",
    "get_async_logger",
    "get_contextvars",
    "get_default_container",
    "get_logger",
    "set_default_container",
    "shutdown",
    "stats",
    "unbind_contextvars",
]
