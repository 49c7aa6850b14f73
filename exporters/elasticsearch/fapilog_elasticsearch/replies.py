"""What a ``_bulk`` answer means, for the whole request and for each document.

A whole request that fails is retried as the OTLP exporter retries (HTTP 429, 502, 503,
504, timeouts, connection errors), with ``Retry-After`` honoured; any other failed status
is final for every document it held. A request answered 200 may still hold failed
documents: the body's ``errors`` flag is then true and each item of ``items`` (in request
order) has its own ``status`` and, when it failed, an ``error.type``. Items that failed with
429 or a 5xx status are sent again; the others are final, counted by their error type
(``mapper_parsing_exception``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import orjson
from fapilog_otel.otlp._http11 import Response
from fapilog_otel.otlp._retry import http_status_retryable, parse_retry_after
from fapilog_otel.otlp._transport import Attempt

__all__ = ["BulkReply", "item_retryable", "read_bulk_reply"]

_QUOTED: Final = 200


def item_retryable(status: int) -> bool:
    """Whether a document that failed with ``status`` may be sent again (429 and 5xx)."""
    return status == 429 or status >= 500


@dataclass(frozen=True)
class BulkReply:
    """One ``_bulk`` answer.

    Attributes:
        attempt: A failed whole request (None when the request was answered 2xx).
        retry: Indices (into the request) of documents to send again, with their statuses.
        rejected: Indices of documents failed for good, with the error type of each.
    """

    attempt: Attempt | None = None
    retry: list[tuple[int, int]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    first_error: str = ""


def read_bulk_reply(response: Response, count: int) -> BulkReply:
    """Read the answer to a ``_bulk`` request of ``count`` documents."""
    if not 200 <= response.status < 300:
        retryable = http_status_retryable(response.status)
        hint = parse_retry_after(response.headers.get("retry-after")) if retryable else None
        return BulkReply(
            Attempt(
                False,
                retryable,
                f"http_{response.status}",
                retry_after=hint,
                detail=f"HTTP {response.status} {response.reason}{_quote(response.body)}",
            )
        )
    try:
        data = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return _unparsable("the answer is not a JSON object")
    if data.get("errors") is False:
        return BulkReply()
    items = data.get("items")
    if not isinstance(items, list) or len(items) != count:
        return _unparsable(f"expected {count} items in the answer")
    retry: list[tuple[int, int]] = []
    rejected: list[tuple[int, str]] = []
    first_error = ""
    for position, item in enumerate(items):
        status, error = _item(item)
        if 200 <= status < 300:
            continue
        if item_retryable(status):
            retry.append((position, status))
        else:
            rejected.append((position, error))
        if not first_error:
            first_error = f"status {status}, {error}"
    return BulkReply(retry=retry, rejected=rejected, first_error=first_error)


def _item(item: Any) -> tuple[int, str]:
    """The status of one item and its error type (``""`` when it has none)."""
    result = next(iter(item.values()), None) if isinstance(item, dict) and item else None
    if not isinstance(result, dict):
        return 0, "unparsable_item"
    status = result.get("status")
    status = status if isinstance(status, int) else 0
    error = result.get("error")
    kind = error.get("type") if isinstance(error, dict) else None
    return status, kind if isinstance(kind, str) and kind else f"status_{status}"


def _unparsable(detail: str) -> BulkReply:
    return BulkReply(Attempt(False, False, "unparsable_response", detail=detail))


def _quote(body: bytes) -> str:
    text = body[:_QUOTED].decode("utf-8", "replace")
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return f": {text}" if text else ""
