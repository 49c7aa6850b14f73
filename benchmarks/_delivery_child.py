"""One delivery-benchmark case, run in its own fresh process by :mod:`benchmarks.delivery`.

Usage (the parent passes these; nobody else needs to)::

    python -m benchmarks._delivery_child CASE [-n RECORDS] [--http-port P] [--grpc-port P]
                                         [--encode-loops L] [--lifeline FD]

``CASE`` is a delivery case key (``sdk-http``, ``fapilog-grpc``...), which logs ``RECORDS``
records into that library's pipeline and measures their delivery to the receiver on the
given ports (``fapilog-file``: to a JSON-lines file, counted by reading it back), or
``encode``, which times every encoder on one batch. Either way the process
prints one result line (:func:`benchmarks._delivery_common.format_result`) and exits 0; a
case that cannot run here reports ``"status": "unavailable"`` and why. ``--lifeline`` is
the read end of a pipe held by the parent: when it closes, this process exits at once.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from benchmarks._delivery_common import (
    DEFAULT_ENCODE_LOOPS,
    DEFAULT_RECORDS,
    ENCODE_BATCH,
    WARMUP_RECORDS,
    format_result,
)
from benchmarks._receiver import ReceiverControl, count_records

__all__ = ["Pipeline", "Unavailable", "main"]

FLUSH_TIMEOUT_S = 120.0
SETTLE_POLL_S = 0.25


class Unavailable(Exception):
    """A case cannot run here (its library or one of its parts is missing)."""


# -- the delivery cases ------------------------------------------------------------------------


@dataclass
class Pipeline:
    """One library's pipeline, built and ready to log into.

    Attributes:
        run: Makes ``n`` log calls from the calling thread.
        flush: Waits until everything logged is exported; returns success.
        shutdown: Stops the pipeline.
        notes: The pipeline's own account after shutdown (exported, dropped...).
    """

    run: Callable[[int], None]
    flush: Callable[[float], bool]
    shutdown: Callable[[], object]
    notes: Callable[[], dict[str, Any]] = dict


def _sdk_pipeline(
    protocol: str, http_port: int, grpc_port: int, queue_size: int | None
) -> Pipeline:
    """The OTel SDK: ``LoggerProvider`` + ``BatchLogRecordProcessor`` + an OTLP exporter."""
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
    from opentelemetry.sdk.resources import Resource

    exporter: LogRecordExporter
    if protocol == "http":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpExporter,
        )

        exporter = HttpExporter(endpoint=f"http://127.0.0.1:{http_port}/v1/logs")
    else:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
            OTLPLogExporter as GrpcExporter,
        )

        exporter = GrpcExporter(endpoint=f"http://127.0.0.1:{grpc_port}", insecure=True)
    provider = LoggerProvider(
        resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False
    )
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_queue_size=queue_size))
    emit = provider.get_logger("bench").emit
    info = SeverityNumber.INFO

    def run(n: int) -> None:
        for _ in repeat(None, n):
            emit(
                body="message",
                attributes={"a": "x", "b": 1, "c": True},
                severity_number=info,
                severity_text="INFO",
            )

    def flush(timeout: float) -> bool:
        return provider.force_flush(timeout_millis=int(timeout * 1000))

    return Pipeline(run=run, flush=flush, shutdown=provider.shutdown)


def _fapilog_pipeline(protocol: str, http_port: int, grpc_port: int) -> Pipeline:
    """fapilog_otel: a ``Container`` with the native ``otlp`` exporter, defaults otherwise.

    ``protocol`` is ``http`` (``http/protobuf``), ``json`` (``http/json``) or ``grpc``.
    """
    _check_fapilog_otlp()
    import fapilog_otel as fo

    if protocol == "grpc":
        otlp = {"protocol": "grpc", "endpoint": f"http://127.0.0.1:{grpc_port}"}
    else:
        otlp = {
            "protocol": "http/json" if protocol == "json" else "http/protobuf",
            "endpoint": f"http://127.0.0.1:{http_port}/v1/logs",
        }
    return _fapilog_container(fo.Settings(exporters=["otlp"], otlp=otlp))


def _fapilog_container(settings: Any) -> Pipeline:
    """The pipeline of a fapilog_otel ``Container`` made with ``settings`` (no diagnostics)."""
    import fapilog_otel as fo

    settings.diagnostics = False
    settings.service_name = "bench"
    container = fo.Container(settings)
    info = container.get_logger("bench").info

    def run(n: int) -> None:
        for _ in repeat(None, n):
            info("message", a="x", b=1, c=True)

    def notes() -> dict[str, Any]:
        stats = container.stats()
        return {
            "exported": stats["exported"],
            "failed": stats["failed"],
            "dropped": dict(stats["dropped"]),
        }

    return Pipeline(run=run, flush=container.flush, shutdown=container.shutdown, notes=notes)


def _check_fapilog_otlp() -> None:
    """Raise :class:`Unavailable` unless fapilog's native OTLP exporter is there."""
    try:
        otlp = importlib.import_module("fapilog_otel.otlp")
    except ImportError as exc:
        raise Unavailable(f"fapilog_otel.otlp not available: {exc!r}") from exc
    if not hasattr(otlp, "OTLPExporter"):
        raise Unavailable("fapilog_otel.otlp has no OTLPExporter yet")
    import fapilog_otel as fo

    if "otlp" not in fo.Settings.model_fields:
        raise Unavailable("fapilog_otel.Settings has no otlp= yet")


def _build_pipeline(case: str, http_port: int, grpc_port: int, records: int) -> Pipeline:
    """The pipeline of one delivery case."""
    big_queue = records + WARMUP_RECORDS
    builders: dict[str, Callable[[], Pipeline]] = {
        "sdk-http": lambda: _sdk_pipeline("http", http_port, grpc_port, None),
        "sdk-http-bigq": lambda: _sdk_pipeline("http", http_port, grpc_port, big_queue),
        "sdk-grpc": lambda: _sdk_pipeline("grpc", http_port, grpc_port, None),
        "sdk-grpc-bigq": lambda: _sdk_pipeline("grpc", http_port, grpc_port, big_queue),
        "fapilog-http": lambda: _fapilog_pipeline("http", http_port, grpc_port),
        "fapilog-grpc": lambda: _fapilog_pipeline("grpc", http_port, grpc_port),
        "fapilog-json": lambda: _fapilog_pipeline("json", http_port, grpc_port),
    }
    return builders[case]()


def _wait_settled(control: ReceiverControl, records: int, limit_s: float) -> dict[str, Any]:
    """Wait until the receiver counted ``records``, or its count stopped moving."""
    deadline = time.monotonic() + limit_s
    last = -1
    while True:
        reply = control.wait(records, SETTLE_POLL_S)
        if reply["reached"] or reply["records"] == last or time.monotonic() > deadline:
            return reply
        last = reply["records"]


def _peak_rss_kib() -> int:
    """This process's peak resident memory in KiB.

    Linux's ``ru_maxrss`` carries the parent's peak across ``exec``, so ``VmHWM`` (which
    starts afresh with the new program) is read where there is one.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _since(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """A pipeline's counters of the timed burst alone (the warm-up subtracted)."""
    delta: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, dict):
            delta[key] = {k: v - before.get(key, {}).get(k, 0) for k, v in value.items()}
        else:
            delta[key] = value - before.get(key, 0)
    return delta


def _measure_delivery(case: str, records: int, http_port: int, grpc_port: int) -> dict[str, Any]:
    """Run one delivery case in this process; return what it measured."""
    control = ReceiverControl(http_port)
    pipeline = _build_pipeline(case, http_port, grpc_port, records)
    try:
        pipeline.run(WARMUP_RECORDS)
        pipeline.flush(FLUSH_TIMEOUT_S)
        warmed = _wait_settled(control, WARMUP_RECORDS, 10.0)
        if not warmed["reached"] and control.count()["errors"]:
            raise RuntimeError(f"the receiver rejected requests of case {case}")
        control.reset()
        before = pipeline.notes()
        gc.collect()

        cpu_start = time.process_time_ns()
        start = time.perf_counter_ns()
        pipeline.run(records)
        produced = time.perf_counter_ns()
        flushed_ok = pipeline.flush(FLUSH_TIMEOUT_S)
        flushed = time.perf_counter_ns()
        reply = _wait_settled(control, records, 30.0)
        end = time.perf_counter_ns() if reply["reached"] else flushed
        cpu_end = time.process_time_ns()
    finally:
        shutdown_ok = pipeline.shutdown()
    after = control.count()
    control.close()
    delivered = int(reply["records"])
    return {
        "status": "ok",
        "records": records,
        "delivered": delivered,
        "delivered_after_shutdown": int(after["records"]),
        "complete": delivered == records,
        "requests": int(reply["requests"]),
        "receiver_errors": int(after["errors"]),
        "delivered_per_s": delivered / ((end - start) / 1e9),
        "producer_ns_per_record": (produced - start) / records,
        "cpu_ns_per_record": (cpu_end - cpu_start) / records,
        "seconds_to_delivered": (end - start) / 1e9,
        "flush_ok": bool(flushed_ok),
        "shutdown_ok": shutdown_ok is not False,
        "max_rss_kib": _peak_rss_kib(),
        "pipeline": _since(before, pipeline.notes()),
    }


def _count_lines(path: str) -> tuple[int, int]:
    """The complete lines of a file, and how many of them are not JSON objects."""
    import json

    lines = bad = 0
    with open(path, "rb") as written:
        for line in written:
            if not line.endswith(b"\n"):
                bad += 1
                continue
            lines += 1
            if not line.startswith(b"{"):
                bad += 1
    if lines:
        with open(path, "rb") as written:
            try:
                json.loads(written.readline())
            except ValueError:
                bad += 1
    return lines, bad


def _measure_file(records: int) -> dict[str, Any]:
    """fapilog_otel's file exporter (JSON lines): records/s until flushed into the file.

    The warm-up records are written first and the file emptied; after the timed burst the
    container is flushed and shut down, and the file's complete lines are counted.
    """
    import fapilog_otel as fo

    directory = tempfile.mkdtemp(prefix="fapilog-bench-")
    path = os.path.join(directory, "delivery.jsonl")
    pipeline = _fapilog_container(fo.Settings(exporters=["file"], file={"path": path}))
    try:
        try:
            pipeline.run(WARMUP_RECORDS)
            pipeline.flush(FLUSH_TIMEOUT_S)
            os.truncate(path, 0)
            before = pipeline.notes()
            gc.collect()

            cpu_start = time.process_time_ns()
            start = time.perf_counter_ns()
            pipeline.run(records)
            produced = time.perf_counter_ns()
            flushed_ok = pipeline.flush(FLUSH_TIMEOUT_S)
            end = time.perf_counter_ns()
            cpu_end = time.process_time_ns()
        finally:
            shutdown_ok = pipeline.shutdown()
        delivered, bad_lines = _count_lines(path)
        size = os.path.getsize(path)
    finally:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    return {
        "status": "ok",
        "records": records,
        "delivered": delivered,
        "delivered_after_shutdown": delivered,
        "complete": delivered == records and not bad_lines,
        "requests": 0,
        "receiver_errors": 0,
        "bad_lines": bad_lines,
        "delivered_per_s": delivered / ((end - start) / 1e9),
        "producer_ns_per_record": (produced - start) / records,
        "cpu_ns_per_record": (cpu_end - cpu_start) / records,
        "seconds_to_delivered": (end - start) / 1e9,
        "flush_ok": bool(flushed_ok),
        "shutdown_ok": shutdown_ok is not False,
        "max_rss_kib": _peak_rss_kib(),
        "bytes_per_record": size / delivered if delivered else None,
        "pipeline": _since(before, pipeline.notes()),
    }


# -- the encode micro-case ---------------------------------------------------------------------


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


def _encode_fapilog() -> _Encoder:
    """fapilog's hand-written encoder (its caches warm up on the first calls, as in use)."""
    try:
        encoder = importlib.import_module("fapilog_otel.otlp._protobuf").ProtobufEncoder()
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
    "encode-upb": _encode_upb,
    "encode-sdk": _encode_sdk,
}


def _measure_encode(loops: int) -> dict[str, Any]:
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


def _exit_with_parent(fd: int) -> None:
    """Exit at once when the parent closes its end of the pipe ``fd`` (or dies)."""

    def watch() -> None:
        while os.read(fd, 1):
            pass
        os._exit(3)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of one case run."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks._delivery_child",
        description="Run one delivery-benchmark case and print its result line.",
    )
    parser.add_argument("case", help="a delivery case key, or encode")
    parser.add_argument("-n", "--records", type=int, default=DEFAULT_RECORDS)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--grpc-port", type=int, default=0)
    parser.add_argument("--encode-loops", type=int, default=DEFAULT_ENCODE_LOOPS)
    parser.add_argument("--lifeline", type=int)
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> int:
    """Run one case in this (fresh) process and print its result line."""
    args = _parse_args(argv)
    if args.lifeline is not None:
        _exit_with_parent(args.lifeline)
    try:
        if args.case == "encode":
            result = _measure_encode(args.encode_loops)
        elif args.case == "fapilog-file":
            result = _measure_file(args.records)
        else:
            result = _measure_delivery(args.case, args.records, args.http_port, args.grpc_port)
    except Unavailable as exc:
        result = {"status": "unavailable", "notes": str(exc)}
    print(format_result(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
