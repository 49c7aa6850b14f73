"""OTLP over HTTP/1.1 (protobuf or JSON bodies), on one keep-alive connection.

The connection is our own minimal HTTP/1.1 client (``_http11``): one POST at a time, the
request head built once, the answer's headers split by hand. A request that fails on a
reused connection before any answer (the collector closed an idle connection) is sent
again at once on a fresh one, as HTTP clients commonly do; every other failure goes back
to the exporter, which decides about retries.
"""

from __future__ import annotations

import ssl
import urllib.parse
import zlib
from collections.abc import Mapping

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.otlp._http11 import ClosedBeforeAnswer, Connection, ProtocolError, Response
from fapilog_otel.otlp._responses import error_message, parse_export_response
from fapilog_otel.otlp._retry import http_status_retryable, parse_retry_after
from fapilog_otel.otlp._transport import MAX_RESPONSE_BYTES, Attempt

#: The specification's request limit (before compression).
MAX_REQUEST_BYTES = 64 * 1024 * 1024

_STALE_CONNECTION_ERRORS = (
    ClosedBeforeAnswer,
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
)


def gzip_compress(body: bytes) -> bytes:
    """Gzip ``body`` (level 6: most of the gain of 9 at a fraction of the cost)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    return compressor.compress(body) + compressor.flush()


def tls_context(
    certificate: str | None,
    client_key: str | None,
    client_certificate: str | None,
    label: str = "OTLP",
) -> ssl.SSLContext:
    """A TLS client context trusting ``certificate`` (or the system CAs), with mTLS if given.

    Raises:
        ConfigurationError: A file is missing or unreadable.
    """
    try:
        context = ssl.create_default_context(cafile=certificate)
        if client_certificate:
            context.load_cert_chain(client_certificate, client_key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"{label} TLS files could not be loaded: {exc}") from exc
    return context


class HttpTransport:
    """POSTs request bodies to an OTLP/HTTP endpoint.

    Args:
        url: The full logs URL (``http(s)://host:port/v1/logs``).
        json: Bodies are OTLP/JSON (else protobuf).
        headers: Extra headers sent with every request.
        gzip: Compress bodies with gzip.
        context: The TLS context for ``https`` URLs.
        user_agent: The ``User-Agent`` header.

    Raises:
        ConfigurationError: The URL is not an ``http`` or ``https`` URL with a host.
    """

    max_request_bytes = MAX_REQUEST_BYTES

    def __init__(
        self,
        url: str,
        *,
        json: bool,
        headers: Mapping[str, str],
        gzip: bool,
        context: ssl.SSLContext | None,
        user_agent: str,
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"OTLP/HTTP endpoint must be an http:// or https:// URL, got {url!r}"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(f"OTLP endpoint {url!r} has an invalid port") from exc
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._context = context if self._https else None
        self._json = json
        self._gzip = gzip
        request_headers = {
            **dict(headers),
            "Content-Type": "application/json" if json else "application/x-protobuf",
            "User-Agent": user_agent,
            "Accept-Encoding": "identity",
        }
        if gzip:
            request_headers["Content-Encoding"] = "gzip"
        check_headers(request_headers)
        self._conn = Connection(
            self._host, self._port, self._path, request_headers, self._context, MAX_RESPONSE_BYTES
        )
        host = parts.netloc.rpartition("@")[2]
        self._url = urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))

    def describe(self) -> str:
        """The endpoint, without credentials or query."""
        return self._url

    def send(self, body: bytes, timeout: float) -> Attempt:
        """POST ``body`` once (again at once on a fresh connection if the old one was stale)."""
        payload = gzip_compress(body) if self._gzip else body
        answer = post(self._conn, payload, timeout)
        return answer if isinstance(answer, Attempt) else self._attempt(answer)

    def _attempt(self, response: Response) -> Attempt:
        status = response.status
        data = response.body
        if response.header("content-encoding").strip().lower() == "gzip":
            try:
                data = zlib.decompressobj(31).decompress(data, MAX_RESPONSE_BYTES)
            except zlib.error:
                data = b""
        content_type = response.header("content-type")
        is_json = "json" in content_type.lower() or (self._json and not content_type)
        if 200 <= status < 300:
            return Attempt(True, partial=parse_export_response(data, is_json))
        retryable = http_status_retryable(status)
        retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
        message = error_message(data, is_json)
        return Attempt(
            False,
            retryable,
            f"http_{status}",
            retry_after=retry_after,
            detail=f"HTTP {status} {response.reason}" + (f": {message}" if message else ""),
        )

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        self._conn.close()

    def reset_after_fork(self) -> None:
        """Drop the connection inherited from the parent.

        Closing the child's copy of the socket does not shut the connection down, so the
        parent's requests on it go on undisturbed.
        """
        self.close()


def post(
    conn: Connection, payload: bytes, timeout: float, headers: Mapping[str, str] | None = None
) -> Response | Attempt:
    """POST ``payload`` on ``conn`` once, again at once on a fresh connection if the old one
    was stale; the answer, or the failed :class:`Attempt` (``timeout``, ``tls_error``,
    ``connection_error``) when there is none. ``headers`` are for this request only."""
    for _ in range(2):
        reused = conn.is_open
        try:
            return conn.post(payload, timeout, headers)
        except TimeoutError:
            return Attempt(False, True, "timeout", detail=f"no answer within {timeout:.3g}s")
        except ssl.SSLCertVerificationError as exc:
            return Attempt(False, False, "tls_error", detail=str(exc))
        except _STALE_CONNECTION_ERRORS as exc:
            if reused:
                continue
            return Attempt(False, True, "connection_error", detail=_describe(exc))
        except (OSError, ProtocolError) as exc:
            return Attempt(False, True, "connection_error", detail=_describe(exc))
    return Attempt(False, True, "connection_error", detail="connection closed twice")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def check_headers(headers: Mapping[str, str], label: str = "OTLP") -> None:
    """Refuse header names and values that would break the request (or smuggle another).

    Raises:
        ConfigurationError: A name is not an HTTP token or a value holds a line break.
    """
    for name, value in headers.items():
        if not name or any(c in name for c in ' \t\r\n:"(),/;<=>?@[\\]{}') or not name.isascii():
            raise ConfigurationError(f"{label} header name {name!r} is not a valid HTTP token")
        if any(c in value for c in "\r\n\0"):
            raise ConfigurationError(f"{label} header {name!r} has a line break in its value")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"{label} header {name!r} has characters outside latin-1 in its value"
            ) from None
