"""The ``fapilog-otel`` command: doctor, plugins list, bench, help and version."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_plugins import make_distribution

from fapilog_otel import __version__
from fapilog_otel.cli import main
from fapilog_otel.cli._checks import tcp_connect

TOKEN = "sekrit-bearer-token-0123456789"
API_KEY = "apikey-value-abcdefgh"
PASSWORD = "url-password-98765"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment without fapilog or OTel variables."""
    for name in list(os.environ):
        if name.upper().startswith(("FAPILOG_", "OTEL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FAPILOG_DIAGNOSTICS", "false")


@pytest.fixture
def listening() -> Iterator[int]:
    """A real socket listening on localhost; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A localhost port nothing listens on (bound once, then released)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    status = main(list(argv))
    return status, json.loads(capsys.readouterr().out)


class TestHelpAndVersion:
    def test_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--version prints the package version and exits 0."""
        with pytest.raises(SystemExit) as exit_info:
            main(["--version"])
        assert 0 == exit_info.value.code
        assert f"fapilog-otel {__version__}" in capsys.readouterr().out

    def test_help_has_commands_and_examples(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--help lists every command and shows examples."""
        with pytest.raises(SystemExit):
            main(["--help"])
        text = capsys.readouterr().out
        for word in ("doctor", "plugins", "bench", "examples:"):
            assert word in text

    def test_no_command_is_a_usage_error(self) -> None:
        """Without a command, argparse exits with status 2."""
        with pytest.raises(SystemExit) as exit_info:
            main([])
        assert 2 == exit_info.value.code

    def test_python_dash_m_runs_the_command(self) -> None:
        """``python -m fapilog_otel --version`` works in a fresh interpreter."""
        result = subprocess.run(
            [sys.executable, "-m", "fapilog_otel", "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert 0 == result.returncode
        assert f"fapilog-otel {__version__}" == result.stdout.strip()


class TestDoctorMasking:
    @pytest.fixture(autouse=True)
    def _secrets(self, monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "otlp")
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_HEADERS",
            f"authorization=Bearer%20{TOKEN},x-api-key={API_KEY}",
        )
        monkeypatch.setenv(
            "OTEL_EXPORTER_OTLP_ENDPOINT", f"http://admin:{PASSWORD}@127.0.0.1:{closed_port}"
        )

    @pytest.mark.parametrize("json_flag", [[], ["--json"]])
    def test_secrets_never_printed(
        self, capsys: pytest.CaptureFixture[str], json_flag: list[str]
    ) -> None:
        """Header values and URL credentials appear in neither text nor JSON output."""
        main(["doctor", "--no-live", "--all", "--timeout", "0.5", *json_flag])
        out = capsys.readouterr().out
        for secret in (TOKEN, API_KEY, PASSWORD):
            assert secret not in out
        assert "authorization" in out
        assert "***" in out

    def test_secrets_never_printed_by_the_live_check(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The live check's stats and messages do not carry the secrets either."""
        main(["doctor", "--json", "--timeout", "0.3"])
        out = capsys.readouterr().out
        for secret in (TOKEN, API_KEY, PASSWORD):
            assert secret not in out

    def test_malformed_header_does_not_leak(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A header list the settings reject is reported without its values."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"authorization=x,{TOKEN}")
        status = main(["doctor", "--no-live"])
        out = capsys.readouterr().out
        assert 1 == status
        assert "invalid settings" in out
        assert TOKEN not in out


class TestReachability:
    def test_listening_socket_is_reachable(self, listening: int) -> None:
        """A TCP connect to a listening socket succeeds."""
        ok, detail = tcp_connect("127.0.0.1", listening, 1.0)
        assert ok is True
        assert "accepted" in detail

    def test_closed_port_is_not(self, closed_port: int) -> None:
        """A TCP connect to a closed port fails, saying so."""
        ok, detail = tcp_connect("127.0.0.1", closed_port, 1.0)
        assert ok is False
        assert f"127.0.0.1:{closed_port}" in detail

    def test_doctor_resolves_the_otlp_endpoint(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], listening: int
    ) -> None:
        """The base endpoint gets /v1/logs, as the exporter resolves it, and is reachable."""
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{listening}")
        status, report = run_json(capsys, "doctor", "--json", "--no-live")
        assert isinstance(report, dict)
        (check,) = report["checks"]
        assert 0 == status
        assert "ok" == check["status"]
        assert f"http://127.0.0.1:{listening}/v1/logs" in check["detail"]

    def test_grpc_endpoint_without_scheme(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], closed_port: int
    ) -> None:
        """A gRPC endpoint is resolved to host:port and an unreachable one fails the check."""
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"127.0.0.1:{closed_port}")
        status, report = run_json(capsys, "doctor", "--json", "--no-live", "--timeout", "0.5")
        assert isinstance(report, dict)
        (check,) = report["checks"]
        assert 1 == status
        assert "FAIL" == check["status"]
        assert f"127.0.0.1:{closed_port}" in check["detail"]


class TestDoctor:
    def test_defaults_are_fine(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With nothing configured, the console exporter exports the test record: exit 0."""
        status, report = run_json(capsys, "doctor", "--json")
        assert isinstance(report, dict)
        assert 0 == status
        assert report["ok"] is True
        assert ["console"] == report["exporters"]
        assert 1 == report["live"]["stats"]["exported"]
        assert "doctor test record" in report["live"]["captured_stdout"]

    def test_sources_are_reported(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each setting says whether a FAPILOG_* or OTEL_* variable set it, or the default."""
        monkeypatch.setenv("FAPILOG_BATCH__MAX_SIZE", "100")
        monkeypatch.setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "500")
        _, report = run_json(capsys, "doctor", "--json", "--no-live")
        assert isinstance(report, dict)
        sources = {row["name"]: (row["value"], row["source"]) for row in report["settings"]}
        assert (100, "FAPILOG_BATCH__MAX_SIZE") == sources["batch.max_size"]
        assert (500, "OTEL_BLRP_MAX_QUEUE_SIZE") == sources["queue_size"]
        assert ("info", "default") == sources["level"]

    def test_file_exporter_writable_directory(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A file in a writable directory passes, and the live record lands in it."""
        path = tmp_path / "logs" / "app.log"
        monkeypatch.setenv("FAPILOG_FILE__PATH", str(path))
        status, report = run_json(capsys, "doctor", "--json")
        assert isinstance(report, dict)
        assert 0 == status
        assert "writable" in report["checks"][0]["detail"]
        assert "doctor test record" in path.read_text()

    def test_file_exporter_path_under_a_file_fails(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A file whose directory cannot exist fails the check and the exit status."""
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        monkeypatch.setenv("FAPILOG_FILE__PATH", str(blocker / "app.log"))
        status = main(["doctor", "--no-live"])
        out = capsys.readouterr().out
        assert 1 == status
        assert "[FAIL] exporter file" in out
        assert "result: FAIL" in out

    def test_unreachable_collector_fails_the_live_check(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], closed_port: int
    ) -> None:
        """Against a closed port, both checks fail and the stats show the exporter's outcomes."""
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{closed_port}")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "200")
        status, report = run_json(capsys, "doctor", "--json", "--timeout", "1")
        assert isinstance(report, dict)
        assert 1 == status
        assert report["live"]["ok"] is False
        assert "otlp" in report["live"]["stats"]["exporters"]

    def test_invalid_settings_exit_1(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Invalid settings are reported with the variable that holds them."""
        monkeypatch.setenv("OTEL_BLRP_MAX_QUEUE_SIZE", "lots")
        status, report = run_json(capsys, "doctor", "--json")
        assert isinstance(report, dict)
        assert 1 == status
        assert "OTEL_BLRP_MAX_QUEUE_SIZE" in report["error"]

    def test_text_output_has_drops(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The text report shows the live stats with their drops."""
        status = main(["doctor"])
        out = capsys.readouterr().out
        assert 0 == status
        assert "recent drops: none" in out
        assert "result: ok" in out


BROKEN = "raise ImportError('this plugin is broken on purpose')\n"


@pytest.fixture
def broken_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fake installed distribution whose exporter entry point fails to import."""
    make_distribution(
        tmp_path,
        "broken-cli-plugin",
        "broken_cli_plugin_mod",
        BROKEN,
        """
        [fapilog_otel.exporters]
        broken_cli = broken_cli_plugin_mod:Exporter
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))


class TestPluginsList:
    def test_built_ins_and_template(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Built-in plugins are marked built-in; the template distribution's load and pass."""
        _, rows = run_json(capsys, "plugins", "list", "--json")
        assert isinstance(rows, list)
        by_name = {(row["name"], row["group"]): row for row in rows}
        for name in ("redact_keys", "sample", "console", "otlp", "file"):
            assert any(group == "built-in" for (n, group) in by_name if n == name)
        enricher = by_name["template_enricher", "fapilog_otel.processors"]
        exporter = by_name["template_jsonl", "fapilog_otel.exporters"]
        assert "fapilog-otel-plugin-template" == enricher["distribution"]
        assert enricher["ok"] is True
        assert "conformance kit passed" in enricher["detail"]
        assert exporter["ok"] is True

    def test_broken_entry_point_reason(
        self, broken_distribution: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A plugin that fails to import is reported with its reason, and exit status 1."""
        status = main(["plugins", "list", "--no-conformance"])
        out = capsys.readouterr().out
        assert 1 == status
        line = next(line for line in out.splitlines() if line.startswith("broken_cli "))
        assert "broken-cli-plugin 1.0" in line
        assert "FAIL" in line
        assert "this plugin is broken on purpose" in out


class TestBench:
    def test_self_contained(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The self-contained measurement runs and labels itself."""
        status = main(["bench", "--self-contained", "-n", "200"])
        out = capsys.readouterr().out
        assert 0 == status
        assert "self-contained measurement" in out
        assert "ns per call" in out
        assert "records/s" in out

    def test_checkout_suite(self, capfd: pytest.CaptureFixture[str]) -> None:
        """In this checkout, the call-site suite runs in a subprocess with tiny sizes."""
        from fapilog_otel.cli.bench import checkout_root

        if checkout_root() is None:
            pytest.skip("not a source checkout")
        status = main(["bench", "--", "-n", "100", "-r", "1", "--only", "a", "--no-json"])
        out = capfd.readouterr().out
        assert 0 == status
        assert "python -m benchmarks callsite" in out
        assert "fapilog_otel info" in out


class TestPluginsListKinds:
    """``plugins list`` covers compliance profiles, extensions and plugin commands too."""

    def test_installed_profiles_extensions_and_commands(self) -> None:
        from fapilog_otel.cli.plugins import list_plugins

        rows = {(r.kind, r.name): r for r in list_plugins(conformance=False)}
        for kind, name, dist in (
            ("profile", "pci", "fapilog-otel-compliance"),
            ("profile", "sox", "fapilog-otel-compliance"),
            ("extension", "prometheus", "fapilog-otel-prometheus"),
            ("command", "audit", "fapilog-otel-compliance"),
        ):
            row = rows[(kind, name)]
            assert (True, dist) == (row.ok, row.distribution), row

    def test_an_extension_without_attach_fails(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from fapilog_otel.cli.plugins import list_plugins

        make_distribution(
            tmp_path,
            "fake-extension",
            "fake_extension_mod",
            "class Inert:\n    pass\n",
            """
            [fapilog_otel.extensions]
            inert = fake_extension_mod:Inert
            """,
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        (row,) = [r for r in list_plugins(conformance=False) if r.name == "inert"]
        assert ("extension", False) == (row.kind, row.ok)
        assert "attach()" in row.detail
