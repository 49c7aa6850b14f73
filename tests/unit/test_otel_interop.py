"""Interop with plain OpenTelemetry SDK pipelines, through the public surface."""

from __future__ import annotations

import logging
import warnings

from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

import fapilog_otel as fo
from fapilog_otel.otel import BatchLogRecordProcessor
from fapilog_otel.testing import InMemoryExporter


class TestBatchLogRecordProcessor:
    def test_drop_in_exports_every_record_with_provider_resource_and_scope(self) -> None:
        """The drop-in delivers all records of a plain SDK provider, resource and scope intact."""
        exporter = InMemoryLogRecordExporter()
        provider = LoggerProvider(resource=Resource.create({"service.name": "plain"}))
        processor = BatchLogRecordProcessor(exporter, max_export_batch_size=64)
        provider.add_log_record_processor(processor)
        sdk_logger = provider.get_logger("lib", version="1.2")
        for i in range(500):
            sdk_logger.emit(
                body=f"m{i}",
                attributes={"i": i},
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
            )
        assert True is provider.force_flush(5000)
        finished = exporter.get_finished_logs()
        assert 500 == len(finished)
        assert [f"m{i}" for i in range(500)] == [r.log_record.body for r in finished]
        first = finished[0]
        assert "plain" == first.resource.attributes["service.name"]
        assert ("lib", "1.2") == (
            first.instrumentation_scope.name,
            first.instrumentation_scope.version,
        )
        assert SeverityNumber.WARN == first.log_record.severity_number
        assert 500 == processor.stats()["exported"]
        provider.shutdown()

    def test_constructor_arguments_override_settings(self) -> None:
        """SDK-style arguments land in the processor's settings."""
        processor = BatchLogRecordProcessor(
            InMemoryLogRecordExporter(),
            schedule_delay_millis=7,
            max_export_batch_size=33,
            export_timeout_millis=1234,
            max_queue_size=99,
        )
        batch = processor.settings.batch
        assert (7, 33, 1234, 99) == (
            batch.max_delay_ms,
            batch.max_size,
            batch.export_timeout_ms,
            processor.settings.queue_size,
        )
        processor.shutdown()

    def test_emit_after_shutdown_is_counted_not_raised(self) -> None:
        """A record emitted after shutdown is counted as dropped, never raised."""
        provider = LoggerProvider()
        processor = BatchLogRecordProcessor(InMemoryLogRecordExporter())
        provider.add_log_record_processor(processor)
        processor.shutdown()
        provider.get_logger("late").emit(body="too late")
        assert {"shutdown": 1} == dict(processor.stats()["dropped"])


class TestContainerLoggerProvider:
    def test_sdk_logger_records_flow_through_the_container(self) -> None:
        """Records emitted via container.logger_provider reach the container's exporters."""
        memory = InMemoryExporter()
        with fo.Container(fo.Settings(service_name="bridge"), exporters=[memory]) as c:
            tracer = TracerProvider().get_tracer("t")
            with tracer.start_as_current_span("work") as span:
                c.logger_provider.get_logger("instrumented.lib").emit(
                    body="from sdk",
                    attributes={"k": "v"},
                    severity_number=SeverityNumber.ERROR,
                    severity_text="ERROR",
                )
                ids = span.get_span_context()
            assert True is c.flush()
        [record] = memory.records
        assert ("from sdk", "instrumented.lib", 17, "ERROR") == (
            record.body,
            record.scope.name,
            record.severity_number,
            record.severity_text,
        )
        assert {"k": "v"} == record.attributes
        assert (ids.trace_id, ids.span_id) == (record.trace_id, record.span_id)
        assert "bridge" == record.resource.attributes["service.name"]

    def test_otel_logging_handler_attached_to_the_provider(self) -> None:
        """OTel's own LoggingHandler, given the container's provider, feeds the container."""
        from opentelemetry.sdk._logs import LoggingHandler

        memory = InMemoryExporter()
        with fo.Container(fo.Settings(), exporters=[memory]) as c:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                handler = LoggingHandler(logger_provider=c.logger_provider)
            std = logging.getLogger("otel.handler.test")
            std.propagate = False
            std.addHandler(handler)
            try:
                std.warning("hello %s", "world", extra={"user": "ann"})
            finally:
                std.removeHandler(handler)
            assert True is c.flush()
        [record] = memory.records
        assert ("hello world", "otel.handler.test") == (record.body, record.scope.name)
        assert "ann" == record.attributes["user"]


class TestSdkExportersInContainers:
    def test_sdk_exporter_receives_sdk_records_with_container_resource(self) -> None:
        """An SDK exporter in exporters=[...] gets proper SDK records with resource and scope."""
        exporter = InMemoryLogRecordExporter()
        with fo.Container(fo.Settings(service_name="svc-a"), exporters=[exporter]) as c:
            c.get_logger("orders").warning("late", order_id=5)
            assert True is c.flush()
        [readable] = exporter.get_finished_logs()
        assert "svc-a" == readable.resource.attributes["service.name"]
        assert "orders" == readable.instrumentation_scope.name
        assert ("late", 5) == (readable.log_record.body, readable.log_record.attributes["order_id"])
        assert SeverityNumber.WARN == readable.log_record.severity_number
