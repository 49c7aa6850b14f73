"""Interop with the OpenTelemetry SDK: record conversion, exporter adapter, provider bridge."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, get_value
from opentelemetry.sdk._logs import LogRecordLimits, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    ConsoleLogRecordExporter,
    InMemoryLogRecordExporter,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import format_span_id, format_trace_id

from fapilog_otel import _raw
from fapilog_otel._sdk import (
    ProviderBridgeProcessor,
    SdkExporterAdapter,
    SdkRecordConverter,
    is_sdk_exporter,
    make_logger_provider,
    raw_from_sdk,
    to_sdk_record,
)
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.typing import Exporter, ExportResult

RESOURCE = Resource({"service.name": "checkout", "deployment.environment": "test"})
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0x00F067AA0BA902B7


def make_record(**overrides: Any) -> LogRecord:
    """Return a fully populated record; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "timestamp": 1_700_000_000_123_456_789,
        "observed_timestamp": 1_700_000_000_123_999_000,
        "severity_number": 13,
        "severity_text": "WARNING",
        "body": "slow request",
        "attributes": {"ms": 812, "user": {"id": 7, "tags": ["a", "b"]}, "ok": True},
        "scope": Scope("checkout.api", "1.2.0", "https://opentelemetry.io/schemas/1.30.0"),
        "resource": RESOURCE,
        "trace_id": TRACE_ID,
        "span_id": SPAN_ID,
        "trace_flags": 1,
        "event_name": "request.slow",
    }
    fields.update(overrides)
    return LogRecord(**fields)


class RecordingExporter(LogRecordExporter):
    """An SDK exporter that records batches, calls and the suppression flag at export."""

    def __init__(self, result: LogRecordExportResult = LogRecordExportResult.SUCCESS) -> None:
        self.result = result
        self.batches: list[Sequence[ReadableLogRecord]] = []
        self.suppressed: list[object] = []
        self.flushes: list[int] = []
        self.shutdowns = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        self.batches.append(batch)
        self.suppressed.append(get_value(_SUPPRESS_INSTRUMENTATION_KEY))
        return self.result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flushes.append(timeout_millis)
        return True

    def shutdown(self) -> None:
        self.shutdowns += 1


class Unprintable:
    """A value whose str() raises."""

    def __str__(self) -> str:
        raise RuntimeError("no")


class RaisingExporter(RecordingExporter):
    """An SDK exporter whose export raises, like a network failure."""

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        raise ConnectionError("collector unreachable")


class TestToSdkRecord:
    def test_fields_round_trip(self) -> None:
        """Every field of our record reaches the SDK record unchanged."""
        sdk = to_sdk_record(make_record())
        api = sdk.log_record

        assert (1_700_000_000_123_456_789, 1_700_000_000_123_999_000) == (
            api.timestamp,
            api.observed_timestamp,
        )
        assert (SeverityNumber.WARN, "WARNING") == (api.severity_number, api.severity_text)
        assert "slow request" == api.body
        assert {"ms": 812, "user": {"id": 7, "tags": ("a", "b")}, "ok": True} == dict(
            api.attributes or {}
        )
        assert "request.slow" == api.event_name
        assert (TRACE_ID, SPAN_ID, 1) == (api.trace_id, api.span_id, int(api.trace_flags or 0))
        assert RESOURCE is sdk.resource
        assert 0 == sdk.dropped_attributes

    def test_scope(self) -> None:
        """The instrumentation scope carries name, version, schema URL and attributes."""
        record = make_record(scope=Scope("lib", "2.0", "https://schema", {"team": "payments"}))

        scope = to_sdk_record(record).instrumentation_scope

        assert scope is not None
        assert ("lib", "2.0", "https://schema", {"team": "payments"}) == (
            scope.name,
            scope.version,
            scope.schema_url,
            dict(scope.attributes),
        )

    def test_no_trace_ignores_ambient_span(self) -> None:
        """A record without a trace gets no ids, even if converted inside an active span."""
        tracer = TracerProvider().get_tracer("test")

        with tracer.start_as_current_span("exporter-side span"):
            api = to_sdk_record(make_record(trace_id=0, span_id=0, trace_flags=0)).log_record

        assert (0, 0) == (api.trace_id, api.span_id)

    @pytest.mark.parametrize(
        ("number", "expected"),
        [
            (0, SeverityNumber.UNSPECIFIED),
            (1, SeverityNumber.TRACE),
            (9, SeverityNumber.INFO),
            (24, SeverityNumber.FATAL4),
            (25, SeverityNumber.FATAL4),
            (99, SeverityNumber.FATAL4),
            (-3, SeverityNumber.UNSPECIFIED),
        ],
    )
    def test_severity_number_clamped(self, number: int, expected: SeverityNumber) -> None:
        """Severity numbers become SeverityNumber members, clamped to 0-24."""
        assert (
            expected
            == to_sdk_record(make_record(severity_number=number)).log_record.severity_number
        )

    def test_unsupported_values_become_strings_quietly(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Values the SDK would reject are stringified up front, so the SDK logs no warning."""

        class Money:
            def __str__(self) -> str:
                return "9.99 EUR"

        record = make_record(
            attributes={"price": Money(), "nested": {"when": Money(), 3: "int key"}},
            body={"text": Money()},
        )

        with caplog.at_level(logging.DEBUG, logger="opentelemetry"), warnings.catch_warnings():
            warnings.simplefilter("error")
            api = to_sdk_record(record).log_record

        assert {"price": "9.99 EUR", "nested": {"when": "9.99 EUR", "3": "int key"}} == dict(
            api.attributes or {}
        )
        assert {"text": "9.99 EUR"} == api.body
        assert [] == caplog.records

    def test_unprintable_and_cyclic_values_do_not_crash(self) -> None:
        """A value whose str() raises and a self-containing list still convert."""
        cycle: list[Any] = [1]
        cycle.append(cycle)

        attributes = dict(
            to_sdk_record(
                make_record(attributes={"u": Unprintable(), "c": cycle})
            ).log_record.attributes
            or {}
        )

        assert "<unprintable Unprintable>" == attributes["u"]
        assert 1 == attributes["c"][0]

    def test_count_limit_keeps_latest_and_counts_drops(self) -> None:
        """Past the count limit the latest attributes win and every drop is counted."""
        limits = LogRecordLimits(max_log_record_attributes=2)
        record = make_record(attributes={"a": 1, "b": 2, "c": 3}, dropped_attributes_count=4)

        sdk = to_sdk_record(record, limits)

        assert {"b": 2, "c": 3} == dict(sdk.log_record.attributes or {})
        assert 5 == sdk.dropped_attributes

    def test_value_length_limit_truncates(self) -> None:
        """String values, also nested ones, are cut to the value length limit."""
        limits = LogRecordLimits(max_log_record_attribute_length=3)
        record = make_record(attributes={"s": "abcdef", "n": {"t": ["uvwxyz"]}, "i": 123456})

        assert {"s": "abc", "n": {"t": ("uvw",)}, "i": 123456} == dict(
            to_sdk_record(record, limits).log_record.attributes or {}
        )

    def test_empty_key_dropped_and_counted(self) -> None:
        """An empty attribute key is dropped and counted rather than logged by the SDK."""
        sdk = to_sdk_record(make_record(attributes={"": 1, "k": 2}))

        assert ({"k": 2}, 1) == (dict(sdk.log_record.attributes or {}), sdk.dropped_attributes)


class TestSdkRecordConverter:
    def test_scope_objects_are_cached(self) -> None:
        """Records of one scope share one InstrumentationScope object."""
        converter = SdkRecordConverter()

        first = converter.convert(make_record()).instrumentation_scope
        second = converter.convert(
            make_record(
                scope=Scope("checkout.api", "1.2.0", "https://opentelemetry.io/schemas/1.30.0")
            )
        ).instrumentation_scope

        assert first is second

    def test_alternating_spans_keep_their_ids(self) -> None:
        """The last-span shortcut never gives a record another record's ids."""
        converter = SdkRecordConverter()
        spans = [
            (TRACE_ID, SPAN_ID, 1),
            (TRACE_ID + 1, SPAN_ID + 1, 0),
            (0, 0, 0),
            (TRACE_ID, SPAN_ID, 1),
        ]

        ids = [
            (api.trace_id, api.span_id, int(api.trace_flags or 0))
            for api in (
                converter.convert(make_record(trace_id=t, span_id=s, trace_flags=f)).log_record
                for t, s, f in spans
            )
        ]

        assert spans == ids


class TestSdkExporterAdapter:
    def test_in_memory_exporter_receives_sdk_records(self) -> None:
        """The SDK in-memory exporter gets resource, scope, trace ids, severity and attributes."""
        exporter = InMemoryLogRecordExporter()
        adapter = SdkExporterAdapter(exporter)

        result = adapter.export([make_record(), make_record(body="second", trace_id=0, span_id=0)])

        first, second = exporter.get_finished_logs()
        assert ExportResult.SUCCESS == result
        assert RESOURCE == first.resource
        assert "checkout.api" == (
            first.instrumentation_scope.name if first.instrumentation_scope else None
        )
        assert (TRACE_ID, SPAN_ID) == (first.log_record.trace_id, first.log_record.span_id)
        assert SeverityNumber.WARN == first.log_record.severity_number
        assert 812 == (first.log_record.attributes or {})["ms"]
        assert ("second", 0) == (second.log_record.body, second.log_record.trace_id)

    def test_console_exporter_writes_json(self) -> None:
        """The SDK's console exporter prints our record as its JSON document."""
        out = io.StringIO()
        adapter = SdkExporterAdapter(ConsoleLogRecordExporter(out=out))

        adapter.export([make_record()])

        doc = json.loads(out.getvalue())
        assert {
            "body": "slow request",
            "severity_number": 13,
            "severity_text": "WARNING",
            "trace_id": "0x" + format_trace_id(TRACE_ID),
            "span_id": "0x" + format_span_id(SPAN_ID),
            "event_name": "request.slow",
            "service.name": "checkout",
            "user": {"id": 7, "tags": ["a", "b"]},
        } == {
            "body": doc["body"],
            "severity_number": doc["severity_number"],
            "severity_text": doc["severity_text"],
            "trace_id": doc["trace_id"],
            "span_id": doc["span_id"],
            "event_name": doc["event_name"],
            "service.name": doc["resource"]["attributes"]["service.name"],
            "user": doc["attributes"]["user"],
        }

    def test_failure_is_mapped(self) -> None:
        """An SDK FAILURE result becomes our FAILURE."""
        adapter = SdkExporterAdapter(RecordingExporter(LogRecordExportResult.FAILURE))

        assert ExportResult.FAILURE == adapter.export([make_record()])

    def test_exporter_exceptions_propagate(self) -> None:
        """An exporter exception reaches the container, which counts the batch as failed."""
        adapter = SdkExporterAdapter(RaisingExporter())

        with pytest.raises(ConnectionError):
            adapter.export([make_record()])

    def test_instrumentation_suppressed_during_export(self) -> None:
        """Export runs with instrumentation suppressed, and only during export."""
        exporter = RecordingExporter()

        SdkExporterAdapter(exporter).export([make_record()])

        assert ([True], None) == (exporter.suppressed, get_value(_SUPPRESS_INSTRUMENTATION_KEY))

    def test_empty_batch_not_forwarded(self) -> None:
        """An empty batch succeeds without calling the SDK exporter."""
        exporter = RecordingExporter()

        assert (ExportResult.SUCCESS, []) == (
            SdkExporterAdapter(exporter).export([]),
            exporter.batches,
        )

    def test_flush_and_idempotent_shutdown(self) -> None:
        """Flush passes the timeout on; shutdown reaches the exporter once; later exports fail."""
        exporter = RecordingExporter()
        adapter = SdkExporterAdapter(exporter)

        flushed = adapter.force_flush(1234)
        adapter.shutdown()
        adapter.shutdown()

        assert (True, [1234], 1) == (flushed, exporter.flushes, exporter.shutdowns)
        assert ExportResult.FAILURE == adapter.export([make_record()])

    def test_name_and_protocol(self) -> None:
        """The adapter is named after the wrapped class and satisfies our Exporter protocol."""
        adapter = SdkExporterAdapter(InMemoryLogRecordExporter())

        assert ("InMemoryLogRecordExporter", True) == (adapter.name, isinstance(adapter, Exporter))

    @pytest.mark.parametrize(
        ("obj", "expected"),
        [
            (InMemoryLogRecordExporter(), True),
            (ConsoleLogRecordExporter(out=io.StringIO()), True),
            (SdkExporterAdapter(InMemoryLogRecordExporter()), False),
            (object(), False),
        ],
    )
    def test_is_sdk_exporter(self, obj: object, expected: bool) -> None:
        """Only SDK LogRecordExporter instances are recognised."""
        assert expected == is_sdk_exporter(obj)


class Bridge:
    """A provider wired to a ProviderBridgeProcessor collecting raws, as the container wires it."""

    def __init__(self, **processor_kwargs: Any) -> None:
        self.raws: list[tuple[Any, ...]] = []
        self.processor = ProviderBridgeProcessor(self.raws.append, **processor_kwargs)
        self.provider = make_logger_provider(RESOURCE, self.processor)

    def records(self) -> list[LogRecord]:
        return [_raw.to_record(raw, Resource({"service.name": "other"})) for raw in self.raws]


class TestProviderBridgeProcessor:
    def test_emit_reaches_pipeline(self) -> None:
        """A record emitted through the provider arrives as a raw with every field mapped."""
        bridge = Bridge()

        bridge.provider.get_logger("lib", "2.0").emit(
            timestamp=1_000,
            body="hello",
            attributes={"a": 1, "nested": {"x": [1, 2]}},
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            event_name="lib.hello",
        )

        (record,) = bridge.records()
        assert (1_000, 13, "WARN", "hello", "lib.hello") == (
            record.timestamp,
            record.severity_number,
            record.severity_text,
            record.body,
            record.event_name,
        )
        assert {"a": 1, "nested": {"x": [1, 2]}} == record.attributes
        assert Scope("lib", "2.0") == record.scope
        assert RESOURCE is record.resource
        assert (0, 0, 0) == (record.trace_id, record.span_id, record.trace_flags)

    def test_trace_ids_captured_inside_span(self) -> None:
        """A record emitted inside an SDK span carries that span's ids."""
        bridge = Bridge()
        tracer = TracerProvider().get_tracer("test")

        with tracer.start_as_current_span("work") as span:
            bridge.provider.get_logger("lib").emit(
                body="in span", severity_number=SeverityNumber.INFO
            )
            expected = span.get_span_context()

        (record,) = bridge.records()
        assert (expected.trace_id, expected.span_id, int(expected.trace_flags)) == (
            record.trace_id,
            record.span_id,
            record.trace_flags,
        )

    def test_missing_timestamp_uses_observed(self) -> None:
        """Without a timestamp the observed timestamp stands in for it."""
        bridge = Bridge()

        bridge.provider.get_logger("lib").emit(body="x", observed_timestamp=42)

        (record,) = bridge.records()
        assert (42, 42, 0) == (record.timestamp, record.observed_timestamp, record.severity_number)

    def test_exception_attributes_not_duplicated(self) -> None:
        """Exception attributes come from the SDK record; the raw carries no exception."""
        bridge = Bridge()

        bridge.provider.get_logger("lib").emit(body="failed", exception=ValueError("boom"))

        (raw,) = bridge.raws
        (record,) = bridge.records()
        assert None is raw[_raw.EXC]
        assert ("ValueError", "boom") == (
            record.attributes["exception.type"],
            record.attributes["exception.message"],
        )

    def test_submit_errors_are_counted(self) -> None:
        """A failing submit is counted, never raised into the emitting code."""

        def submit(raw: tuple[Any, ...]) -> None:
            raise RuntimeError("queue closed")

        processor = ProviderBridgeProcessor(submit)
        provider = make_logger_provider(RESOURCE, processor)

        provider.get_logger("lib").emit(body="x")

        assert (1, "queue closed") == (processor.errors, str(processor.last_error))

    def test_force_flush_calls_flush_in_seconds(self) -> None:
        """force_flush hands the timeout to the flush callable in seconds."""
        seen: list[float] = []

        def flush(timeout: float) -> bool:
            seen.append(timeout)
            return True

        bridge = Bridge(flush=flush)

        assert (True, [2.5]) == (bridge.processor.force_flush(2500), seen)

    def test_force_flush_without_or_with_failing_flush(self) -> None:
        """No flush callable means True; a raising one means False and a counted error."""

        def flush(timeout: float) -> bool:
            raise RuntimeError("stuck")

        failing = ProviderBridgeProcessor(lambda raw: None, flush=flush)

        assert (True, False, 1) == (
            ProviderBridgeProcessor(lambda raw: None).force_flush(),
            failing.force_flush(100),
            failing.errors,
        )

    def test_scope_cached_per_instrumentation_scope(self) -> None:
        """Records of one SDK logger share one Scope object."""
        bridge = Bridge()
        logger = bridge.provider.get_logger("lib")

        logger.emit(body="1")
        logger.emit(body="2")

        first, second = bridge.raws
        assert first[_raw.SCOPE] is second[_raw.SCOPE]

    def test_otel_logging_handler_flows_into_pipeline(self) -> None:
        """OTel's own stdlib LoggingHandler, on our provider, feeds our pipeline."""
        from opentelemetry.sdk._logs import LoggingHandler

        bridge = Bridge()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            handler = LoggingHandler(logger_provider=bridge.provider)
        logger = logging.getLogger("tests.sdk_interop.otel_handler")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
        try:
            logger.warning("disk %s%% full", 91, extra={"mount": "/var"})
        finally:
            logger.removeHandler(handler)

        (record,) = bridge.records()
        assert ("disk 91% full", 13, "tests.sdk_interop.otel_handler", "/var") == (
            record.body,
            record.severity_number,
            record.scope.name,
            record.attributes["mount"],
        )

    def test_make_logger_provider_registers_no_atexit(self) -> None:
        """The provider leaves exit handling to the container and uses the given resource."""
        provider = make_logger_provider(RESOURCE, ProviderBridgeProcessor(lambda raw: None))

        assert (None, RESOURCE) == (provider._at_exit_handler, provider.resource)


class TestRawFromSdk:
    def test_values_are_frozen_plain_python(self) -> None:
        """Attributes come out as plain, independent lists and dicts."""
        bridge = Bridge()
        bridge.provider.get_logger("lib").emit(body=["a", "b"], attributes={"tags": ["x"]})

        (raw,) = bridge.raws

        assert (["a", "b"], {"tags": ["x"]}) == (raw[_raw.BODY], raw[_raw.ATTRS])

    def test_str_proxy_body_is_frozen_to_plain_str(self) -> None:
        """A body whose __class__ claims str (a proxy) is frozen, not kept by reference."""
        from unittest import mock

        bridge = Bridge()
        bridge.provider.get_logger("lib").emit(body=mock.Mock(spec=str))

        (raw,) = bridge.raws

        assert str is type(raw[_raw.BODY])

    def test_readable_record_converts_back(self) -> None:
        """Our record -> SDK record -> raw -> our record keeps every exported field."""
        original = make_record()

        back = _raw.to_record(raw_from_sdk(to_sdk_record(original)), Resource({}))

        assert original == back
