"""The same figures as OpenTelemetry metrics, read by the SDK's own in-memory reader."""

from __future__ import annotations

from typing import Any

from fapilog_otel import Container, Settings
from fapilog_otel.exporters.memory import InMemoryExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from fapilog_prometheus import instrument_meter_provider


def points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Metric name -> its data points, from one collection."""
    data = reader.get_metrics_data()
    found: dict[str, list[Any]] = {}
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_figures_and_histograms_reach_a_meter_provider() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    memory = InMemoryExporter()
    with Container(
        Settings(service_name="meters", diagnostics=False, batch={"max_size": 3}),
        exporters=[memory],
    ) as container:
        made = instrument_meter_provider(container, provider)
        log = container.get_logger("jobs")
        for i in range(7):
            log.info("ran", i=i)
        log.error("failed")
        assert container.flush()
        got = points(reader)
        assert {"fapilog_otel.records.submitted", "fapilog_otel.export.duration"} <= set(made.names)
        submitted = got["fapilog_otel.records.submitted"]
        assert [8] == [p.value for p in submitted]
        assert {"container": "meters"} == dict(submitted[0].attributes)
        by_severity = {
            (p.attributes["severity"], p.attributes["logger"]): p.value
            for p in got["fapilog_otel.log.records"]
        }
        assert {("INFO", "jobs"): 7, ("ERROR", "jobs"): 1} == by_severity
        sizes = got["fapilog_otel.export.batch_size"]
        assert 8 == sum(p.sum for p in sizes)
        assert {"container": "meters", "exporter": "memory"} == dict(sizes[0].attributes)
        assert sizes[0].explicit_bounds[:3] == (1.0, 8.0, 32.0)
        durations = got["fapilog_otel.export.duration"]
        assert sum(p.count for p in durations) == sum(p.count for p in sizes)
        made.close()
        log.info("after close")
        assert container.flush()
        assert "fapilog_otel.records.submitted" not in points(reader)
    provider.shutdown()
