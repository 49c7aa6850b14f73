"""Latency, call-site tail, memory and scale of a container under load, against targets.

Every scenario runs in a fresh subprocess (:mod:`benchmarks._latency_child`); the ones that
export send OTLP/HTTP protobuf to :mod:`benchmarks._receiver`, a separate process on the
same machine that decodes every request with the official ``opentelemetry.proto`` classes.
Containers use default settings; the call is ``info("message", a="x", b=1, c=True)``.

* ``lat-10k``, ``lat-100k``: records at a fixed 10,000/s (100,000/s) for ``--seconds``,
  each carrying its call's ``time.time_ns()`` in ``sent_ns``; the receiver records arrival
  - ``sent_ns`` per record. Targets: p99 <= 1 ms (10 ms).
* ``tail``: one producer as fast as it can; each call timed with ``perf_counter_ns`` into a
  preallocated array. Targets: p99.9 <= 100 us, no call over 5 ms.
* ``memory-rss``: RSS every 0.5 s at 100,000 records/s for ``--memory-seconds``; slope of a
  least-squares fit over the last three quarters. Target: flat (<= 1 MiB/min).
* ``memory-queued``: bytes per record of ``--fill`` records queued behind an exporter
  blocked on an event (RSS growth / K, and tracemalloc's). Documented, no target.
* ``scale-idle``: CPU of 10 idle containers' threads (``schedstat``) and of the process
  (``getrusage``, with its floor). Target: threads ~0 (<= 100 us/s).
* ``scale-threads``, ``scale-tasks``: records/s into a null exporter from 4 threads (100
  asyncio tasks on an ``AsyncLogger``) against one; the slowest call. Target: >= 0.8x.

The paced producer logs what is due by its schedule, then sleeps (releasing the GIL) until
the next record when that is more than 20 us away, else spins; the achieved rate and worst
lag are reported. Repeats are interleaved; the table shows medians with their range, the
target and ``ok``/``OVER``. A full run (default lengths, JSON written) is also appended to
``benchmarks/history/latency.jsonl`` (:mod:`benchmarks._history`). ``docs/performance.md``
describes the method in full.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import _history, _report
from benchmarks._children import run_child
from benchmarks._latency_child import LATENCY_ATTRIBUTE
from benchmarks._receiver import Receiver, ReceiverControl

__all__ = ["CASE_KEYS", "SCENARIOS", "ScenarioResult", "format_table", "main", "run_suite"]

DEFAULT_REPEATS = 3
DEFAULT_SECONDS, QUICK_SECONDS = 5.0, 1.0
DEFAULT_MEMORY_SECONDS, QUICK_MEMORY_SECONDS = 60.0, 5.0
DEFAULT_FILL = 100_000
_CHILD_MODULE = "benchmarks._latency_child"
_MS, _US, _MIB = 1e6, 1e3, 2**20

Sample = dict[str, Any]
Reader = Callable[[Sample], float | None]
#: Median of one quantity over a scenario's repeats.
Median = Callable[[Reader], float | None]


@dataclass(frozen=True)
class Check:
    """One measured quantity of a scenario, with its target if it has one."""

    label: str
    value: Reader
    render: Callable[[float], str]
    unit: str
    limit: float | None = None
    at_least: bool = False

    def target(self) -> str:
        """The target as the table shows it (``-`` for none)."""
        limit, sign = self.limit, ">=" if self.at_least else "<="
        return "-" if limit is None else f"{self.label} {sign} {self.render(limit)}"

    def met(self, value: float) -> bool:
        """Whether ``value`` meets the target (always, without one)."""
        limit = self.limit
        return limit is None or (value >= limit if self.at_least else value <= limit)


@dataclass(frozen=True)
class Scenario:
    """A row of the table: the child case it runs and how to read its samples."""

    key: str
    case: str
    checks: tuple[Check, ...]
    details: Callable[[Median], str]
    args: Callable[[argparse.Namespace], list[str]]


@dataclass
class ScenarioResult:
    """The samples of one scenario over the repeats, or why it has none."""

    scenario: Scenario
    status: str = "ok"
    samples: list[Sample] = field(default_factory=list)
    notes: str = ""

    def values(self, value: Reader) -> list[float]:
        """One quantity over the repeats (where measured)."""
        return [v for s in self.samples if (v := value(s)) is not None]

    def median(self, value: Reader) -> float | None:
        """Median of one quantity over the repeats."""
        values = self.values(value)
        return statistics.median(values) if values else None


def _ms(v: float) -> str:
    return f"{v / _MS:,.2f} ms"


def _us(v: float) -> str:
    return f"{v / _US:,.1f} us"


def _per_s(v: float) -> str:
    return f"{v:,.0f} us/s"


def _get(*path: str) -> Reader:
    """A reader of ``sample[path[0]][path[1]]...`` (``None`` where missing)."""

    def read(sample: Sample) -> float | None:
        value: Any = sample
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else float(value)

    return read


def _fmt(value: float | None, render: Callable[[float], str]) -> str:
    return "-" if value is None else render(value)


def _latency_details(m: Median, rate: int) -> str:
    lat = [_fmt(m(_get("latency", k)), _ms) for k in ("p50_ns", "p999_ns", "max_ns")]
    return (
        f"p50 {lat[0]}, p99.9 {lat[1]}, max {lat[2]}; rate {m(_get('achieved_per_s')) or 0:,.0f}"
        f"/s of {rate:,}; worst lag {_fmt(m(_get('max_lag_ns')), _ms)}; delivered "
        f"{m(_get('delivered')) or 0:,.0f}/{m(_get('records')) or 0:,.0f}; "
        f"gc gen2 {m(_get('gc_full')) or 0:.0f}"
    )


def _tail_details(m: Median) -> str:
    return (
        f"p50 {_fmt(m(_get('p50_ns')), _us)}, p99 {_fmt(m(_get('p99_ns')), _us)}, max "
        f"{_fmt(m(_get('max_ns')), _ms)}; {m(_get('calls_per_s')) or 0:,.0f} calls/s; gc gen2 "
        f"{m(_get('gc_full')) or 0:.0f}, longest gc {_fmt(m(_get('gc_longest_ns')), _ms)}"
    )


def _rss_details(m: Median) -> str:
    mib = [(m(_get(k)) or 0) / _MIB for k in ("rss_start", "rss_end", "rss_peak")]
    return (
        f"RSS start {mib[0]:,.1f}, end {mib[1]:,.1f}, peak {mib[2]:,.1f} MiB; rate "
        f"{m(_get('achieved_per_s')) or 0:,.0f}/s; delivered {m(_get('delivered')) or 0:,.0f}"
        f"/{m(_get('records')) or 0:,.0f}"
    )


def _queued_details(m: Median) -> str:
    traced, fill = m(_get("tracemalloc_bytes_per_record")) or 0, m(_get("fill")) or 0
    return f"tracemalloc {traced:,.0f} B/record; K = {fill:,.0f} queued behind a blocked exporter"


def _scale_details(m: Median, what: str) -> str:
    return (
        f"{m(_get('many', 'records_per_s')) or 0:,.0f}/s with {what} vs "
        f"{m(_get('single', 'records_per_s')) or 0:,.0f}/s with one; slowest call "
        f"{_fmt(m(_get('many', 'slowest_call_ns')), _ms)} (one: "
        f"{_fmt(m(_get('single', 'slowest_call_ns')), _ms)})"
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "lat-10k",
        "latency",
        (Check("p99", _get("latency", "p99_ns"), _ms, "ns", 1 * _MS),),
        lambda m: _latency_details(m, 10_000),
        lambda a: ["--rate", "10000", "--seconds", str(a.seconds)],
    ),
    Scenario(
        "lat-100k",
        "latency",
        (Check("p99", _get("latency", "p99_ns"), _ms, "ns", 10 * _MS),),
        lambda m: _latency_details(m, 100_000),
        lambda a: ["--rate", "100000", "--seconds", str(a.seconds)],
    ),
    Scenario(
        "tail",
        "tail",
        (
            Check("p99.9", _get("p999_ns"), _us, "ns", 100 * _US),
            Check("calls > 5 ms", _get("over_5ms"), lambda v: f"{v:,.0f}", "calls", 0),
        ),
        _tail_details,
        lambda a: ["--seconds", str(a.seconds)],
    ),
    Scenario(
        "memory-rss",
        "memory-rss",
        (Check("slope", _get("slope_mib_per_min"), lambda v: f"{v:,.2f} MiB/min", "MiB/min", 1.0),),
        _rss_details,
        lambda a: ["--rate", "100000", "--seconds", str(a.memory_seconds)],
    ),
    Scenario(
        "memory-queued",
        "memory-queued",
        (Check("RSS", _get("rss_bytes_per_record"), lambda v: f"{v:,.0f} B/record", "B/record"),),
        _queued_details,
        lambda a: ["--fill", str(a.fill)],
    ),
    Scenario(
        "scale-idle",
        "scale-idle",
        (
            Check("threads CPU", _get("threads_cpu_us_per_s"), _per_s, "us/s", 100.0),
            Check("process CPU", _get("cpu_us_per_s"), _per_s, "us/s"),
        ),
        lambda m: (
            f"10 containers, {m(_get('threads')) or 0:.0f} threads; process CPU with no "
            f"container {m(_get('bare_cpu_us_per_s')) or 0:,.0f} us/s (getrusage floor)"
        ),
        lambda a: ["--seconds", str(a.seconds)],
    ),
    Scenario(
        "scale-threads",
        "scale-threads",
        (Check("ratio", _get("ratio"), lambda v: f"{v:.2f}x", "x", 0.8, at_least=True),),
        lambda m: _scale_details(m, "4 threads"),
        lambda a: ["--seconds", str(a.seconds)],
    ),
    Scenario(
        "scale-tasks",
        "scale-tasks",
        (Check("ratio", _get("ratio"), lambda v: f"{v:.2f}x", "x", 0.8, at_least=True),),
        lambda m: _scale_details(m, "100 tasks"),
        lambda a: ["--seconds", str(a.seconds)],
    ),
)
_GROUPS: dict[str, tuple[str, ...]] = {
    "memory": ("memory-rss", "memory-queued"),
    "scale": ("scale-idle", "scale-threads", "scale-tasks"),
}
#: Every key ``--only`` accepts: the scenarios, and ``memory``/``scale`` for their rows.
CASE_KEYS: tuple[str, ...] = (*(s.key for s in SCENARIOS), *_GROUPS)


def _run_child(argv: Sequence[str], timeout: float) -> Sample:
    """Run ``python -m benchmarks._latency_child ...``; return its result line (an error
    result if it gave none within ``timeout`` seconds)."""
    try:
        return run_child(_CHILD_MODULE, argv, timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "notes": f"no result within {timeout:.0f} s"}


def run_suite(
    keys: Sequence[str],
    options: argparse.Namespace,
    progress: Callable[[str], None] | None = None,
) -> list[ScenarioResult]:
    """Start the receiver (latency mode), run the scenarios, each repeat in a fresh process.

    Args:
        keys: Scenario keys to run (the table order is fixed).
        options: The parsed options (``seconds``, ``memory_seconds``, ``fill``, ``repeats``).
        progress: Receives one short line per scenario run, if given.
    """
    rows = [ScenarioResult(s) for s in SCENARIOS if s.key in keys]
    timeout = 120.0 + 4 * max(options.seconds, options.memory_seconds)
    with Receiver(grpc=False, latency_attribute=LATENCY_ATTRIBUTE) as receiver:
        control = ReceiverControl(receiver.http_port)
        try:
            for round_no in range(1, options.repeats + 1):
                for row in rows:
                    if row.status != "ok":
                        continue
                    if progress is not None:
                        progress(f"repeat {round_no}/{options.repeats}: {row.scenario.key}")
                    control.reset()
                    scenario = row.scenario
                    port = ["--http-port", str(receiver.http_port)]
                    outcome = _run_child([scenario.case, *scenario.args(options), *port], timeout)
                    if outcome.get("status") == "ok":
                        row.samples.append(outcome)
                    else:
                        row.status, row.notes = outcome["status"], outcome.get("notes", "")
        finally:
            control.close()
    return rows


def verdict(result: ScenarioResult) -> str:
    """``ok`` when the medians meet every target, ``OVER`` when not, ``-`` without one."""
    checks = [c for c in result.scenario.checks if c.limit is not None]
    if result.status != "ok" or not result.samples or not checks:
        return "-"
    medians = [result.median(c.value) for c in checks]
    met = all(v is not None and c.met(v) for c, v in zip(checks, medians, strict=True))
    return "ok" if met else "OVER"


def format_table(results: Sequence[ScenarioResult]) -> str:
    """Render the results: measured (median, range), target, verdict, details."""
    rows: list[tuple[str, ...]] = []
    for r in results:
        if r.status != "ok" or not r.samples:
            rows.append((r.scenario.key, r.status, "", "", r.notes))
            continue
        measured, targets = [], []
        for check in r.scenario.checks:
            values = r.values(check.value)
            cell = f"{check.label} {_fmt(r.median(check.value), check.render)}"
            if len(values) > 1:
                cell += f" ({check.render(min(values))} - {check.render(max(values))})"
            measured.append(cell)
            targets.append(check.target())
        details = r.scenario.details(r.median)
        target = ", ".join(t for t in targets if t != "-") or "-"
        rows.append((r.scenario.key, "; ".join(measured), target, verdict(r), details))
    header = ("case", "measured: median (range)", "target", "verdict", "details (medians)")
    return _report.table(header, rows)


def write_json(results: Sequence[ScenarioResult], options: argparse.Namespace) -> Path:
    """Write the run to ``<results dir>/latency-<UTC timestamp>.json``; return the path."""
    method = {
        "repeats": options.repeats,
        "seconds": options.seconds,
        "memory_seconds": options.memory_seconds,
        "fill": options.fill,
        "fresh_process_per_scenario": True,
        "interleaved": True,
        "receiver": "benchmarks._receiver --latency-attribute sent_ns, same machine",
        "statistic": "median of repeats",
    }
    rows = [
        {
            "key": r.scenario.key,
            "status": r.status,
            "verdict": verdict(r),
            "targets": [c.target() for c in r.scenario.checks],
            "medians": {c.label: r.median(c.value) for c in r.scenario.checks},
            "samples": r.samples,
            "notes": r.notes,
        }
        for r in results
    ]
    return _report.write_json("latency", options.results_dir, {"method": method, "results": rows})


def history_series(results: Sequence[ScenarioResult]) -> dict[str, _history.Series]:
    """Each measured check's values over the repeats, for the history file.

    A scenario with one check is keyed by its own key, one with several by
    ``<key>/<label>``.
    """
    series: dict[str, _history.Series] = {}
    for r in results:
        checks = r.scenario.checks
        for check in checks if r.status == "ok" else ():
            values = [v for s in r.samples if (v := check.value(s)) is not None]
            if values:
                key = r.scenario.key if len(checks) == 1 else f"{r.scenario.key}/{check.label}"
                better: _history.Better = "higher" if check.at_least else "lower"
                series[key] = _history.Series(values, unit=check.unit, better=better)
    return series


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the suite."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks latency",
        description="Call-to-receiver latency, call-site tail, memory and scale, "
        "against the performance targets.",
    )
    parser.add_argument("--quick", action="store_true", help="1 s runs, 5 s memory run")
    parser.add_argument("--seconds", type=float, help="length of the lat, tail and scale runs")
    parser.add_argument("--memory-seconds", type=float, help="length of the memory-rss run")
    parser.add_argument("--fill", type=int, default=DEFAULT_FILL, help="records queued")
    parser.add_argument(
        "-n", "--calls", "--records", dest="records", type=int, help="ignored (runs are timed)"
    )
    parser.add_argument("-r", "--repeats", "--repeat", dest="repeats", type=int)
    parser.add_argument("--only", help="comma list of keys (" + ",".join(CASE_KEYS) + ")")
    _report.add_output_options(parser)
    args = parser.parse_args(list(argv))
    if args.seconds is None:
        args.seconds = QUICK_SECONDS if args.quick else DEFAULT_SECONDS
    if args.memory_seconds is None:
        args.memory_seconds = QUICK_MEMORY_SECONDS if args.quick else DEFAULT_MEMORY_SECONDS
    if args.repeats is None:
        args.repeats = DEFAULT_REPEATS
    if args.seconds <= 0 or args.memory_seconds <= 0 or args.fill < 1 or args.repeats < 1:
        parser.error("--seconds, --memory-seconds, --fill and --repeats must be positive")
    return args


def selected_keys(only: str | None) -> tuple[list[str], set[str]]:
    """The scenario keys an ``--only`` list selects, and the names in it that are unknown."""
    if not only:
        return [s.key for s in SCENARIOS], set()
    wanted = _report.wanted_keys(only)
    expanded = set().union(*(_GROUPS.get(k, (k,)) for k in wanted))
    return [s.key for s in SCENARIOS if s.key in expanded], wanted - set(CASE_KEYS)


def main(argv: Sequence[str] = ()) -> int:
    """Run the suite, print the table, write the JSON; return an exit code.

    The exit code is 1 when a scenario failed to run (a target missed is not a failure), 2
    for unknown keys.
    """
    args = _parse_args(argv)
    keys, unknown = selected_keys(args.only)
    if unknown:
        return _report.reject_unknown(unknown)
    print(
        f"latency, tail, memory and scale: {args.seconds:g} s runs (memory-rss "
        f"{args.memory_seconds:g} s, memory-queued {args.fill:,} records) x {args.repeats} "
        "repeats, each in a fresh process, repeats interleaved; OTLP/HTTP to a receiver process"
    )
    results = run_suite(keys, args, progress=_report.progress)
    print()
    print(format_table(results))
    if not args.no_json:
        print(f"\nresults: {write_json(results, args)}")
    size_ms = int(args.seconds * 1000)
    if args.memory_seconds >= DEFAULT_MEMORY_SECONDS and _history.is_full_run(
        quick=args.quick,
        no_json=args.no_json,
        size=size_ms,
        default_size=int(DEFAULT_SECONDS * 1000),
    ):
        print()
        print(_history.record_run("latency", history_series(results), size=size_ms))
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
