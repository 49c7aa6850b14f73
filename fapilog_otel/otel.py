"""Interoperability with a plain OpenTelemetry SDK pipeline.

* :class:`BatchLogRecordProcessor`: our queue and worker as an SDK ``LogRecordProcessor``,
  a drop-in for the SDK's own::

      from opentelemetry.sdk._logs import LoggerProvider
      from fapilog_otel.otel import BatchLogRecordProcessor

      provider = LoggerProvider()
      provider.add_log_record_processor(BatchLogRecordProcessor(my_sdk_exporter))

* :class:`SdkExporterAdapter`: any SDK ``LogRecordExporter`` as one of our exporters
  (``Container(exporters=[...])`` applies it by itself).
"""

from __future__ import annotations

from fapilog_otel._sdk import BatchLogRecordProcessor, SdkExporterAdapter

__all__ = ["BatchLogRecordProcessor", "SdkExporterAdapter"]
