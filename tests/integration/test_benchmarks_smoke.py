"""The benchmark suites keep running (their numbers are not judged here, only that they work)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m benchmarks`` with ``args`` from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _rows(stdout: str) -> dict[str, str]:
    """Table rows keyed by their first cell."""
    return {line.split()[0]: line for line in stdout.splitlines() if line.strip()}


@pytest.mark.integration
class TestBenchmarkSuite:
    def test_quick_run_prints_every_case_with_all_records_delivered(self) -> None:
        """`python -m benchmarks callsite` runs every case and every fapilog record is delivered."""
        done = _run_benchmarks("callsite", "-n", "2000", "-r", "1", "--no-json")
        assert 0 == done.returncode, done.stderr
        rows = _rows(done.stdout)
        for case in ("a", "b", "c", "d1", "d2", "d3", "e", "f1", "f2", "ref"):
            assert case in rows, done.stdout
        assert "exported 4,000/4,000" in rows["a"], rows["a"]
        assert "exported 4,000/4,000" in rows["b"], rows["b"]


@pytest.mark.integration
class TestDeliverySuite:
    def test_tiny_run_delivers_every_record_to_the_receiver_process(self) -> None:
        """The delivery suite counts every record at the receiver for the SDK and fapilog."""
        keys = "sdk-http-bigq,sdk-grpc-bigq,fapilog-http,fapilog-grpc,encode"
        done = _run_benchmarks(
            "--only", keys, "-n", "2000", "-r", "1", "--encode-loops", "2", "--no-json"
        )
        assert 0 == done.returncode, done.stdout + done.stderr
        rows = _rows(done.stdout)
        for case in ("sdk-http-bigq", "sdk-grpc-bigq"):
            assert "delivered 2,000/2,000" in rows[case], done.stdout
        for case in ("fapilog-http", "fapilog-grpc"):
            if "unavailable" not in rows[case]:
                assert "delivered 2,000/2,000" in rows[case], done.stdout
        for case in ("encode-upb", "encode-sdk"):
            assert rows[case].split()[1].replace(",", "").isdigit(), rows[case]

    def test_receiver_stops_when_the_process_that_started_it_dies(self) -> None:
        """A receiver whose parent exits without stopping it exits too (no stray process)."""
        orphan = subprocess.run(
            [
                sys.executable,
                "-c",
                "import os; from benchmarks._receiver import Receiver; "
                "print(Receiver().__enter__().pid, flush=True); os._exit(0)",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        pid = int(orphan.stdout)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)


@pytest.mark.integration
class TestWorkerSuite:
    def test_tiny_run_measures_every_case_and_writes_json(self, tmp_path: Path) -> None:
        """`python -m benchmarks worker` gives every case a positive ns/record (or unavailable)."""
        import json

        done = _run_benchmarks("worker", "-n", "512", "-r", "1", "--results-dir", str(tmp_path))
        assert 0 == done.returncode, done.stdout + done.stderr
        rows = _rows(done.stdout)
        (written,) = tmp_path.glob("worker-*.json")
        results = {r["key"]: r for r in json.loads(written.read_text())["results"]}
        redactors_missing = not (ROOT / "fapilog_otel/processors/redact.py").exists()
        cases = ("w-convert", "w-default", "w-default-otlp", "w-filters", "w-enrichers-off-path")
        for case in cases:
            cell = rows[case].split()[1]
            if redactors_missing and case in ("w-default", "w-default-otlp", "w-filters"):
                assert "unavailable" == cell == results[case]["status"], rows[case]
                continue
            assert float(cell.replace(",", "")) > 0, rows[case]
            assert results[case]["median_ns"] > 0, results[case]
        assert "worker per record <= 1,000 ns" in rows["w-default-otlp"] or redactors_missing


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _request_with_records(n: int) -> bytes:
    """An encoded OTLP logs request holding ``n`` records."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest()
    scope_logs = request.resource_logs.add().scope_logs.add()
    for i in range(n):
        scope_logs.log_records.add(time_unix_nano=i + 1).body.string_value = "m"
    body: bytes = request.SerializeToString()
    return body


@pytest.mark.integration
class TestReceiver:
    def test_counts_gzip_chunked_and_pipelined_requests_on_one_connection(self) -> None:
        """The receiver decodes plain, gzip and chunked bodies sent back to back on one socket."""
        import gzip
        import json
        import socket

        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._receiver", "--http-port", "0", "--grpc-port", "-1"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        try:
            assert proc.stdout is not None
            port = json.loads(proc.stdout.readline())["http_port"]
            body = _request_with_records(3)
            packed = gzip.compress(body)
            head = "POST /v1/logs HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-protobuf\r\n"
            chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
            wire = (
                f"{head}Content-Length: {len(body)}\r\n\r\n".encode()
                + body
                + f"{head}Content-Encoding: gzip\r\nContent-Length: {len(packed)}\r\n\r\n".encode()
                + packed
                + f"{head}Transfer-Encoding: chunked\r\n\r\n".encode()
                + chunked
                + b"POST /reset HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"
                + b"GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            )
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(wire)
                replies = b""
                while chunk := sock.recv(65536):
                    replies += chunk
        finally:
            proc.terminate()
            proc.wait(10)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        assert 5 == replies.count(b"HTTP/1.1 200 OK"), replies
        before_reset, after_reset = (json.loads(doc) for doc in re.findall(rb"\{[^}]*\}", replies))
        assert {"records": 9, "requests": 3, "errors": 0} == {
            k: before_reset[k] for k in ("records", "requests", "errors")
        }
        assert 0 == after_reset["records"]


@pytest.mark.integration
class TestLatencySuite:
    def test_tiny_run_gives_every_scenario_numbers_and_writes_json(self, tmp_path: Path) -> None:
        """`python -m benchmarks latency` measures every scenario (numbers, not timings)."""
        import json

        done = _run_benchmarks(
            "latency",
            *("--seconds", "0.2", "--memory-seconds", "1", "--fill", "2000", "-r", "1"),
            *("--results-dir", str(tmp_path)),
        )
        assert 0 == done.returncode, done.stdout + done.stderr
        rows = _rows(done.stdout)
        (written,) = tmp_path.glob("latency-*.json")
        results = {r["key"]: r for r in json.loads(written.read_text())["results"]}
        keys = ("lat-10k", "lat-100k", "tail", "memory-rss", "memory-queued")
        for key in (*keys, "scale-idle", "scale-threads", "scale-tasks"):
            assert re.search(r"\d", rows[key].split(None, 2)[2]), rows[key]
            assert "ok" == results[key]["status"], results[key]
            assert all(v is not None for v in results[key]["medians"].values()), results[key]
        for key in ("lat-10k", "lat-100k"):
            (sample,) = results[key]["samples"]
            assert sample["records"] == sample["latency"]["count"] == sample["delivered"]
        (queued,) = results["memory-queued"]["samples"]
        assert queued["rss_bytes_per_record"] > 0 and queued["tracemalloc_bytes_per_record"] > 0
