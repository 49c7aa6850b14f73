"""The OTLP exporter's configuration: variables, Settings, arguments, endpoints."""

from __future__ import annotations

import pytest

import fapilog_otel as fo
from fapilog_otel.otlp import OTLPExporter
from fapilog_otel.otlp._options import grpc_target, http_url
from fapilog_otel.settings import OTLPSettings

_VARIABLES = [
    "OTEL_EXPORTER_OTLP_" + suffix
    for name in (
        "ENDPOINT",
        "PROTOCOL",
        "HEADERS",
        "TIMEOUT",
        "COMPRESSION",
        "CERTIFICATE",
        "CLIENT_KEY",
        "CLIENT_CERTIFICATE",
        "INSECURE",
    )
    for suffix in (name, "LOGS_" + name)
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in _VARIABLES:
        monkeypatch.delenv(variable, raising=False)


class TestVariables:
    def test_defaults_follow_the_specification(self) -> None:
        """With nothing set: http/protobuf to localhost:4318/v1/logs, 10 s, no compression."""
        options = fo.Settings().otlp
        assert "http/protobuf" == options.protocol
        assert "http://localhost:4318/v1/logs" == http_url(options)
        assert 10_000.0 == options.timeout_ms
        assert "none" == options.compression
        assert {} == options.headers

    def test_every_variable_is_read(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Each OTEL_EXPORTER_OTLP_* variable sets its field (timeout in milliseconds)."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "api-key=abc,tenant=t%201")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/key.pem")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/cert.pem")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
        options = fo.Settings().otlp
        assert "http/json" == options.protocol
        assert "https://collector:4318/v1/logs" == http_url(options)
        assert {"api-key": "abc", "tenant": "t 1"} == options.headers
        assert 2500.0 == options.timeout_ms
        assert "gzip" == options.compression
        assert ("/ca.pem", "/key.pem", "/cert.pem") == (
            options.certificate,
            options.client_key,
            options.client_certificate,
        )
        assert options.insecure is True

    def test_logs_variables_override_the_shared_ones(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """OTEL_EXPORTER_OTLP_LOGS_* wins over OTEL_EXPORTER_OTLP_* for every option."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "a=1,b=2")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "c=3")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "3000")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "none")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "GZIP")
        options = fo.Settings().otlp
        assert "grpc" == options.protocol
        assert {"c": "3"} == options.headers
        assert 3000.0 == options.timeout_ms
        assert "gzip" == options.compression

    def test_per_signal_endpoint_is_used_verbatim(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The logs endpoint is not extended; the base endpoint gets /v1/logs appended."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318/prefix/")
        assert "http://base:4318/prefix/v1/logs" == http_url(fo.Settings().otlp)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/custom")
        assert "http://logs:9999/custom" == http_url(fo.Settings().otlp)

    def test_per_signal_endpoint_without_a_path_gets_a_slash(self) -> None:
        """The specification: an empty path of a per-signal endpoint becomes '/'."""
        assert "http://logs:4318/" == http_url(OTLPSettings(endpoint="http://logs:4318"))

    def test_invalid_values_name_the_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A bad value raises ConfigurationError naming both variables that set it."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "carrier-pigeon")
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Settings()
        assert "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL" in str(raised.value)
        assert "carrier-pigeon" in str(raised.value)

    def test_malformed_headers_are_rejected(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A header item without '=' is a configuration error naming the variable."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "novalue")
        with pytest.raises(fo.ConfigurationError) as raised:
            fo.Settings()
        assert "OTEL_EXPORTER_OTLP_HEADERS" in str(raised.value)

    def test_fapilog_variables_win_over_otel_ones(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FAPILOG_OTLP__* outranks OTEL_EXPORTER_OTLP_*, as for every other setting."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        monkeypatch.setenv("FAPILOG_OTLP__PROTOCOL", "http/json")
        assert "http/json" == fo.Settings().otlp.protocol


class TestGrpcTarget:
    @pytest.mark.parametrize(
        ("endpoint", "insecure", "expected"),
        [
            (None, None, ("localhost:4317", False)),
            ("http://collector:4317", None, ("collector:4317", False)),
            ("https://collector", None, ("collector:4317", True)),
            ("collector:5555", None, ("collector:5555", True)),
            ("collector:5555", True, ("collector:5555", False)),
            ("http://[::1]:4317", None, ("[::1]:4317", False)),
        ],
    )
    def test_scheme_and_insecure_decide_tls(
        self, endpoint: str | None, insecure: bool | None, expected: tuple[str, bool]
    ) -> None:
        """http:// is plain text, https:// TLS, no scheme TLS unless insecure is true."""
        options = OTLPSettings(protocol="grpc", endpoint=endpoint, insecure=insecure)
        assert expected == grpc_target(options)

    def test_unknown_scheme_is_rejected(self) -> None:
        """An ftp:// endpoint is a configuration error."""
        with pytest.raises(fo.ConfigurationError):
            grpc_target(OTLPSettings(protocol="grpc", endpoint="ftp://collector:4317"))


class TestConstructor:
    def test_arguments_override_settings_and_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Constructor arguments win; what is not given comes from the variables."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "1234")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")
        exporter = OTLPExporter("http://arg:1/v1/logs", compression="gzip")
        assert "http://arg:1/v1/logs" == exporter.endpoint
        assert 1234.0 == exporter.options.timeout_ms
        assert "gzip" == exporter.options.compression

    def test_invalid_argument_is_a_configuration_error(self) -> None:
        """An unknown protocol given as an argument raises ConfigurationError."""
        with pytest.raises(fo.ConfigurationError) as raised:
            OTLPExporter(protocol="smoke-signals")
        assert "protocol" in str(raised.value)

    def test_non_http_url_is_rejected(self) -> None:
        """An HTTP protocol with a URL that is not http(s) fails at construction."""
        with pytest.raises(fo.ConfigurationError):
            OTLPExporter("collector:4318")

    def test_missing_tls_file_is_a_configuration_error(self) -> None:
        """A CA file that does not exist fails at construction, naming the problem."""
        with pytest.raises(fo.ConfigurationError) as raised:
            OTLPExporter("https://collector:4318/v1/logs", certificate="/nonexistent/ca.pem")
        assert "TLS" in str(raised.value)

    @pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
    @pytest.mark.parametrize("given", ["client_key", "client_certificate"])
    def test_half_a_client_key_pair_is_rejected(self, protocol: str, given: str) -> None:
        """client_key without client_certificate (or the reverse) names both options."""
        with pytest.raises(fo.ConfigurationError) as raised:
            OTLPExporter("https://collector:4318/v1/logs", protocol=protocol, **{given: "/x.pem"})
        assert "client_key and client_certificate" in str(raised.value)

    def test_grpc_without_grpcio_points_to_the_extra(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without grpcio, protocol grpc says which extra to install."""
        import builtins

        real_import = builtins.__import__

        def no_grpc(name: str, *args: object, **kwargs: object) -> object:
            if name == "grpc" or name.startswith("grpc."):
                raise ImportError("No module named 'grpc'")
            return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(builtins, "__import__", no_grpc)
        with pytest.raises(fo.ConfigurationError) as raised:
            OTLPExporter(protocol="grpc")
        assert "fapilog-otel[grpc]" in str(raised.value)

    def test_repr_shows_no_headers(self) -> None:
        """Header values (tokens) never appear in the exporter's repr or endpoint."""
        exporter = OTLPExporter(
            "http://user:secret@collector:4318/v1/logs?token=s3cr3t",
            headers={"authorization": "Bearer s3cr3t"},
        )
        assert "s3cr3t" not in repr(exporter)
        assert "secret" not in exporter.endpoint
