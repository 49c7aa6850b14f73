"""Records sent to a webhook by the ``http`` exporter, signed, and verified by the receiver.

The receiver is a plain ``http.server`` in this process; it checks each request's
HMAC-SHA256 signature with :func:`fapilog_otel.exporters.http.verify_signature` and keeps
the records of the requests that verify. Run: ``python examples/webhook_signed.py``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import fapilog_otel as fo
from fapilog_otel.exporters.http import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature

SECRET = "example-shared-secret"
verified: list[dict[str, object]] = []


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        timestamp = self.headers.get(TIMESTAMP_HEADER, "")
        signature = self.headers.get(SIGNATURE_HEADER, "")
        if verify_signature(SECRET, body, timestamp, signature):
            verified.extend(json.loads(body))
            self.send_response(200)
        else:
            self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: no access lines on stderr."""


server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()

settings = fo.Settings(
    exporters=["http"],
    http={"url": f"http://127.0.0.1:{server.server_port}/logs", "secret": SECRET},
)
with fo.Container(settings) as container:
    log = container.get_logger("billing")
    log.info("invoice sent", invoice_id=7, amount=19.5)
    log.warning("invoice overdue", invoice_id=3, days=12)
    assert container.flush(10)

server.shutdown()
print(f"{len(verified)} records verified:", [record["body"] for record in verified])
assert [record["body"] for record in verified] == ["invoice sent", "invoice overdue"]
