"""``fapilog-otel bench``: a quick benchmark.

In a source checkout, the repository's own suite runs (``python -m benchmarks <suite>
--quick``, in a subprocess with this interpreter, its output passed through). Elsewhere a
small self-contained measurement runs instead, and says so.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import fapilog_otel

HELP = "run a quick benchmark"
SUITES = ("callsite", "delivery", "worker", "latency")
DESCRIPTION = """\
Run a quick benchmark. In a source checkout of fapilog-otel (the `benchmarks` package
importable, or next to the installed package) this runs `python -m benchmarks SUITE
--quick --no-json`; arguments after `--` go to the suite instead of those defaults.
Elsewhere it runs a small self-contained measurement: nanoseconds per `info` call with
three attributes into an in-memory exporter, and records per second through the OTLP
protobuf encoder."""


def add_parser(subparsers: Any) -> None:
    """Register ``bench`` on the command's subparsers."""
    parser = subparsers.add_parser(
        "bench",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--suite",
        choices=SUITES,
        default="callsite",
        help="the checkout's suite to run (default: callsite, the fastest)",
    )
    parser.add_argument(
        "--self-contained",
        action="store_true",
        help="run the small built-in measurement even in a checkout",
    )
    parser.add_argument(
        "-n",
        "--calls",
        type=int,
        default=20_000,
        help="calls (and records) of the self-contained measurement (default: 20000)",
    )
    parser.add_argument(
        "suite_args",
        nargs=argparse.REMAINDER,
        help="after `--`: arguments for the suite, replacing --quick --no-json",
    )
    parser.set_defaults(run=run)


def checkout_root() -> Path | None:
    """The directory holding this project's ``benchmarks`` package, if there is one."""
    candidates = []
    spec = importlib.util.find_spec("benchmarks")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent.parent)
    candidates.append(Path(fapilog_otel.__file__).resolve().parent.parent)
    for root in candidates:
        package = root / "benchmarks"
        if (package / "__main__.py").is_file() and (package / "callsite.py").is_file():
            return root
    return None


def run_suite(root: Path, suite: str, suite_args: list[str]) -> int:
    """Run one suite of the checkout at ``root``; its output goes straight through."""
    argv = suite_args or ["--quick", "--no-json"]
    command = [sys.executable, "-m", "benchmarks", suite, *argv]
    return subprocess.call(command, cwd=root)


def _per_call_ns(calls: int) -> tuple[float, int]:
    from fapilog_otel.testing import make_container

    container, exporter = make_container(diagnostics=False, redactors=[])
    log = container.get_logger("bench")
    info = log.info
    started = time.perf_counter_ns()
    for i in range(calls):
        info("request handled", path="/orders", status=200, attempt=i)
    elapsed = time.perf_counter_ns() - started
    container.flush(30.0)
    container.shutdown(5.0)
    return elapsed / calls, len(exporter.records)


def _encoder_records_per_second(count: int) -> float:
    from fapilog_otel.otlp._protobuf import ProtobufEncoder
    from fapilog_otel.testing import make_record

    records = [
        make_record("request handled", {"path": "/orders", "status": 200, "attempt": i})
        for i in range(count)
    ]
    encoder = ProtobufEncoder()
    started = time.perf_counter()
    for start in range(0, count, 512):
        encoder.encode(records[start : start + 512])
    elapsed = time.perf_counter() - started
    return count / elapsed if elapsed > 0 else float("inf")


def run_self_contained(calls: int, out: TextIO) -> int:
    """Measure the call site and the encoder in this process; print the figures."""
    out.write(
        "self-contained measurement, not the benchmark suite (one run, no repeats: "
        "for a rough idea only)\n"
    )
    per_call, exported = _per_call_ns(calls)
    out.write(
        f"  info() with 3 attributes, in-memory exporter, redactors off: "
        f"{per_call:,.0f} ns per call ({calls:,} calls, {exported:,} exported)\n"
    )
    rate = _encoder_records_per_second(calls)
    out.write(f"  ProtobufEncoder.encode, batches of 512: {rate:,.0f} records/s\n")
    return 0


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``bench``; return the exit status."""
    if args.calls < 1:
        out.write("--calls must be at least 1\n")
        return 2
    root = None if args.self_contained else checkout_root()
    if root is None:
        return run_self_contained(args.calls, out)
    suite_args = [arg for arg in args.suite_args if arg != "--"]
    out.write(f"running the checkout's suite: python -m benchmarks {args.suite} (in {root})\n")
    out.flush()
    return run_suite(root, args.suite, suite_args)
