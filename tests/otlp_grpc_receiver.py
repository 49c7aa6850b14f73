"""``GrpcReceiver``: an OTLP/gRPC logs receiver for tests that answers from a script."""

from __future__ import annotations

import time
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from _otlp_receiver_base import STOP_TIMEOUT, FlatRecord, Receiver, export_response, flatten
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc

#: The gRPC trailer that carries a serialized ``google.rpc.Status`` (rich error model).
STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class GrpcReply:
    """How ``GrpcReceiver`` answers one call.

    Attributes:
        code: Abort the call with this status code; ``None`` answers OK.
        message: The status message of an aborted call.
        retry_delay: Seconds of a ``google.rpc.RetryInfo`` sent with an aborted call in the
            ``grpc-status-details-bin`` trailer.
        partial_success: ``(rejected_log_records, error_message)`` for an OK answer.
        delay: Seconds to wait before answering (for deadline tests).
    """

    code: grpc.StatusCode | None = None
    message: str = ""
    retry_delay: float | None = None
    partial_success: tuple[int, str] | None = None
    delay: float = 0.0


@dataclass
class GrpcReceived:
    """One gRPC ``Export`` call as ``GrpcReceiver`` saw it.

    Whether the client compressed the message is not recorded: grpcio decompresses before
    the servicer runs and hides ``grpc-encoding`` from the invocation metadata.

    Attributes:
        request: The decoded request.
        metadata: Invocation metadata with lowercased keys (a repeated key keeps its last
            value); binary (``-bin``) values are bytes.
        peer: The client's address as gRPC reports it, e.g. ``ipv4:127.0.0.1:53412``.
        received_at: ``time.monotonic()`` when the call arrived.
        code: The status answered.
    """

    request: logs_service_pb2.ExportLogsServiceRequest
    metadata: dict[str, str | bytes]
    peer: str
    received_at: float
    code: grpc.StatusCode = grpc.StatusCode.OK


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):  # type: ignore[misc]
    def __init__(self, receiver: GrpcReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._receiver._handle(request, context)


class GrpcReceiver(Receiver[GrpcReply, GrpcReceived]):
    """An OTLP/gRPC logs receiver (``LogsService/Export``) on 127.0.0.1 that answers from a
    script.

    An aborting ``GrpcReply`` with ``retry_delay`` sends a ``google.rpc.Status`` holding a
    packed ``google.rpc.RetryInfo`` in the ``grpc-status-details-bin`` trailer, as the
    gRPC rich error model does. Every call is recorded, whatever the answer;
    ``records()`` only counts calls answered OK. ``stop()`` stops the server; ``start()``
    binds the same port again (``SO_REUSEPORT`` is off, so the port is really ours).
    """

    def __init__(self, port: int = 0, credentials: grpc.ServerCredentials | None = None) -> None:
        super().__init__()
        self.port = port
        self.credentials = credentials
        self._server: grpc.Server | None = None
        self._executor: futures.ThreadPoolExecutor | None = None

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:PORT``, as a gRPC channel target."""
        return f"127.0.0.1:{self.port}"

    def _start(self) -> None:
        self._executor = futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="GrpcReceiver"
        )
        server = grpc.server(self._executor, options=[("grpc.so_reuseport", 0)])
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)
        address = f"127.0.0.1:{self.port}"
        if self.credentials is None:
            bound = server.add_insecure_port(address)
        else:
            bound = server.add_secure_port(address, self.credentials)
        if bound == 0:
            self._executor.shutdown()
            raise OSError(f"GrpcReceiver could not bind 127.0.0.1:{self.port}")
        self.port = bound
        server.start()
        self._server = server

    def _stop(self) -> None:
        assert self._server is not None and self._executor is not None
        self._server.stop(grace=None).wait(STOP_TIMEOUT)
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._server = self._executor = None

    def _records(self) -> list[FlatRecord]:
        return [
            flat
            for received in self._requests
            if received.code == grpc.StatusCode.OK
            for flat in flatten(received.request)
        ]

    def _describe(self, received: GrpcReceived) -> str:
        return f"Export from {received.peer} -> {received.code.name}"

    def _handle(self, request: Any, context: grpc.ServicerContext) -> Any:
        received_at = time.monotonic()
        metadata = {item.key.lower(): item.value for item in context.invocation_metadata()}
        received = GrpcReceived(
            request=request, metadata=metadata, peer=context.peer(), received_at=received_at
        )
        self._record(received)
        reply = self._next_reply() or GrpcReply()
        self._sleep(reply.delay)
        code = reply.code

        def update() -> None:
            received.code = code or grpc.StatusCode.OK

        self._settle(update)
        if code is None:
            return export_response(reply.partial_success)
        if reply.retry_delay is not None:
            details = any_pb2.Any()
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(round(reply.retry_delay * 1e9))
            details.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
            rich_status = status_pb2.Status(
                code=code.value[0], message=reply.message, details=[details]
            )
            context.set_trailing_metadata(((STATUS_DETAILS_KEY, rich_status.SerializeToString()),))
        context.abort(code, reply.message)


def rich_status(error: grpc.RpcError) -> Any:
    """The ``google.rpc.Status`` a server sent in ``grpc-status-details-bin``, or ``None``."""
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            return status_pb2.Status.FromString(value)
    return None
