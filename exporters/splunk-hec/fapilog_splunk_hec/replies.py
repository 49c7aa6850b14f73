"""What HEC's answers mean: its status codes, which are retried, and the ``ackId``.

Written from Splunk's public HTTP Event Collector documentation ("Troubleshoot HTTP Event
Collector", its table of status codes, and "About HTTP Event Collector Indexer
Acknowledgment"). An answer's body is JSON, ``{"text": "...", "code": N}``, plus ``ackId``
on an accepted request when the token has indexer acknowledgment on.

Retried (transient): code 8 (internal server error), 9 (server is busy) and 18-20 (HEC
unhealthy: queues full, acknowledgment service unavailable), and, when the body has no code,
HTTP 429, 500, 502, 503 and 504, timeouts and connection errors. Every other failure is
final: the token codes 1-4, the request codes 5-7 and 10-16, and any other status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from fapilog_otel.otlp._http11 import Response
from fapilog_otel.otlp._retry import parse_retry_after
from fapilog_otel.otlp._transport import Attempt

__all__ = ["HEC_CODES", "RETRYABLE_CODES", "Reply", "read_acks", "read_reply"]

#: HEC status codes and the reason each is counted under in ``outcomes()``.
HEC_CODES: Final[Mapping[int, str]] = {
    1: "token_disabled",
    2: "token_required",
    3: "invalid_authorization",
    4: "invalid_token",
    5: "no_data",
    6: "invalid_data_format",
    7: "incorrect_index",
    8: "internal_server_error",
    9: "server_busy",
    10: "data_channel_missing",
    11: "invalid_data_channel",
    12: "event_field_required",
    13: "event_field_blank",
    14: "ack_disabled",
    15: "indexed_fields_error",
    16: "query_string_authorization_disabled",
    18: "hec_unhealthy",
    19: "hec_unhealthy",
    20: "hec_unhealthy",
}

#: The codes a request is sent again after.
RETRYABLE_CODES: Final = frozenset({8, 9, 18, 19, 20})

#: HTTP statuses retried when the body carries no HEC code.
_RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
_QUOTED: Final = 200


@dataclass(frozen=True)
class Reply:
    """One answer: what the retry loop needs (``attempt``) and the acknowledgment id."""

    attempt: Attempt
    ack_id: int | None = None


def read_reply(response: Response) -> Reply:
    """What one HEC answer comes to."""
    data = _json(response.body)
    code = data.get("code") if isinstance(data.get("code"), int) else None
    if 200 <= response.status < 300 and code in (None, 0, 17):
        ack_id = data.get("ackId")
        return Reply(Attempt(True), ack_id if isinstance(ack_id, int) else None)
    if code is not None and code != 0:
        reason = "hec_" + HEC_CODES.get(code, f"code_{code}")
        retryable = code in RETRYABLE_CODES
    else:
        reason = f"http_{response.status}"
        retryable = response.status in _RETRYABLE_STATUSES
    retry_after = parse_retry_after(response.headers.get("retry-after")) if retryable else None
    text = data.get("text")
    quoted = text if isinstance(text, str) else response.body[:_QUOTED].decode("utf-8", "replace")
    quoted = "".join(c if c.isprintable() else " " for c in quoted[:_QUOTED]).strip()
    detail = f"HTTP {response.status} {response.reason}"
    if code is not None:
        detail += f", HEC code {code}"
    return Reply(
        Attempt(
            False,
            retryable,
            reason,
            retry_after=retry_after,
            detail=detail + (f": {quoted}" if quoted else ""),
        )
    )


def read_acks(response: Response, ack_id: int) -> bool | Attempt:
    """Whether an answer of ``/services/collector/ack`` says ``ack_id`` was indexed; the
    failed :class:`Attempt` when the answer is an error."""
    if not 200 <= response.status < 300:
        return read_reply(response).attempt
    acks = _json(response.body).get("acks")
    return isinstance(acks, dict) and acks.get(str(ack_id)) is True


def _json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``{}``."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
