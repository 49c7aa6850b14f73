"""Compliance profiles (``FAPILOG_COMPLIANCE``) and extensions (``FAPILOG_EXTENSIONS``).

Distributions are faked on ``sys.path`` (a module and a ``.dist-info`` folder), as in
``test_plugins.py``; the real ones (``plugins/compliance``, ``plugins/prometheus``) have
tests of their own.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_plugins import make_distribution

import fapilog_otel as fo
from fapilog_otel import _plugins
from fapilog_otel.errors import PluginError
from fapilog_otel.exporters.memory import InMemoryExporter

SOURCE = """
from dataclasses import dataclass, field

EVENTS = []


class Stars:
    name = "stars"
    kind = "redactor"

    def process(self, record):
        record.body = "*" * len(str(record.body))
        return record


class Seen:
    name = "seen"

    def __init__(self):
        self.records = []

    def export(self, records):
        self.records.extend(records)
        from fapilog_otel.typing import ExportResult
        return ExportResult.SUCCESS


@dataclass
class Profile:
    name: str
    processors: tuple = ()
    exporters: tuple = ()


SEEN = Seen()


def stars(settings):
    return Profile("stars", processors=(Stars(),), exporters=(SEEN,))


def broken(settings):
    raise RuntimeError("profile broken")


def shapeless(settings):
    return object()


class Recorder:
    name = "recorder"

    def attach(self, container):
        EVENTS.append(("attach", container))

    def shutdown(self):
        EVENTS.append(("shutdown",))


class Refuses:
    name = "refuses"

    def attach(self, container):
        raise RuntimeError("no room")


class NoAttach:
    name = "noattach"
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fake distribution with profiles and extensions; yields its module."""
    make_distribution(
        tmp_path,
        "fake-profiles",
        "fake_profiles_mod",
        SOURCE,
        """
        [fapilog_otel.compliance]
        stars = fake_profiles_mod:stars
        broken = fake_profiles_mod:broken
        shapeless = fake_profiles_mod:shapeless

        [fapilog_otel.extensions]
        recorder = fake_profiles_mod:Recorder
        refuses = fake_profiles_mod:Refuses
        noattach = fake_profiles_mod:NoAttach
        prometheus = fake_profiles_mod:Recorder
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield importlib.import_module("fake_profiles_mod")
    sys.modules.pop("fake_profiles_mod", None)


def test_profile_processors_run_after_the_default_redactors(module: Any) -> None:
    """A profile's processors run in the redactor stage, after redact_keys/redact_values,
    and its exporters join the container's."""
    mine = InMemoryExporter()
    with fo.Container(
        fo.Settings(compliance="stars", diagnostics=False), exporters=[mine]
    ) as container:
        container.get_logger("t").info("secret", password="hunter2")
        assert container.flush()
        names = list(container.stats()["processors"])
        assert ["redact_keys", "redact_values", "stars"] == names
    assert ["******"] == [r.body for r in mine.records]
    assert ["******"] == [r.body for r in module.SEEN.records]
    assert "hunter2" not in str(mine.records[0].attributes)


def test_a_missing_profile_names_the_distribution_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As if fapilog-otel-compliance were not installed: the error says to install it."""
    monkeypatch.setattr(_plugins, "COMPLIANCE_GROUPS", ("fapilog_otel.not_a_group",))
    with pytest.raises(PluginError, match="install 'fapilog-otel-compliance' for 'pci'"):
        fo.Container(fo.Settings(compliance=["pci"], exporters=["none"]))
    with pytest.raises(PluginError, match="unknown compliance profile 'pcidss'"):
        fo.Container(fo.Settings(compliance=["pcidss"], exporters=["none"]))


def test_a_profile_that_raises_is_a_plugin_error(module: Any) -> None:
    with pytest.raises(PluginError, match="profile broken"):
        fo.Container(fo.Settings(compliance=["broken"], exporters=["none"]))


def test_a_profile_without_processors_and_exporters_is_refused(module: Any) -> None:
    with pytest.raises(PluginError, match="no processors sequence"):
        fo.Container(fo.Settings(compliance=["shapeless"], exporters=["none"]))


def test_compliance_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAPILOG_COMPLIANCE", " PCI, gdpr ")
    assert ["pci", "gdpr"] == fo.Settings().compliance


def test_extension_is_attached_and_shut_down_with_the_container(module: Any) -> None:
    module.EVENTS.clear()
    container = fo.Container(fo.Settings(extensions=["recorder"], exporters=["none"]))
    assert [("attach", container)] == module.EVENTS
    assert 1 == len(container.extensions)
    container.shutdown()
    container.shutdown()
    assert [("attach", container), ("shutdown",)] == module.EVENTS
    assert () == container.extensions


def test_an_extension_that_fails_to_attach_fails_the_container(module: Any) -> None:
    with pytest.raises(PluginError, match="no room"):
        fo.Container(fo.Settings(extensions=["refuses"], exporters=["none"]))


def test_an_extension_without_attach_is_refused(module: Any) -> None:
    with pytest.raises(PluginError, match="attach"):
        fo.Container(fo.Settings(extensions=["noattach"], exporters=["none"]))


def test_prometheus_port_names_the_prometheus_extension(
    module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asking for the endpoint names the plugin; it is not added twice."""
    assert [] == fo.Settings().extension_names
    monkeypatch.setenv("FAPILOG_PROMETHEUS_PORT", "9464")
    assert ["prometheus"] == fo.Settings().extension_names
    assert ["prometheus"] == fo.Settings(extensions=["prometheus"]).extension_names
    module.EVENTS.clear()
    with fo.Container(fo.Settings(exporters=["none"])):
        assert "attach" == module.EVENTS[0][0]


def test_prometheus_port_without_the_plugin_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As if fapilog-otel-prometheus were not installed: the error says to install it."""
    monkeypatch.setenv("FAPILOG_PROMETHEUS_PORT", "9464")
    monkeypatch.setattr(_plugins, "EXTENSION_GROUPS", ("fapilog_otel.not_a_group",))
    with pytest.raises(PluginError, match="install 'fapilog-otel-prometheus'"):
        fo.Container(fo.Settings(exporters=["none"]))
