"""The receiver's OTLP/gRPC side: a generic ``LogsService/Export`` handler on a thread pool."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from benchmarks._receiver_counting import EMPTY_RESPONSE, MAX_BODY, Counters, records_in
from benchmarks._receiver_latency import LatencyRecorder

__all__ = ["GRPC_SERVICE", "start_grpc"]

GRPC_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"


def start_grpc(
    counters: Counters, port: int, workers: int, latency: LatencyRecorder | None
) -> tuple[Any, int]:
    """Start the OTLP/gRPC server; return it and the port it listens on."""
    import grpc

    def export(payload: bytes, context: Any) -> bytes:
        arrived_ns = time.time_ns()
        try:
            decoded = ExportLogsServiceRequest.FromString(payload)
        except Exception as exc:
            counters.error()
            context.set_code(grpc.StatusCode.INVALID_ARGUMENT)
            context.set_details(repr(exc))
            return EMPTY_RESPONSE
        if latency is not None:
            latency.add(decoded, arrived_ns)
        counters.add(records_in(decoded), len(payload))
        return EMPTY_RESPONSE

    handler = grpc.method_handlers_generic_handler(
        GRPC_SERVICE,
        {
            "Export": grpc.unary_unary_rpc_method_handler(
                export, request_deserializer=None, response_serializer=None
            )
        },
    )
    server = grpc.server(
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="otlp-grpc"),
        handlers=(handler,),
        options=(("grpc.max_receive_message_length", MAX_BODY),),
    )
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, bound
