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

Only the calls are timed. Work a library does later, off the caller's thread (fapilog-otel's
worker, the SDK's batch thread), runs between repeats, when each case is flushed; records
that were dropped instead of delivered are reported in the notes column, so a case cannot
look fast by losing records.

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
import logging
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from itertools import repeat
from pathlib import Path
from typing import Any

__all__ = ["CASES", "CaseResult", "CaseSpec", "Prepared", "main", "run_suite"]

DEFAULT_CALLS = 100_000
DEFAULT_REPEATS = 7
QUICK_CALLS = 20_000
QUICK_REPEATS = 3
WARMUP_CALLS = 2_000
FLUSH_TIMEOUT_S = 30.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"


class Skipped(Exception):
    """A case cannot run here, typically because its library is not installed."""


def _nothing() -> None:
    """Do nothing: the default settle and close step of a case."""


def _no_notes() -> str:
    """Report nothing: the default summary of a case."""
    return ""


@dataclass
class Prepared:
    """A case set up and ready to time.

    Attributes:
        run: Makes ``n`` log calls; the only thing that is timed.
        settle: Called after each timed repeat, untimed: flush what the library queued.
        summary: Called once at the end: a short note, such as how many records arrived.
        close: Releases what the case set up.
    """

    run: Callable[[int], None]
    settle: Callable[[], None] = _nothing
    summary: Callable[[], str] = _no_notes
    close: Callable[[], object] = _nothing


@dataclass(frozen=True)
class CaseSpec:
    """One row of the table: a key, a description and how to set the case up.

    Attributes:
        key: Short name used in the table, in ``--only`` and in the JSON.
        title: What the case measures.
        prepare: Builds the case; raises :class:`Skipped` if it cannot run here.
        budget_ns: The performance budget for this case from the architecture, if any.
    """

    key: str
    title: str
    prepare: Callable[[], Prepared]
    budget_ns: float | None = None


@dataclass
class CaseResult:
    """What one case measured, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples_ns_per_call: list[float] = field(default_factory=list)
    notes: str = ""
    budget_ns: float | None = None

    @property
    def median(self) -> float | None:
        """Median ns per call over the repeats, or ``None`` if nothing was measured."""
        return statistics.median(self.samples_ns_per_call) if self.samples_ns_per_call else None

    @property
    def minimum(self) -> float | None:
        """Fastest repeat in ns per call, or ``None`` if nothing was measured."""
        return min(self.samples_ns_per_call) if self.samples_ns_per_call else None


class _CountingNullExporter:
    """A fapilog-otel exporter that drops every batch and counts the records it saw."""

    def __init__(self) -> None:
        self.records = 0

    def export(self, batch: Sequence[Any]) -> None:
        """Count the batch and drop it."""
        self.records += len(batch)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here."""
        return True

    def shutdown(self) -> None:
        """Nothing to release."""


def _fapilog_case(*, level_method: str, in_span: bool) -> Prepared:
    """Set up a fapilog-otel container on a null exporter and a call loop for it."""
    try:
        import fapilog_otel as fo
    except ImportError as exc:
        raise Skipped(f"fapilog_otel not importable: {exc}") from exc
    if not (hasattr(fo, "Container") and hasattr(fo, "Settings")):
        raise Skipped("fapilog_otel has no Container/Settings yet")

    exporter = _CountingNullExporter()
    container = fo.Container(
        fo.Settings(level="info", queue_size=1_000_000, overflow="block"),
        exporters=[exporter],
    )
    log = container.get_logger("bench")
    calls = 0
    flush_failures = 0

    if level_method == "info" and not in_span:

        def run(n: int) -> None:
            for _ in repeat(None, n):
                log.info("order placed", order_id=123, amount=9.99, vip=True)

    elif level_method == "info":
        span_cm = _span_factory()

        def run(n: int) -> None:
            with span_cm():
                for _ in repeat(None, n):
                    log.info("order placed", order_id=123, amount=9.99, vip=True)

    else:

        def run(n: int) -> None:
            for _ in repeat(None, n):
                log.debug("order placed", order_id=123, amount=9.99, vip=True)

    def counted_run(n: int) -> None:
        nonlocal calls
        calls += n
        run(n)

    def settle() -> None:
        nonlocal flush_failures
        if not container.flush(timeout=FLUSH_TIMEOUT_S):
            flush_failures += 1

    def summary() -> str:
        expected = calls if level_method == "info" else 0
        parts = [f"exported {exporter.records:,}/{expected:,}"]
        try:
            dropped = dict(container.stats().get("dropped", {}))
        except Exception as exc:
            dropped = {"stats() failed": repr(exc)}
        if any(dropped.values()):
            parts.append(f"dropped {dropped}")
        if flush_failures:
            parts.append(f"{flush_failures} flush timeouts")
        return ", ".join(parts)

    return Prepared(run=counted_run, settle=settle, summary=summary, close=container.shutdown)


def _span_factory() -> Callable[[], Any]:
    """Return a callable that opens a recording span of a private tracer provider."""
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("b")
    return lambda: tracer.start_as_current_span("s")


def _prepare_fapilog_info() -> Prepared:
    """Case (a)."""
    return _fapilog_case(level_method="info", in_span=False)


def _prepare_fapilog_in_span() -> Prepared:
    """Case (b)."""
    return _fapilog_case(level_method="info", in_span=True)


def _prepare_fapilog_disabled() -> Prepared:
    """Case (c)."""
    return _fapilog_case(level_method="debug", in_span=False)


def _stdlib_logger() -> tuple[logging.Logger, Callable[[], None]]:
    """A stdlib logger at INFO with only a ``NullHandler``, and a function undoing that."""
    logger = logging.getLogger("bench")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    def close() -> None:
        logger.removeHandler(handler)

    return logger, close


def _prepare_stdlib_args() -> Prepared:
    """Case (d1)."""
    logger, close = _stdlib_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


def _prepare_stdlib_extra() -> Prepared:
    """Case (d2)."""
    logger, close = _stdlib_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.info("order placed", extra={"order_id": 123, "amount": 9.99, "vip": True})

    return Prepared(run=run, close=close)


def _prepare_stdlib_disabled() -> Prepared:
    """Case (d3)."""
    logger, close = _stdlib_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            logger.debug("order placed %s %s %s", 123, 9.99, True)

    return Prepared(run=run, close=close)


def _prepare_otel_sdk() -> Prepared:
    """Case (e)."""
    try:
        from opentelemetry._logs import SeverityNumber
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs import export as sdk_export
    except ImportError as exc:
        raise Skipped(f"opentelemetry-sdk not importable: {exc}") from exc

    success = sdk_export.LogRecordExportResult.SUCCESS

    class CountingNullExporter(sdk_export.LogRecordExporter):
        """An SDK exporter that drops every batch and counts the records it saw."""

        def __init__(self) -> None:
            self.records = 0

        def export(self, batch: Sequence[Any]) -> Any:
            """Count the batch and drop it."""
            self.records += len(batch)
            return success

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            """Nothing is buffered here."""
            return True

        def shutdown(self) -> None:
            """Nothing to release."""

    exporter = CountingNullExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(
        sdk_export.BatchLogRecordProcessor(exporter, max_queue_size=2_000_000)
    )
    logger = provider.get_logger("bench")
    info = SeverityNumber.INFO
    calls = 0
    flush_failures = 0

    def run(n: int) -> None:
        nonlocal calls
        calls += n
        for _ in repeat(None, n):
            logger.emit(
                body="order placed",
                attributes={"order_id": 123, "amount": 9.99, "vip": True},
                severity_number=info,
                severity_text="INFO",
            )

    def settle() -> None:
        nonlocal flush_failures
        if not provider.force_flush(timeout_millis=int(FLUSH_TIMEOUT_S * 1000)):
            flush_failures += 1

    def summary() -> str:
        note = f"exported {exporter.records:,}/{calls:,}"
        return note + (f", {flush_failures} flush timeouts" if flush_failures else "")

    return Prepared(run=run, settle=settle, summary=summary, close=provider.shutdown)


def _structlog_logger() -> Any:
    """A structlog bound logger filtering at INFO that renders JSON into the void."""
    try:
        import structlog
    except ImportError as exc:
        raise Skipped(f"structlog not importable: {exc}") from exc

    return structlog.wrap_logger(
        structlog.ReturnLoggerFactory()(),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    ).bind()


def _prepare_structlog() -> Prepared:
    """Case (f1)."""
    log = _structlog_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.info("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def _prepare_structlog_disabled() -> Prepared:
    """Case (f2)."""
    log = _structlog_logger()

    def run(n: int) -> None:
        for _ in repeat(None, n):
            log.debug("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


def _empty(message: str, /, **attributes: Any) -> None:
    """Take a logger's arguments and do nothing with them."""


def _prepare_reference() -> Prepared:
    """Case (ref)."""
    call = _empty

    def run(n: int) -> None:
        for _ in repeat(None, n):
            call("order placed", order_id=123, amount=9.99, vip=True)

    return Prepared(run=run)


CASES: tuple[CaseSpec, ...] = (
    CaseSpec("a", "fapilog_otel info, 3 attrs", _prepare_fapilog_info, 1_000.0),
    CaseSpec("b", "fapilog_otel info, 3 attrs, in span", _prepare_fapilog_in_span, 1_500.0),
    CaseSpec("c", "fapilog_otel debug, disabled", _prepare_fapilog_disabled, 100.0),
    CaseSpec("d1", "stdlib info %s args, NullHandler", _prepare_stdlib_args),
    CaseSpec("d2", "stdlib info extra=, NullHandler", _prepare_stdlib_extra),
    CaseSpec("d3", "stdlib debug, disabled", _prepare_stdlib_disabled),
    CaseSpec("e", "OTel SDK emit, BatchLogRecordProcessor", _prepare_otel_sdk),
    CaseSpec("f1", "structlog info, JSON", _prepare_structlog),
    CaseSpec("f2", "structlog debug, disabled", _prepare_structlog_disabled),
    CaseSpec("ref", "empty function, same args", _prepare_reference),
)


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
    prepared: dict[str, Prepared] = {}
    for spec, result in zip(specs, results, strict=True):
        try:
            ready = spec.prepare()
            ready.run(min(WARMUP_CALLS, calls))
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
                result.samples_ns_per_call.append(_time_once(timed, calls))
            except Exception as exc:
                result.status, result.notes = "error", f"run: {exc!r}"

    for result in results:
        case = prepared.get(result.key)
        if case is None:
            continue
        try:
            if result.status == "ok":
                result.notes = case.summary()
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
            for name in ("fapilog-otel", "opentelemetry-sdk", "structlog", "orjson")
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


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the suite."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Call-site cost per log call: fapilog-otel side by side with "
        "stdlib logging, the OpenTelemetry SDK and structlog.",
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
    return 1 if any(r.status == "error" for r in results) else 0
