"""The trail across processes: a restart, a crash, and a fork."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest
from audit_helpers import (
    KEY,
    audit_record,
    clean_env,
    exporter,
    read_lines,
    trail_files,
    write_trail,
)

from fapilog_compliance.audit import verify_trail

pytestmark = pytest.mark.integration

PROCESS_TIMEOUT = 60


def run_script(source: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter with the trail's variables set."""
    env = clean_env(
        FAPILOG_AUDIT_PATH=str(path), FAPILOG_AUDIT_KEY=KEY, FAPILOG_DIAGNOSTICS="false"
    )
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in read_lines(path)]


WRITE = """
import os
import fapilog_otel as fo
from fapilog_compliance.audit import audit_event

container = fo.Container(fo.Settings(compliance=["sox"], exporters=["none"]))
log = container.get_logger("batch")
for n in range(3):
    audit_event(log, "ledger.post", actor="job", outcome="success", n=n)
assert container.flush(10.0)
"""


class TestAcrossProcesses:
    def test_a_restart_goes_on_with_the_chain(self, tmp_path: Path) -> None:
        """Another process's sealed trail is continued here: one chain over both."""
        path = tmp_path / "audit.log"
        done = run_script(WRITE + "container.shutdown()\n", path)
        assert 0 == done.returncode, done.stderr
        write_trail(path, 2)
        first, second = trail_files(path)
        assert ("shutdown", "restart") == (
            lines_of(first)[-1]["reason"],
            lines_of(second)[0]["reason"],
        )
        report = verify_trail(path, KEY.encode())
        assert (True, 5) == (report.ok, report.records)

    def test_after_a_crash_the_trail_is_resumed(self, tmp_path: Path) -> None:
        """A process that dies without sealing leaves a trail the next one resumes."""
        path = tmp_path / "audit.log"
        done = run_script(WRITE + "os._exit(0)\n", path)
        assert 0 == done.returncode, done.stderr
        assert not verify_trail(path, KEY.encode()).ok
        assert verify_trail(path, KEY.encode(), open_ok=True).ok
        write_trail(path, 1)
        assert ["header", "record", "record", "record", "resume", "record", "seal"] == [
            line["type"] for line in lines_of(path)
        ]
        report = verify_trail(path, KEY.encode())
        assert (True, 1) == (report.ok, report.resumes)
        assert "1 resumed after a crash" in report.summary()


FORK = """
import json, os
import fapilog_otel as fo
from fapilog_compliance.audit import audit_event

container = fo.Container(fo.Settings(compliance=["sox"], exporters=["none"]))
log = container.get_logger("fork")
audit_event(log, "before.fork", actor="parent", outcome="success")
assert container.flush(10.0)
pid = os.fork()
if pid == 0:
    audit_event(log, "in.child", actor="child", outcome="success")
    container.shutdown(10.0)
    os._exit(0)
_, status = os.waitpid(pid, 0)
audit_event(log, "after.fork", actor="parent", outcome="success")
container.shutdown(10.0)
print(json.dumps({"child": pid, "parent": os.getpid(), "status": status}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestFork:
    def test_an_exporter_used_directly_notices_the_fork(self, tmp_path: Path) -> None:
        """Without a container to tell it, the exporter sees the new pid and writes its own
        trail; the parent's chain goes on untouched."""
        path = tmp_path / "audit.log"
        trail = exporter(path)
        trail.export([audit_record(1)])
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            status = 1
            try:
                trail.export([audit_record(2)])
                trail.shutdown()
                status = 0 if trail.path.name == f"audit.pid{os.getpid()}.log" else 3
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert 0 == os.waitstatus_to_exitcode(status)
        trail.export([audit_record(3)])
        trail.shutdown()
        parent = verify_trail(path, KEY.encode())
        child = verify_trail(tmp_path / f"audit.pid{pid}.log", KEY.encode())
        assert (True, 2, True, 1) == (parent.ok, parent.records, child.ok, child.records)
        assert [1, 3] == [line["attributes"]["payment"] for line in lines_of(path)[1:-1]]

    def test_a_child_writes_its_own_trail(self, tmp_path: Path) -> None:
        """The parent's chain holds only its events; the child's trail names its origin."""
        path = tmp_path / "audit.log"
        done = run_script(FORK, path)
        assert 0 == done.returncode, done.stderr
        result = orjson.loads(done.stdout)
        assert 0 == result["status"]
        parent = verify_trail(path, KEY.encode())
        assert (True, 2) == (parent.ok, parent.records), parent.summary()
        actors = {line["attributes"]["audit.actor"] for line in lines_of(path)[1:-1]}
        assert {"parent"} == actors
        child_path = tmp_path / f"audit.pid{result['child']}.log"
        child = verify_trail(child_path, KEY.encode())
        assert (True, 1) == (child.ok, child.records), child.summary()
        header, record, _ = lines_of(child_path)
        assert ("fork", result["parent"], "audit.log") == (
            header["reason"],
            header["parent"]["pid"],
            header["parent"]["file"],
        )
        parent_record = lines_of(path)[1]
        assert (parent_record["seq"], parent_record["mac"]) == (
            header["parent"]["seq"],
            header["parent"]["mac"],
        )
        assert "child" == record["attributes"]["audit.actor"]


def test_two_worker_processes_each_keep_a_verifiable_trail(tmp_path: Path) -> None:
    """Two processes of one application (the workers of a pre-fork server, say) share
    FAPILOG_AUDIT_PATH: the one that takes the trail writes it, the other writes a trail
    of its own beside it; no audit event is lost and both trails verify."""
    path = tmp_path / "audit.log"
    holder = exporter(path)
    holder.export([audit_record(1)])
    done = run_script(WRITE + "\nprint(os.getpid())\n", path)
    assert 0 == done.returncode, done.stderr
    child_pid = int(done.stdout.split()[-1])
    holder.shutdown()
    assert 1 == verify_trail(path, KEY.encode()).records
    own = path.with_name(f"audit.pid{child_pid}.log")
    report = verify_trail(own, KEY.encode())
    assert (None, True, 3) == (report.problem, report.sealed, report.records)
    assert "concurrent" == lines_of(own)[0]["reason"]
