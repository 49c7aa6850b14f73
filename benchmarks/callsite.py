"""Call-site cost of one log call, fapilog-otel side by side with the alternatives.

Every case makes the same call, ``info("order placed")`` with three attributes
(``order_id=123, amount=9.99, vip=True``), as its library spells it:

====  ===================================================================================
a     fapilog-otel, level enabled, exporter that drops everything, queue big enough
b     as (a), inside a recording OTel span (trace context is captured per call)
c     fapilog-otel ``debug`` with the level at INFO (the disabled path)
d1    stdlib ``logging`` with %-style arguments, to a ``NullHandler``
d2    stdlib ``logging`` with ``extra=``, to a ``NullHandler``
d3    stdlib ``logging`` ``debug`` with the level at INFO
e     OpenTelemetry SDK ``Logger.emit`` through ``BatchLogRecordProcessor`` to a null exporter
f1    structlog filtering bound logger, level + ISO time stamp + JSON rendering
f2    structlog ``debug`` with the level at INFO
ref   an empty Python function taking the same arguments: the floor for any logger API
====  ===================================================================================

Only the calls are timed, but a library's background thread (fapilog-otel's worker, the
SDK's batch thread) runs during them and shares the GIL, so in a long burst its per-record
work shows in the caller's time too: the numbers are the caller's wall time per call under
sustained load. What the background thread has not finished when the calls end is flushed
between repeats, untimed; records dropped instead of delivered are reported in the notes
column, so a case cannot look fast by losing records.

Method: each case runs ``repeats`` times ``calls`` calls; the repeats of all cases are
interleaved (a1 b1 c1 ... a2 b2 c2 ...) so that a slow spell of the machine hits every case
alike. The garbage collector stays enabled, as in a real application, but is run before
every repeat. The table shows the median and the minimum ns per call over the repeats and
the ratio of each median to case (a). Loop overhead (``for _ in repeat(None, n)``, about
10 ns) is included in every number and not subtracted; row ``ref`` shows the cost of the
call itself.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import _history
from benchmarks._cases import (
    CASES,
    CaseResult,
    CaseSpec,
    Prepared,
    Skipped,
)

__all__ = ["CASES", "CaseResult", "CaseSpec", "Prepared", "main", "run_suite"]

DEFAULT_CALLS = 100_000
DEFAULT_REPEATS = 7
QUICK_CALLS = 20_000
QUICK_REPEATS = 3
WARMUP_CALLS = 2_000
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _time_once(prepared: Prepared, calls: int) -> float:
    """Collect garbage, time ``calls`` calls, settle untimed; return ns per call."""
    gc.collect()
    start = time.perf_counter_ns()
    prepared.run(calls)
    elapsed = time.perf_counter_ns() - start
    prepared.settle()
    return elapsed / calls


def run_suite(
    specs: Sequence[CaseSpec],
    *,
    calls: int,
    repeats: int,
    progress: Callable[[str], None] | None = None,
) -> list[CaseResult]:
    """Set up every case, time their repeats interleaved, and tear them down.

    Args:
        specs: The cases to run, in table order.
        calls: Log calls per timed repeat.
        repeats: Timed repeats per case.
        progress: Receives one short line per repeat round, if given.

    Returns:
        One result per spec, in the same order; a case that could not be set up or that
        failed has ``status`` ``"skipped"`` or ``"error"`` and a note saying why.
    """
    results = [CaseResult(spec.key, spec.title, budget_ns=spec.budget_ns) for spec in specs]
    case_calls = {spec.key: spec.calls(calls) for spec in specs}
    prepared: dict[str, Prepared] = {}
    for spec, result in zip(specs, results, strict=True):
        try:
            ready = spec.prepare()
            ready.run(min(WARMUP_CALLS, case_calls[spec.key]))
            ready.settle()
        except Skipped as exc:
            result.status, result.notes = "skipped", str(exc)
            continue
        except Exception as exc:
            result.status, result.notes = "error", f"setup: {exc!r}"
            continue
        prepared[spec.key] = ready

    for round_no in range(1, repeats + 1):
        if progress is not None:
            progress(f"repeat {round_no}/{repeats}")
        for result in results:
            timed = prepared.get(result.key)
            if timed is None or result.status != "ok":
                continue
            try:
                result.samples_ns_per_call.append(_time_once(timed, case_calls[result.key]))
            except Exception as exc:
                result.status, result.notes = "error", f"run: {exc!r}"

    for result in results:
        case = prepared.get(result.key)
        if case is None:
            continue
        try:
            if result.status == "ok":
                result.notes = case.summary()
                if case_calls[result.key] != calls:
                    result.notes += f"; timed on {case_calls[result.key]:,} calls per repeat"
        except Exception as exc:
            result.notes = f"summary failed: {exc!r}"
        try:
            case.close()
        except Exception as exc:
            result.notes += f" (close failed: {exc!r})"
    return results


def _version(distribution: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """What the numbers depend on: interpreter, platform, CPUs, library versions."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gil_switch_interval_s": sys.getswitchinterval(),
        "versions": {
            name: _version(name)
            for name in (
                "fapilog-otel",
                "opentelemetry-sdk",
                "structlog",
                "loguru",
                "fapilog",
                "orjson",
            )
        },
    }


def _fmt_ns(value: float | None) -> str:
    """Nanoseconds for the table."""
    return "-" if value is None else f"{value:,.0f}"


def format_table(results: Sequence[CaseResult]) -> str:
    """Render the results as a fixed-width text table with a ratio to case (a)."""
    base = next((r.median for r in results if r.key == "a"), None)
    header = ("case", "what", "median ns", "min ns", "vs (a)", "budget", "notes")
    rows: list[tuple[str, ...]] = []
    for r in results:
        median = r.median
        if r.status != "ok" or median is None:
            rows.append((r.key, r.title, r.status, "", "", "", r.notes))
            continue
        ratio = f"{median / base:.2f}x" if base else "n/a"
        budget = ""
        if r.budget_ns is not None:
            verdict = "ok" if median <= r.budget_ns else "OVER"
            budget = f"<={r.budget_ns:,.0f} {verdict}"
        rows.append((r.key, r.title, _fmt_ns(median), _fmt_ns(r.minimum), ratio, budget, r.notes))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    right = {2, 3, 4}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def write_json(results: Sequence[CaseResult], *, calls: int, repeats: int, directory: Path) -> Path:
    """Write the run to ``directory/callsite-<UTC timestamp>.json`` and return the path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"callsite-{stamp}.json"
    base = next((r.median for r in results if r.key == "a"), None)
    case_calls = {spec.key: spec.calls(calls) for spec in CASES}
    document = {
        "suite": "callsite",
        "timestamp": stamp,
        "machine": machine_info(),
        "method": {
            "calls_per_repeat": calls,
            "repeats": repeats,
            "interleaved": True,
            "gc": "enabled; gc.collect() before each repeat",
            "clock": "time.perf_counter_ns",
            "statistic": "median of repeats, ns per call",
        },
        "results": [
            {
                "key": r.key,
                "title": r.title,
                "status": r.status,
                "calls_per_repeat": case_calls.get(r.key, calls),
                "median_ns": r.median,
                "min_ns": r.minimum,
                "samples_ns": r.samples_ns_per_call,
                "ratio_vs_a": (r.median / base) if (base and r.median is not None) else None,
                "budget_ns": r.budget_ns,
                "notes": r.notes,
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def history_series(results: Sequence[CaseResult]) -> dict[str, _history.Series]:
    """The measured cases of a run as the history keeps them (ns per call, lower is better)."""
    return {
        r.key: _history.Series(r.samples_ns_per_call, unit="ns")
        for r in results
        if r.status == "ok" and r.samples_ns_per_call
    }


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the suite."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Call-site cost per log call: fapilog-otel side by side with "
        "stdlib logging, the OpenTelemetry SDK, structlog, loguru and fapilog 0.18.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_CALLS:,} calls x {QUICK_REPEATS} repeats instead of "
        f"{DEFAULT_CALLS:,} x {DEFAULT_REPEATS}",
    )
    parser.add_argument("-n", "--calls", type=int, help="calls per repeat")
    parser.add_argument("-r", "--repeats", type=int, help="repeats per case")
    parser.add_argument(
        "--only", help="comma list of case keys to run (" + ",".join(c.key for c in CASES) + ")"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    parser.add_argument("--no-json", action="store_true", help="print the table only")
    args = parser.parse_args(list(argv))
    if args.calls is None:
        args.calls = QUICK_CALLS if args.quick else DEFAULT_CALLS
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if args.calls < 1 or args.repeats < 1:
        parser.error("--calls and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] = ()) -> int:
    """Run the call-site suite, print the table, write the JSON; return an exit code."""
    args = _parse_args(argv)
    specs: Sequence[CaseSpec] = CASES
    if args.only:
        wanted = {key.strip() for key in args.only.split(",") if key.strip()}
        unknown = wanted - {c.key for c in CASES}
        if unknown:
            print(f"unknown case keys: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        specs = [c for c in CASES if c.key in wanted]

    info = machine_info()
    print(
        f"call-site cost per log call: {args.calls:,} calls x {args.repeats} repeats, "
        "repeats interleaved, gc enabled (collected before each repeat)"
    )
    print(
        f"Python {info['python']} ({info['implementation']}) on {info['platform']}, "
        f"{info['cpu_count']} CPUs ({info['cpus_usable']} usable); "
        + ", ".join(f"{k} {v or 'missing'}" for k, v in info["versions"].items())
    )
    results = run_suite(
        specs,
        calls=args.calls,
        repeats=args.repeats,
        progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True),
    )
    print()
    print(format_table(results))
    if not args.no_json:
        path = write_json(
            results, calls=args.calls, repeats=args.repeats, directory=args.results_dir
        )
        print(f"\nresults: {path}")
    if _history.is_full_run(
        quick=args.quick, no_json=args.no_json, size=args.calls, default_size=DEFAULT_CALLS
    ):
        print()
        print(_history.record_run("callsite", history_series(results), size=args.calls))
    return 1 if any(r.status == "error" for r in results) else 0
