"""A fake Splunk HTTP Event Collector for the tests: a real HTTP server on 127.0.0.1.

Written from Splunk's public documentation only: "Format events for HTTP Event Collector"
(events as JSON objects one after another, ``event`` required and not blank, ``time``,
``host``, ``source``, ``sourcetype``, ``index``, ``fields``), "Troubleshoot HTTP Event
Collector" (the table of status codes and their HTTP statuses) and "About HTTP Event
Collector Indexer Acknowledgment" (``X-Splunk-Request-Channel``, ``ackId`` in the answer,
``POST /services/collector/ack`` with ``{"acks": [ids]}`` answered ``{"acks": {"id": bool}}``).

What it does: checks ``Authorization: Splunk <token>`` (code 2 without it, 3 for another
scheme, 4 for an unknown token, 1 for a token marked disabled); decodes gzip bodies; parses
the events (code 5 for an empty body, 6 for one that is not JSON objects, 12 for an event
without ``event``, 13 for a blank one, 7 for an index not in ``allowed_indexes``); with
acknowledgment on, requires a channel (code 10), hands out ``ackId`` 0, 1, 2... per channel
and answers the ack endpoint "true" for an id after ``ack_after_polls`` queries (never, when
``None``); with it off, the ack endpoint answers code 14. Scripted answers (``replies``) are
given first, one per event request, before any of these checks.

What it does not model: the raw endpoint, tokens in the query string, the health endpoint,
indexed-field checks (code 15), request size limits, ack ids expiring or the limit on
pending acks, load balancers' channel stickiness, TLS, and the timing of a real indexer.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATUS_OF_CODE = {
    0: 200,
    1: 403,
    2: 401,
    3: 401,
    4: 403,
    5: 400,
    6: 400,
    7: 400,
    8: 500,
    9: 503,
    10: 400,
    11: 400,
    12: 400,
    13: 400,
    14: 400,
}
TEXT_OF_CODE = {
    0: "Success",
    1: "Token disabled",
    2: "Token is required",
    3: "Invalid authorization",
    4: "Invalid token",
    5: "No data",
    6: "Invalid data format",
    7: "Incorrect index",
    8: "Internal server error",
    9: "Server is busy",
    10: "Data channel is missing",
    11: "Invalid data channel",
    12: "Event field is required",
    13: "Event field cannot be blank",
    14: "ACK is disabled",
}


@dataclass
class Request:
    """One request as the fake received it."""

    path: str
    headers: dict[str, str]
    raw: bytes
    body: bytes
    events: list[dict[str, Any]] = field(default_factory=list)


def reply(code: int, **extra: Any) -> tuple[int, dict[str, Any]]:
    """The answer HEC gives for ``code``: its HTTP status and JSON body."""
    return STATUS_OF_CODE[code], {"text": TEXT_OF_CODE[code], "code": code, **extra}


class FakeHec:
    """The fake HEC; use as a context manager. ``url`` is where it listens."""

    def __init__(
        self,
        token: str = "00000000-aaaa-bbbb-cccc-000000000000",
        *,
        ack: bool = False,
        ack_after_polls: int | None = 0,
        disabled_tokens: tuple[str, ...] = (),
        allowed_indexes: tuple[str, ...] | None = None,
    ) -> None:
        self.token = token
        self.ack = ack
        self.ack_after_polls = ack_after_polls
        self.disabled_tokens = disabled_tokens
        self.allowed_indexes = allowed_indexes
        self.replies: list[tuple[int, dict[str, Any]]] = []
        self.requests: list[Request] = []
        self._next_ack: dict[str, int] = defaultdict(int)
        self._polls: dict[tuple[str, int], int] = defaultdict(int)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                status, answer = fake.handle(self.path, dict(self.headers.items()), raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeHec:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def event_requests(self) -> list[Request]:
        """The requests to the event endpoint."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/event")]

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event accepted or not, in order."""
        return [event for request in self.event_requests for event in request.events]

    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        """The answer to one request."""
        lower = {k.lower(): v for k, v in headers.items()}
        body = gzip.decompress(raw) if lower.get("content-encoding") == "gzip" else raw
        request = Request(path, headers, raw, body)
        with self._lock:
            self.requests.append(request)
        auth = lower.get("authorization")
        if auth is None:
            return reply(2)
        scheme, _, token = auth.partition(" ")
        if scheme != "Splunk":
            return reply(3)
        if token in self.disabled_tokens:
            return reply(1)
        if token != self.token:
            return reply(4)
        channel = lower.get("x-splunk-request-channel")
        if path == "/services/collector/ack":
            return self._ack_query(channel, body)
        if path != "/services/collector/event":
            return 404, {"text": "The requested URL was not found on this server.", "code": 404}
        try:
            request.events = _parse_events(body)
        except ValueError:
            return reply(6, **{"invalid-event-number": 0})
        with self._lock:
            if self.replies:
                return self.replies.pop(0)
        if not request.events:
            return reply(5)
        for number, event in enumerate(request.events):
            if "event" not in event:
                return reply(12, **{"invalid-event-number": number})
            if event["event"] == "" or event["event"] is None:
                return reply(13, **{"invalid-event-number": number})
            index = event.get("index")
            if self.allowed_indexes is not None and index not in self.allowed_indexes:
                return reply(7, **{"invalid-event-number": number})
        if not self.ack:
            return reply(0)
        if not channel:
            return reply(10)
        with self._lock:
            ack_id = self._next_ack[channel]
            self._next_ack[channel] += 1
        return reply(0, ackId=ack_id)

    def _ack_query(self, channel: str | None, body: bytes) -> tuple[int, dict[str, Any]]:
        if not self.ack:
            return reply(14)
        if not channel:
            return reply(10)
        ids = json.loads(body)["acks"]
        answer = {}
        with self._lock:
            for ack_id in ids:
                self._polls[(channel, ack_id)] += 1
                polls = self._polls[(channel, ack_id)]
                done = self.ack_after_polls is not None and polls > self.ack_after_polls
                answer[str(ack_id)] = done and ack_id < self._next_ack[channel]
        return 200, {"acks": answer}


def _parse_events(body: bytes) -> list[dict[str, Any]]:
    """JSON objects one after another (whitespace between them allowed)."""
    text = body.decode("utf-8")
    decoder = json.JSONDecoder()
    events, position = [], 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return events
        value, position = decoder.raw_decode(text, position)
        if not isinstance(value, dict):
            raise ValueError("not an object")
        events.append(value)
