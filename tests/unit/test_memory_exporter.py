"""Tests for the in-memory exporter used in tests."""

from __future__ import annotations

import threading

from opentelemetry.sdk.resources import Resource

from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.typing import Exporter, ExportResult


def make_record(body: str) -> LogRecord:
    return LogRecord(
        timestamp=1, body=body, scope=Scope("x"), resource=Resource({"service.name": "svc"})
    )


class TestInMemoryExporter:
    def test_is_an_exporter(self) -> None:
        """It satisfies the Exporter protocol and is named "memory"."""
        assert isinstance(InMemoryExporter(), Exporter)
        assert "memory" == InMemoryExporter.name

    def test_collects_in_order(self) -> None:
        """Records of consecutive batches are kept in export order, batches counted."""
        exporter = InMemoryExporter()
        a, b, c = make_record("a"), make_record("b"), make_record("c")

        assert ExportResult.SUCCESS == exporter.export([a, b])
        assert ExportResult.SUCCESS == exporter.export([c])

        assert [a, b, c] == exporter.records
        assert 2 == exporter.batches

    def test_clear(self) -> None:
        """clear() forgets records and the batch count."""
        exporter = InMemoryExporter()
        exporter.export([make_record("a")])

        exporter.clear()

        assert ([], 0) == (exporter.records, exporter.batches)

    def test_shutdown_refuses_exports(self) -> None:
        """After shutdown exports fail and collected records stay."""
        exporter = InMemoryExporter()
        exporter.export([make_record("a")])

        exporter.shutdown()
        exporter.shutdown()

        assert exporter.is_shutdown
        assert ExportResult.FAILURE == exporter.export([make_record("b")])
        assert ["a"] == [r.body for r in exporter.records]

    def test_force_flush(self) -> None:
        """force_flush has nothing to do and says so."""
        assert InMemoryExporter().force_flush(timeout_millis=1) is True

    def test_threads(self) -> None:
        """Concurrent exports from many threads lose no record."""
        exporter = InMemoryExporter()
        batch = [make_record("r")] * 10

        def work() -> None:
            for _ in range(100):
                exporter.export(batch)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert (8000, 800) == (len(exporter.records), exporter.batches)
