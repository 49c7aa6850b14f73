"""The figures behind metrics: export histograms per exporter and the record tally."""

from __future__ import annotations

from typing import Any

import pytest

from fapilog_otel import _stats
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.record import Scope


class TestHistogram:
    def test_bounds_are_inclusive_upper_bounds(self) -> None:
        """A value equal to a bound is in that bucket (Prometheus' ``le``); above the last
        bound goes to the overflow bucket."""
        h = _stats.Histogram((1, 10))
        for value in (0, 1, 2, 10, 11, 1000):
            h.observe(value)
        snap = h.snapshot()
        assert [2, 2, 2] == snap["counts"]
        assert 6 == snap["count"]
        assert 1024 == snap["sum"]
        assert [1, 10] == snap["bounds"]

    def test_exporter_histograms_count_each_batch(self, make_container: Any) -> None:
        c, _ = make_container(batch={"max_size": 4})
        log = c.get_logger("t")
        for i in range(10):
            log.info("x", i=i)
        assert c.flush()
        mine = c.stats()["exporters"]["memory"]
        sizes = mine["batch_sizes"]
        assert 10 == sizes["sum"]
        assert sizes["count"] >= 3
        assert 0 == sum(sizes["counts"][_stats.BATCH_SIZE_BOUNDS.index(8) + 1 :])
        seconds = mine["export_seconds"]
        assert sizes["count"] == seconds["count"]
        assert 0 < seconds["sum"] < 5


class TestRecordTally:
    def test_severity_ranges(self) -> None:
        assert ["UNSPECIFIED", "TRACE", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] == [
            _stats.severity_range(n) for n in (0, 1, 4, 5, 9, 13, 17, 21)
        ]
        assert "UNSPECIFIED" == _stats.severity_range(25)

    def test_off_until_asked(self, make_container: Any) -> None:
        c, _ = make_container()
        c.get_logger("a").info("x")
        assert c.flush()
        assert "records" not in c.stats()

    def test_counts_by_severity_and_logger_with_bounded_names(self, make_container: Any) -> None:
        """Past ``max_loggers`` names, records count under ``_other``: label values stay
        bounded however many loggers the application makes."""
        c, _ = make_container()
        c.count_records(max_loggers=2)
        for name in ("a", "b", "c", "d", "a"):
            c.get_logger(name).info("x")
        c.get_logger("d").error("boom")
        assert c.flush()
        assert {"INFO": {"a": 2, "b": 1, "_other": 2}, "ERROR": {"_other": 1}} == c.stats()[
            "records"
        ]

    def test_scope_objects_count_by_their_name(self) -> None:
        tally = _stats.RecordTally(max_loggers=10)
        raw = (0, None, 9, "INFO", "b", None, "app", None, None, None, None, None, None)
        versioned = (*raw[:6], Scope("lib", version="1.0"), *raw[7:])
        tally.count([raw, raw, versioned])
        assert {"INFO": {"app": 2, "lib": 1}} == tally.snapshot()

    def test_counts_on_the_direct_path_too(self, make_container: Any) -> None:
        """The direct path (OTLP exporters, default redactors) hands tuples on without
        making records; the tally counts them all the same. (Nothing listens on the
        endpoint: the records are counted when taken, whatever their export.)"""
        from fapilog_otel.otlp import OTLPExporter

        exporter = OTLPExporter(endpoint="http://127.0.0.1:9", timeout_ms=50)
        c, _ = make_container(exporters=[exporter])
        assert c._worker._direct is not None
        c.count_records()
        c.get_logger("app").warning("x")
        c.get_logger("app").warning("y")
        c.flush(timeout=2.0)
        assert {"WARN": {"app": 2}} == c.stats()["records"]

    def test_invalid_limit(self, make_container: Any) -> None:
        c, _ = make_container(exporters=[InMemoryExporter()])
        with pytest.raises(ConfigurationError, match="max_loggers"):
            c.count_records(max_loggers=0)


class TestExportListeners:
    def test_told_of_each_export_call(self, make_container: Any) -> None:
        c, _ = make_container(batch={"max_size": 3})
        calls: list[tuple[str, int, float, int]] = []
        c.add_export_listener(lambda *call: calls.append(call))
        log = c.get_logger("t")
        for i in range(7):
            log.info("x", i=i)
        assert c.flush()
        assert {"memory"} == {name for name, _, _, _ in calls}
        assert 7 == sum(n for _, n, _, _ in calls)
        assert all(seconds >= 0 and failed == 0 for _, _, seconds, failed in calls)

    def test_a_failing_listener_never_reaches_the_application(self, make_container: Any) -> None:
        c, exporter = make_container()

        def broken(*call: Any) -> None:
            raise RuntimeError("listener broken")

        c.add_export_listener(broken)
        c.get_logger("t").info("x")
        assert c.flush()
        assert 1 == len(exporter.records)
        assert 1 == c.stats()["exported"]
