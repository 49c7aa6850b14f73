"""What one attempt to send a request tells the exporter, and the transports' contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fapilog_otel.otlp._responses import PartialSuccessInfo

#: Longest response body read (the specification: clients MUST limit parsed responses to
#: 4 MiB).
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Attempt:
    """The outcome of sending one request once.

    Attributes:
        accepted: The collector accepted the request (perhaps partially, see ``partial``).
        retryable: A failure the specification allows to retry.
        reason: The outcome counter a failure goes under (``http_503``, ``grpc_UNAVAILABLE``,
            ``connection_error``, ``timeout``...).
        retry_after: The wait the server asked for, in seconds (``Retry-After``, ``RetryInfo``).
        partial: The ``partial_success`` of an accepted request.
        detail: What went wrong, for the diagnostics channel (never header values).
    """

    accepted: bool
    retryable: bool = False
    reason: str = ""
    retry_after: float | None = None
    partial: PartialSuccessInfo | None = None
    detail: str = ""


class Transport(Protocol):
    """Sends encoded ``ExportLogsServiceRequest`` bodies to one collector endpoint."""

    #: Largest request body (before compression) the transport should be given.
    max_request_bytes: int

    def send(self, body: bytes, timeout: float) -> Attempt:
        """Send ``body`` once, taking at most about ``timeout`` seconds."""

    def close(self) -> None:
        """Close connections; a later ``send`` opens new ones."""

    def reset_after_fork(self) -> None:
        """Forget connections inherited from the parent process without touching them."""

    def describe(self) -> str:
        """Where requests go, for messages (no credentials)."""
