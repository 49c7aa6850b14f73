"""Exporter results: what export() returns (None, bool, ExportResult, PartialSuccess),
minimal and misbehaving exporters, and how the container counts each outcome."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from test_exporter_faults import Base, Returning, log_n

import fapilog_otel as fo
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import LogRecord


class TestResults:
    @pytest.mark.parametrize(
        ("result", "ok"),
        [
            (None, True),
            (True, True),
            (fo.ExportResult.SUCCESS, True),
            (fo.ExportResult.FAILURE, False),
            (False, False),
        ],
    )
    def test_export_result_decides_success(
        self, make_container: Any, result: Any, ok: bool
    ) -> None:
        """None, True and SUCCESS count as exported; FAILURE and False count as failed."""
        exporter = Returning(result)
        c, _ = make_container(exporters=[exporter])
        log_n(c, 5)
        assert ok is c.flush(5.0)
        stats = c.stats()
        expected = (5, 0) if ok else (0, 5)
        assert expected == (stats["exported"], stats["failed"])
        assert expected == (
            stats["exporters"][exporter.name]["exported"],
            stats["exporters"][exporter.name]["failed"],
        )

    def test_sdk_result_enum_is_understood(self, make_container: Any) -> None:
        """The OTel SDK's LogRecordExportResult.FAILURE counts as failed."""
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        c, _ = make_container(exporters=[Returning(LogRecordExportResult.FAILURE)])
        log_n(c, 3)
        c.flush(5.0)
        assert 3 == c.stats()["failed"]

    def test_minimal_exporter_with_only_export(self, make_container: Any) -> None:
        """An object with only export() works; flush and shutdown succeed."""

        class Minimal:
            def __init__(self) -> None:
                self.records: list[LogRecord] = []

            def export(self, batch: Sequence[LogRecord]) -> None:
                self.records.extend(batch)

        minimal = Minimal()
        c, _ = make_container(exporters=[minimal])
        log_n(c, 3)
        assert True is c.flush(5.0)
        assert True is c.shutdown(5.0)
        assert 3 == len(minimal.records)

    def test_object_without_export_is_rejected(self) -> None:
        """A container refuses an 'exporter' with no export method."""
        with pytest.raises(fo.ConfigurationError):
            fo.Container(fo.Settings(diagnostics=False), exporters=[object()])

    def test_force_flush_raising_makes_flush_false(self, make_container: Any) -> None:
        """An exporter whose force_flush raises makes flush() return False, not raise."""

        class BadFlush(Base):
            name = "badflush"

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                raise RuntimeError("flush failed")

        bad = BadFlush()
        c, _ = make_container(exporters=[bad])
        log_n(c, 3)
        assert False is c.flush(5.0)
        assert 3 == len(bad.records)

    def test_shutdown_raising_does_not_escape(self, make_container: Any) -> None:
        """An exporter whose shutdown raises does not make container.shutdown raise."""

        class BadShutdown(Base):
            name = "badshutdown"

            def shutdown(self) -> None:
                raise RuntimeError("shutdown failed")

        bad = BadShutdown()
        c, _ = make_container(exporters=[bad])
        log_n(c, 3)
        c.shutdown(5.0)
        assert (True, 3) == (c.is_shutdown, len(bad.records))

    def test_duplicate_exporter_names_get_separate_stats(self, make_container: Any) -> None:
        """Two exporters with the same name are counted separately."""
        a, b = InMemoryExporter(), InMemoryExporter()
        c, _ = make_container(exporters=[a, b])
        log_n(c, 2)
        assert c.flush(5.0)
        exporters = c.stats()["exporters"]
        assert 2 == len(exporters)
        assert [2, 2] == [s["exported"] for s in exporters.values()]


class TestPartialSuccess:
    @pytest.mark.parametrize(
        ("rejected", "failed"),
        [(2, 2), (0, 0), (-3, 0), (99, 5), ("2", 2), ("many", 5), (None, 5)],
    )
    def test_rejected_records_count_as_failed(
        self, make_container: Any, rejected: Any, failed: int
    ) -> None:
        """PartialSuccess(n) fails n records (clamped; unreadable counts fail all)."""
        exporter = Returning(fo.PartialSuccess(rejected, "some were bad"))
        c, _ = make_container(exporters=[exporter])
        log_n(c, 5)
        assert (failed == 0) is c.flush(5.0)
        stats = c.stats()
        assert (5 - failed, failed) == (stats["exported"], stats["failed"])
        mine = stats["exporters"][exporter.name]
        assert (5 - failed, failed) == (mine["exported"], mine["failed"])
        assert 5 == stats["submitted"]

    def test_the_worst_lane_decides_the_container_totals(self, make_container: Any) -> None:
        """Two exporters rejecting 1 and 3 records: the container counts 3 failed."""
        one, three = Returning(fo.PartialSuccess(1)), Returning(fo.PartialSuccess(3))
        three.name = "three"
        c, _ = make_container(exporters=[one, three])
        log_n(c, 5)
        c.flush(5.0)
        stats = c.stats()
        assert (2, 3) == (stats["exported"], stats["failed"])
        assert (4, 1) == (
            stats["exporters"][one.name]["exported"],
            stats["exporters"][one.name]["failed"],
        )
