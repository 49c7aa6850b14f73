"""One delivery-benchmark case, run in its own fresh process by :mod:`benchmarks.delivery`.

Usage (the parent passes these; nobody else needs to)::

    python -m benchmarks._delivery_child CASE [-n RECORDS] [--http-port P] [--grpc-port P]
                                         [--encode-loops L] [--lifeline FD]

``CASE`` is a delivery case key (``sdk-http``, ``fapilog-grpc``...), which logs ``RECORDS``
records into that library's pipeline and measures their delivery to the receiver on the
given ports (``fapilog-file``: to a JSON-lines file, counted by reading it back), or
``encode``, which times every encoder on one batch (:mod:`benchmarks._delivery_encode`).
Either way the process prints one result line (:func:`benchmarks._children.print_result`)
and exits 0; a case that cannot run here reports ``"status": "unavailable"`` and why.
``--lifeline`` is the read end of a pipe held by the parent: when it closes, this process
exits at once.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from benchmarks._children import print_result, watch_lifeline
from benchmarks._delivery_common import (
    DEFAULT_ENCODE_LOOPS,
    DEFAULT_RECORDS,
    WARMUP_RECORDS,
    Unavailable,
)
from benchmarks._delivery_encode import measure_encode
from benchmarks._receiver import ReceiverControl

__all__ = ["Pipeline", "Unavailable", "main"]

FLUSH_TIMEOUT_S = 120.0
SETTLE_POLL_S = 0.25


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


def _fapilog_pipeline(
    protocol: str, http_port: int, grpc_port: int, *, pure: bool = False
) -> Pipeline:
    """fapilog_otel: a ``Container`` with the native ``otlp`` exporter, defaults otherwise.

    ``protocol`` is ``http`` (``http/protobuf``), ``json`` (``http/json``) or ``grpc``;
    ``pure``: the encoder is the pure-Python one even where the compiled one was built
    (this process is the case's own, so the variable is set for good).
    """
    _check_fapilog_otlp()
    import fapilog_otel as fo

    if pure:
        os.environ["FAPILOG_PURE_PYTHON"] = "1"

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
        "fapilog-http-py": lambda: _fapilog_pipeline("http", http_port, grpc_port, pure=True),
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


@dataclass(frozen=True)
class _Burst:
    """One timed burst: the pipeline's counters before it, and its clocks (ns).

    Attributes:
        before: The pipeline's notes before the burst (to subtract the warm-up).
        cpu_start: Process CPU time at the first call.
        start: Wall time at the first call.
        produced: Wall time after the last call returned.
        flushed: Wall time after the flush returned.
        flush_ok: Whether the flush said everything was exported.
    """

    before: dict[str, Any]
    cpu_start: int
    start: int
    produced: int
    flushed: int
    flush_ok: bool

    def timings(self, *, records: int, delivered: int, end: int, cpu_end: int) -> dict[str, Any]:
        """The burst's rates and times, delivery counted until ``end`` (wall, ns)."""
        return {
            "delivered_per_s": delivered / ((end - self.start) / 1e9),
            "producer_ns_per_record": (self.produced - self.start) / records,
            "cpu_ns_per_record": (cpu_end - self.cpu_start) / records,
            "seconds_to_delivered": (end - self.start) / 1e9,
            "flush_ok": self.flush_ok,
        }


def _burst(pipeline: Pipeline, records: int) -> _Burst:
    """Log ``records`` as fast as the pipeline takes them, then flush it; clock both."""
    before = pipeline.notes()
    gc.collect()

    cpu_start = time.process_time_ns()
    start = time.perf_counter_ns()
    pipeline.run(records)
    produced = time.perf_counter_ns()
    flush_ok = bool(pipeline.flush(FLUSH_TIMEOUT_S))
    return _Burst(before, cpu_start, start, produced, time.perf_counter_ns(), flush_ok)


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
        burst = _burst(pipeline, records)
        reply = _wait_settled(control, records, 30.0)
        end = time.perf_counter_ns() if reply["reached"] else burst.flushed
        cpu_end = time.process_time_ns()
    finally:
        shutdown_ok = pipeline.shutdown()
    after = control.count()
    control.close()
    delivered = int(reply["records"])
    counters = _since(burst.before, pipeline.notes())
    # The receiver also counts the library's own drop reports: a pipeline that keeps
    # accounts must have exported exactly the records logged, not just as many requests.
    exported = counters.get("exported")
    return {
        "status": "ok",
        "records": records,
        "delivered": delivered,
        "delivered_after_shutdown": int(after["records"]),
        "complete": delivered == records and (exported is None or exported == records),
        "requests": int(reply["requests"]),
        "receiver_errors": int(after["errors"]),
        **burst.timings(records=records, delivered=delivered, end=end, cpu_end=cpu_end),
        "shutdown_ok": shutdown_ok is not False,
        "max_rss_kib": _peak_rss_kib(),
        "pipeline": counters,
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
            burst = _burst(pipeline, records)
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
        **burst.timings(records=records, delivered=delivered, end=burst.flushed, cpu_end=cpu_end),
        "shutdown_ok": shutdown_ok is not False,
        "max_rss_kib": _peak_rss_kib(),
        "bytes_per_record": size / delivered if delivered else None,
        "pipeline": _since(burst.before, pipeline.notes()),
    }


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
    watch_lifeline(args.lifeline)
    try:
        if args.case == "encode":
            result = measure_encode(args.encode_loops)
        elif args.case == "fapilog-file":
            result = _measure_file(args.records)
        else:
            result = _measure_delivery(args.case, args.records, args.http_port, args.grpc_port)
    except Unavailable as exc:
        result = {"status": "unavailable", "notes": str(exc)}
    print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
