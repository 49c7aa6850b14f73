"""The HTTP exporter's wire format: request bodies, the signature, and one POST's outcome.

A body is a batch of records in the JSON encoding of the file and console exporters
(``_jsonline``): a JSON array (``json``) or one object per line (``ndjson``). With a secret
each request carries ``X-Fapilog-Timestamp`` (Unix seconds) and ``X-Fapilog-Signature:
sha256=<hex>``, the HMAC-SHA256 under the secret of ``<timestamp>.<body>``, where the body is
the exact bytes sent (compressed, when gzip is on).
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Final

from fapilog_otel._jsonline import encode_json_line
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.otlp._http import check_headers, post
from fapilog_otel.otlp._http11 import Connection, Response
from fapilog_otel.otlp._retry import http_status_retryable, parse_retry_after
from fapilog_otel.otlp._transport import Attempt
from fapilog_otel.record import LogRecord

SIGNATURE_HEADER: Final = "X-Fapilog-Signature"
TIMESTAMP_HEADER: Final = "X-Fapilog-Timestamp"

#: Content types by format.
CONTENT_TYPES: Final[Mapping[str, str]] = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
}

#: Headers the exporter sets itself; configured headers may not name them.
RESERVED_HEADERS: Final = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "connection",
        SIGNATURE_HEADER.lower(),
        TIMESTAMP_HEADER.lower(),
    }
)

#: Most answer body bytes read, and most of them quoted in a diagnostic.
MAX_ANSWER_BYTES: Final = 64 * 1024
_QUOTED: Final = 200


def encode_body(records: Sequence[LogRecord], ndjson: bool) -> bytes:
    """The records as one request body: JSON lines, or a JSON array of the same objects."""
    lines = [encode_json_line(record) for record in records]
    if ndjson:
        return b"".join(lines)
    return b"[" + b",".join(line[:-1] for line in lines) + b"]"


def sign(secret: bytes, timestamp: str, payload: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC of ``timestamp.payload``."""
    message = timestamp.encode("ascii") + b"." + payload
    return "sha256=" + hmac.new(secret, message, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str | bytes,
    body: bytes,
    timestamp: str,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """Whether a request came from an exporter holding ``secret``, for receivers in Python.

    Args:
        secret: The exporter's secret.
        body: The request body exactly as received (before any decompression).
        timestamp: The ``X-Fapilog-Timestamp`` header.
        signature: The ``X-Fapilog-Signature`` header.
        tolerance: Most seconds between the timestamp and ``now``, either way (replays of
            older requests are refused).
        now: The current time (``time.time()``), for tests.
    """
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(key, timestamp, body), signature)


class WebhookTarget:
    """One URL POSTed to on a keep-alive connection, with fixed and per-request headers.

    Args:
        url: An ``http://`` or ``https://`` URL.
        headers: The fixed headers (content type, encoding, configured ones).
        context: The TLS context for ``https``.

    Raises:
        ConfigurationError: The URL is not an ``http(s)`` URL with a host, or a header
            cannot be sent.
    """

    def __init__(
        self, url: str, headers: Mapping[str, str], context: ssl.SSLContext | None
    ) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"HTTP exporter url must be an http:// or https:// URL, got {describe_url(url)!r}"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise ConfigurationError(
                f"HTTP exporter url {describe_url(url)!r} has an invalid port"
            ) from exc
        check_headers(headers, "HTTP exporter")
        https = parts.scheme == "https"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.url = describe_url(url)
        self._conn = Connection(
            parts.hostname,
            port or (443 if https else 80),
            path,
            dict(headers),
            context if https else None,
            MAX_ANSWER_BYTES,
        )

    def send(self, payload: bytes, timeout: float, headers: Mapping[str, str]) -> Attempt:
        """POST ``payload`` once with ``headers`` added; 2xx is accepted."""
        answer = post(self._conn, payload, timeout, headers)
        return answer if isinstance(answer, Attempt) else _attempt(answer)

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        self._conn.close()


def describe_url(url: str) -> str:
    """``url`` without credentials, query or fragment (they may hold tokens)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _attempt(response: Response) -> Attempt:
    status = response.status
    if 200 <= status < 300:
        return Attempt(True)
    retryable = http_status_retryable(status)
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    quoted = response.body[:_QUOTED].decode("utf-8", "replace").strip()
    quoted = "".join(c if c.isprintable() else " " for c in quoted)
    return Attempt(
        False,
        retryable,
        f"http_{status}",
        retry_after=retry_after,
        detail=f"HTTP {status} {response.reason}" + (f": {quoted}" if quoted else ""),
    )
