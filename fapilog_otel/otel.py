"""Interoperability with a plain OpenTelemetry SDK pipeline.

* :class:`BatchLogRecordProcessor`: our queue and worker as an SDK ``LogRecordProcessor``,
  a drop-in for the SDK's own::

      from opentelemetry.sdk._logs import LoggerProvider
      from fapilog_otel.otel import BatchLogRecordProcessor

      provider = LoggerProvider()
      provider.add_log_record_processor(BatchLogRecordProcessor(my_sdk_exporter))

* :class:`SdkExporterAdapter`: any SDK ``LogRecordExporter`` as one of our exporters
  (``Container(exporters=[...])`` applies it by itself).
* :class:`SdkProcessorAdapter`: any SDK ``LogRecordProcessor`` as one of our processors
  (``Container(processors=[...])`` and processor plugins apply it by themselves).
* :class:`FapilogProcessor`: one of our processors (a redactor, a filter...) in a plain
  SDK ``LoggerProvider``; records it drops are not passed to the ``downstream``
  processors given to it::

      provider.add_log_record_processor(
          FapilogProcessor(ValueRedactor(), BatchLogRecordProcessor(my_sdk_exporter))
      )
"""

from __future__ import annotations

from fapilog_otel._sdk import (
    BatchLogRecordProcessor,
    FapilogProcessor,
    SdkExporterAdapter,
    SdkProcessorAdapter,
)

__all__ = [
    "BatchLogRecordProcessor",
    "FapilogProcessor",
    "SdkExporterAdapter",
    "SdkProcessorAdapter",
]
