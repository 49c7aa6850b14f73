"""What both transports of the receiver share: decoding OTLP requests and counting them.

Requests are decoded with the official ``opentelemetry.proto`` classes; only their log
records are counted, nothing is stored.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

__all__ = [
    "EMPTY_RESPONSE",
    "MAX_BODY",
    "Counters",
    "count_records",
    "decode_request",
    "records_in",
]

MAX_BODY = 64 * 1024 * 1024

EMPTY_RESPONSE: bytes = ExportLogsServiceResponse().SerializeToString()


def count_records(payload: bytes) -> int:
    """Decode one OTLP ``ExportLogsServiceRequest`` and return how many log records it holds.

    Raises:
        google.protobuf.message.DecodeError: ``payload`` is not a valid request.
    """
    return records_in(ExportLogsServiceRequest.FromString(payload))


def decode_request(payload: bytes) -> ExportLogsServiceRequest:
    """Decode an OTLP request body: protobuf, or OTLP/JSON (a body starting with ``{``).

    OTLP/JSON writes trace and span ids in hex where the protobuf JSON mapping expects
    base64, so they are converted before the official ``json_format`` parser runs.
    """
    if payload[:1] != b"{":
        return ExportLogsServiceRequest.FromString(payload)
    document = _hex_ids_to_base64(json.loads(payload))
    return json_format.ParseDict(document, ExportLogsServiceRequest())


def _hex_ids_to_base64(value: Any) -> Any:
    if isinstance(value, list):
        return [_hex_ids_to_base64(item) for item in value]
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in ("traceId", "spanId") and isinstance(item, str)
            else _hex_ids_to_base64(item)
            for key, item in value.items()
        }
    return value


def records_in(request: ExportLogsServiceRequest) -> int:
    """How many log records a decoded request holds."""
    return sum(
        len(scope_logs.log_records)
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
    )


class Counters:
    """What the receiver has counted since the last reset; shared by both transports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records = 0
        self.requests = 0
        self.bytes = 0
        self.errors = 0

    def add(self, records: int, wire_bytes: int) -> None:
        """Count one decoded request."""
        with self._lock:
            self.records += records
            self.requests += 1
            self.bytes += wire_bytes

    def error(self) -> None:
        """Count one request that could not be decoded."""
        with self._lock:
            self.errors += 1

    def snapshot(self) -> dict[str, int]:
        """The counters as a plain dict."""
        with self._lock:
            return {
                "records": self.records,
                "requests": self.requests,
                "bytes": self.bytes,
                "errors": self.errors,
            }

    def reset(self) -> dict[str, int]:
        """Set every counter to zero and return what they were."""
        with self._lock:
            before = {
                "records": self.records,
                "requests": self.requests,
                "bytes": self.bytes,
                "errors": self.errors,
            }
            self.records = self.requests = self.bytes = self.errors = 0
            return before
