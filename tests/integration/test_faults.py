"""Faults with real parts: a collector (rotel) taken down and brought back, a receiver
stopped mid-stream, answering 503 for seconds, answering slowly. With default settings
nothing is lost while the outage is shorter than the export timeout, and every record is
accounted for."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from otlp_receivers import GrpcReceiver, HttpReceiver, Reply, RotelCollector

import fapilog_otel as fo

pytestmark = pytest.mark.integration


def container_for(endpoint: str, **settings: Any) -> fo.Container:
    """A container with default settings sending OTLP/HTTP protobuf to ``endpoint``."""
    return fo.Container(
        fo.Settings(exporters=["otlp"], otlp={"endpoint": endpoint}, diagnostics=False, **settings)
    )


def received_indexes(receiver: Any, n: int, timeout: float = 30.0) -> list[int]:
    """The ``i`` of the application's records once the receiver has ``n`` records (the
    library's own drop reports included)."""
    return [
        {kv.key: kv.value for kv in record.attributes}["i"].int_value
        for _, scope, record in receiver.wait_for_records(n, timeout)
        if scope.name != "fapilog_otel"
    ]


def accounted(container: fo.Container) -> tuple[int, int, int, int, int]:
    """(submitted, exported, failed, dropped, queued) from the container's stats."""
    stats = container.stats()
    return (
        stats["submitted"],
        stats["exported"],
        stats["failed"],
        sum(stats["dropped"].values()),
        stats["queued"],
    )


class TestCollectorOutage:
    @pytest.mark.parametrize("kill", [False, True], ids=["stopped", "killed"])
    def test_rotel_down_for_two_seconds_loses_nothing(self, kill: bool) -> None:
        """rotel is stopped (or SIGKILLed), 2,000 records are logged meanwhile, it comes
        back on the same ports within two seconds: the sink behind it gets every record
        once. (rotel holds what it accepted for up to 50 ms before forwarding; the test
        waits until the sink has the first record before the kill, so a crash of the
        collector itself loses nothing here either.)"""
        with GrpcReceiver() as sink, RotelCollector(sink.endpoint) as rotel:
            container = container_for(f"{rotel.http_url}/v1/logs")
            log = container.get_logger("app")
            log.info("before", i=-1)
            assert container.flush(10)
            sink.wait_for_records(1)
            rotel.take_down(kill=kill)
            for i in range(2_000):
                log.info("during the outage", i=i)
            time.sleep(1.5)
            rotel.bring_up()
            assert container.flush(20)
            got = received_indexes(sink, 2_001)
            container.shutdown(5)
        assert [-1, *range(2_000)] == sorted(got)
        assert (2_001, 2_001, 0, 0, 0) == accounted(container)
        assert container.stats()["exporters"]["otlp"]["outcomes"]["retries"] > 0

    def test_receiver_stopped_mid_stream_and_restarted(self) -> None:
        """The receiver stops (connections dropped) while records stream in and starts again
        on its port a second later: every record arrives (a request whose answer was lost
        may arrive twice, as OTLP allows), none fails."""
        receiver = HttpReceiver()
        receiver.start()
        container = container_for(receiver.endpoint)
        log = container.get_logger("app")
        stopped = threading.Event()

        def outage() -> None:
            time.sleep(0.05)
            receiver.stop()
            stopped.set()
            time.sleep(1.0)
            receiver.start()

        fault = threading.Thread(target=outage)
        fault.start()
        for i in range(20_000):
            log.info("streaming", i=i)
            if i % 1000 == 0:
                time.sleep(0.01)
        fault.join()
        assert stopped.is_set()
        try:
            assert container.flush(20)
            got = received_indexes(receiver, 20_000)
        finally:
            container.shutdown(5)
            receiver.stop()
        assert set(range(20_000)) == set(got)
        assert (20_000, 20_000, 0, 0, 0) == accounted(container)
        assert container.stats()["exporters"]["otlp"]["outcomes"]["retries"] > 0

    def test_503_for_three_seconds_loses_nothing(self, http_receiver: HttpReceiver) -> None:
        """The receiver answers 503 to its first requests for about three seconds (the
        exporter backs off 1 s, then 2 s): the records arrive afterwards, none fails."""
        http_receiver.script(Reply(status=503), Reply(status=503))
        container = container_for(http_receiver.endpoint)
        log = container.get_logger("app")
        started = time.monotonic()
        for i in range(1_000):
            log.info("while unavailable", i=i)
        assert container.flush(20)
        took = time.monotonic() - started
        got = received_indexes(http_receiver, 1_000)
        container.shutdown(5)
        assert list(range(1_000)) == sorted(got)
        assert (1_000, 1_000, 0, 0, 0) == accounted(container)
        assert took >= 2.0  # the backoff really ran (1 s + 2 s, with jitter)
        outcomes = container.stats()["exporters"]["otlp"]["outcomes"]
        assert 2 == outcomes["http_503"]

    def test_slow_receiver_loses_nothing(self, http_receiver: HttpReceiver) -> None:
        """Every answer takes 200 ms: batches grow while the exporter waits, the queue
        absorbs the rest, every record arrives."""
        http_receiver.script(*[Reply(delay=0.2) for _ in range(50)])
        container = container_for(http_receiver.endpoint)
        log = container.get_logger("app")
        for i in range(30_000):
            log.info("slow", i=i)
        assert container.flush(30)
        got = received_indexes(http_receiver, 30_000)
        container.shutdown(5)
        assert list(range(30_000)) == sorted(got)
        assert (30_000, 30_000, 0, 0, 0) == accounted(container)
        assert len(http_receiver.requests) < 100  # batches grew while it waited


class TestLoadAccounting:
    def test_two_million_record_burst_into_a_small_queue(self, http_receiver: HttpReceiver) -> None:
        """2,000,000 records as fast as one thread can into a queue of 10,000 that drops
        the newest: every record is exported or counted dropped, and the receiver has
        exactly the exported ones."""
        container = container_for(http_receiver.endpoint, queue_size=10_000, overflow="drop_newest")
        info = container.get_logger("app").info
        for i in range(2_000_000):
            info("burst", i=i)
        assert container.flush(60)
        submitted, exported, failed, dropped, queued = accounted(container)
        container.shutdown(5)
        assert (2_000_000, 0, 0) == (submitted, failed, queued)
        assert submitted == exported + dropped
        assert exported > 0 and dropped > 0
        stats = container.stats()
        assert {"queue_full"} == {reason for reason, n in stats["dropped"].items() if n}
        # The exporter's own count includes the library's drop reports (WARNING records).
        sent = stats["exporters"]["otlp"]["exported"]
        got = received_indexes(http_receiver, sent, timeout=60)
        assert exported == len(got) == len(set(got))
        assert sent == len(http_receiver.records())

    def test_ten_threads_and_a_thousand_tasks(self, http_receiver: HttpReceiver) -> None:
        """10 producer threads and 1,000 asyncio tasks log at once: every record arrives
        exactly once."""
        import asyncio

        container = container_for(http_receiver.endpoint)
        log = container.get_logger("threads")
        alog = container.get_async_logger("tasks")

        def produce(thread: int) -> None:
            for n in range(2_000):
                log.info("thread", i=thread * 1_000_000 + n)

        async def task(number: int) -> None:
            for n in range(20):
                await alog.info("task", i=-(number * 100 + n) - 1)
                if n % 5 == 0:
                    await asyncio.sleep(0)

        async def tasks() -> None:
            await asyncio.gather(*(task(number) for number in range(1_000)))

        threads = [threading.Thread(target=produce, args=(t,)) for t in range(10)]
        for thread in threads:
            thread.start()
        asyncio.run(tasks())
        for thread in threads:
            thread.join()
        assert container.flush(30)
        got = received_indexes(http_receiver, 40_000)
        container.shutdown(5)
        expected = {t * 1_000_000 + n for t in range(10) for n in range(2_000)}
        expected |= {-(number * 100 + n) - 1 for number in range(1_000) for n in range(20)}
        assert expected == set(got) and len(got) == 40_000
        assert (40_000, 40_000, 0, 0, 0) == accounted(container)
