"""OTLP interop both ways, and equivalence with the official SDK exporters.

* our ``OTLPExporter`` serves as a ``LogRecordExporter`` in a plain OTel SDK pipeline;
* the official OTLP exporters work in a container through the SDK exporter adapter;
* the same logical records sent by ours and by the official exporter decode to the same
  content (apart from fields the SDK does not set).
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as SdkGrpcExporter,
)
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as SdkHttpExporter,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from otlp_receivers import FlatRecord, GrpcReceiver, HttpReceiver, python_value

import fapilog_otel as fo
from fapilog_otel.otlp import OTLPExporter

pytestmark = pytest.mark.integration


def content(flat: FlatRecord, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Everything a received record says, as comparable plain values."""
    resource, scope, rec = flat
    out = {
        "resource": {kv.key: python_value(kv.value) for kv in resource.attributes},
        "scope": (scope.name, scope.version),
        "time": rec.time_unix_nano,
        "observed": rec.observed_time_unix_nano,
        "severity": (rec.severity_number, rec.severity_text),
        "body": python_value(rec.body),
        "attributes": {kv.key: python_value(kv.value) for kv in rec.attributes},
        "dropped": rec.dropped_attributes_count,
        "ids": (rec.trace_id, rec.span_id, rec.flags),
        "event_name": rec.event_name,
    }
    for name in skip:
        out.pop(name)
    return out


class TestOursInAnSdkPipeline:
    def test_sdk_provider_exports_through_our_exporter(self, http_receiver: HttpReceiver) -> None:
        """SDK LoggerProvider -> SimpleLogRecordProcessor -> OTLPExporter -> receiver."""
        exporter = OTLPExporter(http_receiver.endpoint, diagnostics=False)
        provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-app"}))
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("s") as span:
            provider.get_logger("lib", "2.0").emit(
                body="from the sdk",
                severity_text="WARN",
                attributes={"k": "v", "n": 3},
                event_name="lib.event",
            )
            ctx = span.get_span_context()
        provider.shutdown()
        ((resource, scope, rec),) = http_receiver.wait_for_records(1)
        assert (
            "sdk-app"
            == {kv.key: kv.value.string_value for kv in resource.attributes}["service.name"]
        )
        assert ("lib", "2.0") == (scope.name, scope.version)
        assert "from the sdk" == rec.body.string_value
        assert {"k": "v", "n": 3} == {kv.key: python_value(kv.value) for kv in rec.attributes}
        assert ctx.trace_id.to_bytes(16, "big") == rec.trace_id
        assert ctx.span_id.to_bytes(8, "big") == rec.span_id
        assert "lib.event" == rec.event_name

    def test_sdk_gets_its_own_result_type(self, http_receiver: HttpReceiver) -> None:
        """Given SDK records, export returns the SDK's LogRecordExportResult."""
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        exporter = OTLPExporter(http_receiver.endpoint, diagnostics=False)
        seen: list[Any] = []

        class Recording(SimpleLogRecordProcessor):
            def on_emit(self, log_record: Any) -> None:
                seen.append(exporter.export([log_record]))

        provider = LoggerProvider()
        provider.add_log_record_processor(Recording(exporter))
        provider.get_logger("lib").emit(body="x")
        assert [LogRecordExportResult.SUCCESS] == seen
        exporter.shutdown()

    def test_concurrent_simple_processor_exports_take_turns(
        self, http_receiver: HttpReceiver
    ) -> None:
        """SimpleLogRecordProcessor exports from 8 threads at once: calls take turns on the
        one connection, none fails, every record arrives once."""
        import threading

        exporter = OTLPExporter(http_receiver.endpoint, diagnostics=False)
        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        logger = provider.get_logger("lib")

        def emit(thread: int) -> None:
            for i in range(50):
                logger.emit(body=f"{thread}-{i}")

        threads = [threading.Thread(target=emit, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        provider.shutdown()
        bodies = {rec.body.string_value for *_, rec in http_receiver.wait_for_records(400)}
        assert {f"{t}-{i}" for t in range(8) for i in range(50)} == bodies
        assert {} == exporter.outcomes(), "no attempt failed (calls never overlapped)"
        assert 400 == len(http_receiver.requests)

    def test_unconvertible_sdk_record_fails_without_raising(
        self, http_receiver: HttpReceiver
    ) -> None:
        """Something that is not an SDK record gives FAILURE, counted, and no exception."""
        from opentelemetry.sdk._logs.export import LogRecordExportResult

        exporter = OTLPExporter(http_receiver.endpoint, diagnostics=False)
        assert LogRecordExportResult.FAILURE == exporter.export([object()])
        assert 1 == exporter.outcomes()["unencodable"]
        assert [] == http_receiver.requests
        exporter.shutdown()


class TestOfficialExportersInAContainer:
    def test_official_http_exporter_through_the_adapter(self, http_receiver: HttpReceiver) -> None:
        """The official OTLP/HTTP exporter delivers a container's records."""
        settings = fo.Settings(service_name="adapted", diagnostics=False)
        official = SdkHttpExporter(endpoint=http_receiver.endpoint)
        with fo.Container(settings, exporters=[official]) as container:
            container.get_logger("app").info("via the adapter", n=1)
            assert container.flush(10)
        ((_, scope, rec),) = http_receiver.wait_for_records(1)
        assert "app" == scope.name
        assert "via the adapter" == rec.body.string_value


class TestEquivalence:
    def test_container_records_decode_the_same(
        self, http_receiver: HttpReceiver, grpc_receiver: GrpcReceiver
    ) -> None:
        """One container, two exporters (official HTTP, ours over gRPC): same content."""
        tracer = TracerProvider().get_tracer("t")
        settings = fo.Settings(service_name="same", diagnostics=False)
        official = SdkHttpExporter(endpoint=http_receiver.endpoint)
        ours = OTLPExporter(f"http://{grpc_receiver.endpoint}", protocol="grpc", diagnostics=False)
        with fo.Container(settings, exporters=[official, ours]) as container:
            app, db = container.get_logger("app"), container.get_logger("db")
            with tracer.start_as_current_span("s"):
                app.info("in a span", user="ann", n=3, ok=True, ratio=0.5, tags=["a", "b"])
            db.error("nested", detail={"k": [1, {"x": None}]}, raw=b"\x01")
            db.event("thing.happened", size=2)
            try:
                1 / 0  # noqa: B018
            except ZeroDivisionError:
                app.exception("failed")
            assert container.flush(10)
        official_records = [content(r) for r in http_receiver.wait_for_records(4)]
        our_records = [content(r) for r in grpc_receiver.wait_for_records(4)]
        assert 4 == len(official_records)
        assert official_records == our_records

    def test_sdk_records_decode_the_same(
        self, http_receiver: HttpReceiver, grpc_receiver: GrpcReceiver
    ) -> None:
        """One SDK provider feeding the official gRPC exporter and ours: same content."""
        provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-same"}))
        provider.add_log_record_processor(
            SimpleLogRecordProcessor(
                SdkGrpcExporter(endpoint=f"http://{grpc_receiver.endpoint}", insecure=True)
            )
        )
        provider.add_log_record_processor(
            SimpleLogRecordProcessor(OTLPExporter(http_receiver.endpoint, diagnostics=False))
        )
        logger = provider.get_logger("lib", "1.0")
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("s"):
            logger.emit(body="one", attributes={"a": 1, "b": [True, 2.5]}, severity_text="INFO")
        logger.emit(body={"structured": "body"}, event_name="ev", timestamp=123)
        logger.emit(body="failed", exception=RuntimeError("bad"))
        provider.shutdown()
        # The SDK leaves time_unix_nano unset when the emitter gave no timestamp; ours fills
        # it with the observed time, so the time is compared only where the SDK set it.
        official = [content(r) for r in grpc_receiver.wait_for_records(3)]
        ours = [content(r) for r in http_receiver.wait_for_records(3)]
        for theirs, mine in zip(official, ours, strict=True):
            if theirs["time"] == 0:
                assert mine["time"] == mine["observed"]
                theirs.pop("time")
                mine.pop("time")
            assert theirs == mine
