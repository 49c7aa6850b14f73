"""A minimal HTTP/1.1 client connection: one POST at a time on a keep-alive socket.

What OTLP/HTTP export needs and nothing more: the request head is built once and the
body appended; the answer's status line and headers are read with a buffered reader and
split by hand (``http.client`` runs every answer's headers through the ``email`` parser,
which cost the exporter more than the socket calls: about 70 us per request here).

Answers are read as HTTP/1.1 says (RFC 9112): informational (1xx) answers are skipped;
the body is delimited by chunked transfer coding, ``Content-Length`` or the end of the
connection, and read up to a limit; the connection is kept unless the server asked to close
it, answered HTTP/1.0 without keep-alive, or left more body than the limit.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import BinaryIO

#: The longest status or header line accepted, and the most header lines.
MAX_LINE = 65536
MAX_HEADERS = 100

#: Bodies up to this size are sent in one call with the head (one copy, one segment).
_JOIN_LIMIT = 1 << 20


class ProtocolError(Exception):
    """The server's answer is not valid HTTP/1.x."""


class ClosedBeforeAnswer(ConnectionError):
    """The connection closed before the first byte of an answer (a stale keep-alive)."""


class Response:
    """An answer: status, reason, headers (lower-case names) and the body read."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str:
        """The value of header ``name`` (lower case), or ``""``."""
        return self.headers.get(name, "")


class Connection:
    """One keep-alive connection to ``host:port``, opened on first use.

    Args:
        host: The server's host name or address.
        port: Its port.
        path: The request target (path and query).
        headers: Header lines sent with every request (``Content-Length`` is added).
        context: A TLS context for ``https``, else ``None``.
        max_body: The most answer body bytes read; a longer body is cut there and the
            connection dropped afterwards.
    """

    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        headers: dict[str, str],
        context: ssl.SSLContext | None,
        max_body: int,
    ) -> None:
        self._address = (host, port)
        self._context = context
        self._server_hostname = host
        self._max_body = max_body
        default_port = 443 if context is not None else 80
        authority = f"[{host}]" if ":" in host else host
        if port != default_port:
            authority = f"{authority}:{port}"
        lines = [f"POST {path} HTTP/1.1", f"Host: {authority}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        #: The head up to the per-request lines (header lines of one request, then the length).
        self._fixed = ("\r\n".join(lines) + "\r\n").encode("latin-1")
        self._head = self._fixed + b"Content-Length: "
        self._sock: socket.socket | None = None
        self._reader: BinaryIO | None = None

    @property
    def is_open(self) -> bool:
        """Whether a socket is open (a request would reuse it)."""
        return self._sock is not None

    def post(
        self, body: bytes, timeout: float, headers: Mapping[str, str] | None = None
    ) -> Response:
        """Send ``body`` and read the answer, within ``timeout`` seconds per socket call.

        ``headers`` are header lines for this request only (a signature, say), sent after
        the fixed ones; the caller has checked them.

        Raises:
            ClosedBeforeAnswer: A reused connection closed before answering.
            TimeoutError, OSError, ssl.SSLError, ProtocolError: The request failed; the
                connection is closed.
        """
        sock = self._sock
        if sock is None:
            sock = self._open(timeout)
        else:
            sock.settimeout(timeout)
        try:
            head = self._head if not headers else self._request_head(headers)
            head += b"%d\r\n\r\n" % len(body)
            if len(body) <= _JOIN_LIMIT:
                sock.sendall(head + body)
            else:
                sock.sendall(head)
                sock.sendall(body)
            return self._answer()
        except BaseException:
            self.close()
            raise

    def _request_head(self, headers: Mapping[str, str]) -> bytes:
        lines = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return self._fixed + lines.encode("latin-1") + b"Content-Length: "

    def _open(self, timeout: float) -> socket.socket:
        sock = socket.create_connection(self._address, timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._reader = sock.makefile("rb")
        return sock

    def _answer(self) -> Response:
        reader = self._reader
        assert reader is not None
        first = True
        while True:
            line = reader.readline(MAX_LINE + 1)
            if not line:
                if first:
                    raise ClosedBeforeAnswer("the server closed the connection without answering")
                raise ProtocolError("the connection closed in the middle of an answer")
            first = False
            version, status, reason = _status_line(line)
            headers = _headers(reader)
            if 100 <= status < 200 and status != 101:
                continue
            break
        body, complete = self._body(reader, status, headers)
        connection = headers.get("connection", "").lower()
        keep = complete and (
            "close" not in connection and (version == "HTTP/1.1" or "keep-alive" in connection)
        )
        if not keep:
            self.close()
        return Response(status, reason, headers, body)

    def _body(self, reader: BinaryIO, status: int, headers: dict[str, str]) -> tuple[bytes, bool]:
        """The body (at most ``max_body`` bytes) and whether the connection can be reused."""
        if status in (204, 304):
            return b"", True
        limit = self._max_body
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return _chunked(reader, limit)
        length = headers.get("content-length")
        if length is None:
            return reader.read(limit), False
        try:
            size = int(length)
        except ValueError:
            raise ProtocolError(f"invalid Content-Length {length[:40]!r}") from None
        if size < 0:
            raise ProtocolError("negative Content-Length")
        data = _read_exactly(reader, min(size, limit))
        return data, size <= limit

    def close(self) -> None:
        """Close the socket (the next request opens a new one); never raises."""
        sock, reader = self._sock, self._reader
        self._sock = self._reader = None
        for closeable in (reader, sock):
            if closeable is not None:
                try:
                    closeable.close()
                except Exception:
                    continue


def _status_line(line: bytes) -> tuple[str, int, str]:
    if len(line) > MAX_LINE:
        raise ProtocolError("status line too long")
    text = line.decode("latin-1").rstrip("\r\n")
    version, _, rest = text.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {text[:80]!r}")
    return version, int(code), reason.strip()


def _headers(reader: BinaryIO) -> dict[str, str]:
    """Read header lines up to the blank line; repeated names are joined with ``, ``."""
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = reader.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise ProtocolError("the connection closed in the headers")
        if len(line) > MAX_LINE:
            raise ProtocolError("header line too long")
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"malformed header line {line[:80]!r}")
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    raise ProtocolError(f"more than {MAX_HEADERS} header lines")


def _read_exactly(reader: BinaryIO, size: int) -> bytes:
    data = reader.read(size)
    if len(data) < size:
        raise ProtocolError(f"the body ended after {len(data)} of {size} bytes")
    return data


def _chunked(reader: BinaryIO, limit: int) -> tuple[bytes, bool]:
    """A chunked body up to ``limit`` bytes, and whether it was read to its end."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = reader.readline(MAX_LINE + 1)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(f"invalid chunk size {line[:40]!r}") from None
        if size == 0:
            break
        if total + size > limit:
            parts.append(_read_exactly(reader, limit - total))
            return b"".join(parts), False
        parts.append(_read_exactly(reader, size))
        total += size
        reader.readline(MAX_LINE + 1)  # the CRLF after the chunk
    _headers(reader)  # trailer fields, ignored
    return b"".join(parts), True
