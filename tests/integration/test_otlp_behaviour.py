"""The OTLP exporter against receivers that misbehave on purpose (official decoding).

Each test scripts what the receiver answers and checks what the exporter did about it:
what it retried, how long it waited, what it counted, what the container's stats say.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.resources import Resource
from otlp_receivers import GrpcReceiver, GrpcReply, HttpReceiver, Reply

import fapilog_otel as fo
from fapilog_otel.otlp import OTLPExporter
from fapilog_otel.record import LogRecord, Scope
from fapilog_otel.typing import ExportResult, PartialSuccess

pytestmark = pytest.mark.integration

_RESOURCE = Resource.create({"service.name": "behaviour"})


def records(n: int, scope: str = "app") -> list[LogRecord]:
    """``n`` records with a body naming their index."""
    return [
        LogRecord(
            timestamp=1_700_000_000_000_000_000 + i,
            severity_number=9,
            severity_text="INFO",
            body=f"record {i}",
            attributes={"i": i},
            scope=Scope(scope),
            resource=_RESOURCE,
        )
        for i in range(n)
    ]


@pytest.fixture
def exporters() -> Iterator[list[OTLPExporter]]:
    """Exporters made by a test, shut down when it ends."""
    made: list[OTLPExporter] = []
    yield made
    for exporter in made:
        exporter.shutdown()


def http_exporter(receiver: HttpReceiver, made: list[OTLPExporter], **options: Any) -> OTLPExporter:
    """An HTTP exporter to ``receiver`` with quick retries and no stderr noise."""
    options.setdefault("timeout_ms", 5000)
    options.setdefault("initial_backoff", 0.05)
    exporter = OTLPExporter(receiver.endpoint, diagnostics=False, **options)
    made.append(exporter)
    return exporter


def grpc_exporter(receiver: GrpcReceiver, made: list[OTLPExporter], **options: Any) -> OTLPExporter:
    """A plain-text gRPC exporter to ``receiver`` with quick retries."""
    options.setdefault("timeout_ms", 5000)
    options.setdefault("initial_backoff", 0.05)
    exporter = OTLPExporter(
        f"http://{receiver.endpoint}", protocol="grpc", diagnostics=False, **options
    )
    made.append(exporter)
    return exporter


class TestHttpSuccess:
    def test_batch_arrives_on_one_kept_alive_connection(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Three exports reuse one connection and every record arrives in order."""
        exporter = http_exporter(http_receiver, exporters)
        for start in range(3):
            assert ExportResult.SUCCESS == exporter.export(records(4)[start:])
        got = http_receiver.wait_for_records(9)
        assert 1 == len({r.client_port for r in http_receiver.requests})
        assert ["record 0", "record 1", "record 2", "record 3"] == [
            rec.body.string_value for _, _, rec in got[:4]
        ]

    def test_headers_user_agent_and_content_type(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Custom headers, our User-Agent and the protobuf content type are sent."""
        exporter = http_exporter(http_receiver, exporters, headers={"x-tenant": "t1"})
        exporter.export(records(1))
        (request,) = http_receiver.requests
        assert "t1" == request.headers["x-tenant"]
        assert request.headers["user-agent"].startswith("fapilog-otel/")
        assert "application/x-protobuf" == request.content_type

    def test_gzip(self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]) -> None:
        """compression=gzip sends Content-Encoding: gzip and the body decodes."""
        exporter = http_exporter(http_receiver, exporters, compression="gzip")
        assert ExportResult.SUCCESS == exporter.export(records(50))
        (request,) = http_receiver.requests
        assert "gzip" == request.headers["content-encoding"]
        assert 50 == len(http_receiver.records())

    def test_json(self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]) -> None:
        """http/json sends OTLP/JSON that the official JSON parser accepts."""
        exporter = http_exporter(http_receiver, exporters, protocol="http/json")
        assert ExportResult.SUCCESS == exporter.export(records(3))
        (request,) = http_receiver.requests
        assert "application/json" == request.content_type
        assert [0, 1, 2] == [
            rec.attributes[0].value.int_value for _, _, rec in http_receiver.records()
        ]

    def test_large_batch_is_split_under_the_size_limit(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """A batch over the request limit goes out as several requests, none too big."""
        exporter = http_exporter(http_receiver, exporters)
        exporter._transport.max_request_bytes = 2000
        assert ExportResult.SUCCESS == exporter.export(records(100))
        sizes = [len(r.body) for r in http_receiver.requests]
        assert len(sizes) > 1
        assert max(sizes) <= 2000
        assert [f"record {i}" for i in range(100)] == [
            rec.body.string_value for _, _, rec in http_receiver.records()
        ]


class TestHttpRetries:
    @pytest.mark.parametrize("status", [429, 502, 503, 504])
    def test_retryable_status_is_retried(
        self, status: int, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """429/502/503/504 are retried with backoff and the batch then arrives."""
        http_receiver.script(Reply(status=status), Reply(status=status))
        exporter = http_exporter(http_receiver, exporters)
        assert ExportResult.SUCCESS == exporter.export(records(2))
        assert 3 == len(http_receiver.requests)
        assert 2 == exporter.outcomes()["retries"]
        assert 2 == exporter.outcomes()[f"http_{status}"]

    def test_retry_after_seconds_is_honoured(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """503 with Retry-After: 1 makes the exporter wait about a second, not its backoff."""
        http_receiver.script(Reply(status=503, headers={"Retry-After": "1"}))
        exporter = http_exporter(http_receiver, exporters)
        started = time.monotonic()
        assert ExportResult.SUCCESS == exporter.export(records(1))
        first, second = http_receiver.requests
        assert second.received_at - first.received_at >= 0.95
        assert time.monotonic() - started < 3.0

    def test_retry_after_date_is_honoured(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """429 with an HTTP-date Retry-After waits until about that date."""
        import email.utils

        when = email.utils.formatdate(time.time() + 2, usegmt=True)
        http_receiver.script(Reply(status=429, headers={"Retry-After": when}))
        exporter = http_exporter(http_receiver, exporters)
        assert ExportResult.SUCCESS == exporter.export(records(1))
        first, second = http_receiver.requests
        assert second.received_at - first.received_at >= 0.9

    def test_retry_after_beyond_the_timeout_gives_up_at_once(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """A Retry-After longer than the time left fails the batch now, without waiting."""
        http_receiver.script(Reply(status=503, headers={"Retry-After": "60"}))
        exporter = http_exporter(http_receiver, exporters, timeout_ms=2000)
        started = time.monotonic()
        assert ExportResult.FAILURE == exporter.export(records(3))
        assert time.monotonic() - started < 1.0
        assert 1 == len(http_receiver.requests)
        assert 3 == exporter.outcomes()["retries_exhausted"]

    @pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 500])
    def test_other_errors_are_never_retried(
        self, status: int, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """400 and every other non-retryable status fail the batch after one request."""
        http_receiver.script(Reply(status=status))
        exporter = http_exporter(http_receiver, exporters)
        assert ExportResult.FAILURE == exporter.export(records(4))
        assert 1 == len(http_receiver.requests)
        outcomes = exporter.outcomes()
        assert 4 == outcomes["not_retryable"]
        assert 1 == outcomes[f"http_{status}"]
        assert "retries" not in outcomes

    def test_slow_answer_beyond_the_timeout_fails_in_time(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """A receiver slower than the timeout fails the export close to the timeout."""
        http_receiver.script(Reply(delay=3.0))
        exporter = http_exporter(http_receiver, exporters, timeout_ms=500)
        started = time.monotonic()
        assert ExportResult.FAILURE == exporter.export(records(2))
        assert time.monotonic() - started < 1.5
        assert 1 == exporter.outcomes()["timeout"]

    def test_dropped_connection_is_retried(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """A connection closed without an answer is retried and the batch arrives."""
        http_receiver.script(Reply(close=True))
        exporter = http_exporter(http_receiver, exporters)
        assert ExportResult.SUCCESS == exporter.export(records(2))
        assert 2 == len(http_receiver.records())
        assert exporter.outcomes()["connection_error"] >= 1

    def test_connection_refused_then_up(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Records sent while the receiver is down arrive once it comes back in time."""
        exporter = http_exporter(http_receiver, exporters, timeout_ms=8000)
        http_receiver.stop()
        threading.Timer(0.5, http_receiver.start).start()
        assert ExportResult.SUCCESS == exporter.export(records(3))
        assert 3 == len(http_receiver.wait_for_records(3))
        assert exporter.outcomes()["connection_error"] >= 1

    def test_shutdown_cuts_a_retry_wait_short(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """shutdown() during a Retry-After wait ends the export at once, counted."""
        http_receiver.script(Reply(status=503, headers={"Retry-After": "3"}))
        exporter = http_exporter(http_receiver, exporters, timeout_ms=10_000)
        threading.Timer(0.3, exporter.shutdown).start()
        started = time.monotonic()
        assert ExportResult.FAILURE == exporter.export(records(2))
        assert time.monotonic() - started < 2.0
        assert 2 == exporter.outcomes()["shutdown"]


class TestHttpPartialSuccess:
    def test_rejected_records_are_counted_and_not_retried(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """partial_success with 2 rejected: one request, PartialSuccess(2), counted."""
        http_receiver.script(Reply(partial_success=(2, "two were bad")))
        exporter = http_exporter(http_receiver, exporters)
        result = exporter.export(records(5))
        assert isinstance(result, PartialSuccess)
        assert 2 == result.rejected
        assert 1 == len(http_receiver.requests)
        assert 2 == exporter.outcomes()["rejected"]

    def test_partial_success_json(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """The JSON form of partial_success (int64 as a string) is read too."""
        http_receiver.script(Reply(partial_success=(1, "one was bad")))
        exporter = http_exporter(http_receiver, exporters, protocol="http/json")
        result = exporter.export(records(3))
        assert isinstance(result, PartialSuccess)
        assert 1 == result.rejected

    def test_warning_without_rejections_is_success(
        self, http_receiver: HttpReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """rejected=0 with a message is a warning: success, counted as such."""
        http_receiver.script(Reply(partial_success=(0, "deprecated field")))
        exporter = http_exporter(http_receiver, exporters)
        assert ExportResult.SUCCESS == exporter.export(records(2))
        assert 1 == exporter.outcomes()["partial_success_warning"]

    def test_container_stats_count_rejected_records_as_failed(
        self, http_receiver: HttpReceiver
    ) -> None:
        """In a container, rejected records are failed and the rest exported."""
        http_receiver.script(Reply(partial_success=(3, "bad")))
        settings = fo.Settings(
            exporters=["otlp"], otlp={"endpoint": http_receiver.endpoint}, diagnostics=False
        )
        with fo.Container(settings) as container:
            log = container.get_logger("stats")
            for i in range(10):
                log.info("hello", i=i)
            assert not container.flush(10), "flush reports that records were not delivered"
            stats = container.stats()
        assert 7 == stats["exported"]
        assert 3 == stats["failed"]
        assert 3 == stats["exporters"]["otlp"]["outcomes"]["rejected"]
        assert 10 == stats["submitted"]


class TestGrpc:
    def test_batch_arrives_with_headers_as_metadata(
        self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Records arrive over gRPC; headers are sent as lower-cased metadata."""
        exporter = grpc_exporter(grpc_receiver, exporters, headers={"X-Tenant": "t1"})
        assert ExportResult.SUCCESS == exporter.export(records(5))
        assert 5 == len(grpc_receiver.wait_for_records(5))
        (call,) = grpc_receiver.requests
        assert "t1" == call.metadata["x-tenant"]

    def test_gzip(self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]) -> None:
        """compression=gzip over gRPC still delivers every record."""
        exporter = grpc_exporter(grpc_receiver, exporters, compression="gzip")
        assert ExportResult.SUCCESS == exporter.export(records(20))
        assert 20 == len(grpc_receiver.records())

    @pytest.mark.parametrize(
        "code",
        [
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.CANCELLED,
            grpc.StatusCode.ABORTED,
            grpc.StatusCode.OUT_OF_RANGE,
            grpc.StatusCode.DATA_LOSS,
            grpc.StatusCode.DEADLINE_EXCEEDED,
        ],
    )
    def test_retryable_codes_are_retried(
        self, code: grpc.StatusCode, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Each retryable code is retried and the batch then arrives."""
        grpc_receiver.script(GrpcReply(code=code, message="try later"))
        exporter = grpc_exporter(grpc_receiver, exporters)
        assert ExportResult.SUCCESS == exporter.export(records(2))
        assert 1 == exporter.outcomes()[f"grpc_{code.name}"]
        assert 2 == len(grpc_receiver.records())

    def test_resource_exhausted_without_retry_info_is_final(
        self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """RESOURCE_EXHAUSTED without RetryInfo fails the batch after one call."""
        grpc_receiver.script(GrpcReply(code=grpc.StatusCode.RESOURCE_EXHAUSTED))
        exporter = grpc_exporter(grpc_receiver, exporters)
        assert ExportResult.FAILURE == exporter.export(records(2))
        assert 1 == len(grpc_receiver.requests)
        assert 2 == exporter.outcomes()["not_retryable"]

    def test_resource_exhausted_with_retry_info_waits_as_told(
        self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """RESOURCE_EXHAUSTED with RetryInfo(0.8 s) is retried after about 0.8 s."""
        grpc_receiver.script(GrpcReply(code=grpc.StatusCode.RESOURCE_EXHAUSTED, retry_delay=0.8))
        exporter = grpc_exporter(grpc_receiver, exporters)
        assert ExportResult.SUCCESS == exporter.export(records(2))
        first, second = grpc_receiver.requests
        assert second.received_at - first.received_at >= 0.75

    @pytest.mark.parametrize(
        "code",
        [
            grpc.StatusCode.INVALID_ARGUMENT,
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.INTERNAL,
            grpc.StatusCode.UNIMPLEMENTED,
        ],
    )
    def test_other_codes_are_never_retried(
        self, code: grpc.StatusCode, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Non-retryable codes fail the batch after one call, counted."""
        grpc_receiver.script(GrpcReply(code=code))
        exporter = grpc_exporter(grpc_receiver, exporters)
        assert ExportResult.FAILURE == exporter.export(records(3))
        assert 1 == len(grpc_receiver.requests)
        assert 3 == exporter.outcomes()["not_retryable"]

    def test_partial_success(
        self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """partial_success over gRPC gives PartialSuccess and no retry."""
        grpc_receiver.script(GrpcReply(partial_success=(1, "one bad")))
        exporter = grpc_exporter(grpc_receiver, exporters)
        result = exporter.export(records(4))
        assert isinstance(result, PartialSuccess)
        assert 1 == result.rejected
        assert 1 == len(grpc_receiver.requests)

    def test_slow_answer_beyond_the_timeout(
        self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """A call slower than the timeout ends as DEADLINE_EXCEEDED close to the timeout."""
        grpc_receiver.script(GrpcReply(delay=3.0))
        exporter = grpc_exporter(grpc_receiver, exporters, timeout_ms=500)
        started = time.monotonic()
        assert ExportResult.FAILURE == exporter.export(records(1))
        assert time.monotonic() - started < 1.5
        assert exporter.outcomes()["grpc_DEADLINE_EXCEEDED"] >= 1

    def test_connection_refused_then_up(
        self, grpc_receiver: GrpcReceiver, exporters: list[OTLPExporter]
    ) -> None:
        """Records sent while the receiver is down arrive once it is back in time."""
        exporter = grpc_exporter(grpc_receiver, exporters, timeout_ms=8000)
        assert ExportResult.SUCCESS == exporter.export(records(1))
        grpc_receiver.stop()
        threading.Timer(0.5, grpc_receiver.start).start()
        assert ExportResult.SUCCESS == exporter.export(records(3))
        assert 4 == len(grpc_receiver.wait_for_records(4))
        assert exporter.outcomes()["grpc_UNAVAILABLE"] >= 1
