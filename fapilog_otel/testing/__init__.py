"""Helpers for testing code that logs with fapilog_otel, and a conformance kit for plugins.

Example::

    from fapilog_otel.testing import capture_logs

    with capture_logs() as records:
        my_function(log)           # logs through the container capture_logs made
    assert records[0].body == "done"

Plugin authors subclass :class:`ExporterConformance` or :class:`ProcessorConformance` (or
call :func:`check_exporter` / :func:`check_processor`); see ``docs/plugins.md``.
:func:`python_blocks` and :func:`run_python` run the examples of a README or a docs page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from fapilog_otel.container import Container
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord
from fapilog_otel.settings import Settings
from fapilog_otel.testing._conformance import (
    ExporterConformance,
    ProcessorConformance,
    check_exporter,
    check_processor,
    make_record,
    value_kinds,
)
from fapilog_otel.testing._examples import CodeBlock, code_blocks, python_blocks, run_python

__all__ = [
    "CodeBlock",
    "ExporterConformance",
    "InMemoryExporter",
    "ProcessorConformance",
    "capture_logs",
    "check_exporter",
    "check_processor",
    "code_blocks",
    "make_container",
    "make_record",
    "python_blocks",
    "run_python",
    "value_kinds",
]


def make_container(**settings: Any) -> tuple[Container, InMemoryExporter]:
    """Return a container that exports into a new :class:`InMemoryExporter`, and the exporter.

    Keyword arguments are :class:`~fapilog_otel.Settings` fields (``level="debug"`` ...).
    """
    exporter = InMemoryExporter()
    container = Container(Settings(**settings), exporters=[exporter])
    return container, exporter


@contextlib.contextmanager
def capture_logs(**settings: Any) -> Iterator[list[LogRecord]]:
    """Make the default container a capturing one for the ``with`` block.

    Yields the list of records, filled when the block ends (the container is flushed and
    shut down then). The previous default container is restored afterwards.
    """
    from fapilog_otel._default import set_default_container

    settings.setdefault("level", "trace")
    container, exporter = make_container(**settings)
    records: list[LogRecord] = []
    previous = set_default_container(container)
    try:
        yield records
    finally:
        container.shutdown()
        set_default_container(previous)
        records.extend(exporter.records)
