"""``HttpReceiver``: an OTLP/HTTP logs receiver for tests that answers from a script."""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from _otlp_receiver_base import (
    JSON,
    PROTOBUF,
    STOP_TIMEOUT,
    ExportLogsServiceRequest,
    FlatRecord,
    Receiver,
    decode_otlp_json,
    export_response,
    flatten,
)
from google.protobuf import json_format
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

#: The ``google.rpc.Code`` sent in the Status body of an HTTP error reply without a body.
_HTTP_TO_RPC_CODE = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    413: code_pb2.RESOURCE_EXHAUSTED,
    415: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    502: code_pb2.UNAVAILABLE,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}


@dataclass(frozen=True)
class Reply:
    """How ``HttpReceiver`` answers one request.

    Attributes:
        status: The HTTP status code.
        headers: Extra response headers, e.g. ``{"Retry-After": "1"}``.
        body: The exact response body. Without it a 2xx gets an ``ExportLogsServiceResponse``
            and any other status a ``google.rpc.Status``, encoded like the request.
        partial_success: ``(rejected_log_records, error_message)`` for a 2xx response.
        delay: Seconds to wait before answering (for client timeout tests).
        close: Close the connection without sending any response.
    """

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    partial_success: tuple[int, str] | None = None
    delay: float = 0.0
    close: bool = False


@dataclass
class Received:
    """One HTTP request as ``HttpReceiver`` saw it.

    Attributes:
        path: The request path, e.g. ``/v1/logs``.
        headers: Request headers with lowercased names (a repeated header keeps its last
            value).
        body: The body after gunzip when it was sent with ``Content-Encoding: gzip``.
        content_type: The media type without parameters, e.g. ``application/x-protobuf``.
        request: The decoded request, ``None`` when decoding failed.
        client_port: The client's port of the connection; equal ports mean keep-alive.
        received_at: ``time.monotonic()`` when the request arrived.
        error: Why decoding failed, ``None`` when it succeeded.
        status: The status answered, ``None`` while unanswered or when the connection was
            closed on purpose.
    """

    path: str
    headers: dict[str, str]
    body: bytes
    content_type: str
    request: logs_service_pb2.ExportLogsServiceRequest | None
    client_port: int
    received_at: float
    error: str | None = None
    status: int | None = None


def _encode(message: Any, content_type: str) -> bytes:
    if content_type == JSON:
        return json.dumps(json_format.MessageToDict(message), separators=(",", ":")).encode()
    data: bytes = message.SerializeToString()
    return data


class _HttpServer(http.server.ThreadingHTTPServer):
    """A threading HTTP server that knows its receiver and its open connections."""

    allow_reuse_address = True
    daemon_threads = False  # server_close() joins the handler threads

    def __init__(
        self, port: int, receiver: HttpReceiver, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.receiver = receiver
        self.ssl_context = ssl_context
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.dropping = False
        super().__init__(("127.0.0.1", port), _HttpHandler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept a connection, doing the TLS handshake first when serving HTTPS."""
        connection, address = super().get_request()
        if self.ssl_context is None:
            return connection, address
        connection.settimeout(5.0)
        try:
            return self.ssl_context.wrap_socket(connection, server_side=True), address
        except OSError:
            connection.close()
            self.receiver._record_handshake_failure()
            raise

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that went away (timeouts, stop())."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        """Shut down every open connection so its handler thread ends."""
        with self.connections_lock:
            self.dropping = True
            for connection in self.connections:
                with contextlib.suppress(OSError):  # the client may have closed it already
                    connection.shutdown(socket.SHUT_RDWR)


class _HttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
            if self.server.dropping:  # accepted just before stop(): end it like the others
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the access log off stderr."""

    def do_POST(self) -> None:
        self.server.receiver._handle(self)

    def read_body(self) -> bytes:
        """The raw request body, de-chunked but still content-encoded."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HttpReceiver(Receiver[Reply, Received]):
    """An OTLP/HTTP logs receiver on 127.0.0.1 that answers from a script.

    Accepts POST on any path (``endpoint`` is the standard ``/v1/logs``), HTTP/1.1
    keep-alive, gzip request bodies, ``application/x-protobuf`` (decoded with
    ``ExportLogsServiceRequest.FromString``) and ``application/json`` (see
    ``decode_otlp_json``: hex ids are converted to base64 first). A body that fails to
    decode gets a 400 with a ``google.rpc.Status`` and is recorded with ``error`` set; it
    does not consume a scripted reply. Other content types get a 415 the same way.

    Every request is recorded, whatever the answer; ``records()`` only counts 2xx answers.
    ``stop()`` closes the listening socket and open connections (connects are refused);
    ``start()`` binds the same port again.
    """

    def __init__(self, port: int = 0, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.port = port
        self.ssl_context = ssl_context
        #: TLS handshakes that failed (an untrusted or missing client certificate...).
        self.handshake_failures = 0
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` with an ``ssl_context``)."""
        scheme = "https" if self.ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def _record_handshake_failure(self) -> None:
        with self._condition:
            self.handshake_failures += 1

    @property
    def endpoint(self) -> str:
        """The standard logs URL, ``http://127.0.0.1:PORT/v1/logs``."""
        return self.url + "/v1/logs"

    def _start(self) -> None:
        self._server = _HttpServer(self.port, self, self.ssl_context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"HttpReceiver:{self.port}",
        )
        self._thread.start()

    def _stop(self) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
        self._server = self._thread = None

    def _records(self) -> list[FlatRecord]:
        return [
            flat
            for received in self._requests
            if received.request is not None and received.status and 200 <= received.status < 300
            for flat in flatten(received.request)
        ]

    def _describe(self, received: Received) -> str:
        return f"POST {received.path} {received.content_type} -> {received.status} {received.error}"

    def _handle(self, handler: _HttpHandler) -> None:
        received_at = time.monotonic()
        headers = {name.lower(): value for name, value in handler.headers.items()}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        body = handler.read_body()
        received = Received(
            path=handler.path,
            headers=headers,
            body=body,
            content_type=content_type,
            request=None,
            client_port=handler.client_address[1],
            received_at=received_at,
        )
        try:
            if headers.get("content-encoding", "").lower() == "gzip":
                body = received.body = gzip.decompress(body)
            if content_type == PROTOBUF:
                received.request = ExportLogsServiceRequest.FromString(body)
            elif content_type == JSON:
                received.request = decode_otlp_json(body)
        except Exception as error:  # any decoding failure is the client's fault: a 400
            received.error = f"{type(error).__name__}: {error}"
        if received.request is None and received.error is None:
            received.error = f"unsupported content type {content_type!r}"
        self._record(received)

        reply_type = content_type if content_type in (PROTOBUF, JSON) else PROTOBUF
        if received.error is not None:
            status = 400 if content_type in (PROTOBUF, JSON) else 415
            body = _encode(
                status_pb2.Status(code=_HTTP_TO_RPC_CODE[status], message=received.error),
                reply_type,
            )
            self._answer(handler, received, status, {"Content-Type": reply_type}, body)
            return

        reply = self._next_reply() or Reply()
        self._sleep(reply.delay)
        if reply.close:
            handler.close_connection = True
            self._settle(lambda: None)
            return
        response_headers = {"Content-Type": reply_type, **reply.headers}
        if reply.body is not None:
            body = reply.body
        elif 200 <= reply.status < 300:
            body = _encode(export_response(reply.partial_success), reply_type)
        elif reply.status >= 400:
            status_message = status_pb2.Status(
                code=_HTTP_TO_RPC_CODE.get(reply.status, code_pb2.UNKNOWN),
                message=handler.responses.get(reply.status, ("error",))[0],
            )
            body = _encode(status_message, reply_type)
        else:
            body = b""
        self._answer(handler, received, reply.status, response_headers, body)

    def _answer(
        self,
        handler: _HttpHandler,
        received: Received,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> None:
        def update() -> None:
            received.status = status

        # Settle before sending so a client that has its answer also sees it recorded.
        self._settle(update)
        handler.send(status, headers, body)
