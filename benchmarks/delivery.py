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
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import _history
from benchmarks._delivery_common import (
    DEFAULT_ENCODE_LOOPS,
    DEFAULT_RECORDS,
    ENCODE_BATCH,
    WARMUP_RECORDS,
    parse_result,
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
BASELINE = "sdk-http"
COMPLETE_BASELINE = "sdk-http-bigq"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
_CHILD_MODULE = "benchmarks._delivery_child"

#: Delivery cases in table order: key -> what it is.
DELIVERY_CASES: dict[str, str] = {
    "sdk-http": "OTel SDK batch + OTLP/HTTP exporter, default queue 2,048",
    "sdk-http-bigq": "OTel SDK batch + OTLP/HTTP exporter, queue holds the burst",
    "sdk-grpc": "OTel SDK batch + OTLP/gRPC exporter, default queue 2,048",
    "sdk-grpc-bigq": "OTel SDK batch + OTLP/gRPC exporter, queue holds the burst",
    "fapilog-http": "fapilog_otel Container, otlp http/protobuf, defaults",
    "fapilog-grpc": "fapilog_otel Container, otlp grpc, defaults",
    "fapilog-json": "fapilog_otel Container, otlp http/json, defaults",
    "fapilog-file": "fapilog_otel Container, file exporter (JSON lines), defaults",
}
#: Encode rows: key -> what it is.
ENCODE_CASES: dict[str, str] = {
    "encode-fapilog": "fapilog_otel ProtobufEncoder().encode(records)",
    "encode-upb": "opentelemetry.proto classes built per record + SerializeToString()",
    "encode-sdk": "SDK encode_logs(records).SerializeToString()",
}
#: Every key ``--only`` accepts (``encode`` selects all encode rows).
CASE_KEYS: tuple[str, ...] = (*DELIVERY_CASES, "encode")


@dataclass
class DeliveryResult:
    """What one delivery case measured over its repeats, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""

    def median(self, name: str) -> float | None:
        """Median of one measured quantity over the repeats."""
        values = [s[name] for s in self.samples if s.get(name) is not None]
        return statistics.median(values) if values else None

    @property
    def delivered(self) -> list[int]:
        """The receiver's count in each repeat."""
        return [int(s["delivered"]) for s in self.samples]

    @property
    def records(self) -> int:
        """Records logged per repeat."""
        return int(self.samples[0]["records"]) if self.samples else 0

    @property
    def complete(self) -> bool:
        """Every repeat delivered every record."""
        return bool(self.samples) and all(s["complete"] for s in self.samples)


@dataclass
class EncodeResult:
    """What one encoder measured over the repeats, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples_ns: list[float] = field(default_factory=list)
    request_bytes: int = 0
    notes: str = ""

    @property
    def median(self) -> float | None:
        """Median ns per record over the repeats."""
        return statistics.median(self.samples_ns) if self.samples_ns else None


def _run_child(argv: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks._delivery_child ...``; return its result line."""
    # Configuration from the environment would make the cases differ from run to run.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FAPILOG_"))}
    # The case watches the read end of this pipe: end of file means we are gone.
    lifeline, keep = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-m", _CHILD_MODULE, *argv, "--lifeline", str(lifeline)],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            pass_fds=(lifeline,),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.close(lifeline)
        os.close(keep)
    result = parse_result(done.stdout)
    if result is not None:
        return result
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "error", "notes": f"exit {done.returncode}: {tail}"}


def _delivery_notes(result: DeliveryResult) -> str:
    """The notes column of a delivery row."""
    if not result.samples:
        return result.notes
    parts: list[str] = []
    delivered = result.delivered
    low, n = min(delivered), result.records
    if result.complete:
        parts.append(f"delivered {n:,}/{n:,}")
    else:
        parts.append(f"LOSSY: delivered {low:,}-{max(delivered):,}/{n:,}")
    if any(not s["flush_ok"] for s in result.samples):
        parts.append("flush timed out")
    pipeline = result.samples[-1].get("pipeline") or {}
    if pipeline:
        dropped = {k: v for k, v in pipeline.get("dropped", {}).items() if v}
        parts.append(f"stats exported {pipeline.get('exported', 0):,}")
        if pipeline.get("failed"):
            parts.append(f"failed {pipeline['failed']:,}")
        if dropped:
            parts.append(f"dropped {dropped}")
    errors = sum(int(s["receiver_errors"]) for s in result.samples)
    if errors:
        parts.append(f"{errors} undecodable requests")
    bad_lines = sum(int(s.get("bad_lines", 0)) for s in result.samples)
    if bad_lines:
        parts.append(f"{bad_lines} lines not JSON")
    if result.notes:
        parts.append(result.notes)
    return ", ".join(parts)


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
                    outcome = _run_child(
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
                    _record_encode(
                        encodes,
                        _run_child(["encode", "--encode-loops", str(encode_loops)], timeout),
                    )
        finally:
            control.close()
    for row in deliveries:
        row.notes = _delivery_notes(row) if row.status == "ok" else row.notes
    return deliveries, encodes


def _record_encode(rows: Sequence[EncodeResult], outcome: dict[str, Any]) -> None:
    """Add one encode child's measurements to the encode rows."""
    for row in rows:
        if row.status != "ok":
            continue
        if outcome["status"] != "ok":
            row.status, row.notes = outcome["status"], outcome.get("notes", "")
            continue
        measured = outcome["rows"].get(row.key, {"status": "error", "notes": "missing"})
        if measured["status"] != "ok":
            row.status, row.notes = measured["status"], measured.get("notes", "")
            continue
        row.samples_ns.append(float(measured["ns_per_record"]))
        row.request_bytes = int(measured["request_bytes"])


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A fixed-width text table."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _ratio(value: float | None, base: float | None) -> str:
    """``value / base`` for the table."""
    return f"{value / base:.2f}x" if value is not None and base else "-"


def format_tables(deliveries: Sequence[DeliveryResult], encodes: Sequence[EncodeResult]) -> str:
    """Render the delivery table (and the encode table, if any) as text."""
    parts: list[str] = []
    if deliveries:
        rates = {r.key: r.median("delivered_per_s") for r in deliveries}
        base, complete_base = rates.get(BASELINE), rates.get(COMPLETE_BASELINE)
        rows: list[tuple[str, ...]] = []
        for r in deliveries:
            rate = rates[r.key]
            if r.status != "ok" or rate is None:
                rows.append((r.key, r.status, "", "", "", "", "", "", r.notes))
                continue
            producer = r.median("producer_ns_per_record")
            cpu = r.median("cpu_ns_per_record")
            rows.append(
                (
                    r.key,
                    f"{rate:,.0f}",
                    _ratio(rate, base),
                    _ratio(rate, complete_base),
                    "-" if producer is None else f"{producer / 1000:.2f}",
                    "-" if cpu is None else f"{cpu / 1000:.2f}",
                    f"{min(r.delivered):,}",
                    f"{(r.median('max_rss_kib') or 0) / 1024:,.0f}",
                    r.notes,
                )
            )
        header = (
            "case",
            "delivered/s",
            f"vs {BASELINE}",
            f"vs {COMPLETE_BASELINE}",
            "producer us/rec",
            "cpu us/rec",
            "delivered",
            "peak MiB",
            "notes",
        )
        parts.append(_table(header, rows, {1, 2, 3, 4, 5, 6, 7}))
    if encodes:
        by_key = {r.key: r.median for r in encodes}
        sdk = by_key.get("encode-sdk")
        encode_rows: list[tuple[str, ...]] = []
        for e in encodes:
            if e.status != "ok" or e.median is None:
                encode_rows.append((e.key, e.status, "", "", e.notes or e.title))
                continue
            encode_rows.append(
                (
                    e.key,
                    f"{e.median:,.0f}",
                    _ratio(e.median, sdk),
                    f"{e.request_bytes:,}",
                    e.title,
                )
            )
        encode_header = ("encode (512/batch)", "ns/record", "vs encode-sdk", "bytes/batch", "what")
        parts.append(_table(encode_header, encode_rows, {1, 2, 3}))
    return "\n\n".join(parts)


def write_json(
    deliveries: Sequence[DeliveryResult],
    encodes: Sequence[EncodeResult],
    *,
    records: int,
    repeats: int,
    directory: Path,
) -> Path:
    """Write the run to ``directory/delivery-<UTC timestamp>.json`` and return the path."""
    from benchmarks.callsite import machine_info

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"delivery-{stamp}.json"
    rates = {r.key: r.median("delivered_per_s") for r in deliveries}
    info = machine_info()
    info["versions"].update(
        {
            name: _version(name)
            for name in (
                "opentelemetry-exporter-otlp-proto-http",
                "opentelemetry-exporter-otlp-proto-grpc",
                "opentelemetry-proto",
                "protobuf",
                "grpcio",
            )
        }
    )
    document = {
        "suite": "delivery",
        "timestamp": stamp,
        "machine": info,
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
                "ratio_vs_sdk_http": _ratio_value(rates[r.key], rates.get(BASELINE)),
                "ratio_vs_sdk_http_bigq": _ratio_value(rates[r.key], rates.get(COMPLETE_BASELINE)),
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
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _ratio_value(value: float | None, base: float | None) -> float | None:
    """``value / base`` or ``None``."""
    return value / base if value is not None and base else None


def _version(distribution: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


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
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    parser.add_argument("--no-json", action="store_true", help="print the table only")
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
    wanted = {key.strip() for key in only.split(",") if key.strip()}
    return [k for k in CASE_KEYS if k in wanted], wanted - set(CASE_KEYS)


def main(argv: Sequence[str] = ()) -> int:
    """Run the delivery suite, print the tables, write the JSON; return an exit code.

    The exit code is 1 when a case failed or a fapilog case lost records (with its default
    settings every record must arrive), 2 for unknown case keys.
    """
    args = _parse_args(argv)
    keys, unknown = selected_keys(args.only)
    if unknown:
        print(f"unknown case keys: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    print(
        f"records/s delivered over OTLP to a receiver process: {args.records:,} records x "
        f"{args.repeats} repeats per case, each in a fresh process, repeats interleaved"
    )
    deliveries, encodes = run_suite(
        keys,
        records=args.records,
        repeats=args.repeats,
        encode_loops=args.encode_loops,
        progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
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
