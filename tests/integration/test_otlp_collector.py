"""End to end through a real collector: our exporter -> rotel -> a gRPC sink.

rotel (an OpenTelemetry collector, from PyPI) receives each protocol from us and forwards
OTLP/gRPC to a sink that decodes with the official protobuf classes; every field of every
record is checked on arrival. rotel 0.0.1a15 rejects OTLP/JSON holding an empty AnyValue
(which the specification allows), so the JSON case sends no ``None`` values.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from otlp_receivers import FlatRecord, GrpcReceiver, RotelCollector, attributes

import fapilog_otel as fo

pytestmark = pytest.mark.integration


def send_all_kinds(settings: fo.Settings, with_none: bool) -> tuple[int, int, int]:
    """Log records of every kind through a container; return (trace_id, span_id, flags)."""
    tracer = TracerProvider().get_tracer("collector-test")
    values: dict[str, Any] = {
        "text": "héllo",
        "flag": True,
        "count": 42,
        "negative": -7,
        "huge": 2**70,
        "ratio": 0.25,
        "raw": b"\x00\x01",
        "items": [1, "two", False],
        "nested": {"a": {"b": [1.5]}},
    }
    if with_none:
        values["nothing"] = None
    with fo.Container(settings) as container:
        app = container.get_logger("app")
        db = container.get_logger("db")
        with tracer.start_as_current_span("work") as span:
            ctx = span.get_span_context()
            app.warning("all kinds", **values)
        db.error("second scope", table="users")
        db.event("user.created", user_id=7)
        try:
            raise ValueError("boom")
        except ValueError:
            app.exception("failed")
        assert container.flush(15)
        stats = container.stats()
    assert 4 == stats["exported"], stats
    return ctx.trace_id, ctx.span_id, int(ctx.trace_flags)


def check(received: list[FlatRecord], ids: tuple[int, int, int], with_none: bool) -> None:
    """Every field of the four records, as the sink decoded them."""
    assert 4 == len(received)
    by_body = {
        rec.body.string_value or rec.event_name: (res, scope, rec) for res, scope, rec in received
    }
    resource, scope, rec = by_body["all kinds"]
    assert "collector-service" == attributes(resource)["service.name"]
    assert "1.2.3" == attributes(resource)["service.version"]
    assert "app" == scope.name
    assert 13 == rec.severity_number
    assert "WARNING" == rec.severity_text
    expected = {
        "text": "héllo",
        "flag": True,
        "count": 42,
        "negative": -7,
        "huge": str(2**70),
        "ratio": 0.25,
        "raw": b"\x00\x01",
        "items": [1, "two", False],
        "nested": {"a": {"b": [1.5]}},
    }
    if with_none:
        expected["nothing"] = None
    assert expected == attributes(rec)
    trace_id, span_id, flags = ids
    assert trace_id.to_bytes(16, "big") == rec.trace_id
    assert span_id.to_bytes(8, "big") == rec.span_id
    assert flags == rec.flags
    assert rec.time_unix_nano > 1_700_000_000_000_000_000
    assert rec.observed_time_unix_nano == rec.time_unix_nano
    assert 0 == rec.dropped_attributes_count

    _, scope, rec = by_body["second scope"]
    assert "db" == scope.name
    assert (17, "ERROR") == (rec.severity_number, rec.severity_text)
    assert {"table": "users"} == attributes(rec)
    assert b"" == rec.trace_id
    assert b"" == rec.span_id

    _, scope, rec = by_body["user.created"]
    assert "db" == scope.name
    assert "user.created" == rec.event_name
    assert {"user_id": 7} == attributes(rec)

    _, scope, rec = by_body["failed"]
    attrs = attributes(rec)
    assert "ValueError" == attrs["exception.type"]
    assert "boom" == attrs["exception.message"]
    assert "raise ValueError" in attrs["exception.stacktrace"]


def settings_for(protocol: str, endpoint: str) -> fo.Settings:
    """Container settings sending OTLP with ``protocol`` to ``endpoint``."""
    return fo.Settings(
        service_name="collector-service",
        resource_attributes={"service.version": "1.2.3"},
        exporters=["otlp"],
        otlp={"protocol": protocol, "endpoint": endpoint, "timeout_ms": 10_000},
        diagnostics=False,
    )


class TestThroughRotel:
    def test_http_protobuf(self, collector: tuple[RotelCollector, GrpcReceiver]) -> None:
        """OTLP/HTTP protobuf through rotel keeps every field."""
        rotel, sink = collector
        ids = send_all_kinds(settings_for("http/protobuf", rotel.http_url + "/v1/logs"), True)
        check(sink.wait_for_records(4), ids, True)

    def test_http_protobuf_gzip(self, collector: tuple[RotelCollector, GrpcReceiver]) -> None:
        """Gzip-compressed OTLP/HTTP protobuf through rotel keeps every field."""
        rotel, sink = collector
        settings = settings_for("http/protobuf", rotel.http_url + "/v1/logs")
        settings.otlp.compression = "gzip"
        ids = send_all_kinds(settings, True)
        check(sink.wait_for_records(4), ids, True)

    def test_http_json(self, collector: tuple[RotelCollector, GrpcReceiver]) -> None:
        """OTLP/HTTP JSON through rotel keeps every field (no None values: rotel's quirk)."""
        rotel, sink = collector
        ids = send_all_kinds(settings_for("http/json", rotel.http_url + "/v1/logs"), False)
        check(sink.wait_for_records(4), ids, False)

    def test_grpc(self, collector: tuple[RotelCollector, GrpcReceiver]) -> None:
        """OTLP/gRPC through rotel keeps every field."""
        rotel, sink = collector
        ids = send_all_kinds(settings_for("grpc", "http://" + rotel.grpc_endpoint), True)
        check(sink.wait_for_records(4), ids, True)

    def test_grpc_gzip(self, collector: tuple[RotelCollector, GrpcReceiver]) -> None:
        """Gzip-compressed OTLP/gRPC through rotel keeps every field."""
        rotel, sink = collector
        settings = settings_for("grpc", "http://" + rotel.grpc_endpoint)
        settings.otlp.compression = "gzip"
        ids = send_all_kinds(settings, True)
        check(sink.wait_for_records(4), ids, True)

    def test_environment_variables_alone(
        self, collector: tuple[RotelCollector, GrpcReceiver], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """OTEL_LOGS_EXPORTER=otlp and the base endpoint variable are all it takes."""
        rotel, sink = collector
        monkeypatch.setenv("OTEL_LOGS_EXPORTER", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http_url)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        with fo.Container(fo.Settings(diagnostics=False)) as container:
            container.get_logger("env").info("configured by variables", n=1)
            assert container.flush(10)
        ((resource, _scope, rec),) = sink.wait_for_records(1)
        assert "from-env" == attributes(resource)["service.name"]
        assert "configured by variables" == rec.body.string_value
