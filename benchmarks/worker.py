"""The worker's cost per record: what happens to a batch between the queue and the socket.

Every case takes batches of 512 queued tuples, built by a real fapilog-otel ``Logger`` for
``info(message, order_id=..., amount=..., vip=...)``: three distinct messages, 64 order ids,
four amounts, both booleans, half of the records inside a recording OTel span (runs of 16,
a new span for each run) and half outside. It then does, in this process and thread, what
the container worker does with them:

====================  =================================================================
w-convert             tuples -> ``LogRecord`` objects + attribute limits (``Stages`` with
                      an empty processor chain)
w-default             as ``w-convert`` with the default processors: the redactors of
                      ``Settings().redactors``, made with ``load_processor``
w-default-otlp        ``w-default`` + ``ProtobufEncoder().encode(records)``: the worker's
                      whole cost per record before the socket (budget: 1,000 ns), with
                      the compiled record encoder when it was built
w-default-otlp-py     ``w-default-otlp`` with the pure-Python encoder
                      (``FAPILOG_PURE_PYTHON=1``)
w-direct-otlp         the direct path of the same configuration: the tuples themselves
                      to ``ProtobufEncoder().encode_direct``, redaction fused into the
                      encoder (see ``fapilog_otel._direct``); same bytes as
                      ``w-default-otlp``
w-direct-otlp-py      ``w-direct-otlp`` with the pure-Python encoder
w-direct-counted      ``w-direct-otlp`` with the record tally counting each batch
                      (``Container.count_records()``, on with the Prometheus plugin)
w-compliance          ``w-default`` with the ``pci``, ``hipaa`` and ``gdpr`` profiles
                      after the redactors (skipped without fapilog-otel-compliance)
w-filters             ``w-default`` with the built-in filters ``sample`` (ratio 0.5),
                      ``rate_limit`` and ``dedupe`` (their defaults) ahead of the redactors
w-enrichers-off-path  reference: ``ProtobufEncoder().encode`` alone, on records converted
                      beforehand (untimed)
====================  =================================================================

Method: every batch gets fresh tuples (processors change records in place), built untimed
just before the batch is timed with ``time.perf_counter_ns``; a case's number is its timed
total over one repeat divided by the tuples that went in (a filter's dropped records count
as processed). Each case keeps its stages, processors and encoder across batches, as a
container does, so caches are warm after a few untimed warm-up batches. The repeats of
all cases are interleaved; the garbage collector stays enabled and is run before each
repeat. The table shows the median and minimum ns per record over the repeats and the
ratio of each median to ``w-convert``. Environment variables (``FAPILOG_*``, ``OTEL_*``)
are ignored: every case uses the default settings.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import _history, _report
from benchmarks._cases import CaseResult, Skipped
from benchmarks._encoders import protobuf_encoder
from benchmarks._interleaved import history_series, prepare_all, time_rounds

if TYPE_CHECKING:
    from fapilog_otel._stages import Stages

__all__ = ["BATCH", "CASES", "CASE_KEYS", "WorkerCase", "format_table", "main", "run_suite"]

BATCH = 512
DEFAULT_RECORDS = 200 * BATCH
QUICK_RECORDS = 40 * BATCH
DEFAULT_REPEATS = 7
QUICK_REPEATS = 3
WARMUP_BATCHES = 4
BUDGET_NS = 1_000.0
BASELINE = "w-convert"

MESSAGES = ("order placed", "payment authorised", "order shipped")
ORDER_IDS = tuple(range(100_123, 100_123 + 64 * 7, 7))
AMOUNTS = (9.99, 24.5, 120.0, 3.75)
#: Records logged in a row inside (or outside) one span.
SPAN_RUN = 16

RawBatch = list[tuple[Any, ...]]


@dataclass
class _Prepared:
    """A case ready to time: ``measure(raws)`` processes one batch, returns the ns it took."""

    measure: Callable[[RawBatch], int]
    summary: Callable[[], str]


@dataclass(frozen=True)
class WorkerCase:
    """One row of the table: ``prepare`` builds the case or raises :class:`Skipped`."""

    key: str
    title: str
    prepare: Callable[[], _Prepared]
    budget_ns: float | None = None


class _Capture:
    """Stands in for a container's worker: a logger appends its tuples to ``queue.items``."""

    def __init__(self) -> None:
        self.idle = False
        self.queue = self
        self.items: deque[tuple[Any, ...]] = deque()
        self.low_limit = self.high_limit = sys.maxsize

    def drop(self, reason: str) -> None:
        """A call the logger could not capture: the batch would be short, so fail loudly."""
        raise RuntimeError(f"the logger dropped a record: {reason}")


class TupleSource:
    """Builds batches of queued tuples with a real ``Logger``, as the call site does."""

    def __init__(self) -> None:
        from opentelemetry.sdk.trace import TracerProvider

        from fapilog_otel.logger import Logger
        from fapilog_otel.record import Scope, Severity

        self._capture = _Capture()
        logger: Any = Logger(self._capture, Scope("checkout"), Severity.INFO)  # type: ignore[arg-type]
        self._info: Callable[..., None] = logger.info
        self._tracer = TracerProvider().get_tracer("benchmarks.worker")
        self._n = 0

    def _log(self, count: int) -> None:
        info, n = self._info, self._n
        for i in range(n, n + count):
            info(MESSAGES[i % 3], order_id=ORDER_IDS[i % 64], amount=AMOUNTS[i % 4], vip=not i % 5)
        self._n = n + count

    def batch(self) -> RawBatch:
        """Fresh tuples for one batch: runs of records alternately outside and inside a span."""
        items = self._capture.items
        items.clear()
        for run in range(BATCH // SPAN_RUN):
            if run % 2:
                with self._tracer.start_as_current_span("handle order"):
                    self._log(SPAN_RUN)
            else:
                self._log(SPAN_RUN)
        raws = list(items)
        items.clear()
        if len(raws) != BATCH or any(len(raw) != 13 for raw in raws):
            raise RuntimeError("the logger did not queue one 13-slot tuple per call")
        return raws


@contextmanager
def _without_environment() -> Iterator[None]:
    """Hide ``FAPILOG_*`` and ``OTEL_*`` variables, so that settings are the defaults."""
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith(("FAPILOG_", "OTEL_"))}
    try:
        yield
    finally:
        os.environ.update(hidden)


def _stages(
    filters: Sequence[str] = (), *, redactors: bool, profiles: Sequence[str] = ()
) -> Stages:
    """The worker's stages with default settings, ``filters``, (maybe) the redactors, and
    the processors of the compliance ``profiles`` after them."""
    from fapilog_otel._chain import Chain, ChainLink
    from fapilog_otel._diagnostics import Diagnostics
    from fapilog_otel._plugins import BUILTIN_PROCESSORS, load_processor, load_profile
    from fapilog_otel._stages import Stages
    from fapilog_otel._stats import ProcessorStats
    from fapilog_otel.container import build_resource
    from fapilog_otel.errors import PluginError
    from fapilog_otel.settings import Settings

    plugins: dict[str, dict[str, Any]] = {}
    if "sample" in filters:
        plugins["sample"] = {"ratio": 0.5}
    if "gdpr" in profiles:
        plugins["gdpr"] = {"key": "benchmark-pseudonym-key", "keys": ["order_id"]}
    with _without_environment():
        settings = Settings(plugins=plugins)
        resource = build_resource(settings)
    links = []
    for name in profiles:
        try:
            profile = load_profile(name, settings)
        except PluginError as exc:
            raise Skipped(f"compliance profile {name!r} unavailable: {exc}") from exc
        links += [ChainLink(name, p, ProcessorStats()) for p in profile.processors]
    links_of_profiles, links = links, []
    for name in [*filters, *(settings.redactors if redactors else ())]:
        module = BUILTIN_PROCESSORS.get(name, "").partition(":")[0]
        try:
            links.append(ChainLink(name, load_processor(name, settings), ProcessorStats()))
        except ModuleNotFoundError as exc:
            if not module or exc.name != module:
                raise
            raise Skipped(f"processor {name!r} unavailable: {module} is missing") from exc
    links += links_of_profiles
    diagnostics = Diagnostics(enabled=False)
    return Stages(
        resource=resource,
        chain=Chain(links, diagnostics, async_timeout=settings.plugin_timeout_ms / 1000),
        count_limit=settings.limits.attribute_count,
        length_limit=settings.limits.attribute_value_length,
        diagnostics=diagnostics,
    )


class _Tally:
    """What went through a case: tuples in, records out, drops by reason, encoded bytes."""

    def __init__(self, stages: Stages) -> None:
        self.stages = stages
        self.raws = self.records = self.encoded = self.body_bytes = 0
        self.dropped: dict[str, int] = {}
        self.encoder = ""

    def encoded_batch(self, records: int, result: Any) -> None:
        """Check that the encoder took every record; count the bytes."""
        if result.records != records or result.invalid or result.oversize:
            raise RuntimeError(f"encoded {result.records}/{records} records: {result!r}")
        self.encoded += records
        self.body_bytes += sum(len(body) for body, _ in result.requests)

    def summary(self) -> str:
        """The notes column."""
        parts = [f"{self.records:,}/{self.raws:,} records out"]
        if self.records != self.raws and self.raws:
            parts[0] += f" ({self.records / self.raws:.1%})"
        dropped = {k: v for k, v in self.dropped.items() if v}
        if dropped:
            parts.append(f"dropped {dropped}")
        if self.encoded:
            parts.append(f"{self.body_bytes / self.encoded:.0f} B/record encoded")
        if self.encoder:
            parts.append(self.encoder)
        for link in self.stages.chain.links:
            stats = link.stats
            if stats.errors or stats.masked or stats.skipped:
                parts.append(
                    f"{link.name}: errors {stats.errors}, masked {stats.masked}, "
                    f"skipped {stats.skipped}"
                )
        return ", ".join(parts)


def _staged(
    filters: Sequence[str] = (),
    *,
    redactors: bool,
    encode: bool,
    time_stages: bool = True,
    pure_python: bool = False,
    profiles: Sequence[str] = (),
) -> _Prepared:
    """A case that runs the stages and maybe the encoder over each batch; ``time_stages``
    false: only the encoder is timed, on records the stages made untimed; ``pure_python``:
    the encoder never uses the compiled record encoder."""
    stages = _stages(filters, redactors=redactors, profiles=profiles)
    tally = _Tally(stages)
    run = stages.run
    clock = time.perf_counter_ns
    encoder: Any = None
    if encode:
        encoder = protobuf_encoder(pure_python=pure_python)
        tally.encoder = "compiled encoder" if encoder._codec.compiled else "pure-Python encoder"

    def measure(raws: RawBatch) -> int:
        start = clock()
        records, _ = run(raws, tally.dropped)
        if encoder is not None:
            if not time_stages:
                start = clock()
            result = encoder.encode(records)
        elapsed = clock() - start
        if encoder is not None:
            tally.encoded_batch(len(records), result)
        tally.raws += len(raws)
        tally.records += len(records)
        return elapsed

    return _Prepared(measure, tally.summary)


def _direct(*, pure_python: bool = False, count_records: bool = False) -> _Prepared:
    """The direct path: the same batches handed over as tuples and encoded by
    ``ProtobufEncoder.encode_direct`` with the redaction fused in (what a container with
    the default processors and an OTLP/protobuf exporter does); ``count_records``: the
    worker's record tally counts each batch first (``Container.count_records()``, which
    the Prometheus plugin turns on)."""
    from fapilog_otel._direct import DirectBatch, plan_direct
    from fapilog_otel._stats import RecordTally
    from fapilog_otel.otlp import OTLPExporter

    stages = _stages(redactors=True)
    plan = plan_direct(
        chain=stages.chain,
        exporters=[OTLPExporter("http://127.0.0.1:9/v1/logs", diagnostics=False)],
        resource=stages.resource,
        count_limit=stages.count_limit,
        length_limit=stages.length_limit,
        stages=stages,
        diagnostics=stages.diagnostics,
    )
    if plan is None:
        raise RuntimeError("the default settings do not give a direct plan")
    tally = _Tally(stages)
    encoder = protobuf_encoder(pure_python=pure_python)
    tally.encoder = "compiled encoder" if encoder._codec.compiled else "pure-Python encoder"
    clock = time.perf_counter_ns

    counter = RecordTally(100) if count_records else None

    def measure(raws: RawBatch) -> int:
        start = clock()
        if counter is not None:
            counter.count(raws)
        result = encoder.encode_direct(DirectBatch(raws, plan))
        elapsed = clock() - start
        tally.encoded_batch(len(raws), result)
        tally.raws += len(raws)
        tally.records += len(raws)
        return elapsed

    return _Prepared(measure, tally.summary)


CASES: tuple[WorkerCase, ...] = (
    WorkerCase(
        "w-convert",
        "tuples -> LogRecords + attribute limits",
        partial(_staged, redactors=False, encode=False),
    ),
    WorkerCase(
        "w-default",
        "w-convert + default processors (redactors)",
        partial(_staged, redactors=True, encode=False),
    ),
    WorkerCase(
        "w-default-otlp",
        "w-default + ProtobufEncoder.encode (compiled record encoder when built)",
        partial(_staged, redactors=True, encode=True),
        BUDGET_NS,
    ),
    WorkerCase(
        "w-default-otlp-py",
        "w-default-otlp with the pure-Python encoder",
        partial(_staged, redactors=True, encode=True, pure_python=True),
        BUDGET_NS,
    ),
    WorkerCase(
        "w-direct-otlp",
        "direct path: tuples encoded with redaction fused (compiled encoder when built)",
        _direct,
        BUDGET_NS,
    ),
    WorkerCase(
        "w-direct-otlp-py",
        "w-direct-otlp with the pure-Python encoder",
        partial(_direct, pure_python=True),
        BUDGET_NS,
    ),
    WorkerCase(
        "w-direct-counted",
        "w-direct-otlp + the record tally (Container.count_records, Prometheus plugin)",
        partial(_direct, count_records=True),
        BUDGET_NS,
    ),
    WorkerCase(
        "w-compliance",
        "w-default + the pci, hipaa and gdpr profiles (fapilog-otel-compliance)",
        partial(_staged, redactors=True, encode=False, profiles=("pci", "hipaa", "gdpr")),
    ),
    WorkerCase(
        "w-filters",
        "w-default + sample 0.5, rate_limit, dedupe",
        partial(_staged, ("sample", "rate_limit", "dedupe"), redactors=True, encode=False),
    ),
    WorkerCase(
        "w-enrichers-off-path",
        "ProtobufEncoder.encode alone, records prebuilt",
        partial(_staged, redactors=False, encode=True, time_stages=False),
    ),
)
CASE_KEYS: tuple[str, ...] = tuple(case.key for case in CASES)


def run_suite(
    specs: Sequence[WorkerCase],
    *,
    records: int,
    repeats: int,
    progress: Callable[[str], None] | None = None,
) -> list[CaseResult]:
    """Set up every case and time their repeats, interleaved.

    Args:
        specs: The cases to run, in table order.
        records: Tuples per timed repeat (rounded up to whole batches of :data:`BATCH`).
        repeats: Timed repeats per case.
        progress: Receives one short line per repeat round, if given.

    Returns:
        One result per spec, in order (``samples_ns_per_call`` holds ns per record); a case
        that cannot run here has status ``"unavailable"``, one that failed ``"error"``.
    """
    results = [CaseResult(spec.key, spec.title, budget_ns=spec.budget_ns) for spec in specs]
    batches = max(1, -(-records // BATCH))
    source = TupleSource()

    def setup(spec: WorkerCase) -> _Prepared:
        ready = spec.prepare()
        for _ in range(WARMUP_BATCHES):
            ready.measure(source.batch())
        return ready

    def measure(case: _Prepared, _: CaseResult) -> float:
        gc.collect()
        elapsed = sum(case.measure(source.batch()) for _ in range(batches))
        return elapsed / (batches * BATCH)

    prepared = prepare_all(specs, results, setup, skipped="unavailable")
    time_rounds(results, prepared, measure, repeats=repeats, progress=progress)

    for result in results:
        case = prepared.get(result.key)
        if case is not None and result.status == "ok":
            try:
                result.notes = case.summary()
            except Exception as exc:
                result.notes = f"summary failed: {exc!r}"
    return results


def format_table(results: Sequence[CaseResult]) -> str:
    """Render the results as a fixed-width text table with a ratio to ``w-convert``."""
    base = next((r.median for r in results if r.key == BASELINE), None)
    header = ("case", "ns/record median", "min", f"vs {BASELINE}", "budget", "notes")
    rows: list[tuple[str, ...]] = []
    for r in results:
        median = r.median
        if r.status != "ok" or median is None:
            rows.append((r.key, r.status, "", "", "", r.notes))
            continue
        ratio = _report.ratio_cell(median, base)
        budget = ""
        if r.budget_ns is not None:
            verdict = "ok" if median <= r.budget_ns else "OVER"
            budget = f"worker per record <= {r.budget_ns:,.0f} ns {verdict}"
        fmt_ns = _report.fmt_ns
        rows.append((r.key, fmt_ns(median), fmt_ns(r.minimum), ratio, budget, r.notes))
    return _report.table(header, rows, right={1, 2, 3})


def write_json(
    results: Sequence[CaseResult], *, records: int, repeats: int, directory: Path
) -> Path:
    """Write the run to ``directory/worker-<UTC timestamp>.json`` and return the path."""
    base = next((r.median for r in results if r.key == BASELINE), None)
    method = {
        "records_per_repeat": max(1, -(-records // BATCH)) * BATCH,
        "batch": BATCH,
        "repeats": repeats,
        "warmup_batches": WARMUP_BATCHES,
        "interleaved": True,
        "fresh_tuples_per_batch": "built by a real Logger, untimed",
        "mix": f"messages {list(MESSAGES)}, {len(ORDER_IDS)} order ids, amounts "
        f"{list(AMOUNTS)}, vip 1 in 5; runs of {SPAN_RUN} alternately outside/inside a span",
        "gc": "enabled; gc.collect() before each repeat",
        "clock": "time.perf_counter_ns around each batch",
        "statistic": "median of repeats, ns per queued tuple",
    }
    rows = [
        {
            "key": r.key,
            "title": r.title,
            "status": r.status,
            "median_ns": r.median,
            "min_ns": r.minimum,
            "samples_ns": r.samples_ns_per_call,
            "ratio_vs_w_convert": _report.ratio(r.median, base),
            "budget_ns": r.budget_ns,
            "notes": r.notes,
        }
        for r in results
    ]
    return _report.write_json("worker", directory, {"method": method, "results": rows})


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of the suite."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks worker",
        description="The worker's cost per record: queued tuples -> records -> default "
        "processors -> OTLP protobuf, in-process, one thread.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_RECORDS:,} records x {QUICK_REPEATS} repeats instead of "
        f"{DEFAULT_RECORDS:,} x {DEFAULT_REPEATS}",
    )
    parser.add_argument(
        "-n", "--calls", "--records", dest="records", type=int, help="records per repeat"
    )
    parser.add_argument("-r", "--repeats", type=int, help="repeats per case")
    parser.add_argument(
        "--only", help="comma list of case keys to run (" + ",".join(CASE_KEYS) + ")"
    )
    _report.add_output_options(parser)
    args = parser.parse_args(list(argv))
    if args.records is None:
        args.records = QUICK_RECORDS if args.quick else DEFAULT_RECORDS
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else DEFAULT_REPEATS
    if args.records < 1 or args.repeats < 1:
        parser.error("--records and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] = ()) -> int:
    """Run the worker suite, print the table, write the JSON; return an exit code.

    The exit code is 1 when a case failed (an unavailable one is not a failure), 2 for
    unknown case keys.
    """
    args = _parse_args(argv)
    specs: Sequence[WorkerCase] = CASES
    if args.only:
        wanted = _report.wanted_keys(args.only)
        unknown = wanted - set(CASE_KEYS)
        if unknown:
            return _report.reject_unknown(unknown)
        specs = [c for c in CASES if c.key in wanted]
    batches = max(1, -(-args.records // BATCH))
    print(
        f"worker cost per record: {batches:,} batches of {BATCH} fresh tuples "
        f"({batches * BATCH:,} records) x {args.repeats} repeats, in-process, one thread, "
        "repeats interleaved, gc enabled (collected before each repeat)"
    )
    results = run_suite(
        specs, records=args.records, repeats=args.repeats, progress=_report.progress
    )
    print()
    print(format_table(results))
    if not args.no_json:
        path = write_json(
            results, records=args.records, repeats=args.repeats, directory=args.results_dir
        )
        print(f"\nresults: {path}")
    if _history.is_full_run(
        quick=args.quick, no_json=args.no_json, size=args.records, default_size=DEFAULT_RECORDS
    ):
        print()
        print(_history.record_run("worker", history_series(results), size=args.records))
    return 1 if any(r.status == "error" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
