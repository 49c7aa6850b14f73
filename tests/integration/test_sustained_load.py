"""Sustained load: 100,000 records/s for 60 s over OTLP/HTTP to a receiver in another
process (the benchmark's counting receiver, official decoding), every record delivered and
the process's memory flat. The same scenario as the latency suite's ``memory-rss``; here
it is a test with a verdict, not a measurement."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import pytest

import fapilog_otel as fo
from benchmarks._receiver import Receiver, ReceiverControl

pytestmark = pytest.mark.integration

RATE = 100_000
SECONDS = 60
#: How much more the second half's peak RSS may be than the first's: headroom for the
#: allocator's arenas and the caches' last fill, far below a leak of even 40 bytes a record.
GROWTH_LIMIT = 24 << 20


def rss() -> int:
    """This process's resident memory in bytes (``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc")
def test_100k_per_second_for_60_s_delivers_everything_with_flat_memory() -> None:
    with Receiver(grpc=False) as receiver:
        control = ReceiverControl(receiver.http_port)
        container = fo.Container(
            fo.Settings(
                exporters=["otlp"],
                otlp={"endpoint": f"http://127.0.0.1:{receiver.http_port}/v1/logs"},
                diagnostics=False,
            )
        )
        info = container.get_logger("load").info
        gc.collect()
        samples: list[tuple[float, int]] = []
        total = RATE * SECONDS
        start = time.perf_counter()
        next_sample = start
        done = 0
        while done < total:
            now = time.perf_counter()
            due = min(total, int((now - start) * RATE) + 1)
            for i in range(done, due):
                info("sustained", a="x", b=i % 64, c=True)
            done = due
            if now >= next_sample:
                samples.append((now - start, rss()))
                next_sample += 1.0
            time.sleep(0.0005)
        elapsed = time.perf_counter() - start
        assert container.flush(60)
        delivered = control.wait(total, 60)["records"]
        stats = container.stats()
        container.shutdown(5)
    assert (total, total, 0) == (delivered, stats["exported"], stats["failed"])
    assert elapsed < SECONDS * 1.1  # the rate was held
    warm = [size for at, size in samples if 5 <= at < SECONDS / 2]
    late = [size for at, size in samples if at >= SECONDS / 2]
    assert max(late) - max(warm) < GROWTH_LIMIT, (max(warm), max(late))
