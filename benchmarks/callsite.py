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
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import _history, _report
from benchmarks._cases import (
    CASES,
    CaseResult,
    CaseSpec,
    Prepared,
)
from benchmarks._interleaved import history_series, prepare_all, time_rounds

__all__ = ["CASES", "CaseResult", "CaseSpec", "Prepared", "main", "run_suite"]

DEFAULT_CALLS = 100_000
DEFAULT_REPEATS = 7
QUICK_CALLS = 20_000
QUICK_REPEATS = 3
WARMUP_CALLS = 2_000


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

    def setup(spec: CaseSpec) -> Prepared:
        ready = spec.prepare()
        ready.run(min(WARMUP_CALLS, case_calls[spec.key]))
        ready.settle()
        return ready

    prepared = prepare_all(specs, results, setup, skipped="skipped")
    time_rounds(
        results,
        prepared,
        lambda timed, result: _time_once(timed, case_calls[result.key]),
        repeats=repeats,
        progress=progress,
    )

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
        ratio = _report.ratio_cell(median, base, missing="n/a")
        budget = ""
        if r.budget_ns is not None:
            verdict = "ok" if median <= r.budget_ns else "OVER"
            budget = f"<={r.budget_ns:,.0f} {verdict}"
        fmt_ns = _report.fmt_ns
        rows.append((r.key, r.title, fmt_ns(median), fmt_ns(r.minimum), ratio, budget, r.notes))
    return _report.table(header, rows, right={2, 3, 4})


def write_json(results: Sequence[CaseResult], *, calls: int, repeats: int, directory: Path) -> Path:
    """Write the run to ``directory/callsite-<UTC timestamp>.json`` and return the path."""
    base = next((r.median for r in results if r.key == "a"), None)
    case_calls = {spec.key: spec.calls(calls) for spec in CASES}
    method = {
        "calls_per_repeat": calls,
        "repeats": repeats,
        "interleaved": True,
        "gc": "enabled; gc.collect() before each repeat",
        "clock": "time.perf_counter_ns",
        "statistic": "median of repeats, ns per call",
    }
    rows = [
        {
            "key": r.key,
            "title": r.title,
            "status": r.status,
            "calls_per_repeat": case_calls.get(r.key, calls),
            "median_ns": r.median,
            "min_ns": r.minimum,
            "samples_ns": r.samples_ns_per_call,
            "ratio_vs_a": _report.ratio(r.median, base),
            "budget_ns": r.budget_ns,
            "notes": r.notes,
        }
        for r in results
    ]
    return _report.write_json("callsite", directory, {"method": method, "results": rows})


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
    _report.add_output_options(parser)
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
        wanted = _report.wanted_keys(args.only)
        unknown = wanted - {c.key for c in CASES}
        if unknown:
            return _report.reject_unknown(unknown)
        specs = [c for c in CASES if c.key in wanted]

    info = _report.machine_info()
    print(
        f"call-site cost per log call: {args.calls:,} calls x {args.repeats} repeats, "
        "repeats interleaved, gc enabled (collected before each repeat)"
    )
    print(
        f"Python {info['python']} ({info['implementation']}) on {info['platform']}, "
        f"{info['cpu_count']} CPUs ({info['cpus_usable']} usable); "
        + ", ".join(f"{k} {v or 'missing'}" for k, v in info["versions"].items())
    )
    results = run_suite(specs, calls=args.calls, repeats=args.repeats, progress=_report.progress)
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
