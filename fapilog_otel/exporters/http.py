"""POST batches of records to any URL: the HTTP webhook exporter (``OTEL_LOGS_EXPORTER=http``).

Each batch is one request: a JSON array (``application/json``) or JSON lines
(``application/x-ndjson``) of the records as the file exporter writes them, optionally
gzipped and signed (see ``_webhook`` and ``docs/exporters.md``). Failures are retried as the
OTLP exporter retries them: HTTP 429, 502, 503, 504, timeouts and connection errors, waiting
``Retry-After`` when the server says so and otherwise backing off, all within the export
timeout; any other answer is final.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fapilog_otel import __version__
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.exporters._request_exporter import RequestExporter
from fapilog_otel.exporters._webhook import (
    CONTENT_TYPES,
    RESERVED_HEADERS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookTarget,
    encode_body,
    sign,
    verify_signature,
)
from fapilog_otel.otlp._exporter import header_secrets
from fapilog_otel.otlp._http import gzip_compress, tls_context
from fapilog_otel.record import LogRecord
from fapilog_otel.settings import HTTPSettings, Settings

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "HTTPExporter", "verify_signature"]

USER_AGENT: Final = f"fapilog-otel/{__version__}"


class HTTPExporter(RequestExporter):
    """Sends each batch as one POST to ``url``, with retries within ``timeout_ms``.

    Every argument left as ``None`` comes from ``settings`` (by default the environment's
    ``FAPILOG_HTTP__*`` variables).

    Args:
        url: Where to POST (``http://`` or ``https://``).
        format: ``json`` (a JSON array) or ``ndjson`` (JSON lines).
        headers: Headers for every request; their values never appear in diagnostics.
        compression: ``gzip`` or ``none``.
        secret: Signs every request (``X-Fapilog-Signature``, see ``docs/exporters.md``).
        timeout_ms: Longest one export may take, retries included.
        certificate: CA bundle file trusted for an ``https`` receiver (default: the
            system's CAs).
        settings: Where unset options come from (default: ``Settings().http``).
        initial_backoff: First wait between retries in seconds (doubling, with jitter).
        diagnostics: Report failures on the library's rate-limited stderr channel.
        name: The name the exporter has in ``stats()``.

    Raises:
        ConfigurationError: No URL, an invalid URL, a header that cannot be sent or that
            the exporter sets itself, or an unreadable certificate file.
    """

    label = "HTTP exporter"
    key_prefix = "http"

    def __init__(
        self,
        url: str | None = None,
        *,
        format: str | None = None,
        headers: Mapping[str, str] | None = None,
        compression: str | None = None,
        secret: str | None = None,
        timeout_ms: float | None = None,
        certificate: str | None = None,
        settings: HTTPSettings | None = None,
        initial_backoff: float = 1.0,
        diagnostics: bool = True,
        name: str = "http",
    ) -> None:
        options = _resolve(
            {
                "url": url,
                "format": format,
                "headers": dict(headers) if headers is not None else None,
                "compression": compression,
                "secret": secret,
                "timeout_ms": timeout_ms,
            },
            settings,
        )
        if not options.url:
            raise ConfigurationError(
                "exporter 'http' needs a url: set FAPILOG_HTTP__URL or Settings(http={'url': ...})"
            )
        clashing = sorted(n for n in options.headers if n.strip().lower() in RESERVED_HEADERS)
        if clashing:
            raise ConfigurationError(
                f"HTTP exporter headers {clashing} are set by the exporter itself"
            )
        self.format = options.format
        self._ndjson = options.format == "ndjson"
        self._gzip = options.compression == "gzip"
        self._secret = options.secret.get_secret_value().encode() if options.secret else None
        fixed = {"Content-Type": CONTENT_TYPES[options.format], "Accept-Encoding": "identity"}
        if self._gzip:
            fixed["Content-Encoding"] = "gzip"
        if not any(n.strip().lower() == "user-agent" for n in options.headers):
            fixed["User-Agent"] = USER_AGENT
        context = None
        if options.url.startswith("https:"):
            context = tls_context(certificate, None, None, "HTTP exporter")
        self._target = WebhookTarget(options.url, {**fixed, **options.headers}, context)
        secrets = list(header_secrets(options.headers))
        if options.secret:
            secrets.append(options.secret.get_secret_value())
        super().__init__(
            name=name,
            url=self._target.url,
            timeout_ms=options.timeout_ms,
            initial_backoff=initial_backoff,
            diagnostics=diagnostics,
            secrets=secrets,
        )

    def outcomes(self) -> dict[str, int]:
        """Counts by reason, shown in the container's ``stats()``: records (``not_retryable``,
        ``retries_exhausted``, ``shutdown``, ``unencodable``) and attempts (``retries``,
        ``http_<status>``, ``connection_error``, ``timeout``, ``tls_error``)."""
        return self._outcomes.snapshot()

    def _encode(self, batch: Sequence[LogRecord]) -> bytes:
        body = encode_body(batch, self._ndjson)
        return gzip_compress(body) if self._gzip else body

    def _deliver(self, payload: bytes, count: int, deadline: float) -> tuple[int, str]:
        """POST ``payload`` with retries until ``deadline``; the records lost and why
        (``not_retryable``, ``retries_exhausted`` or ``shutdown``)."""
        attempt, reason = self._send_with_retries(
            lambda seconds: self._target.send(payload, seconds, self._request_headers(payload)),
            count,
            deadline,
        )
        if attempt is not None:
            return 0, ""
        self._outcomes.add(reason, count)
        return count, reason

    def _request_headers(self, payload: bytes) -> dict[str, str]:
        """The signature headers of one attempt (a fresh timestamp each time), if signing."""
        if self._secret is None:
            return {}
        timestamp = str(int(time.time()))
        return {
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, payload),
        }

    def _close(self) -> None:
        self._target.close()

    def __repr__(self) -> str:
        return f"HTTPExporter(url={self.url!r}, format={self.format!r})"


def _resolve(given: dict[str, Any], settings: HTTPSettings | None) -> HTTPSettings:
    """``settings`` (default: from the environment) with the arguments given on top."""
    base = settings if settings is not None else Settings().http
    chosen = {key: value for key, value in given.items() if value is not None}
    if not chosen:
        return base
    try:
        return HTTPSettings.model_validate({**base.model_dump(), **chosen})
    except ValueError as exc:
        raise ConfigurationError(f"invalid HTTP exporter option: {exc}") from None
