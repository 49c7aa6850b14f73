"""Every example in examples/ runs, and the quickstart prints what it promises."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run_example(
    path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one example as a script with a clean fapilog/OTel environment (plus
    ``extra_env``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _distribution_tests(folder: str) -> None:
    """Make a distribution's test helpers importable (its fake or emulator servers)."""
    path = str(ROOT / "exporters" / folder / "tests")
    if path not in sys.path:
        sys.path.insert(0, path)


@contextmanager
def splunk_hec() -> Iterator[dict[str, str]]:
    """The Splunk HEC tests' fake HEC server (no Splunk installs here), as the example's
    ``SPLUNK_HEC_*`` variables."""
    _distribution_tests("splunk-hec")
    from splunk_hec_fake import FakeHec

    with FakeHec() as fake:
        yield {"SPLUNK_HEC_URL": fake.url, "SPLUNK_HEC_TOKEN": fake.token}
        assert ["payment accepted", "retrying the card network"] == [
            e["event"] for e in fake.events
        ]


@contextmanager
def elasticsearch() -> Iterator[dict[str, str]]:
    """The Elasticsearch tests' ``osmem-server`` emulator, as ``ELASTICSEARCH_URL``."""
    _distribution_tests("elasticsearch")
    from servers import emulator

    with emulator() as server:
        yield {"ELASTICSEARCH_URL": server.url}
        (index,) = [name for name in server.indices() if name.startswith("logs-inventory-")]
        assert {"stock counted", "stock negative"} == {
            doc["message"] for doc in server.search(index)
        }


#: The servers some examples send to, started around their run.
SERVERS: dict[str, Callable[[], AbstractContextManager[dict[str, str]]]] = {
    "splunk_hec.py": splunk_hec,
    "elasticsearch.py": elasticsearch,
}


@pytest.mark.integration
class TestExamples:
    @pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
    def test_example_runs(self, path: Path) -> None:
        """The example exits 0 and writes nothing to stderr; one that sends to a server
        runs against it, and the server holds what it sent."""
        server = SERVERS.get(path.name)
        if server is None:
            done = run_example(path)
        else:
            with server() as env:
                done = run_example(path, env)
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
