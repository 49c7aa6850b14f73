"""Reading what a collector answers: partial success, error statuses, retry hints.

Decoding uses the official classes (``opentelemetry-proto`` for the OTLP response,
``googleapis-common-protos`` for ``google.rpc.Status`` and ``RetryInfo``). Nothing here
raises: an answer that cannot be read is reported as unreadable, never as an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from google.protobuf.message import DecodeError
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse


@dataclass(frozen=True)
class PartialSuccessInfo:
    """The ``partial_success`` of an ``ExportLogsServiceResponse``.

    ``readable`` is False when the body could not be decoded (then the export still counts
    as accepted, since the status said so).
    """

    rejected: int = 0
    message: str = ""
    readable: bool = True


def parse_export_response(body: bytes, is_json: bool) -> PartialSuccessInfo:
    """Decode an ``ExportLogsServiceResponse`` (an empty body means full success)."""
    if not body:
        return PartialSuccessInfo()
    if is_json:
        return _parse_json_response(body)
    try:
        response = ExportLogsServiceResponse.FromString(body)
    except (DecodeError, ValueError):
        return PartialSuccessInfo(readable=False)
    partial = response.partial_success
    return PartialSuccessInfo(int(partial.rejected_log_records), partial.error_message)


def _parse_json_response(body: bytes) -> PartialSuccessInfo:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return PartialSuccessInfo(readable=False)
    if not isinstance(document, dict):
        return PartialSuccessInfo(readable=False)
    partial = document.get("partialSuccess", document.get("partial_success"))
    if partial is None:
        return PartialSuccessInfo()
    if not isinstance(partial, dict):
        return PartialSuccessInfo(readable=False)
    raw_rejected = partial.get("rejectedLogRecords", partial.get("rejected_log_records", 0))
    message = partial.get("errorMessage", partial.get("error_message", ""))
    try:
        rejected = int(raw_rejected or 0)
    except (TypeError, ValueError):
        return PartialSuccessInfo(readable=False)
    return PartialSuccessInfo(rejected, message if isinstance(message, str) else str(message))


def error_message(body: bytes, is_json: bool, limit: int = 300) -> str:
    """The message of a ``google.rpc.Status`` error body, or a short excerpt of the body."""
    if not body:
        return ""
    if is_json:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("message"), str):
            return str(document["message"])[:limit]
    else:
        try:
            status = status_pb2.Status.FromString(body)
        except (DecodeError, ValueError):
            status = None
        if status is not None and status.message:
            return str(status.message)[:limit]
    return body[:limit].decode("utf-8", "replace")


def retry_delay_from_status_details(details: bytes) -> float | None:
    """The ``RetryInfo.retry_delay`` in a serialized ``google.rpc.Status``, in seconds."""
    try:
        status = status_pb2.Status.FromString(details)
    except (DecodeError, ValueError):
        return None
    for detail in status.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                delay = info.retry_delay
                return max(0.0, float(delay.seconds) + float(delay.nanos) / 1e9)
    return None
