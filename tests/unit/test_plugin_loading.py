"""Plugins with settings, API versions, and distributions written only against the OTel SDK.

Distributions are faked on ``sys.path`` (a module and a ``.dist-info`` folder with
``entry_points.txt``, as an installed wheel leaves them), like ``test_plugins.py`` does.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_plugins import make_distribution

import fapilog_otel as fo
from fapilog_otel._plugins import BUILTIN_PROCESSORS
from fapilog_otel.exporters.memory import InMemoryExporter

CONFIGURED = """
from typing import ClassVar
from pydantic import BaseModel, ConfigDict

class StampConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = "default"
    count: int = 1

class Stamp:
    name = "stamp"
    kind = "enricher"
    fapilog_api_version = 1
    config_model: ClassVar[type] = StampConfig

    def __init__(self, config):
        self.config = config

    def process(self, record):
        record.attributes["stamp"] = self.config.value * self.config.count
        return record

class Plain:
    name = "plain"

    def process(self, record):
        return record

class FromTheFuture(Plain):
    fapilog_api_version = "2.0"
"""

SDK_ONLY = """
from opentelemetry.sdk._logs import LogRecordProcessor
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

RECEIVED = []

class Region(LogRecordProcessor):
    def on_emit(self, log_record):
        log_record.log_record.attributes["cloud.region"] = "eu-west-1"

    def shutdown(self):
        pass

    def force_flush(self, timeout_millis=30000):
        return True

class Keep(LogRecordExporter):
    def export(self, batch):
        for item in batch:
            RECEIVED.append(
                (item.log_record.body, dict(item.log_record.attributes), item.resource)
            )
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis=30000):
        return True

    def shutdown(self):
        pass
"""


@pytest.fixture
def distributions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A plugin distribution with settings and one written only against the OTel SDK."""
    make_distribution(
        tmp_path,
        "configured-plugins",
        "configured_mod",
        CONFIGURED,
        """
        [fapilog_otel.processors]
        stamp = configured_mod:Stamp
        plain = configured_mod:Plain
        future = configured_mod:FromTheFuture
        """,
    )
    make_distribution(
        tmp_path,
        "sdk-only-plugins",
        "sdk_only_mod",
        SDK_ONLY,
        """
        [fapilog_otel.processors]
        region = sdk_only_mod:Region

        [fapilog_otel.exporters]
        keep = sdk_only_mod:Keep
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield
    for module in ("configured_mod", "sdk_only_mod"):
        sys.modules.pop(module, None)


class TestPluginSettings:
    def test_settings_reach_the_plugin(self, distributions: None) -> None:
        """Settings.plugins[name] is validated by the plugin's config_model and passed in."""
        settings = fo.Settings(
            processors=["stamp"], plugins={"stamp": {"value": "ab", "count": 2}}, redactors=[]
        )
        exporter = InMemoryExporter()
        with fo.Container(settings, exporters=[exporter]) as c:
            c.get_logger("t").info("x")
            c.flush(5)
        assert "abab" == exporter.records[0].attributes["stamp"]

    def test_variables_configure_a_plugin(
        self, distributions: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_PLUGINS__STAMP__VALUE configures the plugin named stamp."""
        monkeypatch.setenv("FAPILOG_PLUGINS__STAMP__VALUE", "env")
        exporter = InMemoryExporter()
        with fo.Container(
            fo.Settings(processors=["stamp"], redactors=[]), exporters=[exporter]
        ) as c:
            c.get_logger("t").info("x")
            c.flush(5)
        assert "env" == exporter.records[0].attributes["stamp"]

    def test_unknown_keys_are_rejected(self, distributions: None) -> None:
        """A key the model does not know is a ConfigurationError naming the plugin."""
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Container(fo.Settings(processors=["stamp"], plugins={"stamp": {"colour": 1}}))
        assert "'stamp'" in str(raised.value)
        assert "colour" in str(raised.value)

    def test_invalid_values_are_rejected(self, distributions: None) -> None:
        """A value of the wrong type is a ConfigurationError naming the setting."""
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Container(fo.Settings(processors=["stamp"], plugins={"stamp": {"count": "x"}}))
        assert "count" in str(raised.value)

    def test_settings_for_a_plugin_without_a_model(self, distributions: None) -> None:
        """Settings given to a plugin that takes none are an error, not silently ignored."""
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Container(fo.Settings(processors=["plain"], plugins={"plain": {"a": 1}}))
        assert "takes no settings" in str(raised.value)


class TestApiVersion:
    def test_other_major_version_is_refused(self, distributions: None) -> None:
        """A plugin declaring API version 2.0 is refused with both versions named."""
        with pytest.raises(fo.PluginError) as raised:
            fo.Container(fo.Settings(processors=["future"]))
        assert "'2.0'" in str(raised.value)
        assert "version 1" in str(raised.value)


class TestSdkOnlyDistribution:
    def test_loads_by_name_and_works(self, distributions: None) -> None:
        """An SDK LogRecordProcessor and LogRecordExporter from a distribution, by name."""
        settings = fo.Settings(
            service_name="sdk-only", processors=["region"], exporters=["keep"], redactors=[]
        )
        with fo.Container(settings) as c:
            c.get_logger("t").info("through the sdk", n=1)
            assert c.flush(5)
        received = sys.modules["sdk_only_mod"].RECEIVED  # type: ignore[attr-defined]
        ((body, attributes, resource),) = received
        assert "through the sdk" == body
        assert {"n": 1, "cloud.region": "eu-west-1"} == attributes
        assert "sdk-only" == resource.attributes["service.name"]


class TestBuiltins:
    def test_every_builtin_name_loads(self) -> None:
        """Each built-in processor name makes its plugin with default settings."""
        from fapilog_otel._plugins import load_processor

        settings = fo.Settings()
        for name in BUILTIN_PROCESSORS:
            plugin = load_processor(name, settings)
            assert name == plugin.name

    def test_builtin_settings_are_validated(self) -> None:
        """A built-in's settings go through its model too."""
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Container(fo.Settings(processors=["sample"], plugins={"sample": {"ratio": 2}}))
        assert "ratio" in str(raised.value)


class TestListSettingsFromVariables:
    @pytest.mark.parametrize("raw", ["ssn,user.dob", '["ssn", "user.dob"]'])
    def test_list_setting_from_one_variable(
        self, raw: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_PLUGINS__REDACT_KEYS__KEYS takes a comma list or a JSON array."""
        monkeypatch.setenv("FAPILOG_PLUGINS__REDACT_KEYS__KEYS", raw)
        exporter = InMemoryExporter()
        with fo.Container(fo.Settings(diagnostics=False), exporters=[exporter]) as c:
            c.get_logger("t").info("x", ssn="123-45-6789", user={"dob": "1990", "name": "ann"})
            c.flush(5)
        attributes = exporter.records[0].attributes
        assert "[REDACTED]" == attributes["ssn"]
        assert {"dob": "[REDACTED]", "name": "ann"} == attributes["user"]
