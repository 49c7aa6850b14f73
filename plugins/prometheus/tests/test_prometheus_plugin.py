"""The Prometheus plugin: the figures, their exposition (checked by ``promtool``), the
endpoint a container starts by name, and a real Prometheus server scraping it."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from fapilog_otel import Container, Settings
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.exporters.memory import InMemoryExporter
from fapilog_otel.typing import ExportResult
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_server import PrometheusServer, free_port, promtool_check

from fapilog_prometheus import PrometheusExtension, collector_for, instrument


class Flaky:
    """Fails every other batch and reports outcomes as the OTLP exporter does."""

    name = "flaky"

    def __init__(self) -> None:
        self.calls = 0

    def export(self, records: Any) -> ExportResult:
        self.calls += 1
        return ExportResult.FAILURE if self.calls % 2 == 0 else ExportResult.SUCCESS

    def outcomes(self) -> dict[str, int]:
        return {"retries": 3, "http_503": 2}


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the registry's exposition, parsed back: (name, labels) -> value."""
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def containers() -> Iterator[list[Container]]:
    made: list[Container] = []
    yield made
    for container in made:
        container.shutdown(1.0)


def make(containers: list[Container], name: str, *exporters: Any, **settings: Any) -> Container:
    settings.setdefault("diagnostics", False)
    container = Container(
        Settings(service_name=name, **settings), exporters=list(exporters) or None
    )
    containers.append(container)
    return container


class TestFigures:
    def test_accounting_and_log_derived_counters(
        self, registry: CollectorRegistry, containers: list[Container]
    ) -> None:
        memory = InMemoryExporter()
        c = make(
            containers,
            "shop",
            memory,
            processors=["sample"],
            plugins={"sample": {"ratio": 0.0, "keep_at_or_above": "error"}},
        )
        instrument(c, registry=registry)
        log = c.get_logger("orders")
        for i in range(5):
            log.info("placed", order=i)
        log.error("failed")
        c.get_logger("payments").warning("slow")
        assert c.flush()
        got = samples(registry)
        shop = labels(container="shop")
        assert 7.0 == got[("fapilog_otel_records_submitted_total", shop)]
        assert 1.0 == got[("fapilog_otel_records_exported_total", shop)]
        assert (
            6.0
            == got[
                ("fapilog_otel_records_dropped_total", labels(container="shop", reason="sampled"))
            ]
        )
        assert 0.0 == got[("fapilog_otel_queue_depth", shop)]
        assert (
            5.0
            == got[
                (
                    "fapilog_otel_log_records_total",
                    labels(container="shop", severity="INFO", logger="orders"),
                )
            ]
        )
        assert (
            1.0
            == got[
                (
                    "fapilog_otel_log_records_total",
                    labels(container="shop", severity="WARN", logger="payments"),
                )
            ]
        )
        exported = got[
            (
                "fapilog_otel_exporter_records_total",
                labels(container="shop", exporter="memory", outcome="exported"),
            )
        ]
        assert 1.0 == exported

    def test_exporter_outcomes_retries_and_histograms(
        self, registry: CollectorRegistry, containers: list[Container]
    ) -> None:
        c = make(containers, "api", Flaky(), batch={"max_size": 2})
        instrument(c, registry=registry)
        log = c.get_logger("x")
        for _ in range(3):
            for _ in range(2):
                log.info("r")
            assert c.flush() in (True, False)
        got = samples(registry)
        flaky = {"container": "api", "exporter": "flaky"}
        assert 3.0 == got[("fapilog_otel_exporter_retries_total", labels(**flaky))]
        assert (
            2.0
            == got[("fapilog_otel_exporter_outcomes_total", labels(**flaky, outcome="http_503"))]
        )
        failed = got[("fapilog_otel_exporter_records_total", labels(**flaky, outcome="failed"))]
        ok = got[("fapilog_otel_exporter_records_total", labels(**flaky, outcome="exported"))]
        assert 6.0 == failed + ok
        assert failed > 0
        batches = got[("fapilog_otel_export_batch_size_count", labels(**flaky))]
        assert batches >= 3
        assert 6.0 == got[("fapilog_otel_export_batch_size_sum", labels(**flaky))]
        assert batches == got[("fapilog_otel_export_batch_size_bucket", labels(**flaky, le="+Inf"))]
        assert batches == got[("fapilog_otel_export_duration_seconds_count", labels(**flaky))]
        # Cumulative buckets: a batch of at most 2 records is in le="8.0" and above.
        assert batches == got[("fapilog_otel_export_batch_size_bucket", labels(**flaky, le="8.0"))]

    def test_logger_label_values_stay_bounded(
        self, registry: CollectorRegistry, containers: list[Container]
    ) -> None:
        c = make(containers, "many", InMemoryExporter())
        instrument(c, registry=registry, max_loggers=3)
        for i in range(50):
            c.get_logger(f"module{i}").info("x")
        assert c.flush()
        loggers = {
            dict(key)["logger"]
            for (name, key), _ in samples(registry).items()
            if name == "fapilog_otel_log_records_total"
        }
        assert 4 == len(loggers)
        assert "_other" in loggers

    def test_containers_are_told_apart_and_forgotten(
        self, registry: CollectorRegistry, containers: list[Container]
    ) -> None:
        """Two containers of one service get two label values; a closed instrumentation
        and a garbage-collected container leave the output."""
        first = make(containers, "svc", InMemoryExporter())
        second = make(containers, "svc", InMemoryExporter())
        one = instrument(first, registry=registry)
        two = instrument(second, registry=registry)
        assert ("svc", "svc#2") == (one.label, two.label)
        first.get_logger("a").info("x")
        assert first.flush()
        got = samples(registry)
        assert 1.0 == got[("fapilog_otel_records_submitted_total", labels(container="svc"))]
        assert 0.0 == got[("fapilog_otel_records_submitted_total", labels(container="svc#2"))]
        one.close()
        one.close()
        assert ["svc#2"] == collector_for(registry).labels
        third = Container(Settings(service_name="gone", diagnostics=False, exporters=["none"]))
        instrument(third, registry=registry)
        assert ["gone", "svc#2"] == collector_for(registry).labels
        third.shutdown()
        del third
        gc.collect()
        assert ["svc#2"] == collector_for(registry).labels


class TestExposition:
    def test_promtool_accepts_the_exposition(
        self, registry: CollectorRegistry, containers: list[Container]
    ) -> None:
        """Debian's promtool lints the exposition text: names, units, help, types."""
        c = make(containers, "lint", Flaky(), batch={"max_size": 4})
        instrument(c, registry=registry)
        c.count_records()
        for level in ("debug", "info", "warning", "error", "critical"):
            getattr(c.get_logger("lint"), level)("x")
        c.flush()
        text = generate_latest(registry).decode()
        checked = promtool_check(text)
        assert 0 == checked.returncode, checked.stdout + checked.stderr
        assert "" == (checked.stdout + checked.stderr).strip()

    def test_promtool_catches_a_broken_exposition(self) -> None:
        """The check above can fail: a counter without ``_total`` is reported."""
        broken = "# HELP x_bytes A.\n# TYPE x_bytes counter\nx_bytes 1\n"
        checked = promtool_check(broken)
        assert "_total" in checked.stdout + checked.stderr


class TestEndpoint:
    def test_prometheus_port_serves_metrics_without_code(self, containers: list[Container]) -> None:
        """FAPILOG_PROMETHEUS_PORT alone attaches the extension; shutdown stops the endpoint."""
        port = free_port()
        env = {
            **os.environ,
            "FAPILOG_PROMETHEUS_PORT": str(port),
            "FAPILOG_PROMETHEUS_ADDR": "127.0.0.1",
        }
        script = (
            "import urllib.request, fapilog_otel as fo\n"
            "c = fo.Container(fo.Settings(service_name='env', exporters=['none']))\n"
            "c.get_logger('app').error('x')\n"
            "c.flush()\n"
            f"print(urllib.request.urlopen('http://127.0.0.1:{port}/metrics').read().decode())\n"
            "c.shutdown()\n"
            "try:\n"
            f"    urllib.request.urlopen('http://127.0.0.1:{port}/metrics', timeout=2)\n"
            "    print('STILL-SERVING')\n"
            "except OSError:\n"
            "    print('STOPPED')\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert 0 == done.returncode, done.stderr
        assert 'fapilog_otel_records_submitted_total{container="env"} 1.0' in done.stdout
        assert (
            'fapilog_otel_log_records_total{container="env",logger="app",severity="ERROR"} 1.0'
            in done.stdout
        )
        assert done.stdout.rstrip().endswith("STOPPED")

    def test_containers_share_one_port(self, containers: list[Container]) -> None:
        port = free_port()
        plugin = {"prometheus": {"port": port, "addr": "127.0.0.1"}}
        a = make(containers, "a", InMemoryExporter(), extensions=["prometheus"], plugins=plugin)
        b = make(containers, "b", InMemoryExporter(), extensions=["prometheus"], plugins=plugin)
        url = f"http://127.0.0.1:{port}/metrics"
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        assert 'container="a"' in text and 'container="b"' in text
        a.shutdown()
        text = urllib.request.urlopen(url, timeout=5).read().decode()
        assert 'container="a"' not in text and 'container="b"' in text
        b.shutdown()
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(url, timeout=2)

    def test_a_taken_port(
        self, containers: list[Container], capfd: pytest.CaptureFixture[str]
    ) -> None:
        """instrument() raises a clear error; the extension (the zero-code path) warns and
        goes on without the endpoint, so a second worker of a pre-fork server still
        starts."""
        import socket

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            bare = make(containers, "bare", InMemoryExporter())
            with pytest.raises(ConfigurationError, match=f"127.0.0.1:{port}"):
                instrument(bare, registry=CollectorRegistry(), port=port, addr="127.0.0.1")
            c = make(
                containers,
                "second-worker",
                InMemoryExporter(),
                diagnostics=True,
                extensions=["prometheus"],
                plugins={"prometheus": {"port": port, "addr": "127.0.0.1"}},
            )
            (extension,) = c.extensions
            assert extension.instrumentation is not None
            assert extension.instrumentation.port is None
            assert "second-worker" in collector_for(extension.instrumentation.registry).labels
        warning = capfd.readouterr().err
        assert f"127.0.0.1:{port}" in warning and "without a metrics endpoint" in warning

    def test_a_bad_port_variable_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FAPILOG_PROMETHEUS_PORT", "ninety")
        with pytest.raises(ConfigurationError, match="FAPILOG_PROMETHEUS_PORT"):
            PrometheusExtension()


@pytest.mark.integration
class TestRealPrometheus:
    def test_a_real_prometheus_scrapes_the_figures(self, containers: list[Container]) -> None:
        """Debian's Prometheus server scrapes the endpoint on loopback; its query API
        returns the container's figures."""
        memory = InMemoryExporter()
        c = make(containers, "scraped", memory)
        instrumentation = instrument(c, registry=CollectorRegistry(), port=0, addr="127.0.0.1")
        try:
            log = c.get_logger("checkout")
            for i in range(25):
                log.info("paid", i=i)
            log.error("declined")
            assert c.flush()
            with PrometheusServer([f"127.0.0.1:{instrumentation.port}"]) as server:
                submitted = server.wait_for(
                    'fapilog_otel_records_submitted_total{container="scraped"}',
                    lambda r: bool(r) and r[0]["value"][1] == "26",
                )
                assert "fapilog" == submitted[0]["metric"]["job"]
                errors = server.query(
                    'fapilog_otel_log_records_total{severity="ERROR",logger="checkout"}'
                )
                assert "1" == errors[0]["value"][1]
                p99 = server.query(
                    "histogram_quantile(0.99, fapilog_otel_export_duration_seconds_bucket)"
                )
                assert float(p99[0]["value"][1]) > 0
                health = server.targets_health()
                assert ["up"] == [t["health"] for t in health]
        finally:
            instrumentation.close()
