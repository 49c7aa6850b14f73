"""The benchmark suite keeps running (its numbers are not judged here, only that it works)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
class TestBenchmarkSuite:
    def test_quick_run_prints_every_case_with_all_records_delivered(self) -> None:
        """`python -m benchmarks` runs every case and every fapilog record is delivered."""
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks", "-n", "2000", "-r", "1", "--no-json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert 0 == done.returncode, done.stderr
        rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
        for case in ("a", "b", "c", "d1", "d2", "d3", "e", "f1", "f2", "ref"):
            assert case in rows, done.stdout
        assert "exported 4,000/4,000" in rows["a"], rows["a"]
        assert "exported 4,000/4,000" in rows["b"], rows["b"]
