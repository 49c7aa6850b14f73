"""The ``elasticsearch`` exporter: batches of records indexed through the ``_bulk`` API.

Each batch is one ``POST /_bulk``: an action line and an ECS document per record
(:mod:`fapilog_elasticsearch.document`, :mod:`fapilog_elasticsearch.indices`), NDJSON,
gzipped. Answers are read as :mod:`fapilog_elasticsearch.replies` says. The core's retry
loop (the one the OTLP exporter uses) sends again, with backoff and within ``timeout_ms``,
either the whole request (after a retryable failure of the request) or only the documents
that failed with 429 or 5xx; documents failed for any other reason are counted by their
error type and not sent again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final

import orjson
from fapilog_otel import __version__
from fapilog_otel.exporters._request_exporter import RequestExporter
from fapilog_otel.otlp._http import check_headers, gzip_compress, post, tls_context
from fapilog_otel.otlp._http11 import Connection
from fapilog_otel.otlp._transport import Attempt
from fapilog_otel.record import LogRecord

from fapilog_elasticsearch.config import DEFAULT_INDEX, ElasticsearchConfig, resolve
from fapilog_elasticsearch.document import record_time, to_document
from fapilog_elasticsearch.indices import Target
from fapilog_elasticsearch.replies import read_bulk_reply

__all__ = ["ElasticsearchExporter"]

USER_AGENT: Final = f"fapilog-otel-elasticsearch/{__version__}"

#: Most answer body bytes read: a bulk answer has an item of about 200 bytes per document.
_MAX_ANSWER_BYTES: Final = 64 * 1024 * 1024


class ElasticsearchExporter(RequestExporter):
    """Indexes each batch with one ``_bulk`` request, retrying what may be retried.

    Args:
        config: The settings (default: all unset, so the URL and credentials come from the
            ``ELASTICSEARCH_*`` variables). The container passes the plugin settings here.
        environ: Where ``ELASTICSEARCH_*`` are read (default ``os.environ``), for tests.
        initial_backoff: First wait between retries, in seconds (doubling, with jitter).
        diagnostics: Report failures on the library's rate-limited stderr channel.
        name: The name the exporter has in ``stats()``.

    Raises:
        ConfigurationError: No URL, an invalid URL, conflicting credentials or targets, a
            credential that cannot be sent in a header, or an unreadable certificate file.
    """

    fapilog_api_version = 1
    config_model = ElasticsearchConfig
    label = "Elasticsearch exporter"
    key_prefix = "elasticsearch"

    def __init__(
        self,
        config: ElasticsearchConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        initial_backoff: float = 1.0,
        diagnostics: bool = True,
        name: str = "elasticsearch",
    ) -> None:
        options = resolve(config if config is not None else ElasticsearchConfig(), environ)
        settings = options.config
        super().__init__(
            name=name,
            url=options.url + "/_bulk",
            timeout_ms=settings.timeout_ms,
            initial_backoff=initial_backoff,
            diagnostics=diagnostics,
            secrets=options.secrets,
        )
        self.target = Target(settings.index or DEFAULT_INDEX, settings.data_stream)
        self._prefix = settings.attributes_prefix
        self._dataset = settings.dataset
        self._gzip = settings.compression == "gzip"
        headers = {
            "Content-Type": "application/x-ndjson",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
        }
        if options.authorization is not None:
            headers["Authorization"] = options.authorization
        try:
            check_headers(headers, "Elasticsearch exporter")
        except Exception as exc:
            raise type(exc)(self._diagnostics.mask(str(exc))) from None
        if self._gzip:
            headers["Content-Encoding"] = "gzip"
        context = None
        if options.scheme == "https":
            context = tls_context(settings.certificate, None, None, "Elasticsearch exporter")
        self._connection = Connection(
            options.hostname, options.port, options.bulk_path, headers, context, _MAX_ANSWER_BYTES
        )

    def outcomes(self) -> dict[str, int]:
        """Counts by reason, shown in the container's ``stats()``.

        Documents failed for good: their error type (``mapper_parsing_exception``,
        ``illegal_argument_exception``... or ``status_<n>`` without one); records lost:
        ``not_retryable``, ``retries_exhausted``, ``shutdown``, ``unencodable``. Attempts:
        ``retries``, ``http_<status>`` for a failed request, ``item_<status>`` for each
        document failed with 429 or 5xx (and ``partial_retry`` for each request sent again
        for them), ``connection_error``, ``timeout``, ``tls_error``, ``unparsable_response``.
        """
        return self._outcomes.snapshot()

    def _deliver(self, payload: list[bytes], count: int, deadline: float) -> tuple[int, str]:
        """Send the documents, again those failed with 429 or 5xx; the records not
        indexed and why (their error types, or the request's failure)."""
        pending = payload
        rejected: Counter[str] = Counter()

        def send(seconds: float) -> Attempt:
            nonlocal pending
            body = b"".join(pending)
            answer = post(self._connection, gzip_compress(body) if self._gzip else body, seconds)
            if isinstance(answer, Attempt):
                return answer
            reply = read_bulk_reply(answer, len(pending))
            if reply.attempt is not None:
                return reply.attempt
            for _, reason in reply.rejected:
                rejected[reason] += 1
            if reply.rejected:
                self._warn(
                    "rejected",
                    f"{len(reply.rejected)} documents rejected ({reply.first_error})",
                )
            if not reply.retry:
                pending = []
                return Attempt(True)
            for _, status in reply.retry:
                self._outcomes.add(f"item_{status}")
            pending = [pending[position] for position, _ in reply.retry]
            return Attempt(
                False,
                True,
                "partial_retry",
                detail=f"{len(pending)} documents failed ({reply.first_error})",
            )

        attempt, reason = self._send_with_retries(send, count, deadline)
        for error_type, n in rejected.items():
            self._outcomes.add(error_type, n)
        lost = sum(rejected.values())
        if attempt is None:
            self._outcomes.add(reason, len(pending))
            lost += len(pending)
        return lost, ", ".join(sorted({*rejected, *([reason] if attempt is None else [])}))

    def _encode(self, batch: Sequence[LogRecord]) -> list[bytes]:
        """One action line and document per record, each pair one item of the list."""
        target, prefix, dataset = self.target, self._prefix, self._dataset
        items = []
        for record in batch:
            ns = record_time(record)
            document = orjson.dumps(to_document(record, ns, prefix, dataset))
            items.append(target.action_line(ns) + document + b"\n")
        return items

    def _close(self) -> None:
        self._connection.close()

    def __repr__(self) -> str:
        return f"ElasticsearchExporter(url={self.url!r}, target={self.target.pattern!r})"
