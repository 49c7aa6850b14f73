"""The minimal HTTP/1.1 client of the OTLP/HTTP transport, against scripted servers.

The receivers of the integration tests are well-behaved HTTP servers; the shapes of answer
tested here (chunked bodies, informational answers, HTTP/1.0, bodies without a length,
broken status lines) come from RFC 9112 and are written byte by byte, on a real TCP socket:
a thread accepts connections, reads each request by its ``Content-Length`` and answers with
the next scripted bytes (or closes).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.otlp._http import HttpTransport
from fapilog_otel.otlp._http11 import ClosedBeforeAnswer, Connection, ProtocolError

LIMIT = 1000


class ThenClose(bytes):
    """A scripted reply after which the server closes the connection."""


class ScriptedServer:
    """Answers each request with the next scripted reply; ``None`` closes the connection
    instead of answering, a :class:`ThenClose` reply closes it after answering."""

    def __init__(self, replies: list[bytes | None]) -> None:
        self.replies = list(replies)
        self.requests: list[bytes] = []
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self.replies:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn, conn.makefile("rb") as reader:
                while self.replies:
                    request = self._read_request(reader)
                    if request is None:
                        break
                    self.requests.append(request)
                    reply = self.replies.pop(0)
                    if reply is None:
                        break
                    conn.sendall(reply)
                    if isinstance(reply, ThenClose):
                        break

    @staticmethod
    def _read_request(reader: socket.SocketIO | object) -> bytes | None:
        head = b""
        length = 0
        while True:
            line = reader.readline()  # type: ignore[attr-defined]
            if not line:
                return None
            head += line
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
            if line == b"\r\n":
                return head + reader.read(length)  # type: ignore[attr-defined,no-any-return]

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def serve() -> Iterator[type[ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(replies: list[bytes | None]) -> ScriptedServer:
        server = ScriptedServer(replies)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


def connect(server: ScriptedServer, limit: int = LIMIT) -> Connection:
    return Connection("127.0.0.1", server.port, "/v1/logs", {"X-Test": "1"}, None, limit)


def test_request_head_and_body_are_sent(serve):
    server = serve([b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    response = connect(server).post(b"payload", 5)
    assert (response.status, response.reason, response.body) == (200, "OK", b"ok")
    request = server.requests[0]
    assert request.startswith(b"POST /v1/logs HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n".encode() in request
    assert b"X-Test: 1\r\n" in request
    assert request.endswith(b"Content-Length: 7\r\n\r\npayload")


def test_keep_alive_reuses_one_connection(serve):
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    server = serve([reply, reply, reply])
    conn = connect(server)
    for _ in range(3):
        assert conn.post(b"x", 5).status == 200
    assert server.connections == 1


def test_chunked_body_is_joined(serve):
    server = serve(
        [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
        ]
    )
    conn = connect(server)
    assert conn.post(b"x", 5).body == b"abcde"
    assert conn.is_open


def test_chunked_body_beyond_the_limit_is_cut_and_the_connection_dropped(serve):
    server = serve(
        [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n0\r\n\r\n"]
    )
    conn = connect(server, limit=5)
    assert conn.post(b"x", 5).body == b"12345"
    assert not conn.is_open


def test_informational_answers_are_skipped(serve):
    server = serve(
        [b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 1\r\n\r\nz"]
    )
    response = connect(server).post(b"x", 5)
    assert (response.status, response.body) == (202, b"z")


def test_connection_close_and_http10_close_the_socket(serve):
    server = serve(
        [
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        ]
    )
    conn = connect(server)
    conn.post(b"x", 5)
    assert not conn.is_open
    server10 = serve([b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"])
    conn10 = connect(server10)
    conn10.post(b"x", 5)
    assert not conn10.is_open


def test_http10_keep_alive_keeps_the_socket(serve):
    server = serve([b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"])
    conn = connect(server)
    conn.post(b"x", 5)
    assert conn.is_open


def test_body_without_length_is_read_to_the_end(serve):
    server = serve([ThenClose(b"HTTP/1.1 500 Oops\r\n\r\nall of it")])
    conn = connect(server)
    response = conn.post(b"x", 5)
    assert (response.status, response.reason, response.body) == (500, "Oops", b"all of it")
    assert not conn.is_open


def test_long_body_is_cut_at_the_limit_and_the_connection_dropped(serve):
    server = serve([b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + b"a" * 2000])
    conn = connect(server)
    assert len(conn.post(b"x", 5).body) == LIMIT
    assert not conn.is_open


def test_repeated_headers_are_joined_and_names_lower_cased(serve):
    server = serve(
        [b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nRetry-After:  7 \r\nContent-Length: 0\r\n\r\n"]
    )
    response = connect(server).post(b"x", 5)
    assert response.header("x-a") == "1, 2"
    assert response.header("retry-after") == "7"
    assert response.header("missing") == ""


@pytest.mark.parametrize(
    "reply",
    [
        b"SPDY/3 200 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n",
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70000 + b"\r\n\r\n",
    ],
    ids=[
        "not-http",
        "status-digits",
        "header-colon",
        "length-text",
        "length-negative",
        "chunk-size",
        "too-many-headers",
        "header-too-long",
    ],
)
def test_malformed_answers_raise_protocol_error_and_close(serve, reply):
    server = serve([reply, None])
    conn = connect(server)
    with pytest.raises(ProtocolError):
        conn.post(b"x", 5)
    assert not conn.is_open


def test_short_body_raises_protocol_error(serve):
    server = serve([ThenClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")])
    with pytest.raises(ProtocolError, match="3 of 10"):
        connect(server).post(b"x", 5)


def test_close_without_answer_is_reported_as_stale(serve):
    server = serve([None])
    with pytest.raises(ClosedBeforeAnswer):
        connect(server).post(b"x", 5)


def test_stale_reused_connection_is_retried_on_a_fresh_one(serve):
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    server = serve([ok, None, ok])
    transport = HttpTransport(
        f"http://127.0.0.1:{server.port}/v1/logs",
        json=False,
        headers={},
        gzip=False,
        context=None,
        user_agent="test",
    )
    assert transport.send(b"a", 5).accepted
    assert transport.send(b"b", 5).accepted
    assert server.connections == 2


def test_silent_server_times_out(serve):
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        conn = Connection("127.0.0.1", listener.getsockname()[1], "/", {}, None, LIMIT)
        with pytest.raises(TimeoutError):
            conn.post(b"x", 0.2)
        assert not conn.is_open
    finally:
        listener.close()


@pytest.mark.parametrize(
    "headers",
    [{"bad name": "v"}, {"": "v"}, {"X-Ok": "line\r\nInjected: 1"}, {"X-Ok": "\u20ac"}],
    ids=["space-in-name", "empty-name", "line-break", "not-latin-1"],
)
def test_unsafe_headers_are_refused_when_the_transport_is_made(headers):
    with pytest.raises(ConfigurationError, match="header"):
        HttpTransport(
            "http://127.0.0.1:4318/v1/logs",
            json=False,
            headers=headers,
            gzip=False,
            context=None,
            user_agent="test",
        )


def test_ipv6_host_is_bracketed_in_the_host_header():
    conn = Connection("::1", 4318, "/v1/logs", {}, None, LIMIT)
    assert b"Host: [::1]:4318\r\n" in conn._head
    default = Connection("example.com", 80, "/", {}, None, LIMIT)
    assert b"Host: example.com\r\n" in default._head
