"""A counting OTLP logs receiver, run as its own process by the delivery benchmark.

It speaks OTLP/HTTP (protobuf; HTTP/1.1 keep-alive, pipelining, ``Content-Length`` or
chunked bodies, ``gzip`` accepted) on one port and OTLP/gRPC (``LogsService/Export``, any
compression grpcio accepts) on another. Every export request is decoded with the official
``opentelemetry.proto`` classes and its log records are counted; nothing is stored.

Run it with ``python -m benchmarks._receiver`` (``--help`` for the options). When it is
ready it prints one JSON line on stdout, ``{"http_port": ..., "grpc_port": ...}``. Besides
``POST /v1/logs`` the HTTP port answers, in JSON:

=====================================  ===================================================
``GET /count``                         the counters (``records``, ``requests``, ``bytes``,
                                       ``errors``)
``POST /reset``                        the counters, then sets them to zero
``GET /wait?records=N&timeout=S``      waits until ``records >= N`` or ``S`` seconds have
                                       passed, then the counters plus ``reached``
``GET /latency``                       with ``--latency-attribute``: percentiles of the
                                       per-record delivery latency (see below)
=====================================  ===================================================

With ``--latency-attribute KEY`` the receiver also measures delivery latency: a record
whose attribute ``KEY`` holds an integer ``time.time_ns()`` taken by the sender adds
``arrival - KEY`` to a bounded sample array (:class:`LatencyRecorder`), where ``arrival``
is this process's ``time.time_ns()`` when the request's last bytes were read (for gRPC,
when its handler starts). Sender and receiver must share the machine, hence the clock.
``/reset`` clears the samples along with the counters.

The HTTP side is an :mod:`asyncio` protocol with a small HTTP/1.1 parser rather than
:mod:`http.server`: a benchmark client sends thousands of requests per second on a few
keep-alive connections, and the receiver must not be what limits the measured rate (see
:func:`measure` and ``python -m benchmarks._receiver --self-test``).

This module runs the process and starts, reads and stops it from another one
(:class:`Receiver`, :class:`ReceiverControl`). The parts it is made of live next to it:
:mod:`benchmarks._receiver_http` (the HTTP/1.1 protocol), :mod:`benchmarks._receiver_grpc`
(the gRPC server), :mod:`benchmarks._receiver_counting` (decoding and counting) and
:mod:`benchmarks._receiver_latency` (the latency samples).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from benchmarks._receiver_counting import Counters, count_records
from benchmarks._receiver_grpc import start_grpc
from benchmarks._receiver_http import LOGS_PATH, HttpProtocol
from benchmarks._receiver_latency import LatencyRecorder, nearest_rank

__all__ = [
    "Counters",
    "LatencyRecorder",
    "Receiver",
    "ReceiverControl",
    "count_records",
    "main",
    "measure",
    "nearest_rank",
]


async def _serve(args: argparse.Namespace) -> None:
    """Run both servers until a signal (or stdin EOF, if asked) says stop."""
    counters = Counters()
    latency = LatencyRecorder(args.latency_attribute) if args.latency_attribute else None
    loop = asyncio.get_running_loop()
    http_server = await loop.create_server(
        lambda: HttpProtocol(counters, latency), "127.0.0.1", args.http_port, backlog=128
    )
    http_port = http_server.sockets[0].getsockname()[1]
    grpc_server, grpc_port = (None, 0)
    if args.grpc_port >= 0:
        grpc_server, grpc_port = start_grpc(counters, args.grpc_port, args.grpc_workers, latency)

    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if args.exit_on_stdin_eof:
        # The parent holds our stdin open; EOF means it is gone, even if it was killed.
        stdin = sys.stdin.fileno()

        def on_stdin() -> None:
            if not os.read(stdin, 65536):
                loop.remove_reader(stdin)
                stop.set()

        loop.add_reader(stdin, on_stdin)

    print(json.dumps({"http_port": http_port, "grpc_port": grpc_port}), flush=True)
    try:
        await stop.wait()
    finally:
        http_server.close()
        if grpc_server is not None:
            grpc_server.stop(grace=0.5).wait(2)


class ReceiverControl:
    """Reads and resets a receiver's count over a keep-alive HTTP connection."""

    def __init__(self, http_port: int, timeout: float = 30.0) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=timeout)

    def _call(self, method: str, target: str, timeout: float | None = None) -> dict[str, Any]:
        """One request; the connection is reopened once if the receiver closed it."""
        if timeout is not None:
            self._conn.timeout = timeout + 30.0
            if self._conn.sock is not None:
                self._conn.sock.settimeout(self._conn.timeout)
        for attempt in (1, 2):
            try:
                self._conn.request(method, target)
                response = self._conn.getresponse()
                body = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self._conn.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            raise RuntimeError(f"receiver answered {response.status} to {target}: {body!r}")
        result: dict[str, Any] = json.loads(body)
        return result

    def count(self) -> dict[str, Any]:
        """The receiver's counters."""
        return self._call("GET", "/count")

    def reset(self) -> dict[str, Any]:
        """Zero the counters; return what they were."""
        return self._call("POST", "/reset")

    def wait(self, records: int, timeout: float) -> dict[str, Any]:
        """Wait until the receiver counted ``records`` or ``timeout`` seconds passed."""
        return self._call("GET", f"/wait?records={records}&timeout={timeout}", timeout)

    def latency(self) -> dict[str, Any]:
        """The latency summary (a receiver started with a latency attribute only)."""
        return self._call("GET", "/latency", 60.0)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


class Receiver:
    """The receiver process: started on free ports, stopped (for sure) on exit.

    Use as a context manager; the process also stops by itself if this process dies,
    because it exits when its stdin (a pipe from here) closes.
    """

    def __init__(
        self,
        *,
        grpc: bool = True,
        latency_attribute: str = "",
        startup_timeout: float = 30.0,
    ) -> None:
        self._grpc = grpc
        self._latency_attribute = latency_attribute
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self.http_port = 0
        self.grpc_port = 0

    def __enter__(self) -> Receiver:
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks._receiver",
                "--http-port",
                "0",
                "--grpc-port",
                "0" if self._grpc else "-1",
                "--exit-on-stdin-eof",
                *(
                    ("--latency-attribute", self._latency_attribute)
                    if self._latency_attribute
                    else ()
                ),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parents[1],
        )
        try:
            ports = self._read_ports()
        except BaseException:
            self.stop()
            raise
        self.http_port, self.grpc_port = ports
        return self

    @property
    def pid(self) -> int | None:
        """The receiver's process id while it runs."""
        return None if self._proc is None else self._proc.pid

    def _read_ports(self) -> tuple[int, int]:
        """Wait for the receiver's ready line."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        deadline = time.monotonic() + self._startup_timeout
        os.set_blocking(proc.stdout.fileno(), False)
        buffered = b""
        while b"\n" not in buffered:
            if proc.poll() is not None:
                raise RuntimeError(f"receiver exited with {proc.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise RuntimeError("receiver not ready in time")
            chunk = proc.stdout.read()
            if chunk:
                buffered += chunk
            else:
                time.sleep(0.01)
        ready = json.loads(buffered.split(b"\n", 1)[0])
        return int(ready["http_port"]), int(ready["grpc_port"])

    def stop(self) -> None:
        """Ask the receiver to stop; kill it if it does not within a few seconds."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def measure(
    *, seconds: float = 2.0, connections: int = 2, records_per_request: int = 512
) -> dict[str, float]:
    """Load-test a receiver started in a subprocess over OTLP/HTTP; return its rate.

    Pipelines pre-encoded requests on ``connections`` keep-alive connections from this
    process (one thread each, up to four requests ahead of the replies) for ``seconds``.
    The result counts the records the receiver acknowledged per second, which is the ceiling
    the delivery benchmark can measure against this receiver.
    """
    import socket

    payload = _sample_request(records_per_request)
    request = (
        f"POST {LOGS_PATH} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    answers = [0] * connections

    def client(port: int, index: int, deadline: float) -> None:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            in_flight = 0
            pending = b""
            while True:
                while in_flight < 4 and time.perf_counter() < deadline:
                    sock.sendall(request)
                    in_flight += 1
                if in_flight == 0:
                    return
                pending += sock.recv(65536)
                while (end := pending.find(b"\r\n\r\n")) >= 0:
                    length = int(pending[:end].split(b"Content-Length: ")[1].split(b"\r\n")[0])
                    if len(pending) < end + 4 + length:
                        break
                    pending = pending[end + 4 + length :]
                    in_flight -= 1
                    answers[index] += 1

    with Receiver(grpc=False) as receiver:
        start = time.perf_counter()
        threads = [
            threading.Thread(target=client, args=(receiver.http_port, i, start + seconds))
            for i in range(connections)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
        control = ReceiverControl(receiver.http_port)
        counted = control.count()
        control.close()
    acknowledged = sum(answers) * records_per_request
    return {
        "seconds": elapsed,
        "requests": sum(answers),
        "records_acknowledged": acknowledged,
        "records_counted": counted["records"],
        "records_per_s": acknowledged / elapsed,
    }


def _sample_request(records: int) -> bytes:
    """An encoded request of ``records`` records shaped like the benchmark's."""
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.add(key="service.name", value=AnyValue(string_value="bench"))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "bench"
    now = time.time_ns()
    for i in range(records):
        record = scope_logs.log_records.add(
            time_unix_nano=now + i,
            observed_time_unix_nano=now + i,
            severity_number=9,
            severity_text="INFO",
        )
        record.body.string_value = "message"
        record.attributes.add(key="a", value=AnyValue(string_value="x"))
        record.attributes.add(key="b", value=AnyValue(int_value=1))
        record.attributes.add(key="c", value=AnyValue(bool_value=True))
    payload: bytes = request.SerializeToString()
    return payload


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the receiver."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks._receiver",
        description="Counting OTLP logs receiver (OTLP/HTTP protobuf and OTLP/gRPC).",
    )
    parser.add_argument("--http-port", type=int, default=4318, help="0 picks a free port")
    parser.add_argument(
        "--grpc-port", type=int, default=4317, help="0 picks a free port, -1 disables gRPC"
    )
    parser.add_argument("--grpc-workers", type=int, default=4, help="gRPC handler threads")
    parser.add_argument(
        "--exit-on-stdin-eof", action="store_true", help="stop when stdin closes (parent gone)"
    )
    parser.add_argument(
        "--latency-attribute",
        default="",
        metavar="KEY",
        help="measure arrival - KEY (a sender's time.time_ns()) per record; GET /latency",
    )
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="start a receiver, load it over OTLP/HTTP and print the records/s it sustains",
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> int:
    """Run the receiver (or its self-test); return an exit code."""
    args = _parse_args(argv)
    if args.self_test:
        print(json.dumps(measure(), indent=2))
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
