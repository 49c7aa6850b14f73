"""The one place (this package) that touches the OpenTelemetry SDK's logs internals.

``opentelemetry.sdk._logs`` (and the API's ``opentelemetry._logs``) are still marked
"Development" upstream and change between releases, so every use of them is kept here:

* :class:`SdkRecordConverter` / :func:`to_sdk_record` turn our :class:`LogRecord` into the
  SDK's ``ReadableLogRecord`` for SDK exporters;
* :class:`SdkExporterAdapter` lets any SDK ``LogRecordExporter`` serve as an
  :class:`~fapilog_otel.typing.Exporter`;
* :func:`raw_from_sdk` and :class:`ProviderBridgeProcessor` carry records emitted through a
  container's SDK ``LoggerProvider`` (for example by OTel's own ``LoggingHandler``) into the
  container's pipeline;
* :func:`make_logger_provider` builds that provider;
* :func:`records_from_sdk` / :func:`sdk_export_result` let our exporters serve in a plain
  SDK pipeline;
* :class:`SdkProcessorAdapter` runs an SDK ``LogRecordProcessor`` in a container, and
  :class:`FapilogProcessor` runs one of our processors in a plain SDK ``LoggerProvider``.

Trace correlation: the API ``LogRecord`` constructor derives ``trace_id``/``span_id``/
``trace_flags`` from a ``Context``. We always pass one: a context holding a
``NonRecordingSpan`` for the record's ids, or a constant span-less context when the record has
no trace. Passing ``None`` (or an empty context) would make the constructor read the
*current* context of the exporter thread and could attach an unrelated span to the record.
The ``trace_id=`` keyword overload is deprecated since 1.35 and announced for removal, so it
is not used; the cost of building the context is paid once per run of records sharing a span.
"""

from __future__ import annotations

from opentelemetry.sdk._logs import LoggerProvider

from fapilog_otel._sdk._batch import BatchLogRecordProcessor
from fapilog_otel._sdk._bridge import ProviderBridgeProcessor, make_logger_provider, raw_from_sdk
from fapilog_otel._sdk._exporters import SdkExporterAdapter, is_sdk_exporter, unlimited_limits
from fapilog_otel._sdk._inbound import records_from_sdk, sdk_export_result
from fapilog_otel._sdk._processors import FapilogProcessor, SdkProcessorAdapter, is_sdk_processor
from fapilog_otel._sdk._records import SdkRecordConverter, to_sdk_record

__all__ = [
    "BatchLogRecordProcessor",
    "FapilogProcessor",
    "LoggerProvider",
    "ProviderBridgeProcessor",
    "SdkExporterAdapter",
    "SdkProcessorAdapter",
    "SdkRecordConverter",
    "is_sdk_exporter",
    "is_sdk_processor",
    "make_logger_provider",
    "raw_from_sdk",
    "records_from_sdk",
    "sdk_export_result",
    "to_sdk_record",
    "unlimited_limits",
]
