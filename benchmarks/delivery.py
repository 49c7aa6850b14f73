"""Records per second fully delivered over OTLP to a receiver in another process.

Each case logs ``N`` records from one producer thread as fast as it can, the same call as
its library spells it (``info("message", a="x", b=1, c=True)``: a body and three
attributes), then flushes, and waits until the receiver (:mod:`benchmarks._receiver`, a
separate process that decodes every request with the official ``opentelemetry.proto``
classes) has counted all ``N``:

=================  ===================================================================
sdk-http           OTel SDK ``LoggerProvider`` + ``BatchLogRecordProcessor`` (defaults:
                   queue 2,048, batch 512) + the SDK's OTLP/HTTP exporter
sdk-http-bigq      as ``sdk-http`` with ``max_queue_size`` large enough for the burst
sdk-grpc           as ``sdk-http`` with the SDK's OTLP/gRPC exporter (insecure)
sdk-grpc-bigq      as ``sdk-grpc`` with ``max_queue_size`` large enough for the burst
fapilog-http       ``fapilog_otel.Container`` with the native ``otlp`` exporter over
                   ``http/protobuf``, default settings otherwise
fapilog-grpc       the same over ``grpc``
fapilog-json       the same over ``http/json`` (the receiver decodes it with json_format)
fapilog-file       ``fapilog_otel.Container`` with the ``file`` exporter (JSON lines to a
                   temporary file), defaults otherwise; no receiver: records count as
                   delivered once flushed into the file, and are counted by reading the
                   file's lines back after shutdown
=================  ===================================================================

What is reported per case (medians over the repeats):

* **delivered/s**: ``N`` / (time from the first call until the receiver's count reaches
  ``N``). A case whose count never reaches ``N`` (records dropped) reports the records it
  did deliver / (time from the first call until its flush returned), and says so. For
  ``fapilog-file``: the lines in the file / (time from the first call until the flush
  returned, when every record is written).
* **producer us/rec**: the producer thread's wall time per call, during the burst.
* **cpu us/rec**: CPU time of the whole case process (producer and background threads)
  per record, from the first call until delivery.
* **delivered**: the receiver's count, which must equal ``N`` for a case to be "complete".
* **peak MiB**: the case process's peak resident memory (what the queued backlog costs).

Each case runs in a fresh subprocess (:mod:`benchmarks._delivery_child`), so one case's
threads, queues and garbage do not affect the next. Before the timed burst a case logs a
small warm-up batch (connections opened, code paths warm), waits for it to arrive, and
resets the receiver's count. Repeats are interleaved (all cases once, then all again) so a
slow spell of the shared machine hits every case alike. The receiver runs on the same
machine: its work (about 0.3 us per record over HTTP) competes for the same CPUs, equally
for every case.

The ``encode`` rows compare the cost per record of turning a batch of 512 records into an
encoded ``ExportLogsServiceRequest``: fapilog's own ``ProtobufEncoder``, the same request
built with the official ``opentelemetry.proto`` classes, and the SDK's ``encode_logs``.
Every encoder's output is decoded back with the official classes and must hold the 512
records. The same batch is encoded again and again, so fapilog's caches of repeated
attributes and bodies are warm, as they are in the delivery cases (every record there has
the same message and attributes, only the time stamps differ). The SDK's records carry no
``timestamp`` (its ``emit`` sets only ``observed_timestamp``), hence its smaller requests.

``python -m benchmarks delivery --help`` lists the options; ``python -m benchmarks._receiver
--self-test`` measures what the receiver sustains on its own.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import _history, _report
from benchmarks._children import run_child
from benchmarks._delivery_common import (
    DEFAULT_ENCODE_LOOPS,
    DEFAULT_RECORDS,
    ENCODE_BATCH,
    WARMUP_RECORDS,
)
from benchmarks._delivery_results import (
    BASELINE,
    COMPLETE_BASELINE,
    DeliveryResult,
    EncodeResult,
    delivery_notes,
    format_tables,
    record_encode,
)
from benchmarks._receiver import Receiver, ReceiverControl

__all__ = [
    "CASE_KEYS",
    "DeliveryResult",
    "EncodeResult",
    "format_tables",
    "main",
    "run_suite",
]

QUICK_RECORDS = 20_000
DEFAULT_REPEATS = 3
QUICK_ENCODE_LOOPS = 40
_CHILD_MODULE = "benchmarks._delivery_child"

#: Delivery cases in table order: key -> what it is.
DELIVERY_CASES: dict[str, str] = {
    "sdk-http": "OTel SDK batch + OTLP/HTTP exporter, default queue 2,048",
    "sdk-http-bigq": "OTel SDK batch + OTLP/HTTP exporter, queue holds the burst",
    "sdk-grpc": "OTel SDK batch + OTLP/gRPC exporter, default queue 2,048",
    "sdk-grpc-bigq": "OTel SDK batch + OTLP/gRPC exporter, queue holds the burst",
    "fapilog-http": "fapilog_otel Container, otlp http/protobuf, defaults",
    "fapilog-http-py": "fapilog-http with the pure-Python encoder (FAPILOG_PURE_PYTHON=1)",
    "fapilog-grpc": "fapilog_otel Container, otlp grpc, defaults",
    "fapilog-json": "fapilog_otel Container, otlp http/json, defaults",
    "fapilog-file": "fapilog_otel Container, file exporter (JSON lines), defaults",
}
#: Encode rows: key -> what it is.
ENCODE_CASES: dict[str, str] = {
    "encode-fapilog": "fapilog_otel ProtobufEncoder().encode(records), compiled when built",
    "encode-fapilog-py": "fapilog_otel ProtobufEncoder().encode(records), pure Python",
    "encode-upb": "opentelemetry.proto classes built per record + SerializeToString()",
    "encode-sdk": "SDK encode_logs(records).SerializeToString()",
}
#: Distributions the JSON names beyond those of every suite.
_VERSIONS = (
    "opentelemetry-exporter-otlp-proto-http",
    "opentelemetry-exporter-otlp-proto-grpc",
    "opentelemetry-proto",
    "protobuf",
    "grpcio",
)
#: Every key ``--only`` accepts (``encode`` selects all encode rows).
CASE_KEYS: tuple[str, ...] = (*DELIVERY_CASES, "encode")


def run_suite(
    keys: Sequence[str],
    *,
    records: int,
    repeats: int,
    encode_loops: int = DEFAULT_ENCODE_LOOPS,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[DeliveryResult], list[EncodeResult]]:
    """Start the receiver, run the selected cases (each repeat in a fresh process), stop it.

    Args:
        keys: Delivery case keys and/or ``"encode"``, in any order (the table order is fixed).
        records: Records logged per delivery case and repeat.
        repeats: Repeats of every case, interleaved.
        encode_loops: Encodes of a 512-record batch timed per encoder and repeat.
        progress: Receives one short line per case run, if given.

    Returns:
        The delivery rows and the encode rows, in table order.
    """
    deliveries = [DeliveryResult(k, t) for k, t in DELIVERY_CASES.items() if k in keys]
    encodes = [EncodeResult(k, t) for k, t in ENCODE_CASES.items()] if "encode" in keys else []
    timeout = 120.0 + records / 2_000
    with Receiver() as receiver:
        control = ReceiverControl(receiver.http_port)
        try:
            for round_no in range(1, repeats + 1):
                for row in deliveries:
                    if row.status != "ok":
                        continue
                    if progress is not None:
                        progress(f"repeat {round_no}/{repeats}: {row.key}")
                    control.reset()
                    outcome = run_child(
                        _CHILD_MODULE,
                        [
                            row.key,
                            "-n",
                            str(records),
                            "--http-port",
                            str(receiver.http_port),
                            "--grpc-port",
                            str(receiver.grpc_port),
                        ],
                        timeout,
                    )
                    if outcome["status"] == "ok":
                        row.samples.append(outcome)
                    else:
                        row.status, row.notes = outcome["status"], outcome.get("notes", "")
                if encodes:
                    if progress is not None:
                        progress(f"repeat {round_no}/{repeats}: encode")
                    record_encode(
                        encodes,
                        run_child(
                            _CHILD_MODULE, ["encode", "--encode-loops", str(encode_loops)], timeout
                        ),
                    )
        finally:
            control.close()
    for row in deliveries:
        row.notes = delivery_notes(row) if row.status == "ok" else row.notes
    return deliveries, encodes


def write_json(
    deliveries: Sequence[DeliveryResult],
    encodes: Sequence[EncodeResult],
    *,
    records: int,
    repeats: int,
    directory: Path,
) -> Path:
    """Write the run to ``directory/delivery-<UTC timestamp>.json`` and return the path."""
    rates = {r.key: r.median("delivered_per_s") for r in deliveries}
    body = {
        "method": {
            "records_per_repeat": records,
            "repeats": repeats,
            "warmup_records": WARMUP_RECORDS,
            "interleaved": True,
            "fresh_process_per_case": True,
            "receiver": "benchmarks._receiver, separate process, same machine",
            "delivered_per_s": "records / (first call -> receiver count reaches records)",
            "statistic": "median of repeats",
        },
        "results": [
            {
                "key": r.key,
                "title": r.title,
                "status": r.status,
                "median_delivered_per_s": rates[r.key],
                "median_producer_ns_per_record": r.median("producer_ns_per_record"),
                "median_cpu_ns_per_record": r.median("cpu_ns_per_record"),
                "ratio_vs_sdk_http": _report.ratio(rates[r.key], rates.get(BASELINE)),
                "ratio_vs_sdk_http_bigq": _report.ratio(rates[r.key], rates.get(COMPLETE_BASELINE)),
                "complete": r.complete,
                "samples": r.samples,
                "notes": r.notes,
            }
            for r in deliveries
        ],
        "encode": [
            {
                "key": e.key,
                "title": e.title,
                "status": e.status,
                "batch": ENCODE_BATCH,
                "median_ns_per_record": e.median,
                "samples_ns_per_record": e.samples_ns,
                "request_bytes": e.request_bytes,
                "notes": e.notes,
            }
            for e in encodes
        ],
    }
    return _report.write_json("delivery", directory, body, machine=_report.machine_info(_VERSIONS))


def history_series(
    deliveries: Sequence[DeliveryResult], encodes: Sequence[EncodeResult]
) -> dict[str, _history.Series]:
    """The measured rows of a run as the history keeps them: delivered/s (higher is
    better) for the delivery cases, ns per record (lower is better) for the encoders."""
    series = {
        r.key: _history.Series(
            [float(s["delivered_per_s"]) for s in r.samples], unit="rec/s", better="higher"
        )
        for r in deliveries
        if r.status == "ok" and r.samples
    }
    series.update(
        {e.key: _history.Series(e.samples_ns) for e in encodes if e.status == "ok" and e.samples_ns}
    )
    return series


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the suite."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks delivery",
        description="Records per second delivered over OTLP to a receiver in another "
        "process: fapilog-otel side by side with the OpenTelemetry SDK.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_RECORDS:,} records per case instead of {DEFAULT_RECORDS:,}",
    )
    parser.add_argument(
        "-n", "--calls", "--records", dest="records", type=int, help="records per case"
    )
    parser.add_argument(
        "-r",
        "--repeats",
        "--repeat",
        dest="repeats",
        type=int,
        help=f"repeats per case (default {DEFAULT_REPEATS})",
    )
    parser.add_argument(
        "--only", help="comma list of case keys to run (" + ",".join(CASE_KEYS) + ")"
    )
    parser.add_argument("--encode-loops", type=int, help="timed encodes per encoder and repeat")
    _report.add_output_options(parser)
    args = parser.parse_args(list(argv))
    if args.records is None:
        args.records = QUICK_RECORDS if args.quick else DEFAULT_RECORDS
    if args.repeats is None:
        args.repeats = DEFAULT_REPEATS
    if args.encode_loops is None:
        args.encode_loops = QUICK_ENCODE_LOOPS if args.quick else DEFAULT_ENCODE_LOOPS
    if args.records < 1 or args.repeats < 1 or args.encode_loops < 1:
        parser.error("--records, --repeats and --encode-loops must be at least 1")
    return args


def selected_keys(only: str | None) -> tuple[list[str], set[str]]:
    """The case keys an ``--only`` list selects here, and the names it has that are unknown."""
    if not only:
        return list(CASE_KEYS), set()
    wanted = _report.wanted_keys(only)
    return [k for k in CASE_KEYS if k in wanted], wanted - set(CASE_KEYS)


def main(argv: Sequence[str] = ()) -> int:
    """Run the delivery suite, print the tables, write the JSON; return an exit code.

    The exit code is 1 when a case failed or a fapilog case lost records (with its default
    settings every record must arrive), 2 for unknown case keys.
    """
    args = _parse_args(argv)
    keys, unknown = selected_keys(args.only)
    if unknown:
        return _report.reject_unknown(unknown)
    print(
        f"records/s delivered over OTLP to a receiver process: {args.records:,} records x "
        f"{args.repeats} repeats per case, each in a fresh process, repeats interleaved"
    )
    deliveries, encodes = run_suite(
        keys,
        records=args.records,
        repeats=args.repeats,
        encode_loops=args.encode_loops,
        progress=_report.progress,
    )
    print()
    print(format_tables(deliveries, encodes))
    if not args.no_json:
        path = write_json(
            deliveries,
            encodes,
            records=args.records,
            repeats=args.repeats,
            directory=args.results_dir,
        )
        print(f"\nresults: {path}")
    if _history.is_full_run(
        quick=args.quick, no_json=args.no_json, size=args.records, default_size=DEFAULT_RECORDS
    ):
        print()
        print(
            _history.record_run("delivery", history_series(deliveries, encodes), size=args.records)
        )
    failed = any(r.status == "error" for r in deliveries) or any(
        e.status == "error" for e in encodes
    )
    lost = [
        r.key for r in deliveries if r.key.startswith("fapilog") and r.samples and not r.complete
    ]
    if lost:
        print(f"\nrecords lost with default settings: {', '.join(lost)}", file=sys.stderr)
    return 1 if failed or lost else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
