"""The encode micro-case of the delivery benchmark, run by :mod:`benchmarks._delivery_child`.

Each encoder turns the same batch of :data:`~benchmarks._delivery_common.ENCODE_BATCH`
records into an ``ExportLogsServiceRequest``: fapilog's own ``ProtobufEncoder``, the
official ``opentelemetry.proto`` classes built per record, and the SDK's ``encode_logs``.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from typing import Any

from benchmarks._delivery_common import ENCODE_BATCH, Unavailable
from benchmarks._encoders import protobuf_encoder
from benchmarks._receiver import count_records

__all__ = ["measure_encode"]


def _fapilog_records(n: int) -> list[Any]:
    """``n`` fapilog records as the worker hands them to an exporter."""
    from opentelemetry.sdk.resources import Resource

    from fapilog_otel.record import LogRecord, Scope, Severity

    resource_ = Resource.create({"service.name": "bench"})
    scope = Scope("bench")
    now = time.time_ns()
    return [
        LogRecord(
            timestamp=now + i,
            severity_number=Severity.INFO,
            severity_text="INFO",
            body="message",
            attributes={"a": "x", "b": 1, "c": True},
            scope=scope,
            resource=resource_,
        )
        for i in range(n)
    ]


def _sdk_records(n: int) -> list[Any]:
    """``n`` SDK records, captured from a provider as its exporters receive them."""
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.resources import Resource

    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False
    )
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("bench")
    for _ in range(n):
        logger.emit(
            body="message",
            attributes={"a": "x", "b": 1, "c": True},
            severity_number=SeverityNumber.INFO,
            severity_text="INFO",
        )
    records = list(exporter.get_finished_logs())
    provider.shutdown()
    return records


def _upb_encoder() -> Callable[[Sequence[Any]], bytes]:
    """Encode fapilog records by building the request with the official protobuf classes.

    The straightforward way, with the cheapest upb idioms (``add()`` and assignment rather
    than building messages and copying them in): grouping by resource and scope, one
    ``LogRecord`` message and one ``KeyValue`` per attribute for each record.
    """
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    def set_value(target: Any, value: Any) -> None:
        if isinstance(value, bool):
            target.bool_value = value
        elif isinstance(value, int):
            target.int_value = value
        elif isinstance(value, float):
            target.double_value = value
        else:
            target.string_value = value if isinstance(value, str) else str(value)

    def encode(records: Sequence[Any]) -> bytes:
        request = ExportLogsServiceRequest()
        resources: dict[int, Any] = {}
        scopes: dict[tuple[int, Any], Any] = {}
        for record in records:
            resource_key = id(record.resource)
            resource_logs = resources.get(resource_key)
            if resource_logs is None:
                resource_logs = resources[resource_key] = request.resource_logs.add()
                for key, value in record.resource.attributes.items():
                    attribute = resource_logs.resource.attributes.add()
                    attribute.key = key
                    set_value(attribute.value, value)
            scope_logs = scopes.get((resource_key, record.scope))
            if scope_logs is None:
                scope_logs = scopes[(resource_key, record.scope)] = resource_logs.scope_logs.add()
                scope_logs.scope.name = record.scope.name
            out = scope_logs.log_records.add()
            out.time_unix_nano = record.timestamp
            out.observed_time_unix_nano = record.observed_timestamp
            out.severity_number = record.severity_number
            if record.severity_text:
                out.severity_text = record.severity_text
            set_value(out.body, record.body)
            for key, value in record.attributes.items():
                attribute = out.attributes.add()
                attribute.key = key
                set_value(attribute.value, value)
        payload: bytes = request.SerializeToString()
        return payload

    return encode


@dataclass
class _Encoder:
    """One encode row, set up: the timed call and how to get request bodies from its result."""

    encode: Callable[[], object]
    bodies: Callable[[object], list[bytes]]


def _single_body(result: object) -> list[bytes]:
    """The body of an encoder that returns one request's bytes."""
    assert isinstance(result, bytes)
    return [result]


def _encode_fapilog(pure_python: bool = False) -> _Encoder:
    """fapilog's hand-written encoder (its caches warm up on the first calls, as in use);
    with its compiled record encoder when that was built, unless ``pure_python``."""
    try:
        encoder = protobuf_encoder(pure_python=pure_python)
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"fapilog_otel.otlp._protobuf not available: {exc!r}") from exc
    records = _fapilog_records(ENCODE_BATCH)
    return _Encoder(
        encode=lambda: encoder.encode(records),
        bodies=lambda result: [body for body, _ in getattr(result, "requests", ())],
    )


def _encode_upb() -> _Encoder:
    """The official protobuf classes, built per record from the same fapilog records."""
    encode = _upb_encoder()
    records = _fapilog_records(ENCODE_BATCH)
    return _Encoder(encode=lambda: encode(records), bodies=_single_body)


def _encode_sdk() -> _Encoder:
    """The SDK exporters' encoder, from records as the SDK's exporters receive them."""
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    records = _sdk_records(ENCODE_BATCH)
    return _Encoder(encode=lambda: encode_logs(records).SerializeToString(), bodies=_single_body)


_ENCODERS: dict[str, Callable[[], _Encoder]] = {
    "encode-fapilog": _encode_fapilog,
    "encode-fapilog-py": partial(_encode_fapilog, pure_python=True),
    "encode-upb": _encode_upb,
    "encode-sdk": _encode_sdk,
}


def measure_encode(loops: int) -> dict[str, Any]:
    """Time each encoder on a batch of 512 records; ns per record, or why not.

    Each encoder's output is decoded with the official classes first: a row whose requests
    do not hold exactly the 512 records is an error, not a number.
    """
    rows: dict[str, Any] = {}
    for key, setup in _ENCODERS.items():
        try:
            encoder = setup()
            bodies = encoder.bodies(encoder.encode())
            decoded = sum(count_records(body) for body in bodies)
            for _ in range(3):
                encoder.encode()
            encode = encoder.encode
            gc.collect()
            start = time.perf_counter_ns()
            for _ in repeat(None, loops):
                encode()
            elapsed = time.perf_counter_ns() - start
        except Unavailable as exc:
            rows[key] = {"status": "unavailable", "notes": str(exc)}
            continue
        except Exception as exc:
            rows[key] = {"status": "error", "notes": repr(exc)}
            continue
        rows[key] = {
            "status": "ok" if decoded == ENCODE_BATCH else "error",
            "ns_per_record": elapsed / (loops * ENCODE_BATCH),
            "request_bytes": sum(len(body) for body in bodies),
            "notes": "" if decoded == ENCODE_BATCH else f"decodes to {decoded} records",
        }
    return {"status": "ok", "rows": rows}
