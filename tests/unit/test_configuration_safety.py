"""Configuration never executes code, and plugins load only by explicit name.

Every setting that takes text (names, levels, JSON objects, patterns, header lists) is
given Python that would create a marker file if anything evaluated it; the settings are
refused or kept as plain text, and the marker never appears. (Patterns are compiled as
regular expressions, which run no Python.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fapilog_otel as fo
from fapilog_otel.errors import FapilogError


def payload(marker: Path) -> str:
    return f"__import__('pathlib').Path({str(marker)!r}).touch()"


VARIABLES = [
    "FAPILOG_LEVEL",
    "FAPILOG_LEVELS",
    "FAPILOG_SERVICE_NAME",
    "FAPILOG_EXPORTERS",
    "FAPILOG_PROCESSORS",
    "FAPILOG_REDACTORS",
    "FAPILOG_OVERFLOW",
    "FAPILOG_QUEUE_SIZE",
    "FAPILOG_SPOOL_FSYNC",
    "FAPILOG_OTLP__ENDPOINT",
    "FAPILOG_OTLP__PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_LOGS_EXPORTER",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
]


@pytest.mark.parametrize("variable", VARIABLES)
def test_code_in_a_variable_is_never_run(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    monkeypatch.setenv(variable, payload(marker))
    try:
        settings = fo.Settings()
        fo.Container(settings, exporters=[]).shutdown(1)
    except FapilogError:
        pass  # refused with a clear error: fine
    assert not marker.exists()


@pytest.mark.parametrize(
    "plugins",
    [
        {"redact_values": {"patterns": ["PAYLOAD"]}},
        {"redact_keys": {"keys": ["PAYLOAD"], "mask": "PAYLOAD"}},
        {"sample": {"ratio": "PAYLOAD"}},
    ],
)
def test_code_in_plugin_settings_is_never_run(
    plugins: dict[str, dict[str, object]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    text = json.dumps(plugins).replace("PAYLOAD", payload(marker).replace("'", "\\u0027"))
    monkeypatch.setenv("FAPILOG_PLUGINS", text)
    monkeypatch.setenv("FAPILOG_PROCESSORS", ",".join(name for name in plugins if name == "sample"))
    try:
        container = fo.Container(fo.Settings(), exporters=[])
        container.get_logger("app").info("x", secret=payload(marker))
        container.shutdown(1)
    except FapilogError:
        pass
    assert not marker.exists()


def test_installed_plugins_load_only_when_named() -> None:
    """The template distribution is installed (its entry points exist), yet a container
    that does not name its processor or exporter does not load them."""
    from importlib.metadata import entry_points

    assert any(
        ep.name == "template_enricher" for ep in entry_points(group="fapilog_otel.processors")
    )
    container = fo.Container(fo.Settings(), exporters=[])
    try:
        names = [link.name for link in container._worker._chain.links]
        assert ["redact_keys", "redact_values"] == names
    finally:
        container.shutdown(1)
    named = fo.Container(fo.Settings(processors=["template_enricher"]), exporters=[])
    try:
        assert "template_enricher" in [link.name for link in named._worker._chain.links]
    finally:
        named.shutdown(1)


class TestSettingsRepr:
    """A printed or logged ``Settings`` never carries a credential."""

    def test_headers_and_secret_plugin_settings_are_masked(self) -> None:
        from fapilog_otel import Settings

        settings = Settings(
            plugins={
                "gdpr": {"key": "pseudonym-key-0123456789", "keys": ["user_id"]},
                "splunk_hec": {"token": "hec-token-abcdef", "index": "main"},
            },
            otlp={"headers": {"x-api-key": "otlp-api-key-987"}},
            http={"headers": {"Authorization": "Bearer webhook-token"}},
        )
        for text in (repr(settings), str(settings)):
            for secret in (
                "pseudonym-key-0123456789",
                "hec-token-abcdef",
                "otlp-api-key-987",
                "webhook-token",
            ):
                assert secret not in text
            assert "'keys': ['user_id']" in text
            assert "'index': 'main'" in text
            assert "'x-api-key': '***'" in text

    def test_the_values_themselves_are_kept(self) -> None:
        from fapilog_otel import Settings

        settings = Settings(plugins={"gdpr": {"key": "pseudonym-key-0123456789"}})
        assert "pseudonym-key-0123456789" == settings.plugins["gdpr"]["key"]


class TestPluginSettingErrors:
    """An invalid plugin setting is named in the error; a secret one is never quoted."""

    def test_secret_values_are_not_quoted(self) -> None:
        from pydantic import BaseModel, Field

        from fapilog_otel import Settings
        from fapilog_otel._plugins import plugin_settings
        from fapilog_otel.errors import ConfigurationError

        class Model(BaseModel):
            api_key: str = Field(min_length=40)
            keys: list[str] = []
            index: int = 0

        settings = Settings(
            plugins={"demo": {"api_key": "short-but-secret-value", "index": "not-a-number"}}
        )
        with pytest.raises(ConfigurationError) as raised:
            plugin_settings(Model, "demo", settings, "plugin 'demo'")
        message = str(raised.value)
        assert "api_key" in message and "short-but-secret-value" not in message
        assert "index" in message and "'not-a-number'" in message

    def test_list_settings_read_from_one_string(self) -> None:
        from pydantic import BaseModel

        from fapilog_otel import Settings
        from fapilog_otel._plugins import plugin_settings

        class Model(BaseModel):
            keys: list[str] = []

        for given in ("user_id, account_id", '["user_id", "account_id"]'):
            settings = Settings(plugins={"demo": {"keys": given}})
            assert ["user_id", "account_id"] == plugin_settings(
                Model, "demo", settings, "plugin 'demo'"
            ).keys
