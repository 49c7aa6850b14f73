"""The template plugins pass the conformance kit and load by name through a container.

The distribution is installed (``make install`` installs every ``plugins/*/`` editable), so
its entry points are real: nothing here fakes them.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from fapilog_otel import ConfigurationError, Container, Settings
from fapilog_otel.otel import FapilogProcessor
from fapilog_otel.testing import ExporterConformance, ProcessorConformance, make_record
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

from fapilog_plugin_template import (
    JsonLinesExporter,
    StaticAttributesEnricher,
    TemplateEnricherConfig,
)
from fapilog_plugin_template.exporter import PATH_VARIABLE


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a file of JSON lines."""
    return [json.loads(line) for line in path.read_text(encoding="ascii").splitlines()]


class TestEnricherConformance(ProcessorConformance):
    def make_processor(self) -> Any:
        config = TemplateEnricherConfig(region="eu-west-1", attributes={"team": "payments"})
        return StaticAttributesEnricher(config)


class TestExporterConformance(ExporterConformance):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path

    def make_exporter(self) -> Any:
        return JsonLinesExporter(self.directory / "conformance.jsonl")


class TestEnricher:
    def test_adds_region_and_attributes_under_the_call_s_own(self) -> None:
        """Configured attributes are added; an attribute given at the call wins."""
        config = TemplateEnricherConfig(region="eu", attributes={"team": "a", "tier": "1"})
        enricher = StaticAttributesEnricher(config)
        record = enricher.process(make_record("x", {"tier": "call"}))
        expected = {"deployment.region": "eu", "team": "a", "tier": "call"}
        assert expected == record.attributes

    def test_overwrite_lets_the_configured_values_win(self) -> None:
        """With overwrite=True the configured value replaces the call's."""
        enricher = StaticAttributesEnricher(
            TemplateEnricherConfig(attributes={"tier": "config"}, overwrite=True)
        )
        expected = {"tier": "config"}
        assert expected == enricher.process(make_record("x", {"tier": "call"})).attributes


class TestLoadedByName:
    def test_the_entry_points_are_installed(self) -> None:
        """make install registered both entry points of the distribution."""
        processors = {ep.name for ep in metadata.entry_points(group="fapilog_otel.processors")}
        exporters = {ep.name for ep in metadata.entry_points(group="fapilog_otel.exporters")}
        assert "template_enricher" in processors
        assert "template_jsonl" in exporters

    def test_settings_names_load_both_plugins_end_to_end(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Named in Settings, both plugins load, take their settings and carry a record."""
        path = tmp_path / "logs" / "app.jsonl"
        monkeypatch.setenv(PATH_VARIABLE, str(path))
        settings = Settings(
            processors=["template_enricher"],
            exporters=["template_jsonl"],
            plugins={"template_enricher": {"region": "eu-west-1", "attributes": {"team": "pay"}}},
            service_name="checkout",
        )
        with Container(settings) as container:
            container.get_logger("orders").info("order placed", order_id=7, blob=b"\x00")
            assert container.flush(5.0)
            stats = container.stats()
        expected = {"exported": 1, "failed": 0}
        assert expected == {key: stats[key] for key in expected}
        (line,) = read_lines(path)
        assert "order placed" == line["body"]
        wanted = {"order_id": 7, "blob": "AA==", "deployment.region": "eu-west-1", "team": "pay"}
        assert wanted == {key: line["attributes"].get(key) for key in wanted}
        assert "checkout" == line["resource"]["service.name"]

    def test_environment_variables_name_and_configure_them(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_PROCESSORS, OTEL_LOGS_EXPORTER and FAPILOG_PLUGINS__... work too."""
        path = tmp_path / "env.jsonl"
        monkeypatch.setenv(PATH_VARIABLE, str(path))
        monkeypatch.setenv("FAPILOG_PROCESSORS", "template_enricher")
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "template_jsonl")
        monkeypatch.setenv("FAPILOG_PLUGINS__TEMPLATE_ENRICHER__REGION", "us-east-1")
        with Container() as container:
            container.get_logger("env").warning("configured from the environment")
        (line,) = read_lines(path)
        assert "us-east-1" == line["attributes"]["deployment.region"]

    def test_an_unknown_setting_is_refused_by_name(self) -> None:
        """A misspelt setting fails when the container is made, naming the key."""
        settings = Settings(
            processors=["template_enricher"],
            exporters=["none"],
            plugins={"template_enricher": {"regoin": "eu"}},
        )
        with pytest.raises(ConfigurationError, match="regoin"):
            Container(settings)


class TestPlainSdkPipeline:
    def test_the_exporter_and_enricher_work_without_a_container(self, tmp_path: Path) -> None:
        """In a plain SDK provider: our enricher via FapilogProcessor, then the exporter."""
        path = tmp_path / "sdk.jsonl"
        exporter = JsonLinesExporter(path)
        enricher = StaticAttributesEnricher(TemplateEnricherConfig(region="ap-south-1"))
        provider = LoggerProvider()
        provider.add_log_record_processor(
            FapilogProcessor(enricher, SimpleLogRecordProcessor(exporter))
        )
        provider.get_logger("template.sdk").emit(
            body="through the SDK", severity_number=SeverityNumber.WARN, severity_text="WARN"
        )
        provider.shutdown()
        (line,) = read_lines(path)
        assert "through the SDK" == line["body"]
        assert "ap-south-1" == line["attributes"]["deployment.region"]
