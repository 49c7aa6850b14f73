"""Native OTLP export: ``OTEL_LOGS_EXPORTER=otlp``, or :class:`OTLPExporter` directly.

Records are encoded by hand from the library's own records (no SDK objects on the way) as
OTLP protobuf or OTLP/JSON and sent over HTTP or gRPC, with the retry, partial-success and
size rules of the OTLP specification. See ``docs/otlp.md``.
"""

from __future__ import annotations

from fapilog_otel.otlp._exporter import OTLPExporter

__all__ = ["OTLPExporter"]
