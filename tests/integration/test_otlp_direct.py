"""The direct path end to end: a container with the default redactors sends the same
records to a real OTLP receiver (official decoding) whether its batches take the direct
path or the ordinary one (``FAPILOG_DIRECT_PATH=0``)."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from otlp_receivers import GrpcReceiver, HttpReceiver

import fapilog_otel as fo
from fapilog_otel._direct import DIRECT_PATH_VARIABLE

pytestmark = pytest.mark.integration

CARD = "4111 1111 1111 1111"


def log_everything(container: fo.Container) -> int:
    """Log records of every shape through ``container``; return how many."""
    tracer = TracerProvider().get_tracer("test")
    log = container.get_logger("app")
    bound = log.bind(request_id="r-7", api_key="k-123")
    log.info("plain", user="ann", n=3, ok=True, ratio=0.5, nothing=None)
    log.info(f"paid with {CARD}", password="hunter2", note=f"card {CARD}", pan=4111111111111111)
    bound.warning("bound", user="bob", request_id="override")
    with fo.bound_contextvars(tenant="acme", token="t-1"):
        log.info("in context", user="cid")
    with tracer.start_as_current_span("work"):
        log.info("in a span", step=1)
    try:
        raise ValueError(f"bad card {CARD}")
    except ValueError:
        log.exception("failed", order=9)
    log.info({"structured": True, "secret": "s"}, nested={"password": "p", "keep": [1, "2"]})
    log.info("many", **{f"k{i}": i for i in range(200)})
    log.info("", **{"": "empty key", "bytes": b"\x00\x01", "big": 1 << 70})
    container.get_logger("other").error("other scope", event_name="evt", user="dan")
    return 10


def received(receiver: Any, count: int) -> list[tuple[str, bytes]]:
    """Each received record without its times, by scope name, in order."""
    out = []
    for _, scope, record in receiver.wait_for_records(count):
        record.ClearField("time_unix_nano")
        record.ClearField("observed_time_unix_nano")
        if record.trace_id:
            record.trace_id = b"t" * 16
            record.span_id = b"s" * 8
        out.append((scope.name, record.SerializeToString(deterministic=True)))
    return out


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_direct_and_ordinary_paths_send_the_same(
    protocol: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    results = []
    for direct in (True, False):
        monkeypatch.setenv(DIRECT_PATH_VARIABLE, "1" if direct else "0")
        receiver_type = GrpcReceiver if protocol == "grpc" else HttpReceiver
        with receiver_type() as receiver:
            endpoint = f"http://{receiver.endpoint}" if protocol == "grpc" else receiver.endpoint
            settings = fo.Settings(
                exporters=["otlp"], otlp={"endpoint": endpoint, "protocol": protocol}
            )
            container = fo.Container(settings)
            assert (container._worker._direct is not None) is direct
            count = log_everything(container)
            assert container.flush(10)
            container.shutdown(5)
            results.append(received(receiver, count))
            snapshot = container.stats()
            assert (count, count) == (snapshot["submitted"], snapshot["exported"])
    direct_records, ordinary_records = results
    assert ordinary_records == direct_records
    text = b"".join(record for _, record in direct_records)
    for secret in (CARD.encode(), b"hunter2", b"k-123", b"t-1", b"4111111111111111"):
        assert secret not in text
