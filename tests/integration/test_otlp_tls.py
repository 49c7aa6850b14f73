"""OTLP over TLS and mutual TLS, with certificates from a test CA (trustme).

The receivers serve HTTPS (the standard library's ``ssl``) and gRPC with TLS
(``grpc.ssl_server_credentials``); the exporter is given the CA, and for mutual TLS a client
certificate and key, through its ``certificate``, ``client_certificate`` and ``client_key``
options.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import trustme
from opentelemetry.sdk.resources import Resource
from otlp_receivers import GrpcReceiver, HttpReceiver

from fapilog_otel.otlp import OTLPExporter
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.typing import ExportResult

pytestmark = pytest.mark.integration


class Pki:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, as files."""

    def __init__(self, directory: Path) -> None:
        self.ca = trustme.CA()
        self.server = self.ca.issue_cert("127.0.0.1", "localhost")
        self.client = self.ca.issue_cert("client@fapilog.test")
        self.ca_file = directory / "ca.pem"
        self.client_cert_file = directory / "client.pem"
        self.client_key_file = directory / "client.key"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.client.cert_chain_pems[0].write_to_path(str(self.client_cert_file))
        self.client.private_key_pem.write_to_path(str(self.client_key_file))

    def server_context(self, require_client: bool) -> ssl.SSLContext:
        """The HTTPS receiver's context; with ``require_client``, mutual TLS."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        if require_client:
            self.ca.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def grpc_credentials(self, require_client: bool) -> grpc.ServerCredentials:
        """The gRPC receiver's credentials; with ``require_client``, mutual TLS."""
        key = self.server.private_key_pem.bytes()
        chain = b"".join(pem.bytes() for pem in self.server.cert_chain_pems)
        return grpc.ssl_server_credentials(
            [(key, chain)],
            root_certificates=self.ca.cert_pem.bytes() if require_client else None,
            require_client_auth=require_client,
        )


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A fresh test CA with its files in ``tmp_path``."""
    return Pki(tmp_path)


@pytest.fixture
def exporters() -> Iterator[list[OTLPExporter]]:
    """Exporters a test made, shut down at its end."""
    made: list[OTLPExporter] = []
    yield made
    for exporter in made:
        exporter.shutdown()


def records(n: int) -> list[LogRecord]:
    """``n`` plain records."""
    resource = Resource.create({"service.name": "tls"})
    return [
        LogRecord(timestamp=1 + i, body=f"secure {i}", scope=Scope("tls"), resource=resource)
        for i in range(n)
    ]


class TestHttps:
    def test_trusted_ca(self, pki: Pki, exporters: list[OTLPExporter]) -> None:
        """With the CA given as certificate, records arrive over HTTPS."""
        with HttpReceiver(ssl_context=pki.server_context(require_client=False)) as receiver:
            exporter = OTLPExporter(
                receiver.endpoint, certificate=str(pki.ca_file), diagnostics=False
            )
            exporters.append(exporter)
            assert receiver.endpoint.startswith("https://")
            assert ExportResult.SUCCESS == exporter.export(records(3))
            assert 3 == len(receiver.records())

    def test_untrusted_server_fails_without_retry(
        self, pki: Pki, exporters: list[OTLPExporter]
    ) -> None:
        """Without the CA the certificate is not trusted: failed at once, not retried."""
        with HttpReceiver(ssl_context=pki.server_context(require_client=False)) as receiver:
            exporter = OTLPExporter(receiver.endpoint, timeout_ms=5000, diagnostics=False)
            exporters.append(exporter)
            assert ExportResult.FAILURE == exporter.export(records(2))
            assert {"tls_error": 1, "not_retryable": 2} == exporter.outcomes()
            assert [] == receiver.requests

    def test_mutual_tls(self, pki: Pki, exporters: list[OTLPExporter]) -> None:
        """A server that requires a client certificate accepts the exporter's."""
        with HttpReceiver(ssl_context=pki.server_context(require_client=True)) as receiver:
            exporter = OTLPExporter(
                receiver.endpoint,
                certificate=str(pki.ca_file),
                client_certificate=str(pki.client_cert_file),
                client_key=str(pki.client_key_file),
                diagnostics=False,
            )
            exporters.append(exporter)
            assert ExportResult.SUCCESS == exporter.export(records(2))
            assert 2 == len(receiver.records())

    def test_mutual_tls_without_client_certificate_is_refused(
        self, pki: Pki, exporters: list[OTLPExporter]
    ) -> None:
        """Without a client certificate the server refuses the handshake; nothing arrives."""
        with HttpReceiver(ssl_context=pki.server_context(require_client=True)) as receiver:
            exporter = OTLPExporter(
                receiver.endpoint,
                certificate=str(pki.ca_file),
                timeout_ms=1500,
                initial_backoff=0.1,
                diagnostics=False,
            )
            exporters.append(exporter)
            assert ExportResult.FAILURE == exporter.export(records(1))
            assert [] == receiver.records()
            assert receiver.handshake_failures >= 1

    def test_variables_configure_tls(
        self, pki: Pki, exporters: list[OTLPExporter], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE / CLIENT_* set the files for mTLS."""
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE", str(pki.ca_file))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", str(pki.client_cert_file))
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_CLIENT_KEY", str(pki.client_key_file))
        with HttpReceiver(ssl_context=pki.server_context(require_client=True)) as receiver:
            monkeypatch.setenv("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", receiver.endpoint)
            exporter = OTLPExporter(diagnostics=False)
            exporters.append(exporter)
            assert ExportResult.SUCCESS == exporter.export(records(1))


class TestGrpcTls:
    def test_trusted_ca(self, pki: Pki, exporters: list[OTLPExporter]) -> None:
        """https:// gRPC endpoint with the CA given: records arrive over TLS."""
        credentials = pki.grpc_credentials(require_client=False)
        with GrpcReceiver(credentials=credentials) as receiver:
            exporter = OTLPExporter(
                f"https://{receiver.endpoint}",
                protocol="grpc",
                certificate=str(pki.ca_file),
                diagnostics=False,
            )
            exporters.append(exporter)
            assert ExportResult.SUCCESS == exporter.export(records(3))
            assert 3 == len(receiver.records())

    def test_no_scheme_means_tls_unless_insecure(
        self, pki: Pki, exporters: list[OTLPExporter]
    ) -> None:
        """host:port without a scheme uses TLS (insecure not set), and it works."""
        credentials = pki.grpc_credentials(require_client=False)
        with GrpcReceiver(credentials=credentials) as receiver:
            exporter = OTLPExporter(
                receiver.endpoint,
                protocol="grpc",
                certificate=str(pki.ca_file),
                diagnostics=False,
            )
            exporters.append(exporter)
            assert ExportResult.SUCCESS == exporter.export(records(1))

    def test_mutual_tls(self, pki: Pki, exporters: list[OTLPExporter]) -> None:
        """A gRPC server requiring client certificates accepts the exporter's."""
        credentials = pki.grpc_credentials(require_client=True)
        with GrpcReceiver(credentials=credentials) as receiver:
            exporter = OTLPExporter(
                f"https://{receiver.endpoint}",
                protocol="grpc",
                certificate=str(pki.ca_file),
                client_certificate=str(pki.client_cert_file),
                client_key=str(pki.client_key_file),
                diagnostics=False,
            )
            exporters.append(exporter)
            assert ExportResult.SUCCESS == exporter.export(records(2))
            assert 2 == len(receiver.records())

    def test_plain_text_client_cannot_reach_a_tls_server(
        self, pki: Pki, exporters: list[OTLPExporter]
    ) -> None:
        """insecure=True against a TLS server fails (retried as UNAVAILABLE, then given up)."""
        credentials = pki.grpc_credentials(require_client=False)
        with GrpcReceiver(credentials=credentials) as receiver:
            exporter = OTLPExporter(
                receiver.endpoint,
                protocol="grpc",
                insecure=True,
                timeout_ms=1000,
                initial_backoff=0.1,
                diagnostics=False,
            )
            exporters.append(exporter)
            assert ExportResult.FAILURE == exporter.export(records(1))
            assert [] == receiver.records()
