"""The OTLP exporter's durable spool with real receivers and real processes: an outage is
ridden out on disk, a process killed with records in the spool has them sent by the next
one, once, in order."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from otlp_receivers import HttpReceiver, free_port

import fapilog_otel as fo
from fapilog_otel.otlp import OTLPExporter
from fapilog_otel.otlp._spool import Spool

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def indexes(receiver: HttpReceiver, n: int) -> list[int]:
    """The ``i`` attribute of each of ``n`` received records, in arrival order."""
    found = []
    for *_, record in receiver.wait_for_records(n):
        values = {kv.key: kv.value for kv in record.attributes}
        found.append(values["i"].int_value)
    return found


def spooled_container(endpoint: str, spool_dir: Path) -> tuple[fo.Container, OTLPExporter]:
    exporter = OTLPExporter(
        endpoint,
        timeout_ms=300,
        initial_backoff=0.05,
        diagnostics=False,
        spool_dir=str(spool_dir),
    )
    return fo.Container(fo.Settings(diagnostics=False), exporters=[exporter]), exporter


def test_an_outage_is_ridden_out_on_disk(tmp_path: Path) -> None:
    """With the collector down, records go to the spool (the queue stays free); once it
    is up, the spool is sent in order and flush reports it."""
    port = free_port()
    container, exporter = spooled_container(f"http://127.0.0.1:{port}/v1/logs", tmp_path)
    log = container.get_logger("app")
    for i in range(500):
        log.info("during the outage", i=i)
    assert not container.flush(1.0)
    outcomes = exporter.outcomes()
    assert (500, 500) == (outcomes["spooled"], outcomes["spool_pending"])
    stats = container.stats()
    assert (500, 0) == (stats["exported"], stats["queued"])
    with HttpReceiver(port=port) as receiver:
        assert container.flush(15)
        assert list(range(500)) == indexes(receiver, 500)
        container.shutdown(5)
    outcomes = exporter.outcomes()
    assert (500, 0) == (outcomes["spool_delivered"], outcomes["spool_pending"])


def run(source: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    clean.update(env, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


CHILD = """
    import os, signal, sys
    import fapilog_otel as fo
    container = fo.Container()
    log = container.get_logger("app")
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else {count}):
        log.info("record", i=i)
    flushed = container.flush({flush})
    exporter = container.exporters[0]
    print(flushed, exporter.outcomes().get("spool_pending"), flush=True)
    if {kill}:
        os.kill(os.getpid(), signal.SIGKILL)
    container.shutdown(5)
"""


def test_records_left_by_a_killed_process_are_sent_once_by_the_next(tmp_path: Path) -> None:
    """A process SIGKILLed with 300 records in its spool; the next process with the same
    spool directory sends them, in order, exactly once; a third sends nothing again."""
    port = free_port()
    env = {
        "FAPILOG_SPOOL_DIR": str(tmp_path),
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"http://127.0.0.1:{port}/v1/logs",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "300",
        "FAPILOG_DIAGNOSTICS": "false",
    }
    killed = run(CHILD.format(count=300, flush=1.0, kill=True), **env)
    assert -9 == killed.returncode, killed.stderr
    assert "False 300" == killed.stdout.strip()
    with HttpReceiver(port=port) as receiver:
        replay = run(CHILD.format(count=0, flush=15, kill=False), **env)
        assert (0, "True 0") == (replay.returncode, replay.stdout.strip()), replay.stderr
        assert list(range(300)) == indexes(receiver, 300)
        again = run(CHILD.format(count=0, flush=5, kill=False), **env)
        assert (0, "True 0") == (again.returncode, again.stdout.strip()), again.stderr
        assert 300 == len(receiver.records())


def test_a_spool_that_cannot_be_written_falls_back_to_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk: the spool's write fails, the records are sent at once instead, and the
    failure is counted. (Simulated: the append raises the error SQLite gives on a full
    disk, ``database or disk is full``; filling a real disk is not safe here.)"""

    def full(self: Spool, body: bytes, records: int) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Spool, "append", full)
    with HttpReceiver() as receiver:
        container, exporter = spooled_container(receiver.endpoint, tmp_path)
        log = container.get_logger("app")
        for i in range(50):
            log.info("disk full", i=i)
        assert container.flush(10)
        assert list(range(50)) == indexes(receiver, 50)
        container.shutdown(5)
    assert 50 == exporter.outcomes()["spool_write_failed"]


def test_grpc_exporter_spools_too(tmp_path: Path) -> None:
    """The spool works the same over gRPC: an outage ridden out on disk, then sent."""
    from otlp_receivers import GrpcReceiver

    port = free_port()
    exporter = OTLPExporter(
        f"http://127.0.0.1:{port}",
        protocol="grpc",
        timeout_ms=300,
        initial_backoff=0.05,
        diagnostics=False,
        spool_dir=str(tmp_path),
    )
    container = fo.Container(fo.Settings(diagnostics=False), exporters=[exporter])
    for i in range(200):
        container.get_logger("app").info("grpc outage", i=i)
    assert not container.flush(1.0)
    assert 200 == exporter.outcomes()["spool_pending"]
    with GrpcReceiver(port=port) as receiver:
        assert container.flush(15)
        found = [
            {kv.key: kv.value for kv in record.attributes}["i"].int_value
            for *_, record in receiver.wait_for_records(200)
        ]
        container.shutdown(5)
    assert list(range(200)) == found


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_takes_a_slot_of_its_own(tmp_path: Path) -> None:
    """Parent and forked child never share a spool: the child takes the next slot, and
    each one's records stay in its own."""
    port = free_port()
    source = f"""
        import os
        import fapilog_otel as fo
        container = fo.Container(fo.Settings(
            exporters=["otlp"],
            otlp={{"endpoint": "http://127.0.0.1:{port}/v1/logs", "timeout_ms": 200}},
            spool_dir={str(tmp_path)!r},
            diagnostics=False,
        ))
        log = container.get_logger("app")
        pid = os.fork()
        who = "child" if pid == 0 else "parent"
        for i in range(10 if pid == 0 else 20):
            log.info(who, i=i)
        container.flush(1)
        exporter = container.exporters[0]
        print(who, os.path.basename(exporter._spool.path), exporter.outcomes()["spool_pending"],
              flush=True)
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        container.shutdown(1)
    """
    done = run(source)
    assert 0 == done.returncode, done.stderr
    lines = sorted(done.stdout.split("\n")[:2])
    assert ["child otlp-1.sqlite 10", "parent otlp-0.sqlite 20"] == lines


def test_an_outage_never_overflows_the_memory_queue(tmp_path: Path) -> None:
    """With the collector down, 20,000 records through a queue of 1,000: the worker keeps
    draining it into the spool, so nothing is dropped, and everything is on disk."""
    port = free_port()
    exporter = OTLPExporter(
        f"http://127.0.0.1:{port}/v1/logs",
        timeout_ms=300,
        initial_backoff=0.05,
        diagnostics=False,
        spool_dir=str(tmp_path),
    )
    container = fo.Container(fo.Settings(diagnostics=False, queue_size=1_000), exporters=[exporter])
    log = container.get_logger("app")
    for i in range(20_000):
        log.info("long outage", i=i)
    container.flush(2.0)
    stats = container.stats()
    container.shutdown(1)
    assert ({}, 20_000) == (
        {reason: n for reason, n in stats["dropped"].items() if n},
        exporter.outcomes()["spool_pending"],
    )


def test_a_flush_does_not_wait_out_the_senders_backoff(tmp_path: Path) -> None:
    """The sender backs off (here 5 s, then 10 s) while the collector is down; a flush
    after it came back asks for a try at once instead of waiting the backoff out."""
    port = free_port()
    exporter = OTLPExporter(
        f"http://127.0.0.1:{port}/v1/logs",
        timeout_ms=200,
        initial_backoff=5.0,
        diagnostics=False,
        spool_dir=str(tmp_path),
    )
    container = fo.Container(fo.Settings(diagnostics=False), exporters=[exporter])
    container.get_logger("app").info("kept", i=0)
    assert not container.flush(0.5)  # the first attempt failed: the sender is backing off
    with HttpReceiver(port=port) as receiver:
        assert container.flush(3)
        assert [0] == indexes(receiver, 1)
        container.shutdown(5)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Any:
    """A real file system of 256 KiB (tmpfs), unmounted afterwards; skipped where this
    process may not mount one."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_is_counted_not_a_crash(tiny_disk: Path) -> None:
    """A real full disk: the collector is down and the spool's 256 KiB file system fills
    up. The spool keeps what fits; past that each request is sent without it (and fails,
    the collector being down), counted; nothing raises and every record is accounted."""
    port = free_port()
    exporter = OTLPExporter(
        f"http://127.0.0.1:{port}/v1/logs",
        timeout_ms=100,
        initial_backoff=0.05,
        diagnostics=False,
        spool_dir=str(tiny_disk),
    )
    container = fo.Container(fo.Settings(diagnostics=False), exporters=[exporter])
    log = container.get_logger("app")
    for i in range(20_000):
        log.info("filling the disk", i=i, padding="x" * 40)
    container.flush(3)
    stats = container.stats()
    outcomes = exporter.outcomes()
    container.shutdown(1)
    assert outcomes["spool_write_failed"] > 0
    assert 0 < outcomes["spool_pending"] < 20_000
    assert 20_000 == stats["submitted"] == stats["exported"] + stats["failed"]
    assert outcomes["spool_write_failed"] == stats["failed"]
