"""An exporter written only against the OpenTelemetry SDK's ``LogRecordExporter``.

It works in a plain SDK pipeline (``BatchLogRecordProcessor(JsonLinesExporter())``) and, by
its entry-point name ``template_jsonl``, in fapilog-otel, which hands it SDK records.
"""

from __future__ import annotations

import base64
import json
import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

__all__ = ["DEFAULT_PATH", "PATH_VARIABLE", "JsonLinesExporter"]

#: The environment variable naming the file, when no path is passed.
PATH_VARIABLE = "FAPILOG_TEMPLATE_JSONL_PATH"
#: The file written when neither a path nor the variable is given.
DEFAULT_PATH = "fapilog-template.jsonl"


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: bytes in base64, non-finite floats as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_line(record: ReadableLogRecord) -> str:
    """One SDK record as one JSON line (ASCII, so any string encodes)."""
    inner = record.log_record
    scope = record.instrumentation_scope
    data = {
        "timestamp": inner.timestamp,
        "severity_text": inner.severity_text,
        "severity_number": inner.severity_number.value if inner.severity_number else None,
        "body": _plain(inner.body),
        "event_name": inner.event_name,
        "scope": scope.name if scope is not None else None,
        "trace_id": f"{inner.trace_id:032x}" if inner.trace_id else None,
        "span_id": f"{inner.span_id:016x}" if inner.span_id else None,
        "attributes": _plain(dict(inner.attributes or {})),
        "resource": _plain(dict(record.resource.attributes)),
    }
    return json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"


class JsonLinesExporter(LogRecordExporter):
    """Appends each record to a file as one JSON line.

    Args:
        path: The file; by default ``$FAPILOG_TEMPLATE_JSONL_PATH``, else
            ``fapilog-template.jsonl`` in the working directory. Missing directories are
            created on the first export.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path or os.environ.get(PATH_VARIABLE) or DEFAULT_PATH)
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        self._shut_down = False

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        """Write the batch with one ``write``; ``FAILURE`` after shutdown or on an OS error."""
        text = "".join(to_line(record) for record in batch)
        with self._lock:
            if self._shut_down:
                return LogRecordExportResult.FAILURE
            try:
                if self._file is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._file = self.path.open("a", encoding="ascii")
                self._file.write(text)
                self._file.flush()
            except OSError:
                return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export is written through already; nothing is buffered."""
        return True

    def shutdown(self) -> None:
        """Close the file; later exports fail. Calling it again does nothing."""
        with self._lock:
            self._shut_down = True
            file, self._file = self._file, None
        if file is not None:
            file.close()
