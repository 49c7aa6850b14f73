"""The ``splunk_hec`` exporter: batches of records POSTed to Splunk's HTTP Event Collector.

Each batch is one request to ``/services/collector/event``: the records as HEC events (see
:mod:`fapilog_splunk_hec.envelope`), one JSON object after another, gzipped, with
``Authorization: Splunk <token>``. Answers are read as :mod:`fapilog_splunk_hec.replies`
says; transient failures are retried with backoff by the core's retry loop (the one the
OTLP and ``http`` exporters use), all within ``timeout_ms``.

With ``ack`` on, every request carries ``X-Splunk-Request-Channel`` (a UUID of this
exporter), and after Splunk accepts a batch the exporter asks ``/services/collector/ack``
about its ``ackId`` every ``ack_poll_interval_ms`` until it is acknowledged or
``ack_timeout_ms`` has passed; a batch never acknowledged counts as failed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Final

import orjson
from fapilog_otel import __version__
from fapilog_otel.exporters._request_exporter import RequestExporter
from fapilog_otel.otlp._http import check_headers, gzip_compress, post, tls_context
from fapilog_otel.otlp._http11 import Connection
from fapilog_otel.otlp._transport import Attempt
from fapilog_otel.record import LogRecord

from fapilog_splunk_hec.config import SplunkHecConfig, resolve
from fapilog_splunk_hec.envelope import Metadata, encode_events
from fapilog_splunk_hec.replies import read_acks, read_reply

__all__ = ["CHANNEL_HEADER", "SplunkHecExporter"]

#: The header naming the channel of indexer acknowledgment.
CHANNEL_HEADER: Final = "X-Splunk-Request-Channel"
USER_AGENT: Final = f"fapilog-otel-splunk-hec/{__version__}"

#: Most answer body bytes read.
_MAX_ANSWER_BYTES: Final = 64 * 1024


class SplunkHecExporter(RequestExporter):
    """Sends each batch to Splunk HEC as one request, with retries and optional acks.

    Args:
        config: The settings (default: all unset, so everything comes from the
            ``SPLUNK_HEC_*`` variables). The container passes the plugin settings here.
        environ: Where ``SPLUNK_HEC_*`` are read (default ``os.environ``), for tests.
        initial_backoff: First wait between retries, in seconds (doubling, with jitter).
        diagnostics: Report failures on the library's rate-limited stderr channel.
        name: The name the exporter has in ``stats()``.

    Raises:
        ConfigurationError: No URL or token, an invalid URL, a token that cannot be sent
            in a header, or an unreadable certificate file.
    """

    fapilog_api_version = 1
    config_model = SplunkHecConfig
    label = "Splunk HEC exporter"
    key_prefix = "splunk_hec"

    def __init__(
        self,
        config: SplunkHecConfig | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        initial_backoff: float = 1.0,
        diagnostics: bool = True,
        name: str = "splunk_hec",
    ) -> None:
        options = resolve(config if config is not None else SplunkHecConfig(), environ)
        settings = options.config
        authorization = f"Splunk {options.token}"
        super().__init__(
            name=name,
            url=options.url + options.event_path,
            timeout_ms=settings.timeout_ms,
            initial_backoff=initial_backoff,
            diagnostics=diagnostics,
            secrets=(authorization, options.token),
        )
        self._metadata = Metadata(
            host=options.host,
            source=options.source,
            sourcetype=options.sourcetype,
            index=options.index,
        )
        self._gzip = settings.compression == "gzip"
        self._ack = settings.ack
        self._ack_timeout = settings.ack_timeout_ms / 1000.0
        self._ack_interval = settings.ack_poll_interval_ms / 1000.0
        headers = {
            "Authorization": authorization,
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": USER_AGENT,
        }
        check_headers(headers, "Splunk HEC exporter")
        context = None
        if options.scheme == "https":
            context = tls_context(settings.certificate, None, None, "Splunk HEC exporter")
        event_headers = {**headers, "Content-Encoding": "gzip"} if self._gzip else headers
        address = (options.hostname, options.port)
        self._events = Connection(
            *address, options.event_path, event_headers, context, _MAX_ANSWER_BYTES
        )
        self._acks = Connection(*address, options.ack_path, headers, context, _MAX_ANSWER_BYTES)
        self.channel = str(uuid.uuid4())

    def outcomes(self) -> dict[str, int]:
        """Counts by reason, shown in the container's ``stats()``.

        Records: ``not_retryable``, ``retries_exhausted``, ``unacknowledged``, ``shutdown``,
        ``unencodable``. Attempts: ``retries``, ``hec_<reason>`` for each HEC error code
        (``hec_server_busy``, ``hec_invalid_token``...), ``http_<status>`` for answers
        without one, ``connection_error``, ``timeout``, ``tls_error``; with acks,
        ``ack_pending`` for each query answered "not yet" and ``ack_<reason>`` for each
        failed query.
        """
        return self._outcomes.snapshot()

    def _encode(self, batch: Sequence[LogRecord]) -> bytes:
        body = encode_events(batch, self._metadata)
        return gzip_compress(body) if self._gzip else body

    def _deliver(self, payload: bytes, count: int, deadline: float) -> tuple[int, str]:
        """Send the events (and wait for their acknowledgment, with ``ack``); the records
        lost and why."""
        ack_ids: list[int | None] = []

        def send(seconds: float) -> Attempt:
            answer = post(self._events, payload, seconds, self._channel_headers())
            if isinstance(answer, Attempt):
                return answer
            reply = read_reply(answer)
            if reply.attempt.accepted:
                ack_ids.append(reply.ack_id)
            return reply.attempt

        attempt, reason = self._send_with_retries(send, count, deadline)
        if attempt is None:
            self._outcomes.add(reason, count)
            return count, reason
        if not self._ack:
            return 0, ""
        failure = self._wait_for_ack(ack_ids[-1], count)
        if failure:
            self._outcomes.add(failure, count)
            return count, failure
        return 0, ""

    def _wait_for_ack(self, ack_id: int | None, count: int) -> str:
        """Query the acknowledgment of ``ack_id`` until it is given or the wait runs out.

        Returns:
            ``""`` when Splunk acknowledged it, else ``unacknowledged`` or ``shutdown``.
        """
        if ack_id is None:
            self._outcomes.add("ack_id_missing")
            self._warn(
                "ack_id_missing",
                f"{count} records were accepted without an ackId; is indexer acknowledgment "
                "on for this token?",
            )
            return "unacknowledged"
        query = orjson.dumps({"acks": [ack_id]})
        deadline = time.monotonic() + self._ack_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            answer = post(self._acks, query, min(remaining, self._timeout), self._channel_headers())
            result = answer if isinstance(answer, Attempt) else read_acks(answer, ack_id)
            if result is True:
                return ""
            if isinstance(result, Attempt):
                self._outcomes.add(f"ack_{result.reason}")
                if not result.retryable:
                    self._warn(
                        "ack_failed",
                        f"{count} records unacknowledged: the acknowledgment query failed, "
                        f"{result.detail}",
                    )
                    return "unacknowledged"
            else:
                self._outcomes.add("ack_pending")
            if self._stopping.wait(min(self._ack_interval, max(0.0, remaining))):
                return "shutdown"
        self._warn(
            "unacknowledged",
            f"{count} records (ackId {ack_id}) were not acknowledged within "
            f"{self._ack_timeout:.3g}s",
        )
        return "unacknowledged"

    def _channel_headers(self) -> dict[str, str]:
        """The channel header of every request, with acknowledgment on."""
        return {CHANNEL_HEADER: self.channel} if self._ack else {}

    def _close(self) -> None:
        self._events.close()
        self._acks.close()

    def _after_fork(self) -> None:
        """A channel of its own: acknowledgments are per channel."""
        self.channel = str(uuid.uuid4())

    def __repr__(self) -> str:
        return f"SplunkHecExporter(url={self.url!r}, ack={self._ack!r})"
