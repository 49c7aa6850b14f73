"""The test servers themselves: the OTLP receivers decode what plain clients send, misbehave
exactly as scripted, and rotel forwards a request to the sink unchanged."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import grpc
import otlp_receivers
import pytest
import rotel_collector
from google.rpc import code_pb2, error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2
from otlp_receivers import GrpcReceiver, GrpcReply, HttpReceiver, Reply, RotelCollector

pytestmark = pytest.mark.integration

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
SPAN_ID = bytes.fromhex("eee19b7ec3c1b174")


def any_value(value: object) -> common_pb2.AnyValue:
    """An AnyValue built with the official classes from a plain Python value."""
    if isinstance(value, bool):
        return common_pb2.AnyValue(bool_value=value)
    if isinstance(value, int):
        return common_pb2.AnyValue(int_value=value)
    if isinstance(value, float):
        return common_pb2.AnyValue(double_value=value)
    if isinstance(value, bytes):
        return common_pb2.AnyValue(bytes_value=value)
    if isinstance(value, list):
        return common_pb2.AnyValue(
            array_value=common_pb2.ArrayValue(values=[any_value(item) for item in value])
        )
    if isinstance(value, dict):
        return common_pb2.AnyValue(kvlist_value=common_pb2.KeyValueList(values=attributes(value)))
    return common_pb2.AnyValue(string_value=str(value))


def attributes(values: dict[str, object]) -> list[common_pb2.KeyValue]:
    """KeyValues in insertion order."""
    return [common_pb2.KeyValue(key=key, value=any_value(value)) for key, value in values.items()]


def full_request() -> logs_service_pb2.ExportLogsServiceRequest:
    """A request that sets every stable field of resource, scope and log record."""
    nested = {"s": "x", "i": -7, "d": 0.5, "b": False, "raw": b"\x00\xff", "list": [1, "two"]}
    record = logs_pb2.LogRecord(
        time_unix_nano=1_700_000_000_123_456_789,
        observed_time_unix_nano=1_700_000_000_223_456_789,
        severity_number=logs_pb2.SEVERITY_NUMBER_WARN,
        severity_text="WARN",
        body=any_value({"message": "disk almost full", "details": nested}),
        attributes=attributes({"http.method": "GET", "retries": 3, "ratio": 0.25, "ok": True}),
        dropped_attributes_count=2,
        flags=logs_pb2.LOG_RECORD_FLAGS_TRACE_FLAGS_MASK & 1,
        trace_id=TRACE_ID,
        span_id=SPAN_ID,
        event_name="disk.warning",
    )
    second = logs_pb2.LogRecord(
        time_unix_nano=1_700_000_001_000_000_000,
        severity_number=logs_pb2.SEVERITY_NUMBER_INFO,
        body=any_value("plain"),
    )
    scope = common_pb2.InstrumentationScope(
        name="fapilog_otel.tests",
        version="1.2.3",
        attributes=attributes({"scope.kind": "test"}),
        dropped_attributes_count=1,
    )
    resource = resource_pb2.Resource(
        attributes=attributes({"service.name": "receiver-tests", "host.cores": 2}),
        dropped_attributes_count=4,
    )
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                resource=resource,
                schema_url="https://opentelemetry.io/schemas/1.26.0",
                scope_logs=[
                    logs_pb2.ScopeLogs(
                        scope=scope,
                        log_records=[record, second],
                        schema_url="https://opentelemetry.io/schemas/1.25.0",
                    )
                ],
            )
        ]
    )


def small_request(message: str = "hello") -> logs_service_pb2.ExportLogsServiceRequest:
    """A request holding one log record whose body is ``message``."""
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[
            logs_pb2.ResourceLogs(
                scope_logs=[
                    logs_pb2.ScopeLogs(log_records=[logs_pb2.LogRecord(body=any_value(message))])
                ]
            )
        ]
    )


@contextmanager
def connection(url: str, timeout: float = 5.0) -> Iterator[http.client.HTTPConnection]:
    """A plain HTTP/1.1 connection to ``url``'s host and port, closed afterwards."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        yield conn
    finally:
        conn.close()


def post(
    conn: http.client.HTTPConnection,
    body: bytes,
    content_type: str = otlp_receivers.PROTOBUF,
    path: str = "/v1/logs",
    headers: Mapping[str, str] | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    """POST ``body`` on ``conn`` and return the response with its fully read body."""
    conn.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
    response = conn.getresponse()
    return response, response.read()


def send_http(url: str, body: bytes, **kwargs: Any) -> tuple[http.client.HTTPResponse, bytes]:
    """POST ``body`` to ``url`` on a fresh connection."""
    with connection(url) as conn:
        return post(conn, body, **kwargs)


@contextmanager
def logs_stub(endpoint: str) -> Iterator[logs_service_pb2_grpc.LogsServiceStub]:
    """A LogsService client stub on a fresh insecure channel, closed afterwards."""
    channel = grpc.insecure_channel(endpoint)
    try:
        yield logs_service_pb2_grpc.LogsServiceStub(channel)
    finally:
        channel.close()


class TestHttpReceiver:
    def test_protobuf_round_trip(self, http_receiver: HttpReceiver) -> None:
        """A protobuf POST is decoded field for field and answered with an empty response."""
        sent = full_request()

        response, body = send_http(
            http_receiver.endpoint, sent.SerializeToString(), headers={"X-Tenant": "a"}
        )

        assert (200, otlp_receivers.PROTOBUF) == (
            response.status,
            response.getheader("Content-Type"),
        )
        assert logs_service_pb2.ExportLogsServiceResponse() == (
            logs_service_pb2.ExportLogsServiceResponse.FromString(body)
        )
        [received] = http_receiver.requests
        assert ("/v1/logs", "a", sent) == (
            received.path,
            received.headers["x-tenant"],
            received.request,
        )
        assert otlp_receivers.flatten(sent) == http_receiver.records()
        assert "disk.warning" == http_receiver.records()[0][2].event_name

    def test_json_with_hex_ids(self, http_receiver: HttpReceiver) -> None:
        """OTLP/JSON with hex trace and span ids decodes to the right bytes; the reply is {}."""
        document = {
            "resourceLogs": [
                {
                    "scopeLogs": [
                        {
                            "logRecords": [
                                {
                                    "timeUnixNano": "1700000000000000001",
                                    "severityNumber": 9,
                                    "body": {"stringValue": "hi"},
                                    "traceId": TRACE_ID.hex(),
                                    "spanId": SPAN_ID.hex(),
                                }
                            ]
                        }
                    ]
                }
            ]
        }

        response, body = send_http(
            http_receiver.endpoint, json.dumps(document).encode(), content_type="application/json"
        )

        assert (200, "application/json", b"{}") == (
            response.status,
            response.getheader("Content-Type"),
            body,
        )
        [(_, _, record)] = http_receiver.wait_for_records(1)
        assert (TRACE_ID, SPAN_ID, 1_700_000_000_000_000_001, "hi") == (
            record.trace_id,
            record.span_id,
            record.time_unix_nano,
            record.body.string_value,
        )

    def test_gzip_request(self, http_receiver: HttpReceiver) -> None:
        """A gzip body is recorded uncompressed and decoded."""
        sent = full_request()

        response, _ = send_http(
            http_receiver.endpoint,
            gzip.compress(sent.SerializeToString()),
            headers={"Content-Encoding": "gzip"},
        )

        [received] = http_receiver.requests
        assert (200, sent.SerializeToString(), sent) == (
            response.status,
            received.body,
            received.request,
        )

    @pytest.mark.parametrize("content_type", [otlp_receivers.PROTOBUF, otlp_receivers.JSON])
    def test_undecodable_body_gets_400(
        self, http_receiver: HttpReceiver, content_type: str
    ) -> None:
        """A body that does not decode is answered 400 with a Status and recorded with error."""
        response, body = send_http(
            http_receiver.endpoint, b"\xff\xfenot otlp", content_type=content_type
        )

        status = (
            status_pb2.Status.FromString(body)
            if content_type == otlp_receivers.PROTOBUF
            else status_pb2.Status(code=json.loads(body)["code"])
        )
        [received] = http_receiver.requests
        assert (400, code_pb2.INVALID_ARGUMENT, None) == (
            response.status,
            status.code,
            received.request,
        )
        assert received.error
        assert [] == http_receiver.records()

    def test_unsupported_content_type_gets_415(self, http_receiver: HttpReceiver) -> None:
        """A content type other than protobuf or JSON is answered 415 and recorded with error."""
        http_receiver.script(Reply(status=200))

        response, _ = send_http(http_receiver.endpoint, b"hello", content_type="text/plain")

        [received] = http_receiver.requests
        assert (415, "unsupported content type 'text/plain'") == (response.status, received.error)
        assert [] == http_receiver.records()

    def test_scripted_503_with_retry_after(self, http_receiver: HttpReceiver) -> None:
        """A scripted 503 reaches the client with Retry-After and a Status; then 200 again."""
        http_receiver.script(Reply(status=503, headers={"Retry-After": "2"}))

        with connection(http_receiver.url) as conn:
            first, first_body = post(conn, small_request("a").SerializeToString())
            second, _ = post(conn, small_request("b").SerializeToString())

        assert (503, "2", code_pb2.UNAVAILABLE) == (
            first.status,
            first.getheader("Retry-After"),
            status_pb2.Status.FromString(first_body).code,
        )
        assert 200 == second.status
        assert [503, 200] == [received.status for received in http_receiver.requests]
        assert ["b"] == [record.body.string_value for _, _, record in http_receiver.records()]

    def test_partial_success_protobuf(self, http_receiver: HttpReceiver) -> None:
        """partial_success comes back in a protobuf ExportLogsServiceResponse."""
        http_receiver.script(Reply(partial_success=(2, "two too big")))

        _, body = send_http(http_receiver.endpoint, full_request().SerializeToString())

        partial = logs_service_pb2.ExportLogsServiceResponse.FromString(body).partial_success
        assert (2, "two too big") == (partial.rejected_log_records, partial.error_message)

    def test_partial_success_json(self, http_receiver: HttpReceiver) -> None:
        """partial_success comes back as OTLP/JSON with the int64 count as a string."""
        http_receiver.script(Reply(partial_success=(2, "two too big")))

        _, body = send_http(http_receiver.endpoint, b"{}", content_type="application/json")

        expected = {"partialSuccess": {"rejectedLogRecords": "2", "errorMessage": "two too big"}}
        assert expected == json.loads(body)

    def test_close_without_response(self, http_receiver: HttpReceiver) -> None:
        """close=True drops the connection; the client sees it disconnect, then 200 again."""
        http_receiver.script(Reply(close=True))

        with pytest.raises(http.client.RemoteDisconnected):
            send_http(http_receiver.endpoint, small_request().SerializeToString())
        response, _ = send_http(http_receiver.endpoint, small_request().SerializeToString())

        assert 200 == response.status
        assert [None, 200] == [received.status for received in http_receiver.requests]

    def test_delay_times_out_client(self, http_receiver: HttpReceiver) -> None:
        """A delayed reply makes a client with a shorter timeout time out."""
        http_receiver.script(Reply(delay=2.0))

        started = time.monotonic()
        with connection(http_receiver.url, timeout=0.2) as conn, pytest.raises(TimeoutError):
            post(conn, small_request().SerializeToString())

        assert time.monotonic() - started < 1.5
        assert 1 == len(http_receiver.requests)

    def test_stop_refuses_then_start_same_port(self, http_receiver: HttpReceiver) -> None:
        """After stop() connects are refused; start() listens on the same port again."""
        port = http_receiver.port
        http_receiver.stop()

        with pytest.raises(ConnectionRefusedError):
            send_http(http_receiver.endpoint, small_request().SerializeToString())
        http_receiver.start()
        response, _ = send_http(http_receiver.endpoint, small_request().SerializeToString())

        assert (port, 200) == (http_receiver.port, response.status)

    def test_stop_drops_keep_alive_connections(self, http_receiver: HttpReceiver) -> None:
        """stop() also ends open keep-alive connections, so a stopped server is really gone."""
        with connection(http_receiver.url) as conn:
            post(conn, small_request().SerializeToString())
            http_receiver.stop()
            with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
                post(conn, small_request().SerializeToString())

    def test_keep_alive_reuse_recorded(self, http_receiver: HttpReceiver) -> None:
        """Requests on one connection share a client port; another connection has another."""
        body = small_request().SerializeToString()

        with connection(http_receiver.url) as conn:
            post(conn, body)
            post(conn, body)
        send_http(http_receiver.endpoint, body)

        first, second, third = (received.client_port for received in http_receiver.requests)
        arrivals = [received.received_at for received in http_receiver.requests]
        assert first == second
        assert first != third
        assert sorted(arrivals) == arrivals

    def test_wait_for_records_times_out(self, http_receiver: HttpReceiver) -> None:
        """wait_for_records raises AssertionError naming the shortfall when records are missing."""
        http_receiver.script(Reply(status=429))
        send_http(http_receiver.endpoint, small_request().SerializeToString())

        with pytest.raises(AssertionError, match=r"at least 1 log records.*got 0.*-> 429"):
            http_receiver.wait_for_records(1, timeout=0.05)

    def test_given_port(self, unused_port: int) -> None:
        """A receiver binds the port it is given."""
        with HttpReceiver(port=unused_port) as receiver:
            response, _ = send_http(receiver.endpoint, small_request().SerializeToString())

        assert (unused_port, 200) == (receiver.port, response.status)


class TestGrpcReceiver:
    def test_round_trip(self, grpc_receiver: GrpcReceiver) -> None:
        """An Export call is decoded field for field, with its metadata, and answered OK."""
        sent = full_request()

        with logs_stub(grpc_receiver.endpoint) as stub:
            response = stub.Export(sent, metadata=[("x-tenant", "a")], timeout=5)

        assert logs_service_pb2.ExportLogsServiceResponse() == response
        [received] = grpc_receiver.requests
        assert (sent, "a", grpc.StatusCode.OK) == (
            received.request,
            received.metadata["x-tenant"],
            received.code,
        )
        assert otlp_receivers.flatten(sent) == grpc_receiver.records()

    def test_unavailable_with_retry_info(self, grpc_receiver: GrpcReceiver) -> None:
        """An abort carries RetryInfo in grpc-status-details-bin that the client can decode."""
        grpc_receiver.script(
            GrpcReply(code=grpc.StatusCode.UNAVAILABLE, message="busy", retry_delay=1.5)
        )

        with logs_stub(grpc_receiver.endpoint) as stub, pytest.raises(grpc.RpcError) as caught:
            stub.Export(small_request(), timeout=5)

        error = caught.value
        [details_bin] = [v for k, v in error.trailing_metadata() if k == "grpc-status-details-bin"]
        status = status_pb2.Status.FromString(details_bin)
        retry_info = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry_info)
        assert (grpc.StatusCode.UNAVAILABLE, "busy", code_pb2.UNAVAILABLE) == (
            error.code(),
            error.details(),
            status.code,
        )
        assert timedelta(seconds=1.5) == retry_info.retry_delay.ToTimedelta()
        assert status == otlp_receivers.rich_status(error)
        assert [] == grpc_receiver.records()
        assert [grpc.StatusCode.UNAVAILABLE] == [r.code for r in grpc_receiver.requests]

    def test_abort_without_retry_info(self, grpc_receiver: GrpcReceiver) -> None:
        """An abort without retry_delay sends no status details."""
        grpc_receiver.script(GrpcReply(code=grpc.StatusCode.RESOURCE_EXHAUSTED))

        with logs_stub(grpc_receiver.endpoint) as stub, pytest.raises(grpc.RpcError) as caught:
            stub.Export(small_request(), timeout=5)

        assert (grpc.StatusCode.RESOURCE_EXHAUSTED, None) == (
            caught.value.code(),
            otlp_receivers.rich_status(caught.value),
        )

    def test_partial_success(self, grpc_receiver: GrpcReceiver) -> None:
        """partial_success comes back in the response; the records still count."""
        grpc_receiver.script(GrpcReply(partial_success=(1, "one dropped")))

        with logs_stub(grpc_receiver.endpoint) as stub:
            response = stub.Export(small_request(), timeout=5)

        partial = response.partial_success
        assert (1, "one dropped", 1) == (
            partial.rejected_log_records,
            partial.error_message,
            len(grpc_receiver.records()),
        )

    def test_delay_exceeds_deadline(self, grpc_receiver: GrpcReceiver) -> None:
        """A delayed answer makes a call with a shorter deadline fail DEADLINE_EXCEEDED."""
        grpc_receiver.script(GrpcReply(delay=2.0))

        with logs_stub(grpc_receiver.endpoint) as stub, pytest.raises(grpc.RpcError) as caught:
            stub.Export(small_request(), timeout=0.2)

        assert grpc.StatusCode.DEADLINE_EXCEEDED == caught.value.code()

    def test_stop_then_start_same_port(self, grpc_receiver: GrpcReceiver) -> None:
        """After stop() calls fail UNAVAILABLE; start() serves on the same port again."""
        port = grpc_receiver.port
        grpc_receiver.stop()

        with logs_stub(grpc_receiver.endpoint) as stub, pytest.raises(grpc.RpcError) as caught:
            stub.Export(small_request(), timeout=2)
        grpc_receiver.start()
        with logs_stub(grpc_receiver.endpoint) as stub:
            stub.Export(small_request(), timeout=5)

        assert grpc.StatusCode.UNAVAILABLE == caught.value.code()
        assert (port, 1) == (grpc_receiver.port, len(grpc_receiver.records()))


def forwarded(sink: GrpcReceiver, count: int) -> logs_service_pb2.ExportLogsServiceRequest:
    """Everything the sink received once it holds ``count`` records, as one request."""
    sink.wait_for_records(count)
    return logs_service_pb2.ExportLogsServiceRequest(
        resource_logs=[rl for received in sink.requests for rl in received.request.resource_logs]
    )


class TestRotelCollector:
    def test_http_protobuf_through_rotel(
        self, collector: tuple[RotelCollector, GrpcReceiver]
    ) -> None:
        """An OTLP/HTTP protobuf POST to rotel reaches the sink with every field intact."""
        rotel, sink = collector
        sent = full_request()

        response, _ = send_http(rotel.http_url + "/v1/logs", sent.SerializeToString())

        assert 200 == response.status
        assert sent == forwarded(sink, 2)

    def test_grpc_through_rotel(self, collector: tuple[RotelCollector, GrpcReceiver]) -> None:
        """An OTLP/gRPC Export to rotel reaches the sink with every field intact."""
        rotel, sink = collector
        sent = full_request()

        with logs_stub(rotel.grpc_endpoint) as stub:
            stub.Export(sent, timeout=5)

        assert sent == forwarded(sink, 2)

    def test_stop_frees_ports_and_keeps_log(
        self, collector: tuple[RotelCollector, GrpcReceiver]
    ) -> None:
        """stop() ends rotel (its port refuses connects) and log_text() still has its log."""
        rotel, _ = collector

        rotel.stop()

        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", rotel.http_port), timeout=1).close()
        assert "Starting Rotel" in rotel.log_text()

    def test_retries_when_a_port_is_taken(
        self, grpc_receiver: GrpcReceiver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When a picked port was taken meanwhile, rotel is started again on new ports."""
        real_free_port = rotel_collector.free_port
        with socket.create_server(("127.0.0.1", 0)) as taken:
            busy = taken.getsockname()[1]
            picks = iter([busy])
            monkeypatch.setattr(rotel_collector, "free_port", lambda: next(picks, real_free_port()))

            with (
                RotelCollector(grpc_receiver.endpoint) as rotel,
                logs_stub(rotel.grpc_endpoint) as stub,
            ):
                stub.Export(small_request(), timeout=5)
                grpc_receiver.wait_for_records(1)

        assert busy != rotel.grpc_port
        assert f"unable to bind to 127.0.0.1:{busy}" in rotel.log_text()

    def test_start_failure_reports_log(self, grpc_receiver: GrpcReceiver) -> None:
        """A rotel that cannot start raises RuntimeError with its exit code and log tail."""
        rotel = RotelCollector(grpc_receiver.endpoint, extra_args=("--no-such-flag",))

        with pytest.raises(RuntimeError, match=r"(?s)exited with code 2.*--no-such-flag"):
            rotel.start()
