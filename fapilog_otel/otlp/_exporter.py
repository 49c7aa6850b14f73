"""The native OTLP exporter: our records, encoded by hand, sent over HTTP or gRPC.

One ``export`` call encodes the batch (split into requests under the transport's size
limit), sends each request and retries what the specification calls retryable, all within
the exporter's timeout. What the collector rejected (``partial_success``) is counted and
never retried. The outcome goes back to the container as success, failure, or a
:class:`~fapilog_otel.typing.PartialSuccess` naming how many records were not delivered.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from fapilog_otel import __version__
from fapilog_otel._capture import mark_pipeline_thread
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
from fapilog_otel.otlp._sending import send_with_retries
from fapilog_otel.otlp._spool import Spool
from fapilog_otel.otlp._transport import Attempt, Transport
from fapilog_otel.record import LogRecord
from fapilog_otel.settings import OTLPSettings
from fapilog_otel.typing import ExportResult, PartialSuccess

USER_AGENT = f"fapilog-otel/{__version__}"

#: The spool's default size bound (256 MiB of encoded requests).
DEFAULT_SPOOL_BYTES = 256 * 1024 * 1024

#: The longest wait between two attempts at the spool's oldest request, in seconds.
SPOOL_MAX_BACKOFF = 30.0


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
        spool_dir: Keep every request in a durable spool in this directory until the
            collector acknowledges it (see ``otlp/_spool.py`` and ``docs/reliability.md``);
            None: no spool.
        spool_max_bytes: The spool's size bound; the oldest requests are evicted past it.
        spool_fsync: ``always``, ``normal`` or ``off``: when the spool syncs to disk.

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
        spool_dir: str | None = None,
        spool_max_bytes: int = DEFAULT_SPOOL_BYTES,
        spool_fsync: str = "normal",
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
        self._diagnostics = Diagnostics(
            enabled=diagnostics, secrets=header_secrets(options.headers)
        )
        self._scope_cache: dict[Any, Any] = {}
        #: Held while the encoder is used (one export at a time).
        self._turn = threading.Lock()
        #: Held while the transport is used (the spool's sender and direct sends).
        self._sending = threading.Lock()
        self._spool: Spool | None = None
        if spool_dir is not None:
            self._spool = Spool(spool_dir, name, max_bytes=spool_max_bytes, fsync=spool_fsync)
            self._outcomes.add("spool_found", self._spool.counts.found)
            self._start_spool_sender()

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
        """Counts by reason (see ``docs/otlp.md``); shown in the container's ``stats()``.

        With a spool, also ``spool_pending`` (records kept now, not yet acknowledged) and
        the spool's ``spool_evicted`` and ``spool_corrupt``."""
        values = self._outcomes.snapshot()
        spool = self._spool
        if spool is not None:
            values["spool_pending"] = spool.counts.pending
            values["spool_evicted"] = spool.counts.evicted
            values["spool_corrupt"] = spool.counts.corrupt
        return values

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
        spool = self._spool
        for body, count in encoded.requests:
            if spool is not None and self._spooled(spool, body, count):
                continue
            with self._sending:
                failed += self._send(body, count, deadline)
        if spool is not None:
            self._spool_wake.set()
        return failed

    def _spooled(self, spool: Spool, body: bytes, count: int) -> bool:
        """Keep one request in the spool for the sender; False when it cannot be written
        (counted: the caller then sends it at once, without the spool)."""
        try:
            evicted = spool.append(body, count)
        except Exception as exc:
            self._outcomes.add("spool_write_failed", count)
            self._warn("spool", f"could not write to the spool ({exc}); sending without it")
            return False
        self._outcomes.add("spooled", count)
        if evicted:
            self._warn("spool_evicted", f"the spool is full: {evicted} oldest records evicted")
        return True

    # -- the spool's sender ------------------------------------------------------------

    def _start_spool_sender(self) -> None:
        #: Set when a request is added (the sender looks at the spool again).
        self._spool_wake = threading.Event()
        #: Set by a flush or a shutdown: the sender stops waiting out its backoff.
        self._spool_retry_now = threading.Event()
        self._spool_empty = threading.Event()
        self._spool_thread = threading.Thread(
            target=self._drain_spool, name=f"fapilog-spool-{self.name}", daemon=True
        )
        self._spool_thread.start()

    def _drain_spool(self) -> None:
        """Send the spool's requests, oldest first, until the exporter shuts down.

        A request the collector acknowledged (even in part: what it rejected is counted)
        or refused for good is removed; one that failed for now stays, and the sender
        waits, doubling from ``initial_backoff`` up to :data:`SPOOL_MAX_BACKOFF` seconds.
        """
        mark_pipeline_thread()
        spool = self._spool
        assert spool is not None
        delay = self._initial_backoff
        while not self._stopping.is_set():
            try:
                row = spool.oldest()
            except Exception as exc:
                self._warn("spool", f"could not read the spool: {exc}")
                row = None
                if self._stopping.wait(delay):
                    return
            if row is None:
                self._spool_empty.set()
                self._spool_wake.wait(1.0)
                self._spool_wake.clear()
                continue
            self._spool_empty.clear()
            seq, body, count = row
            with self._sending:
                failed, later = self._attempt_all(body, count, time.monotonic() + self._timeout)
            if later:
                # A flush cuts the wait short: it wants the spool sent now if it can be.
                self._spool_retry_now.wait(delay)
                self._spool_retry_now.clear()
                if self._stopping.is_set():
                    return
                delay = min(delay * 2, SPOOL_MAX_BACKOFF)
                continue
            delay = self._initial_backoff
            self._outcomes.add("spool_delivered", count - failed)
            try:
                spool.remove(seq)
            except Exception as exc:
                self._warn("spool", f"could not remove a delivered request: {exc}")

    def _send(self, body: bytes, count: int, deadline: float) -> int:
        """Send one request with retries until ``deadline``; return records not delivered."""
        failed, later = self._attempt_all(body, count, deadline)
        if later:
            self._outcomes.add(later, count)
        return failed

    def _attempt_all(self, body: bytes, count: int, deadline: float) -> tuple[int, str]:
        """Send one request with retries until ``deadline``.

        Returns:
            The records not delivered, and why they may still be delivered later
            (``retries_exhausted``, ``shutdown``; not counted here) or ``""`` when the
            outcome is final (delivered, rejected, or refused for good, all counted).
        """
        attempt, reason = send_with_retries(
            lambda seconds: self._transport.send(body, seconds),
            count,
            deadline,
            initial_backoff=self._initial_backoff,
            stopping=self._stopping,
            outcomes=self._outcomes,
            warn=self._warn,
        )
        if attempt is not None:
            return self._accepted(attempt, count), ""
        if reason == "not_retryable":
            self._outcomes.add(reason, count)
            return count, ""
        return count, reason

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
        """Report on the diagnostics channel (header values masked there)."""
        self._diagnostics.warn(
            f"otlp:{self.name}:{key}", f"OTLP exporter {self.name!r} -> {self.endpoint}: {message}"
        )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Without a spool nothing is buffered between calls: True. With one, wait up to
        ``timeout_millis`` for the spool to be sent; True when it is empty."""
        spool = self._spool
        if spool is None:
            return True
        deadline = time.monotonic() + max(0.0, timeout_millis / 1000)
        self._spool_retry_now.set()  # once: a collector that is still down is not hammered
        while spool.counts.pending:
            self._spool_empty.clear()
            self._spool_wake.set()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                return False
            self._spool_empty.wait(min(remaining, 0.1))
        return True

    def shutdown(self, timeout_millis: int = 30000) -> None:
        """Cut any retry wait short and close connections; later exports fail at once.

        A spool keeps what was not acknowledged, for the next process to send."""
        self._stopping.set()
        self._transport.close()
        spool = self._spool
        if spool is not None:
            self._spool_wake.set()
            self._spool_retry_now.set()
            self._spool_thread.join(max(0.0, timeout_millis / 1000))
            if not self._spool_thread.is_alive():
                spool.close()

    def reinit_after_fork(self) -> None:
        """In a forked child: new connections, a fresh stop flag and fresh counters; with
        a spool, a slot of its own (the parent's stays the parent's)."""
        self._transport.reset_after_fork()
        self._stopping = threading.Event()
        self._turn = threading.Lock()
        self._sending = threading.Lock()
        self._outcomes.reset_after_fork()
        self._diagnostics.reset_after_fork()
        spool = self._spool
        if spool is not None:
            spool.abandon_after_fork()
            self._spool = Spool(
                os.path.dirname(spool.path), self.name, max_bytes=spool.max_bytes, fsync=spool.fsync
            )
            self._start_spool_sender()

    def __repr__(self) -> str:
        return f"OTLPExporter(protocol={self.options.protocol!r}, endpoint={self.endpoint!r})"


def header_secrets(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The texts of ``headers`` never to repeat: each value of at least 4 characters, and
    each word of a value of at least 6 (the credential of ``Bearer <token>``)."""
    found: set[str] = set()
    for value in headers.values():
        if len(value.strip()) >= 4:
            found.add(value)
        found.update(word for word in value.split() if len(word) >= 6)
    return tuple(sorted(found, key=len, reverse=True))


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
