"""An OTLP round trip: fapilog-otel -> a real collector (rotel) -> a sink that prints.

Run by ``make demo`` after the quickstart. It starts rotel (an OpenTelemetry collector,
installed from PyPI with the dev extra) on loopback, and a small OTLP/gRPC sink that rotel
forwards to; then a container sends records to rotel over OTLP/HTTP protobuf, the sink
decodes them with the official protobuf classes and prints what arrived, and everything is
stopped. Pointing at your own collector is only configuration::

    OTEL_LOGS_EXPORTER=otlp OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318 python app.py
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import rotel
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.sdk.trace import TracerProvider

import fapilog_otel as fo


class PrintingSink(logs_service_pb2_grpc.LogsServiceServicer):  # type: ignore[misc]
    """An OTLP/gRPC logs service that keeps what it receives."""

    def __init__(self) -> None:
        self.records: list[tuple[str, Any]] = []
        self.arrived = threading.Condition()

    def Export(self, request: Any, context: Any) -> Any:
        with self.arrived:
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        self.records.append((scope_logs.scope.name, record))
            self.arrived.notify_all()
        return logs_service_pb2.ExportLogsServiceResponse()


def plain(value: Any) -> Any:
    """A scalar OTLP AnyValue as its Python value."""
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """Wait until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"the collector did not start listening on port {port}")


def main() -> None:
    sink = PrintingSink()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(sink, server)
    sink_port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    grpc_port, http_port = free_port(), free_port()
    workdir = Path(tempfile.mkdtemp(prefix="fapilog-demo-"))
    collector = subprocess.Popen(
        [
            str(Path(rotel.__file__).parent / "rotel-agent"),
            "start",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{grpc_port}",
            "--otlp-http-endpoint",
            f"127.0.0.1:{http_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            f"http://127.0.0.1:{sink_port}",
            "--otlp-exporter-protocol",
            "grpc",
            "--batch-timeout",
            "50ms",
            "--log-file",
            str(workdir / "rotel.log"),
            "--pid-file",
            str(workdir / "rotel.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(http_port, collector)
        settings = fo.Settings(
            service_name="otlp-demo",
            exporters=["otlp"],
            otlp={"endpoint": f"http://127.0.0.1:{http_port}/v1/logs"},
        )
        tracer = TracerProvider().get_tracer("demo")
        with fo.Container(settings) as container:
            log = container.get_logger("checkout")
            log.info("order placed", order_id=123, amount=9.99)
            with tracer.start_as_current_span("charge"):
                log.warning("card declined, retrying", attempt=1)
            container.get_logger("audit").event("user.login", user_id=7)
            container.flush(10)
            stats = container.stats()
        with sink.arrived:
            sink.arrived.wait_for(lambda: len(sink.records) >= 3, timeout=10)
        print(f"# exported by fapilog-otel: {stats['exported']}; arrived at the sink via rotel:")
        for scope, record in sink.records:
            attrs = {kv.key: plain(kv.value) for kv in record.attributes}
            body = record.body.string_value or record.event_name
            trace = record.trace_id.hex() or "-"
            print(f"#   [{scope}] {record.severity_text:<7} {body!r} {attrs} trace={trace}")
    finally:
        collector.terminate()
        collector.wait(10)
        server.stop(None)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
