"""One latency-suite scenario, run in its own fresh process by :mod:`benchmarks.latency`.

Usage (the parent passes these; nobody else needs to)::

    python -m benchmarks._latency_child CASE [--seconds S] [--rate R] [--fill K]
                                        [--http-port P] [--lifeline FD]

``CASE`` is one of :data:`CASES`. The process prints one result line
(:func:`benchmarks._children.print_result`) and exits 0. ``--lifeline`` is the read
end of a pipe held by the parent: when it closes, this process exits at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import resource
import statistics
import sys
import threading
import time
import tracemalloc
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from benchmarks._children import print_result, watch_lifeline
from benchmarks._delivery_common import WARMUP_RECORDS
from benchmarks._receiver import ReceiverControl, nearest_rank

__all__ = ["CASES", "LATENCY_ATTRIBUTE", "main"]

#: The attribute carrying the call's ``time.time_ns()`` to the receiver.
LATENCY_ATTRIBUTE = "sent_ns"
FLUSH_TIMEOUT_S = 120.0
SLOW_CALL_NS = 5_000_000
RSS_INTERVAL_NS = 500_000_000
#: Ahead of schedule by more than this, the producer sleeps (releasing the GIL, as an
#: application waiting on I/O would); by less, it spins.
SPIN_NS = 20_000
TASK_YIELD_EVERY = 16
IDLE_CONTAINERS = 10
IDLE_SETTLE_S = 0.5  # between the idle containers' last record and the measured window
PRODUCER_THREADS = 4
PRODUCER_TASKS = 100

Info = Callable[..., None]
RUSAGE = resource.RUSAGE_SELF
_RANKS = {"p50_ns": 0.5, "p99_ns": 0.99, "p999_ns": 0.999, "max_ns": 1.0}


class _NullExporter:
    """Drops every batch, counting its records; with ``blocked``, only once ``release`` is
    set (until then the container's backlog stays queued behind it)."""

    def __init__(self, blocked: bool = False) -> None:
        self.records = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        if not blocked:
            self.release.set()

    def export(self, batch: Sequence[Any]) -> None:
        """Say the worker is here, wait to be released, count the batch and drop it."""
        self.entered.set()
        self.release.wait(FLUSH_TIMEOUT_S)
        self.records += len(batch)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here."""
        return True

    def shutdown(self) -> None:
        """Nothing to release."""


def _otlp_container(http_port: int) -> Any:
    """A container with default settings exporting OTLP/HTTP protobuf to the receiver."""
    import fapilog_otel as fo

    otlp = {"protocol": "http/protobuf", "endpoint": f"http://127.0.0.1:{http_port}/v1/logs"}
    settings = fo.Settings(exporters=["otlp"], otlp=otlp, diagnostics=False, service_name="bench")
    return fo.Container(settings)


@contextlib.contextmanager
def _to_receiver(http_port: int) -> Iterator[tuple[Any, ReceiverControl]]:
    """An OTLP container and a connection to the receiver's control endpoints, closed after."""
    control = ReceiverControl(http_port)
    container = _otlp_container(http_port)
    try:
        yield container, control
    finally:
        container.shutdown()
        control.close()


def _null_container(exporter: _NullExporter, **settings: Any) -> Any:
    """A container with default settings and ``exporter``."""
    import fapilog_otel as fo

    return fo.Container(fo.Settings(diagnostics=False, **settings), exporters=[exporter])


def _rss_bytes() -> int:
    """This process's resident memory now."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _stats(container: Any) -> dict[str, Any]:
    """The counters of a container's stats worth reporting."""
    stats = container.stats()
    dropped = {k: v for k, v in dict(stats["dropped"]).items() if v}
    return {"exported": stats["exported"], "failed": stats["failed"], "dropped": dropped}


class _GcWatch:
    """Counts gen-2 collections and the longest collection while installed."""

    def __init__(self) -> None:
        self.full = self.longest_ns = self._started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter_ns()
        if phase == "start":
            self._started = now
        else:
            self.longest_ns = max(self.longest_ns, now - self._started)
            self.full += info["generation"] == 2

    def __enter__(self) -> _GcWatch:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def _paced(
    info: Info, rate: float, seconds: float, tick: Callable[[int], None] | None
) -> dict[str, Any]:
    """Log at ``rate`` records/s for ``seconds``, each record stamped with its call's time.

    The producer runs against a schedule (record ``i`` is due at ``start + i / rate``): it
    logs every record that is due, then sleeps until the next one is due when that is
    more than :data:`SPIN_NS` away, else spins. ``tick``, if any, gets ``perf_counter_ns()``
    once per pass (for sampling). Returns the records, the achieved rate and the worst lag
    behind the schedule.
    """
    total = max(1, int(rate * seconds))
    period = 1e9 / rate
    perf, stamp, sleep = time.perf_counter_ns, time.time_ns, time.sleep
    start = perf()
    done = 0
    worst_lag = 0
    while done < total:
        now = perf()
        if tick is not None:
            tick(now)
        due = min(total, int((now - start) / period) + 1)
        if due > done:
            worst_lag = max(worst_lag, now - int(start + done * period))
            for _ in range(due - done):
                info("message", sent_ns=stamp(), a="x", b=1, c=True)
            done = due
            continue
        wait = start + done * period - perf()
        if wait > SPIN_NS:
            sleep(wait / 1e9)
    elapsed = perf() - start
    return {"records": total, "achieved_per_s": total / (elapsed / 1e9), "max_lag_ns": worst_lag}


def _deliver_and_wait(container: Any, control: ReceiverControl, records: int) -> dict[str, Any]:
    """Flush and wait for the receiver to count ``records``; return its count."""
    flushed = container.flush(FLUSH_TIMEOUT_S)
    reply = control.wait(records, 30.0)
    return {"delivered": int(reply["records"]), "flush_ok": bool(flushed)}


def _warm_up(container: Any, control: ReceiverControl, rate: float) -> None:
    """Log a little at ``rate`` so connections and caches are warm; zero the receiver."""
    info = container.get_logger("bench").info
    _paced(info, rate, WARMUP_RECORDS / rate, None)
    _deliver_and_wait(container, control, WARMUP_RECORDS)
    control.reset()
    gc.collect()


def _latency(args: argparse.Namespace) -> dict[str, Any]:
    """Paced records over OTLP/HTTP; the receiver measures each one's call-to-arrival time."""
    with _to_receiver(args.http_port) as (container, control):
        _warm_up(container, control, args.rate)
        with _GcWatch() as watch:
            produced = _paced(container.get_logger("bench").info, args.rate, args.seconds, None)
            delivery = _deliver_and_wait(container, control, produced["records"])
        latency = control.latency()
        stats = _stats(container)
    return {
        "status": "ok",
        **produced,
        **delivery,
        "latency": latency,
        "gc_full": watch.full,
        "gc_longest_ns": watch.longest_ns,
        "pipeline": stats,
    }


def _tail(args: argparse.Namespace) -> dict[str, Any]:
    """One producer as fast as it can over OTLP/HTTP, each call's duration recorded."""
    capacity = max(1_024, int(args.seconds * 2_000_000))
    durations = array("Q", bytes(8 * capacity))
    with _to_receiver(args.http_port) as (container, control):
        _warm_up(container, control, 1e6)
        info = container.get_logger("bench").info
        perf = time.perf_counter_ns
        with _GcWatch() as watch:
            start = perf()
            deadline = start + int(args.seconds * 1e9)
            calls = capacity
            for i in range(capacity):
                before = perf()
                info("message", a="x", b=1, c=True)
                after = perf()
                durations[i] = after - before
                if not i & 1023 and after > deadline:
                    calls = i + 1
                    break
            elapsed = perf() - start
        delivery = _deliver_and_wait(container, control, calls)
        stats = _stats(container)
    ordered = sorted(durations[:calls])
    return {
        "status": "ok",
        "calls": calls,
        "calls_per_s": calls / (elapsed / 1e9),
        **{k: nearest_rank(ordered, q) for k, q in _RANKS.items()},
        "over_5ms": len(ordered) - bisect_right(ordered, SLOW_CALL_NS),
        "gc_full": watch.full,
        "gc_longest_ns": watch.longest_ns,
        **delivery,
        "pipeline": stats,
    }


def _slope_mib_per_min(samples: Sequence[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, in MiB per minute."""
    if len(samples) < 2:
        return 0.0
    fit = statistics.linear_regression([t for t, _ in samples], [r for _, r in samples])
    return fit.slope * 60 / 2**20


def _memory_rss(args: argparse.Namespace) -> dict[str, Any]:
    """RSS every 0.5 s while logging at a fixed rate to the receiver."""
    samples: list[tuple[float, int]] = []
    next_sample = [0]

    def tick(now: int) -> None:
        if now >= next_sample[0]:
            samples.append((now / 1e9, _rss_bytes()))
            next_sample[0] = now + RSS_INTERVAL_NS

    with _to_receiver(args.http_port) as (container, control):
        _warm_up(container, control, args.rate)
        produced = _paced(container.get_logger("bench").info, args.rate, args.seconds, tick)
        tick(time.perf_counter_ns() + RSS_INTERVAL_NS)
        delivery = _deliver_and_wait(container, control, produced["records"])
        stats = _stats(container)
    start_t = samples[0][0]
    points = [(t - start_t, r) for t, r in samples]
    steady = [p for p in points if p[0] >= args.seconds / 4]
    return {
        "status": "ok",
        **produced,
        **delivery,
        "rss_start": points[0][1],
        "rss_end": points[-1][1],
        "rss_peak": max(r for _, r in points),
        "slope_mib_per_min": _slope_mib_per_min(steady if len(steady) >= 2 else points),
        "samples": [(round(t, 3), r) for t, r in points],
        "pipeline": stats,
    }


def _memory_queued(args: argparse.Namespace) -> dict[str, Any]:
    """Bytes per record held in a container whose only exporter is blocked.

    The worker is first stuck in the exporter (one record), then ``fill`` records are
    queued behind it: RSS growth / ``fill``, then the same under ``tracemalloc``.
    """
    results: dict[str, Any] = {"status": "ok", "fill": args.fill}
    for phase in ("rss", "tracemalloc"):
        exporter = _NullExporter(blocked=True)
        container = _null_container(exporter, queue_size=2 * args.fill + 1_024)
        size = _rss_bytes if phase == "rss" else lambda: tracemalloc.get_traced_memory()[0]
        try:
            info = container.get_logger("bench").info
            info("message", a="x", b=1, c=True)
            if not exporter.entered.wait(10.0):
                raise RuntimeError("the blocked exporter was never called")
            if phase == "tracemalloc":
                tracemalloc.start()
            gc.collect()
            before = size()
            for i in range(args.fill):
                info("message", a="x", b=i, c=True)
            gc.collect()
            results[f"{phase}_bytes_per_record"] = (size() - before) / args.fill
            results[f"{phase}_queued"] = container.stats()["queued"]
        finally:
            tracemalloc.stop()
            exporter.release.set()
            container.shutdown()
        results[f"{phase}_exported"] = exporter.records
    return results


def _thread_run_ns() -> dict[str, int]:
    """Time on a CPU so far of every thread but this one (``schedstat``, in ns), by id."""
    own = str(threading.get_native_id())
    times: dict[str, int] = {}
    for task in set(os.listdir("/proc/self/task")) - {own}:
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/schedstat") as stat:
            times[task] = int(stat.read().split()[0])
    return times


def _sleep_cpu_us_per_s(seconds: float) -> tuple[float, float]:
    """Sleep ``seconds``; the process's CPU time (``getrusage``) and the other threads'
    (``schedstat``) meanwhile, in us per second."""
    threads, before, start = _thread_run_ns(), resource.getrusage(RUSAGE), time.perf_counter()
    time.sleep(seconds)
    elapsed, after = time.perf_counter() - start, resource.getrusage(RUSAGE)
    ran = sum(t - threads.get(k, t) for k, t in _thread_run_ns().items())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu * 1e6 / elapsed, ran / 1e3 / elapsed


def _idle(args: argparse.Namespace) -> dict[str, Any]:
    """CPU time of ten idle containers, and of the process before it had any (the floor of
    ``getrusage``, which charges even a bare sleeping process some CPU here)."""
    bare, _ = _sleep_cpu_us_per_s(args.seconds)
    containers = [_otlp_container(args.http_port) for _ in range(IDLE_CONTAINERS)]
    try:
        for container in containers:
            container.get_logger("bench").info("message", a="x", b=1, c=True)
            container.flush(FLUSH_TIMEOUT_S)
        gc.collect()
        time.sleep(IDLE_SETTLE_S)
        threads = threading.active_count()
        cpu, threads_cpu = _sleep_cpu_us_per_s(args.seconds)
    finally:
        for container in containers:
            container.shutdown()
    usage = {"cpu_us_per_s": cpu, "bare_cpu_us_per_s": bare, "threads_cpu_us_per_s": threads_cpu}
    return {"status": "ok", "containers": IDLE_CONTAINERS, "threads": threads, **usage}


def _producer(info: Info, deadline: int, out: list[int]) -> None:
    """Log until ``deadline``; put the calls made and the slowest call into ``out``."""
    perf = time.perf_counter_ns
    calls = slowest = 0
    now = perf()
    while now < deadline:
        for _ in range(64):
            before = perf()
            info("message", a="x", b=1, c=True)
            after = perf()
            slowest = max(slowest, after - before)
        calls += 64
        now = after
    out[:] = [calls, slowest]


async def _task_producer(log: Any, deadline: int, out: list[int]) -> None:
    """Log from a task until ``deadline``, yielding to the loop every few calls."""
    perf = time.perf_counter_ns
    calls = slowest = 0
    now = perf()
    while now < deadline:
        for _ in range(TASK_YIELD_EVERY):
            before = perf()
            await log.info("message", a="x", b=1, c=True)
            after = perf()
            slowest = max(slowest, after - before)
        calls += TASK_YIELD_EVERY
        await asyncio.sleep(0)
        now = after
    out[:] = [calls, slowest]


def _start_producers(container: Any, producers: int, deadline: int, tasks: bool) -> list[list[int]]:
    """Run ``producers`` threads (or asyncio tasks) until ``deadline``; their outcomes."""
    outs: list[list[int]] = [[] for _ in range(producers)]
    if tasks:
        log = container.get_async_logger("bench")

        async def run_tasks() -> None:
            await asyncio.gather(*(_task_producer(log, deadline, out) for out in outs))

        asyncio.run(run_tasks())
        return outs
    info = container.get_logger("bench").info
    threads = [threading.Thread(target=_producer, args=(info, deadline, out)) for out in outs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outs


def _scale_run(producers: int, seconds: float, tasks: bool) -> dict[str, Any]:
    """Producers into a null exporter: records it got until the flush returned per s."""
    exporter = _NullExporter()
    container = _null_container(exporter)
    try:
        _start_producers(container, 1, time.perf_counter_ns() + 50_000_000, tasks)
        container.flush(FLUSH_TIMEOUT_S)
        exporter.records = 0
        gc.collect()
        start = time.perf_counter_ns()
        outs = _start_producers(container, producers, start + int(seconds * 1e9), tasks)
        container.flush(FLUSH_TIMEOUT_S)
        elapsed = time.perf_counter_ns() - start
        stats = _stats(container)
    finally:
        container.shutdown()
    return {
        "calls": sum(out[0] for out in outs),
        "exported": exporter.records,
        "records_per_s": exporter.records / (elapsed / 1e9),
        "slowest_call_ns": max(out[1] for out in outs),
        "pipeline": stats,
    }


def _scale(args: argparse.Namespace, many: int, tasks: bool) -> dict[str, Any]:
    """One producer, then ``many`` (threads, or tasks): their rates and the ratio."""
    single, multi = _scale_run(1, args.seconds, tasks), _scale_run(many, args.seconds, tasks)
    ratio = multi["records_per_s"] / single["records_per_s"]
    return {"status": "ok", "producers": many, "single": single, "many": multi, "ratio": ratio}


#: Scenario name -> what runs it.
CASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "latency": _latency,
    "tail": _tail,
    "memory-rss": _memory_rss,
    "memory-queued": _memory_queued,
    "scale-idle": _idle,
    "scale-threads": lambda args: _scale(args, PRODUCER_THREADS, tasks=False),
    "scale-tasks": lambda args: _scale(args, PRODUCER_TASKS, tasks=True),
}


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line options of one scenario run."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks._latency_child",
        description="Run one latency-suite scenario and print its result line.",
    )
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--fill", type=int, default=100_000)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--lifeline", type=int)
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] = ()) -> int:
    """Run one scenario in this (fresh) process and print its result line."""
    args = _parse_args(argv)
    watch_lifeline(args.lifeline)
    try:
        result = CASES[args.case](args)
    except Exception as exc:
        result = {"status": "error", "notes": repr(exc)}
    print_result(result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
