"""Servers the tests send to: the osmem emulator and a scripted ``_bulk`` server."""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from osmem_server import resolve_binary


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Emulator:
    """A running ``osmem-server``, with helpers to read back what was indexed."""

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """One JSON request to the emulator."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read() or b"{}")

    def search(self, index: str) -> list[dict[str, Any]]:
        """Every document's ``_source`` in ``index`` (a name or pattern), oldest first."""
        self.request("POST", f"/{index}/_refresh")
        query = {"size": 1000, "sort": [{"@timestamp": "asc"}]}
        hits = self.request("POST", f"/{index}/_search", query)["hits"]["hits"]
        return [hit["_source"] for hit in hits]

    def indices(self) -> set[str]:
        """The names of the indices that exist."""
        with urllib.request.urlopen(self.url + "/_cat/indices?format=json", timeout=10) as answer:
            return {row["index"] for row in json.loads(answer.read())}


@contextmanager
def emulator() -> Iterator[Emulator]:
    """``osmem-server``, an in-memory OpenSearch-compatible emulator, started on a free port
    in a subprocess (its own binary, from the ``osmem-server`` wheel).

    It answers the ``_bulk``, ``_search``, ``_refresh`` and ``_cat/indices`` APIs with real
    per-item results (a document that does not fit the dynamic mapping fails with
    ``mapper_parsing_exception``) and accepts gzipped requests. It does not model: security
    (it accepts any ``Authorization`` header, or none), back-pressure (it never answers a
    whole request or an item with 429 or 5xx), shards, replicas, index templates, ILM and
    real data streams (a ``create`` into a data stream name makes a plain index).
    """
    process = subprocess.Popen(
        [resolve_binary(), "--no-ja", "--addr", f"127.0.0.1:{free_port()}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        yield Emulator(ready["url"])
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ScriptedBulk:
    """A small real HTTP server answering ``POST /_bulk`` with scripted replies.

    The emulator never fails a document or a request with 429 or 5xx, so these tests use
    this server to prove which documents are sent again. Each reply is ``(status, body,
    headers)``, or a callable of the request's documents giving one; when the script runs
    out, every document is answered ``201``. It parses NDJSON bodies (gzipped or not) and
    records each request's headers and (action, document) pairs; it does not index anything.
    """

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[dict[str, str], list[tuple[dict[str, Any], dict[str, Any]]]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                lines = [json.loads(line) for line in raw.splitlines() if line]
                pairs = list(zip(lines[::2], lines[1::2], strict=True))
                outer.requests.append((dict(self.headers), pairs))
                reply = outer.replies.pop(0) if outer.replies else items(*[201] * len(pairs))
                if callable(reply):
                    reply = reply(pairs)
                status, body, headers = reply
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedBulk:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def messages(self, request: int) -> list[str]:
        """The ``message`` of each document of one request."""
        return [document["message"] for _, document in self.requests[request][1]]


def items(*statuses: int | tuple[int, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A 200 bulk reply with one item per status (``(status, error type)`` for a failure)."""
    out = []
    for entry in statuses:
        status, kind = entry if isinstance(entry, tuple) else (entry, "error")
        result: dict[str, Any] = {"_index": "x", "status": status}
        if status >= 300:
            result["error"] = {"type": kind, "reason": "scripted"}
        out.append({"index": result})
    errors = any(item["index"]["status"] >= 300 for item in out)
    return 200, {"took": 1, "errors": errors, "items": out}, {}
