"""The HTTP webhook exporter against a real HTTP server (the standard library's, in a thread).

The server records every request (headers and the raw body as received) and answers what
each test scripts; the tests check what arrived, what was retried and what was counted.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import fapilog_otel as fo
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.exporters.http import HTTPExporter, verify_signature
from fapilog_otel.testing import check_exporter

pytestmark = pytest.mark.integration

SECRET = "s3cret-signing-key-0123"
TOKEN = "tok_live_9f8e7d6c5b4a"


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hold: threading.Event | None = None  # answer only once this is set


@dataclass(frozen=True)
class Received:
    """One request as the server got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def decoded(self) -> bytes:
        """The body, gunzipped when it says it is gzip."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.body)
        return self.body

    def records(self) -> list[dict[str, Any]]:
        """The records in the body, as a JSON array or JSON lines by its content type."""
        data = self.decoded()
        if self.headers["content-type"] == "application/x-ndjson":
            return [json.loads(line) for line in data.splitlines()]
        document = json.loads(data)
        assert isinstance(document, list)
        return document


class Receiver:
    """An HTTP/1.1 server on 127.0.0.1 that records requests and answers scripted replies
    (200 with an empty body once the script is used up)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: queue.Queue[Reply] = queue.Queue()
        self.release = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(self.path, headers, body, time.monotonic()))
                try:
                    reply = receiver.script.get_nowait()
                except queue.Empty:
                    reply = Reply()
                if reply.hold is not None:
                    reply.hold.wait(10)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output clean."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/logs"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def then(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order."""
        for reply in replies:
            self.script.put(reply)

    def all_records(self) -> list[dict[str, Any]]:
        """Every record of every request, in order."""
        return [record for request in self.requests for record in request.records()]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started receiver, stopped when the test ends."""
    with Receiver() as started:
        yield started


@pytest.fixture
def exporters() -> Iterator[list[HTTPExporter]]:
    """Exporters made by a test, shut down when it ends."""
    made: list[HTTPExporter] = []
    yield made
    for exporter in made:
        exporter.shutdown()


def exporter_to(receiver: Receiver, made: list[HTTPExporter], **options: Any) -> HTTPExporter:
    """An exporter to ``receiver`` with quick retries and no stderr noise."""
    options.setdefault("timeout_ms", 5000)
    options.setdefault("initial_backoff", 0.05)
    options.setdefault("diagnostics", False)
    exporter = HTTPExporter(receiver.url, **options)
    made.append(exporter)
    return exporter


def one_batch(**values: Any) -> fo.Settings:
    """Settings whose worker waits for a fuller batch until a flush, so that records logged
    before a flush go out in one batch (one request)."""
    values.setdefault("batch", {"max_delay_ms": 10_000})
    values.setdefault("diagnostics", False)
    return fo.Settings(**values)


def log_three(container: fo.Container) -> None:
    """Log three records and flush them (one request with ``one_batch`` settings)."""
    log = container.get_logger("shop")
    for i in range(3):
        log.info("order placed", order_id=i)
    container.flush(10)


class TestDelivery:
    def test_json_array_through_a_container(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """Records logged through a container arrive as a JSON array, every one accounted."""
        exporter = exporter_to(receiver, exporters)
        with fo.Container(one_batch(service_name="shop"), exporters=[exporter]) as container:
            log_three(container)
        stats = container.stats()
        (request,) = receiver.requests
        assert "/hooks/logs" == request.path
        assert "application/json" == request.headers["content-type"]
        assert "content-encoding" not in request.headers
        records = request.records()
        assert [{"order_id": i} for i in range(3)] == [r["attributes"] for r in records]
        assert {"order placed"} == {r["body"] for r in records}
        assert {"shop"} == {r["resource"]["service.name"] for r in records}
        assert 3 == stats["submitted"] == stats["exported"]
        assert 0 == stats["failed"]
        assert 3 == stats["exporters"]["http"]["exported"]

    def test_json_lines_with_gzip_and_custom_headers(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """ndjson bodies arrive gzipped, decode to one record per line, headers included."""
        exporter = exporter_to(
            receiver,
            exporters,
            format="ndjson",
            compression="gzip",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Tenant": "acme"},
        )
        with fo.Container(one_batch(), exporters=[exporter]) as container:
            log_three(container)
        (request,) = receiver.requests
        assert "application/x-ndjson" == request.headers["content-type"]
        assert "gzip" == request.headers["content-encoding"]
        assert f"Bearer {TOKEN}" == request.headers["authorization"]
        assert "acme" == request.headers["x-tenant"]
        assert request.headers["user-agent"].startswith("fapilog-otel/")
        assert request.decoded().endswith(b"\n")
        assert [0, 1, 2] == [r["attributes"]["order_id"] for r in request.records()]
        assert 3 == container.stats()["exported"]

    def test_selected_by_name_from_settings(self, receiver: Receiver) -> None:
        """Settings(exporters=["http"]) builds the exporter from the http section."""
        settings = one_batch(exporters=["http"], http={"url": receiver.url, "format": "ndjson"})
        with fo.Container(settings) as container:
            log_three(container)
        assert 3 == len(receiver.all_records())
        assert 3 == container.stats()["exporters"]["http"]["exported"]

    def test_selected_by_variables(self, receiver: Receiver, monkeypatch: Any) -> None:
        """OTEL_LOGS_EXPORTER=http with FAPILOG_HTTP__* variables configures the exporter."""
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "http")
        monkeypatch.setenv("FAPILOG_HTTP__URL", receiver.url)
        monkeypatch.setenv("FAPILOG_HTTP__COMPRESSION", "gzip")
        monkeypatch.setenv("FAPILOG_HTTP__HEADERS", '{"X-Api-Key": "k-123456"}')
        with fo.Container(one_batch()) as container:
            log_three(container)
        (request,) = receiver.requests
        assert "gzip" == request.headers["content-encoding"]
        assert "k-123456" == request.headers["x-api-key"]
        assert 3 == len(request.records())

    def test_connection_is_kept_alive(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """Several exports go out and each batch arrives as one request, in order."""
        exporter = exporter_to(receiver, exporters)
        with fo.Container(exporters=[exporter]) as container:
            log = container.get_logger("app")
            for i in range(3):
                log.info("tick", i=i)
                container.flush(10)
        assert 3 == len(receiver.requests)
        assert [0, 1, 2] == [r["attributes"]["i"] for r in receiver.all_records()]


class TestSignature:
    def test_signature_verifies_with_the_secret(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """The signature is the HMAC-SHA256 of "<timestamp>.<body sent>" under the secret."""
        exporter = exporter_to(receiver, exporters, secret=SECRET, compression="gzip")
        with fo.Container(one_batch(), exporters=[exporter]) as container:
            log_three(container)
        (request,) = receiver.requests
        timestamp = request.headers["x-fapilog-timestamp"]
        signature = request.headers["x-fapilog-signature"]
        assert abs(time.time() - int(timestamp)) < 60
        expected = hmac.new(
            SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert f"sha256={expected}" == signature
        assert verify_signature(SECRET, request.body, timestamp, signature)

    def test_signature_fails_with_a_wrong_secret_or_body(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """Another secret, another body or an old timestamp does not verify."""
        exporter = exporter_to(receiver, exporters, secret=SECRET)
        with fo.Container(one_batch(), exporters=[exporter]) as container:
            log_three(container)
        (request,) = receiver.requests
        timestamp = request.headers["x-fapilog-timestamp"]
        signature = request.headers["x-fapilog-signature"]
        assert not verify_signature("wrong-secret", request.body, timestamp, signature)
        assert not verify_signature(SECRET, request.body + b" ", timestamp, signature)
        later = int(timestamp) + 3600
        assert not verify_signature(SECRET, request.body, timestamp, signature, now=later)

    def test_no_secret_no_signature(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """Without a secret no signature headers are sent."""
        exporter = exporter_to(receiver, exporters)
        with fo.Container(one_batch(), exporters=[exporter]) as container:
            log_three(container)
        (request,) = receiver.requests
        assert "x-fapilog-signature" not in request.headers
        assert "x-fapilog-timestamp" not in request.headers


class TestRetries:
    def test_503_is_retried_until_accepted(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """Two 503 answers, then 200: the batch is delivered and the retries counted."""
        receiver.then(Reply(503), Reply(503))
        exporter = exporter_to(receiver, exporters, secret=SECRET)
        with fo.Container(one_batch(), exporters=[exporter]) as container:
            log_three(container)
        stats = container.stats()
        assert 3 == len(receiver.requests)
        assert 1 == len({r.body for r in receiver.requests})  # the same body each time
        for request in receiver.requests:
            headers = request.headers
            assert verify_signature(
                SECRET, request.body, headers["x-fapilog-timestamp"], headers["x-fapilog-signature"]
            )
        assert 3 == stats["exported"]
        assert {"http_503": 2, "retries": 2} == stats["exporters"]["http"]["outcomes"]

    def test_400_is_not_retried(self, receiver: Receiver, exporters: list[HTTPExporter]) -> None:
        """A 400 answer is final: one request, the batch failed, counted not_retryable."""
        receiver.then(Reply(400, body=b"bad payload"))
        exporter = exporter_to(receiver, exporters)
        with fo.Container(one_batch(), exporters=[exporter]) as c:
            log_three(c)
        stats = c.stats()
        assert 1 == len(receiver.requests)
        assert 3 == stats["failed"] and 0 == stats["exported"]
        assert {"http_400": 1, "not_retryable": 3} == stats["exporters"]["http"]["outcomes"]

    def test_retry_after_is_honoured(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """A 429 with Retry-After: 1 makes the exporter wait about a second, not its backoff."""
        receiver.then(Reply(429, headers={"Retry-After": "1"}))
        exporter = exporter_to(receiver, exporters, initial_backoff=0.01)
        with fo.Container(one_batch(), exporters=[exporter]) as container:
            log_three(container)
        first, second = receiver.requests
        assert second.at - first.at >= 0.9
        assert 3 == container.stats()["exported"]

    def test_retry_after_past_the_timeout_gives_up_at_once(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """A wait that would end past the export timeout is not started."""
        receiver.then(Reply(503, headers={"Retry-After": "120"}))
        exporter = exporter_to(receiver, exporters, timeout_ms=2000)
        started = time.monotonic()
        result = exporter.export(_records(2))
        assert time.monotonic() - started < 1.5
        assert fo.ExportResult.FAILURE == result
        assert 1 == len(receiver.requests)
        assert {"http_503": 1, "retries_exhausted": 2} == exporter.outcomes()

    def test_an_unanswered_request_times_out(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """A receiver that never answers costs the export its timeout, then it fails."""
        receiver.then(*[Reply(hold=receiver.release)] * 5)
        exporter = exporter_to(receiver, exporters, timeout_ms=500)
        started = time.monotonic()
        result = exporter.export(_records(1))
        elapsed = time.monotonic() - started
        assert fo.ExportResult.FAILURE == result
        assert 0.4 <= elapsed < 5
        outcomes = exporter.outcomes()
        assert outcomes["timeout"] >= 1
        assert 1 == outcomes["retries_exhausted"]

    def test_connection_refused_is_retried_then_given_up(
        self, exporters: list[HTTPExporter], unused_port: int
    ) -> None:
        """Nothing listening: connection errors are retried until the timeout runs out."""
        exporter = HTTPExporter(
            f"http://127.0.0.1:{unused_port}/",
            timeout_ms=300,
            initial_backoff=0.05,
            diagnostics=False,
        )
        exporters.append(exporter)
        assert fo.ExportResult.FAILURE == exporter.export(_records(2))
        outcomes = exporter.outcomes()
        assert outcomes["connection_error"] >= 2
        assert 2 == outcomes["retries_exhausted"]

    def test_shutdown_cuts_a_retry_wait_short(
        self, receiver: Receiver, exporters: list[HTTPExporter]
    ) -> None:
        """Shutdown during a backoff ends the export at once, its records counted shutdown."""
        receiver.then(Reply(503, headers={"Retry-After": "30"}))
        exporter = exporter_to(receiver, exporters, timeout_ms=60_000)
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(exporter.export(_records(2))))
        worker.start()
        while not receiver.requests:
            time.sleep(0.01)
        exporter.shutdown()
        worker.join(10)
        assert [fo.ExportResult.FAILURE] == results
        assert 2 == exporter.outcomes()["shutdown"]
        assert fo.ExportResult.FAILURE == exporter.export(_records(1))


class TestDiagnostics:
    def test_secrets_never_reach_stderr(
        self, receiver: Receiver, exporters: list[HTTPExporter], capfd: Any
    ) -> None:
        """A receiver quoting the token and the secret back: stderr shows neither."""
        echo = f"denied: Authorization=Bearer {TOKEN} secret={SECRET}".encode()
        receiver.then(Reply(401, body=echo))
        exporter = exporter_to(
            receiver,
            exporters,
            secret=SECRET,
            headers={"Authorization": f"Bearer {TOKEN}"},
            diagnostics=True,
        )
        assert fo.ExportResult.FAILURE == exporter.export(_records(1))
        err = capfd.readouterr().err
        assert "HTTP 401" in err and "[REDACTED]" in err
        assert TOKEN not in err
        assert SECRET not in err
        assert "x-fapilog-signature" not in err.lower()

    def test_credentials_in_the_url_are_not_shown(self, exporters: list[HTTPExporter]) -> None:
        """The exporter's url (in diagnostics and repr) leaves out user info and query."""
        exporter = HTTPExporter(
            f"http://user:{TOKEN}@127.0.0.1:9/in?key={TOKEN}", diagnostics=False
        )
        exporters.append(exporter)
        assert "http://127.0.0.1:9/in" == exporter.url
        assert TOKEN not in repr(exporter)


class TestConfiguration:
    def test_url_is_required(self) -> None:
        """The exporter `http` without a url is a configuration error naming the variable."""
        with pytest.raises(ConfigurationError, match="FAPILOG_HTTP__URL"):
            fo.Container(fo.Settings(exporters=["http"]))

    @pytest.mark.parametrize("name", ["Content-Type", "x-fapilog-signature", "Host"])
    def test_headers_the_exporter_sets_are_refused(self, name: str) -> None:
        """Configured headers may not replace the ones the exporter sets itself."""
        with pytest.raises(ConfigurationError, match="set by the exporter"):
            HTTPExporter("http://127.0.0.1:9/", headers={name: "x"})

    def test_a_header_value_with_a_line_break_is_refused(self) -> None:
        """A header value cannot smuggle in another header."""
        with pytest.raises(ConfigurationError, match="line break"):
            HTTPExporter("http://127.0.0.1:9/", headers={"X-A": "1\r\nX-B: 2"})

    def test_not_an_http_url_is_refused(self) -> None:
        """Only http:// and https:// URLs are accepted."""
        with pytest.raises(ConfigurationError, match="http:// or https://"):
            HTTPExporter("ftp://example.com/logs")

    def test_secret_is_hidden_in_settings(self) -> None:
        """The secret setting does not show in the settings' repr."""
        settings = fo.Settings(http={"url": "http://x/", "secret": SECRET})
        assert SECRET not in repr(settings)
        assert SECRET == settings.http.secret.get_secret_value()  # type: ignore[union-attr]


class TestConformance:
    def test_passes_the_conformance_kit(self, receiver: Receiver) -> None:
        """The exporter passes every check of fapilog_otel.testing.check_exporter."""
        check_exporter(lambda: HTTPExporter(receiver.url, diagnostics=False, timeout_ms=5000))
        assert receiver.requests


def _records(n: int) -> list[fo.LogRecord]:
    from fapilog_otel.testing import make_record

    return [make_record() for _ in range(n)]
