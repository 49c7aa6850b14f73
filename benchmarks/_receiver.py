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
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gzip
import http.client
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

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

LOGS_PATH = "/v1/logs"
GRPC_SERVICE = "opentelemetry.proto.collector.logs.v1.LogsService"
MAX_BODY = 64 * 1024 * 1024
MAX_HEAD = 64 * 1024
WAIT_POLL_S = 0.0005
LATENCY_CAPACITY = 4_000_000

_EMPTY_RESPONSE: bytes = ExportLogsServiceResponse().SerializeToString()


def count_records(payload: bytes) -> int:
    """Decode one OTLP ``ExportLogsServiceRequest`` and return how many log records it holds.

    Raises:
        google.protobuf.message.DecodeError: ``payload`` is not a valid request.
    """
    return _count(ExportLogsServiceRequest.FromString(payload))


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


def _count(request: ExportLogsServiceRequest) -> int:
    """How many log records a decoded request holds."""
    return sum(
        len(scope_logs.log_records)
        for resource_logs in request.resource_logs
        for scope_logs in resource_logs.scope_logs
    )


class LatencyRecorder:
    """Delivery latency per record: arrival time minus the send time the record carries.

    Args:
        attribute: The attribute holding the sender's ``time.time_ns()``.
        capacity: Most samples kept between resets (8 bytes each); later ones are counted
            in ``over_capacity`` only.
    """

    def __init__(self, attribute: str, capacity: int = LATENCY_CAPACITY) -> None:
        self.attribute = attribute
        self._capacity = capacity
        self._lock = threading.Lock()
        self._samples = array("q")
        self._missing = 0
        self._over = 0

    def add(self, request: ExportLogsServiceRequest, arrived_ns: int) -> None:
        """Add the latency of every record in ``request``; ``arrived_ns`` is its arrival."""
        key = self.attribute
        found: list[int] = []
        missing = 0
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                records = scope_logs.log_records
                # A scope whose first record lacks the attribute is another workload's.
                if not records or not any(kv.key == key for kv in records[0].attributes):
                    missing += len(records)
                    continue
                for record in records:
                    for kv in record.attributes:
                        if kv.key == key:
                            found.append(arrived_ns - kv.value.int_value)
                            break
                    else:
                        missing += 1
        with self._lock:
            self._missing += missing
            room = self._capacity - len(self._samples)
            self._samples.extend(found[:room] if room < len(found) else found)
            self._over += max(0, len(found) - room)

    def reset(self) -> None:
        """Forget every sample."""
        with self._lock:
            self._samples = array("q")
            self._missing = self._over = 0

    def summary(self) -> dict[str, Any]:
        """Count, min, p50, p99, p99.9 and max in ns (``None`` when there is no sample)."""
        with self._lock:
            ordered = sorted(self._samples)
            missing, over = self._missing, self._over
        n = len(ordered)
        return {
            "count": n,
            "missing": missing,
            "over_capacity": over,
            "min_ns": ordered[0] if n else None,
            "p50_ns": nearest_rank(ordered, 0.5),
            "p99_ns": nearest_rank(ordered, 0.99),
            "p999_ns": nearest_rank(ordered, 0.999),
            "max_ns": nearest_rank(ordered, 1.0),
            "mean_ns": sum(ordered) / n if n else None,
        }


def nearest_rank(ordered: Sequence[int], q: float) -> int | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1) of sorted values; ``None`` if empty."""
    n = len(ordered)
    return ordered[min(n - 1, max(0, math.ceil(q * n - 1e-9) - 1))] if n else None


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


def _decompress(body: bytes, encoding: str) -> bytes:
    """Undo a ``Content-Encoding``; raise ``ValueError`` for one we do not accept."""
    if not encoding or encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    raise ValueError(f"unsupported content-encoding {encoding!r}")


def _response(status: str, body: bytes = b"", content_type: str = "", close: bool = False) -> bytes:
    """One complete HTTP/1.1 response."""
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
    if content_type:
        head.append(f"Content-Type: {content_type}")
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


_OK_EMPTY = _response("200 OK", _EMPTY_RESPONSE, "application/x-protobuf")


def _json_response(document: dict[str, Any], close: bool = False) -> bytes:
    """A 200 response with a JSON body."""
    return _response("200 OK", json.dumps(document).encode(), "application/json", close)


class _Request:
    """The parts of a parsed request head the receiver looks at."""

    __slots__ = ("chunked", "close", "content_length", "encoding", "method", "target")

    def __init__(self, method: str, target: str, headers: dict[str, str], http10: bool) -> None:
        self.method = method
        self.target = target
        self.encoding = headers.get("content-encoding", "").strip().lower()
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self.content_length = int(headers.get("content-length", "0") or "0")
        connection = headers.get("connection", "").lower()
        self.close = "close" in connection or (http10 and "keep-alive" not in connection)


class _BadRequest(Exception):
    """The bytes on a connection are not HTTP/1.1 we understand; the connection is closed."""


class _HttpProtocol(asyncio.Protocol):
    """One HTTP/1.1 connection: parses requests from the byte stream and answers in order."""

    def __init__(self, counters: Counters, latency: LatencyRecorder | None = None) -> None:
        self._counters = counters
        self._latency = latency
        self._arrived_ns = 0
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._head: _Request | None = None
        self._chunks: list[bytes] = []
        self._waiting: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if self._waiting is not None:
            self._waiting.cancel()

    def data_received(self, data: bytes) -> None:
        self._arrived_ns = time.time_ns()
        self._buffer += data
        if self._waiting is None:
            self._process()

    def _process(self) -> None:
        """Handle every complete request in the buffer (stops at a pending ``/wait``)."""
        transport = self._transport
        out: list[bytes] = []
        try:
            while transport is not None and self._waiting is None:
                request, body = self._next_request()
                if request is None or body is None:
                    break
                reply = self._handle(request, body)
                if reply is None:
                    break
                out.append(reply)
                if request.close:
                    transport.write(b"".join(out))
                    transport.close()
                    return
        except _BadRequest as exc:
            out.append(_response("400 Bad Request", str(exc).encode(), "text/plain", close=True))
            if transport is not None:
                transport.write(b"".join(out))
                transport.close()
            return
        if out and transport is not None:
            transport.write(b"".join(out) if len(out) > 1 else out[0])

    def _next_request(self) -> tuple[_Request | None, bytes | None]:
        """Take one complete request off the buffer, or return ``(head, None)``."""
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    raise _BadRequest("request head too large")
                return None, None
            self._head = self._parse_head(bytes(buffer[:end]))
            del buffer[: end + 4]
        head = self._head
        if head.chunked:
            body = self._take_chunked()
            if body is None:
                return head, None
        else:
            if len(buffer) < head.content_length:
                return head, None
            body = bytes(buffer[: head.content_length])
            del buffer[: head.content_length]
        self._head = None
        return head, body

    @staticmethod
    def _parse_head(raw: bytes) -> _Request:
        """Parse a request line and headers."""
        try:
            lines = raw.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            request = _Request(method, target, headers, version == "HTTP/1.0")
        except ValueError as exc:
            raise _BadRequest(f"malformed request head: {exc}") from exc
        if request.content_length < 0 or request.content_length > MAX_BODY:
            raise _BadRequest("bad content-length")
        return request

    def _take_chunked(self) -> bytes | None:
        """Decode a chunked body once all of it (with the trailer) is buffered."""
        buffer = self._buffer
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return None
            try:
                size = int(bytes(buffer[:line_end]).split(b";", 1)[0], 16)
            except ValueError as exc:
                raise _BadRequest("bad chunk size") from exc
            if size == 0:
                trailer_end = buffer.find(b"\r\n\r\n", line_end)
                if trailer_end < 0:
                    return None
                del buffer[: trailer_end + 4]
                body = b"".join(self._chunks)
                self._chunks = []
                return body
            if len(buffer) < line_end + 2 + size + 2:
                return None
            self._chunks.append(bytes(buffer[line_end + 2 : line_end + 2 + size]))
            del buffer[: line_end + 2 + size + 2]

    def _handle(self, request: _Request, body: bytes) -> bytes | None:
        """Answer one request; ``None`` means a ``/wait`` task will answer it later."""
        path, _, query = request.target.partition("?")
        if request.method == "POST" and path == LOGS_PATH:
            try:
                decoded = decode_request(_decompress(body, request.encoding))
            except Exception as exc:
                self._counters.error()
                return _response("400 Bad Request", repr(exc).encode(), "text/plain")
            if self._latency is not None:
                self._latency.add(decoded, self._arrived_ns)
            self._counters.add(_count(decoded), len(body))
            return _OK_EMPTY
        if request.method == "GET" and path == "/count":
            return _json_response(self._counters.snapshot(), request.close)
        if request.method == "POST" and path == "/reset":
            if self._latency is not None:
                self._latency.reset()
            return _json_response(self._counters.reset(), request.close)
        if request.method == "GET" and path == "/latency" and self._latency is not None:
            return _json_response(self._latency.summary(), request.close)
        if request.method == "GET" and path == "/wait":
            params = parse_qs(urlsplit(request.target).query or query)
            try:
                target = int(params["records"][0])
                timeout = float(params.get("timeout", ["10"])[0])
            except (KeyError, ValueError):
                return _response("400 Bad Request", b"records=N required", "text/plain")
            self._waiting = asyncio.get_running_loop().create_task(
                self._wait(target, timeout, request.close)
            )
            return None
        return _response("404 Not Found", b"", "text/plain", request.close)

    async def _wait(self, target: int, timeout: float, close: bool) -> None:
        """Answer a ``/wait`` once the count reaches ``target`` or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        counters = self._counters
        while counters.records < target and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL_S)
        document: dict[str, Any] = dict(counters.snapshot())
        document["reached"] = document["records"] >= target
        self._waiting = None
        transport = self._transport
        if transport is None:
            return
        transport.write(_json_response(document, close))
        if close:
            transport.close()
        else:
            self._process()


def _start_grpc(
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
            return _EMPTY_RESPONSE
        if latency is not None:
            latency.add(decoded, arrived_ns)
        counters.add(_count(decoded), len(payload))
        return _EMPTY_RESPONSE

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


async def _serve(args: argparse.Namespace) -> None:
    """Run both servers until a signal (or stdin EOF, if asked) says stop."""
    counters = Counters()
    latency = LatencyRecorder(args.latency_attribute) if args.latency_attribute else None
    loop = asyncio.get_running_loop()
    http_server = await loop.create_server(
        lambda: _HttpProtocol(counters, latency), "127.0.0.1", args.http_port, backlog=128
    )
    http_port = http_server.sockets[0].getsockname()[1]
    grpc_server, grpc_port = (None, 0)
    if args.grpc_port >= 0:
        grpc_server, grpc_port = _start_grpc(counters, args.grpc_port, args.grpc_workers, latency)

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
