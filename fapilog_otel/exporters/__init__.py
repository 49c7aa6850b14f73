"""The exporters that ship with fapilog-otel: console, file and in-memory."""

from __future__ import annotations

from fapilog_otel.exporters.console import ConsoleExporter
from fapilog_otel.exporters.file import FileExporter
from fapilog_otel.exporters.memory import InMemoryExporter

__all__ = ["ConsoleExporter", "FileExporter", "InMemoryExporter"]
