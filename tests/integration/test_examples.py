"""Every example in examples/ runs, and the quickstart prints what it promises."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run_example(path: Path) -> subprocess.CompletedProcess[str]:
    """Run one example as a script with a clean fapilog/OTel environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.integration
class TestExamples:
    @pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
    def test_example_runs(self, path: Path) -> None:
        """The example exits 0 and writes nothing to stderr."""
        done = run_example(path)
        assert (0, "") == (done.returncode, done.stderr)

    def test_quickstart_output(self) -> None:
        """JSON lines (stdout is not a TTY), span ids on the span's record, stdlib bridged."""
        done = run_example(ROOT / "examples" / "quickstart.py")
        lines = done.stdout.splitlines()
        records = [json.loads(line) for line in lines if line.startswith("{")]
        notes = [line for line in lines if line.startswith("# ")]
        by_body = {r.get("body"): r for r in records}
        assert {"order placed", "slow", "payment failed", "inside a span", "disk 91% full"} <= set(
            by_body
        )
        span_note = next(n for n in notes if n.startswith("# span "))
        ids = dict(part.split("=") for part in span_note[len("# span ") :].split())
        in_span = by_body["inside a span"]
        assert (ids["trace_id"], ids["span_id"]) == (in_span["trace_id"], in_span["span_id"])
        assert "r-2" == in_span["attributes"]["request_id"]
        bridged = by_body["disk 91% full"]
        assert ("third.party", "WARNING", "/var") == (
            bridged["scope"],
            bridged["severity_text"],
            bridged["attributes"]["mount"],
        )
        assert "KeyError" == by_body["payment failed"]["attributes"]["exception.type"]
        assert "# flushed: True" in notes
        stats = ast.literal_eval(next(n for n in notes if n.startswith("# stats: "))[9:])
        assert stats["submitted"] == stats["exported"] == len(records)

    def test_otlp_roundtrip_output(self) -> None:
        """The OTLP demo's records reach the sink through rotel, the span's one with a trace."""
        done = run_example(ROOT / "examples" / "otlp_roundtrip.py")
        lines = done.stdout.splitlines()
        assert "# exported by fapilog-otel: 3; arrived at the sink via rotel:" == lines[0]
        arrived = lines[1:]
        assert 3 == len(arrived)
        declined = next(line for line in arrived if "card declined" in line)
        assert "trace=-" not in declined
        assert any("[audit]" in line and "'user.login'" in line for line in arrived)
