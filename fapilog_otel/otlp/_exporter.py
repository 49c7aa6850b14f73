"""The native OTLP exporter: our records, encoded by hand, sent over HTTP or gRPC.

One ``export`` call encodes the batch (split into requests under the transport's size
limit), sends each request and retries what the specification calls retryable, all within
the exporter's timeout. What the collector rejected (``partial_success``) is counted and
never retried. The outcome goes back to the container as success, failure, or a
:class:`~fapilog_otel.typing.PartialSuccess` naming how many records were not delivered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from fapilog_otel import __version__
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._direct import DirectBatch
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.otlp._encoded import Encoder
from fapilog_otel.otlp._grpc import GrpcTransport
from fapilog_otel.otlp._http import HttpTransport, tls_context
from fapilog_otel.otlp._json import JsonEncoder
from fapilog_otel.otlp._options import grpc_target, http_url, resolve_options
from fapilog_otel.otlp._outcomes import Outcomes
from fapilog_otel.otlp._protobuf import ProtobufEncoder
from fapilog_otel.otlp._retry import Backoff
from fapilog_otel.otlp._transport import Attempt, Transport
from fapilog_otel.record import LogRecord
from fapilog_otel.settings import OTLPSettings
from fapilog_otel.typing import ExportResult, PartialSuccess

USER_AGENT = f"fapilog-otel/{__version__}"


class OTLPExporter:
    """Exports records over OTLP: ``http/protobuf`` (default), ``http/json`` or ``grpc``.

    Every argument left as ``None`` comes from ``settings`` (by default the environment's
    ``OTEL_EXPORTER_OTLP_*`` variables, see ``docs/otlp.md``). Works as an exporter of a
    container and, unchanged, as a ``LogRecordExporter`` of a plain OTel SDK pipeline.

    Args:
        endpoint: The logs endpoint, used verbatim (``http://collector:4318/v1/logs``; for
            gRPC ``http://collector:4317``).
        base_endpoint: A base endpoint; over HTTP ``/v1/logs`` is appended.
        protocol: ``http/protobuf``, ``http/json`` or ``grpc``.
        headers: Headers (gRPC metadata) for every request.
        timeout_ms: Longest one export may take, retries included.
        compression: ``gzip`` or ``none``.
        certificate: CA bundle file trusted for the collector's certificate.
        client_key: Private key file for mutual TLS.
        client_certificate: Certificate chain file for mutual TLS.
        insecure: gRPC without a scheme in the endpoint: ``True`` for plain text.
        settings: Where unset options come from (default: ``Settings().otlp``).
        initial_backoff: First wait between retries in seconds (doubling, with jitter).
        diagnostics: Report failures on the library's rate-limited stderr channel.
        name: The name the exporter has in ``stats()``.

    Raises:
        ConfigurationError: An option is invalid, a TLS file cannot be read, or
            ``grpc`` is asked for without grpcio installed.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        base_endpoint: str | None = None,
        protocol: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_ms: float | None = None,
        compression: str | None = None,
        certificate: str | None = None,
        client_key: str | None = None,
        client_certificate: str | None = None,
        insecure: bool | None = None,
        settings: OTLPSettings | None = None,
        initial_backoff: float = 1.0,
        diagnostics: bool = True,
        name: str = "otlp",
    ) -> None:
        options = resolve_options(
            {
                "endpoint": endpoint,
                "base_endpoint": base_endpoint,
                "protocol": protocol,
                "headers": dict(headers) if headers is not None else None,
                "timeout_ms": timeout_ms,
                "compression": compression,
                "certificate": certificate,
                "client_key": client_key,
                "client_certificate": client_certificate,
                "insecure": insecure,
            },
            settings,
        )
        self.options = options
        self.name = name
        self._timeout = options.timeout_ms / 1000.0
        self._initial_backoff = initial_backoff
        self._transport = _make_transport(options)
        self._encoder: Encoder = (
            JsonEncoder() if options.protocol == "http/json" else ProtobufEncoder()
        )
        self._outcomes = Outcomes()
        self._stopping = threading.Event()
        self._diagnostics = Diagnostics(enabled=diagnostics)
        self._scope_cache: dict[Any, Any] = {}
        self._turn = threading.Lock()

    @property
    def accepts_direct(self) -> bool:
        """Whether the container may hand this exporter queued tuples as they are (a
        ``DirectBatch``, see ``fapilog_otel._direct``): true for ``http/protobuf`` and
        ``grpc``."""
        return self._encoder.accepts_direct

    @property
    def endpoint(self) -> str:
        """Where requests go (without credentials)."""
        return self._transport.describe()

    def outcomes(self) -> dict[str, int]:
        """Counts by reason (see ``docs/otlp.md``); shown in the container's ``stats()``."""
        return self._outcomes.snapshot()

    def export(self, batch: Sequence[Any]) -> Any:
        """Send ``batch``; return SUCCESS, FAILURE, or a :class:`PartialSuccess`.

        Given SDK ``ReadableLogRecord`` objects (in an SDK pipeline), it returns the SDK's
        ``LogRecordExportResult`` instead. Calls from several threads (an SDK
        ``SimpleLogRecordProcessor`` calls from each emitting thread) take turns.
        """
        if not batch:
            return ExportResult.SUCCESS
        if type(batch) is not DirectBatch and type(batch[0]) is not LogRecord:
            return self._export_sdk(batch)
        with self._turn:
            failed = self._export(batch)
        if failed == 0:
            return ExportResult.SUCCESS
        if failed >= len(batch):
            return ExportResult.FAILURE
        return PartialSuccess(failed, "not every record of the batch was delivered")

    def _export_sdk(self, batch: Sequence[Any]) -> Any:
        """Export SDK records; nothing raises back into the SDK (it would log and may loop)."""
        from fapilog_otel._sdk import records_from_sdk, sdk_export_result

        try:
            with self._turn:
                failed = self._export(records_from_sdk(batch, self._scope_cache))
        except Exception as exc:
            self._outcomes.add("unencodable", len(batch))
            self._warn("sdk", f"could not export SDK records: {type(exc).__name__}: {exc}")
            failed = len(batch)
        return sdk_export_result(failed == 0)

    def _export(self, records: Sequence[LogRecord]) -> int:
        """Encode and send ``records``; return how many were not delivered."""
        if self._stopping.is_set():
            self._outcomes.add("shutdown", len(records))
            return len(records)
        deadline = time.monotonic() + self._timeout
        max_bytes = self._transport.max_request_bytes
        if type(records) is DirectBatch:
            encoded = self._encoder.encode_direct(records, max_bytes)
        else:
            encoded = self._encoder.encode(records, max_bytes)
        failed = encoded.oversize + encoded.invalid
        self._outcomes.add("oversize", encoded.oversize)
        self._outcomes.add("unencodable", encoded.invalid)
        if encoded.oversize:
            self._warn(
                "oversize",
                f"{encoded.oversize} records larger than the request limit "
                f"({self._transport.max_request_bytes} bytes) were dropped",
            )
        for body, count in encoded.requests:
            failed += self._send(body, count, deadline)
        return failed

    def _send(self, body: bytes, count: int, deadline: float) -> int:
        """Send one request with retries until ``deadline``; return records not delivered."""
        backoff = Backoff(deadline, self._initial_backoff)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._outcomes.add("retries_exhausted", count)
                self._warn("timeout", f"gave up on {count} records: the export timeout ran out")
                return count
            attempt = self._transport.send(body, remaining)
            if attempt.accepted:
                return self._accepted(attempt, count)
            self._outcomes.add(attempt.reason)
            if not attempt.retryable:
                self._outcomes.add("not_retryable", count)
                self._warn(
                    attempt.reason,
                    f"dropped {count} records: {attempt.detail} (not retryable)",
                )
                return count
            delay = backoff.next_delay(attempt.retry_after)
            if delay is None:
                self._outcomes.add("retries_exhausted", count)
                self._warn(
                    attempt.reason,
                    f"gave up on {count} records: {attempt.detail}; the next attempt would "
                    "end past the export timeout",
                )
                return count
            if self._stopping.wait(delay):
                self._outcomes.add("shutdown", count)
                return count
            self._outcomes.add("retries")

    def _accepted(self, attempt: Attempt, count: int) -> int:
        partial = attempt.partial
        if partial is None:
            return 0
        if not partial.readable:
            self._outcomes.add("unparsable_response")
            return 0
        rejected = min(max(partial.rejected, 0), count)
        if rejected:
            self._outcomes.add("rejected", rejected)
            self._warn(
                "rejected",
                f"the collector rejected {rejected} of {count} records: {partial.message}",
            )
        elif partial.message:
            self._outcomes.add("partial_success_warning")
            self._warn("partial_warning", f"the collector warned: {partial.message}")
        return rejected

    def _warn(self, key: str, message: str) -> None:
        self._diagnostics.warn(
            f"otlp:{self.name}:{key}", f"OTLP exporter {self.name!r} -> {self.endpoint}: {message}"
        )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered between calls: always True."""
        return True

    def shutdown(self, timeout_millis: int = 30000) -> None:
        """Cut any retry wait short and close connections; later exports fail at once."""
        self._stopping.set()
        self._transport.close()

    def reinit_after_fork(self) -> None:
        """In a forked child: new connections, a fresh stop flag and fresh counters."""
        self._transport.reset_after_fork()
        self._stopping = threading.Event()
        self._turn = threading.Lock()
        self._outcomes.reset_after_fork()
        self._diagnostics.reset_after_fork()

    def __repr__(self) -> str:
        return f"OTLPExporter(protocol={self.options.protocol!r}, endpoint={self.endpoint!r})"


def _make_transport(options: OTLPSettings) -> Transport:
    if bool(options.client_key) != bool(options.client_certificate):
        raise ConfigurationError(
            "OTLP mutual TLS needs both client_key and client_certificate "
            "(OTEL_EXPORTER_OTLP_[LOGS_]CLIENT_KEY / ..._CLIENT_CERTIFICATE); only one is set"
        )
    gzip = options.compression == "gzip"
    if options.protocol == "grpc":
        target, secure = grpc_target(options)
        return GrpcTransport(
            target,
            secure=secure,
            headers=options.headers,
            gzip=gzip,
            certificate=options.certificate,
            client_key=options.client_key,
            client_certificate=options.client_certificate,
            user_agent=USER_AGENT,
        )
    url = http_url(options)
    context = None
    if url.startswith("https:"):
        context = tls_context(options.certificate, options.client_key, options.client_certificate)
    return HttpTransport(
        url,
        json=options.protocol == "http/json",
        headers=options.headers,
        gzip=gzip,
        context=context,
        user_agent=USER_AGENT,
    )
