"""Exporters and processors named in the configuration, found through entry points.

The distributions here are fakes on ``sys.path`` (a ``.dist-info`` folder with
``entry_points.txt``, which is what an installed wheel leaves behind), so nothing is
installed by the tests.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import fapilog_otel as fo

PLUGIN_MODULE = """
from fapilog_otel.typing import ExportResult

class Collecting:
    name = "collecting"
    instances = []

    def __init__(self):
        self.records = []
        Collecting.instances.append(self)

    def export(self, batch):
        self.records.extend(batch)
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis=30000):
        return True

    def shutdown(self):
        pass

class Upper:
    name = "upper"

    def process(self, record):
        record.body = str(record.body).upper()
        return record
"""


def make_distribution(root: Path, name: str, module: str, source: str, entry_points: str) -> None:
    """Lay out an importable module and a dist-info folder declaring its entry points."""
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points), encoding="utf-8")


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Two fake distributions: a working one and one whose entry point fails to import."""
    make_distribution(
        tmp_path,
        "fake-plugins",
        "fake_plugins_mod",
        PLUGIN_MODULE,
        """
        [fapilog_otel.exporters]
        collecting = fake_plugins_mod:Collecting

        [fapilog_otel.processors]
        upper = fake_plugins_mod:Upper

        [opentelemetry_logs_exporter]
        sdk_style = fake_plugins_mod:Collecting
        """,
    )
    make_distribution(
        tmp_path,
        "broken-plugins",
        "broken_plugins_mod",
        "raise ImportError('missing native library')\n",
        """
        [fapilog_otel.exporters]
        broken = broken_plugins_mod:Nothing
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    module = importlib.import_module("fake_plugins_mod")
    yield module
    sys.modules.pop("fake_plugins_mod", None)


def collected(module: object) -> list[str]:
    """Bodies received by the newest Collecting exporter of the fake distribution."""
    instance = module.Collecting.instances[-1]  # type: ignore[attr-defined]
    return [r.body for r in instance.records]


class TestExporterByName:
    def test_settings_name_loads_the_entry_point(self, plugins: object) -> None:
        """An exporter named in Settings is made from its entry point and receives records."""
        with fo.Container(fo.Settings(exporters=["collecting"], diagnostics=False)) as c:
            c.get_logger("p").info("hello")
            assert c.flush(5.0)
        assert ["hello"] == collected(plugins)

    def test_otel_logs_exporter_variable_loads_it(
        self, plugins: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OTEL_LOGS_EXPORTER finds the same entry point, next to a built-in name."""
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "collecting,none")
        with fo.Container(fo.Settings(diagnostics=False)) as c:
            assert ["collecting"] == list(c.stats()["exporters"])
            c.get_logger("p").info("from env")
            assert c.flush(5.0)
        assert ["from env"] == collected(plugins)

    def test_sdk_entry_point_group_is_searched_too(self, plugins: object) -> None:
        """Names in the SDK's opentelemetry_logs_exporter group work as well."""
        with fo.Container(fo.Settings(exporters=["sdk_style"], diagnostics=False)) as c:
            c.get_logger("p").info("sdk group")
            assert c.flush(5.0)
        assert ["sdk group"] == collected(plugins)

    def test_unknown_name_names_the_groups_and_offering_distributions(
        self, plugins: object
    ) -> None:
        """An unknown exporter fails with its name, the groups and who offers them."""
        with pytest.raises(fo.PluginError) as raised:
            fo.Container(fo.Settings(exporters=["nosuch"]))
        message = str(raised.value)
        assert "'nosuch'" in message
        assert "fapilog_otel.exporters" in message
        assert "fake-plugins" in message

    def test_failing_import_names_the_entry_point_and_distribution(self, plugins: object) -> None:
        """A plugin that cannot be imported fails with one clear error naming its origin."""
        with pytest.raises(fo.PluginError) as raised:
            fo.Container(fo.Settings(exporters=["broken"]))
        message = str(raised.value)
        assert "'broken'" in message
        assert "broken-plugins" in message
        assert "missing native library" in message

    def test_installed_plugins_load_only_when_named(self, plugins: object) -> None:
        """The broken plugin is installed but never named, so containers start fine."""
        with fo.Container(fo.Settings(exporters=["none"], diagnostics=False)) as c:
            assert {} == dict(c.stats()["exporters"])
        assert "broken_plugins_mod" not in sys.modules

    def test_otlp_is_the_native_exporter(self) -> None:
        """'otlp' builds the native OTLP exporter from the container's OTLP settings."""
        from fapilog_otel.otlp import OTLPExporter

        settings = fo.Settings(
            exporters=["otlp"], otlp={"endpoint": "http://127.0.0.1:9/v1/logs"}, diagnostics=False
        )
        with fo.Container(settings) as c:
            (exporter,) = c.exporters
            assert isinstance(exporter, OTLPExporter)
            assert "http://127.0.0.1:9/v1/logs" == exporter.endpoint

    def test_otlp_timeout_stays_inside_the_export_timeout(self) -> None:
        """An OTLP timeout longer than the lane's export timeout is capped below it."""
        settings = fo.Settings(
            exporters=["otlp"],
            otlp={"timeout_ms": 60_000},
            batch={"export_timeout_ms": 20_000},
            diagnostics=False,
        )
        with fo.Container(settings) as c:
            (exporter,) = c.exporters
            assert 18_000 == exporter.options.timeout_ms
        short = fo.Settings(exporters=["otlp"], otlp={"timeout_ms": 500}, diagnostics=False)
        with fo.Container(short) as c:
            assert 500 == c.exporters[0].options.timeout_ms

    def test_sdk_otlp_exporters_work_by_their_entry_point_names(self) -> None:
        """'otlp_proto_http' finds the OTel SDK's exporter through its entry point."""
        from fapilog_otel.otel import SdkExporterAdapter

        with fo.Container(fo.Settings(exporters=["otlp_proto_http"], diagnostics=False)) as c:
            (exporter,) = c.exporters
            assert isinstance(exporter, SdkExporterAdapter)
            assert "OTLPLogExporter" == type(exporter.exporter).__name__


class TestProcessorByName:
    def test_named_processor_runs_before_the_exporters(
        self, plugins: object, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FAPILOG_PROCESSORS loads a processor by entry-point name and runs it."""
        monkeypatch.setenv("FAPILOG_PROCESSORS", "upper")
        with fo.Container(fo.Settings(exporters=["collecting"], diagnostics=False)) as c:
            c.get_logger("p").info("quiet")
            assert c.flush(5.0)
        assert ["QUIET"] == collected(plugins)

    def test_unknown_processor_is_an_error(self, plugins: object) -> None:
        """An unknown processor name fails with the processor group in the message."""
        with pytest.raises(fo.PluginError) as raised:
            fo.Container(fo.Settings(processors=["nosuch"], exporters=["none"]))
        assert "fapilog_otel.processors" in str(raised.value)
