"""What the OTLP test receivers share: wire constants, decoding, the scripted receiver core.

Private to ``otlp_http_receiver`` and ``otlp_grpc_receiver``; tests import the public names
from ``otlp_receivers``.
"""

from __future__ import annotations

import base64
import collections
import json
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, TypeVar

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

ExportLogsServiceRequest = logs_service_pb2.ExportLogsServiceRequest
ExportLogsServiceResponse = logs_service_pb2.ExportLogsServiceResponse

#: One received log record with the resource and scope it was sent under.
FlatRecord = tuple[resource_pb2.Resource, common_pb2.InstrumentationScope, logs_pb2.LogRecord]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

#: How long ``stop()`` waits for a server's threads before giving up on them.
STOP_TIMEOUT = 5.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def flatten(request: logs_service_pb2.ExportLogsServiceRequest) -> list[FlatRecord]:
    """Every log record of ``request`` with its resource and scope, in wire order."""
    return [
        (resource_logs.resource, scope_logs.scope, record)
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
        for record in scope_logs.log_records
    ]


ReplyT = TypeVar("ReplyT")
ReceivedT = TypeVar("ReceivedT")


class Receiver(Generic[ReplyT, ReceivedT]):
    """What both receivers share: the reply script, the request log, lifecycle."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._script: collections.deque[ReplyT] = collections.deque()
        self._requests: list[ReceivedT] = []
        self._stopping = threading.Event()
        self._running = False

    def script(self, *replies: ReplyT) -> None:
        """Queue ``replies``; each request consumes the oldest, then defaults apply."""
        with self._condition:
            self._script.extend(replies)

    @property
    def requests(self) -> list[ReceivedT]:
        """A snapshot of every request received so far, answered or not."""
        with self._condition:
            return list(self._requests)

    def records(self) -> list[FlatRecord]:
        """``(resource, scope, log_record)`` of every successfully answered request."""
        with self._condition:
            return self._records()

    def wait_for_records(self, n: int, timeout: float = 10.0) -> list[FlatRecord]:
        """Wait until at least ``n`` records were successfully received and return all.

        Raises:
            AssertionError: ``timeout`` seconds passed first; the message lists the requests.
        """
        with self._condition:
            if self._condition.wait_for(lambda: len(self._records()) >= n, timeout):
                return self._records()
            raise AssertionError(
                f"{type(self).__name__} expected at least {n} log records within {timeout}s,"
                f" got {len(self._records())} from {len(self._requests)} requests:"
                f" {[self._describe(r) for r in self._requests]}"
            )

    def reset(self) -> None:
        """Forget all requests and any unconsumed scripted replies."""
        with self._condition:
            self._script.clear()
            self._requests.clear()

    def start(self) -> None:
        """Listen (again, on the same port after a ``stop()``)."""
        if self._running:
            return
        self._stopping = threading.Event()
        self._start()
        self._running = True

    def stop(self) -> None:
        """Stop listening and drop open connections; idempotent."""
        if not self._running:
            return
        self._running = False
        self._stopping.set()
        self._stop()

    def __enter__(self: _ReceiverT) -> _ReceiverT:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _next_reply(self) -> ReplyT | None:
        with self._condition:
            return self._script.popleft() if self._script else None

    def _record(self, received: ReceivedT) -> None:
        with self._condition:
            self._requests.append(received)

    def _settle(self, update: Callable[[], None]) -> None:
        """Apply ``update`` to a recorded request under the lock and wake waiters."""
        with self._condition:
            update()
            self._condition.notify_all()

    def _sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the receiver stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def _records(self) -> list[FlatRecord]:
        raise NotImplementedError

    def _describe(self, received: ReceivedT) -> str:
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError


_ReceiverT = TypeVar("_ReceiverT", bound=Receiver[Any, Any])


def _hex_ids_to_base64(value: Any) -> Any:
    """Rewrite every ``traceId``/``spanId`` hex string as base64, recursively."""
    if isinstance(value, list):
        return [_hex_ids_to_base64(item) for item in value]
    if not isinstance(value, dict):
        return value
    converted = {}
    for key, item in value.items():
        if key in ("traceId", "spanId", "trace_id", "span_id") and isinstance(item, str):
            converted[key] = base64.b64encode(bytes.fromhex(item)).decode("ascii")
        else:
            converted[key] = _hex_ids_to_base64(item)
    return converted


def decode_otlp_json(body: bytes) -> logs_service_pb2.ExportLogsServiceRequest:
    """Decode an OTLP/JSON logs request.

    OTLP/JSON writes ``traceId`` and ``spanId`` as hex strings while the proto3 JSON mapping
    that ``google.protobuf.json_format`` implements expects base64 for bytes fields, so the
    ids are converted to base64 before parsing. Unknown fields are an error (not ignored as
    a production receiver would) so a misspelt field name in the encoder under test fails.

    Raises:
        ValueError: The body is not valid JSON, a hex id is malformed, or parsing failed
            (``json_format.ParseError`` is a ``ValueError``).
    """
    document = _hex_ids_to_base64(json.loads(body))
    return json_format.ParseDict(document, ExportLogsServiceRequest())


def export_response(partial_success: tuple[int, str] | None) -> Any:
    response = ExportLogsServiceResponse()
    if partial_success is not None:
        rejected, message = partial_success
        response.partial_success.rejected_log_records = rejected
        response.partial_success.error_message = message
    return response


def python_value(value: common_pb2.AnyValue) -> Any:
    """An OTLP ``AnyValue`` as the plain Python value it was made from."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [python_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: python_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def attributes(message: Any) -> dict[str, Any]:
    """The ``attributes`` of a record, resource or scope message as a plain dict."""
    return {kv.key: python_value(kv.value) for kv in message.attributes}
