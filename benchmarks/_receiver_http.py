"""The receiver's OTLP/HTTP side: an :mod:`asyncio` protocol with a small HTTP/1.1 parser.

It takes HTTP/1.1 keep-alive, pipelining, ``Content-Length`` or chunked bodies and
``gzip`` or ``deflate`` encodings, and answers ``POST /v1/logs`` as well as the control
endpoints listed in :mod:`benchmarks._receiver`. It is not :mod:`http.server` because a
benchmark client sends thousands of requests per second on a few keep-alive connections,
and the receiver must not be what limits the measured rate.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

from benchmarks._receiver_counting import (
    EMPTY_RESPONSE,
    MAX_BODY,
    Counters,
    decode_request,
    records_in,
)
from benchmarks._receiver_latency import LatencyRecorder

__all__ = ["LOGS_PATH", "HttpProtocol"]

LOGS_PATH = "/v1/logs"
MAX_HEAD = 64 * 1024
WAIT_POLL_S = 0.0005


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


_OK_EMPTY = _response("200 OK", EMPTY_RESPONSE, "application/x-protobuf")


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


class HttpProtocol(asyncio.Protocol):
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
            self._counters.add(records_in(decoded), len(body))
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
