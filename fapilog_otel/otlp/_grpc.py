"""OTLP over gRPC, with ``grpcio`` (the ``fapilog-otel[grpc]`` extra).

Requests are already encoded, so the call passes bytes straight through (no serializer);
the answer is decoded with the official classes. Error codes are mapped as the OTLP
specification says, and a ``RetryInfo`` in the ``grpc-status-details-bin`` trailer gives
the wait before the next attempt.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.otlp._responses import parse_export_response, retry_delay_from_status_details
from fapilog_otel.otlp._retry import grpc_code_retryable
from fapilog_otel.otlp._transport import MAX_RESPONSE_BYTES, Attempt

#: The LogsService's Export method.
EXPORT_METHOD = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

#: gRPC servers refuse messages over 4 MiB unless configured otherwise (the collector's
#: default too), so batches are split below that.
MAX_REQUEST_BYTES = 4 * 1024 * 1024 - 64 * 1024

_STATUS_DETAILS_KEY = "grpc-status-details-bin"


def _grpc() -> Any:
    try:
        import grpc
    except ImportError as exc:
        raise ConfigurationError(
            "OTLP protocol 'grpc' needs grpcio: pip install 'fapilog-otel[grpc]'"
        ) from exc
    return grpc


class GrpcTransport:
    """Calls ``LogsService/Export`` on one channel (HTTP/2, kept open).

    Args:
        target: ``host:port``.
        secure: Use TLS.
        headers: Metadata sent with every call (keys are lower-cased, as gRPC requires).
        gzip: Compress requests with gzip.
        certificate: CA bundle file for TLS (the system's CAs when ``None``).
        client_key: Private key file for mutual TLS.
        client_certificate: Certificate chain file for mutual TLS.
        user_agent: Prepended to gRPC's own user agent.

    Raises:
        ConfigurationError: grpcio is not installed, or a TLS file cannot be read.
    """

    max_request_bytes = MAX_REQUEST_BYTES

    def __init__(
        self,
        target: str,
        *,
        secure: bool,
        headers: Mapping[str, str],
        gzip: bool,
        certificate: str | None,
        client_key: str | None,
        client_certificate: str | None,
        user_agent: str,
    ) -> None:
        self._grpc = _grpc()
        self._target = target
        self._secure = secure
        self._metadata = tuple((key.lower(), value) for key, value in headers.items())
        self._gzip = gzip
        self._user_agent = user_agent
        self._credentials: Any = None
        if secure:
            self._credentials = self._grpc.ssl_channel_credentials(
                root_certificates=_read(certificate),
                private_key=_read(client_key),
                certificate_chain=_read(client_certificate),
            )
        self._channel: Any = None
        self._call: Any = None

    def describe(self) -> str:
        """The target, with the scheme it is reached by."""
        return f"{'https' if self._secure else 'http'}://{self._target}"

    def _connect(self) -> Any:
        grpc = self._grpc
        options = [
            ("grpc.primary_user_agent", self._user_agent),
            ("grpc.max_receive_message_length", MAX_RESPONSE_BYTES),
            ("grpc.max_send_message_length", -1),
            # A collector that comes back is found within a second, not after gRPC's
            # default reconnect backoff of up to two minutes.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.min_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        compression = grpc.Compression.Gzip if self._gzip else grpc.Compression.NoCompression
        if self._secure:
            channel = grpc.secure_channel(
                self._target, self._credentials, options=options, compression=compression
            )
        else:
            channel = grpc.insecure_channel(self._target, options=options, compression=compression)
        self._channel = channel
        self._call = channel.unary_unary(EXPORT_METHOD)
        return self._call

    def send(self, body: bytes, timeout: float) -> Attempt:
        """Call Export once with ``body``, within ``timeout`` seconds."""
        call = self._call if self._call is not None else self._connect()
        try:
            answer = call(body, timeout=timeout, metadata=self._metadata)
        except self._grpc.RpcError as err:
            return self._failure(err)
        except Exception as exc:
            return Attempt(False, True, "connection_error", detail=f"{type(exc).__name__}: {exc}")
        return Attempt(True, partial=parse_export_response(answer or b"", is_json=False))

    def _failure(self, err: Any) -> Attempt:
        try:
            code = err.code()
            name = code.name if code is not None else "UNKNOWN"
            details = err.details() or ""
            trailers = err.trailing_metadata() or ()
        except Exception:
            name, details, trailers = "UNKNOWN", "", ()
        retry_delay = None
        for key, value in trailers:
            if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
                retry_delay = retry_delay_from_status_details(value)
        retryable = grpc_code_retryable(name, retry_delay is not None)
        return Attempt(
            False,
            retryable,
            f"grpc_{name}",
            retry_after=retry_delay if retryable else None,
            detail=f"gRPC {name}" + (f": {details}" if details else ""),
        )

    def close(self) -> None:
        """Close the channel (the next call opens a new one)."""
        channel, self._channel, self._call = self._channel, None, None
        if channel is not None:
            try:
                channel.close()
            except Exception:
                return

    def reset_after_fork(self) -> None:
        """Forget the parent's channel; the child opens its own on its first call."""
        self._channel = None
        self._call = None


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ConfigurationError(f"OTLP TLS file {path!r} could not be read: {exc}") from exc
