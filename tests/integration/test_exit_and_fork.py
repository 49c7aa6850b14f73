"""Process lifecycle in real subprocesses: records logged just before exit are delivered
without an explicit shutdown, exit honours shutdown_timeout, and fork gives the child its
own pipeline."""

# The project writes asserts as `expected == actual` (STYLE.md), which SIM300 calls Yoda.

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

#: A generous bound for a subprocess; a hang shows up as a failure, not a stuck suite.
PROCESS_TIMEOUT = 60

#: Allowed on top of a configured timeout for interpreter teardown. A correctness bound.
MARGIN = 2.0


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without FAPILOG_/OTEL_ variables, plus ``extra``.

    PYTHONPATH points at the repository so the scripts import the code under test whether
    or not the package is installed.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    existing = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + existing if existing else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run_script(
    source: str, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``source`` in a fresh interpreter; return the result and its wall time."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=clean_env(**env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    return proc, time.monotonic() - start


def json_lines(path: Path) -> list[dict[str, object]]:
    """Parse every line of ``path`` as JSON (fails on a partial or invalid line)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


class TestExitDrain:
    def test_records_logged_before_exit_reach_the_file(self, tmp_path: Path) -> None:
        """1,000 records logged via fo.get_logger() without shutdown are all in the file."""
        out = tmp_path / "out.jsonl"
        proc, _ = run_script(
            """
            import fapilog_otel as fo

            log = fo.get_logger("exit")
            for i in range(1000):
                log.info("record", i=i)
            """,
            tmp_path,
            FAPILOG_FILE__PATH=str(out),
            OTEL_LOGS_EXPORTER="file",
        )
        assert 0 == proc.returncode, proc.stderr
        lines = json_lines(out)
        assert list(range(1000)) == [line["attributes"]["i"] for line in lines]  # type: ignore[index]
        assert {"record"} == {line["body"] for line in lines}
        assert "" == proc.stdout

    def test_exit_drain_waits_for_a_slow_exporter(self, tmp_path: Path) -> None:
        """The atexit drain waits for a slow exporter (0.05 s per batch) to take every record."""
        out = tmp_path / "slow.txt"
        proc, _ = run_script(
            f"""
            import time
            import fapilog_otel as fo

            class Slow:
                def export(self, batch):
                    time.sleep(0.05)
                    with open({str(out)!r}, "a") as f:
                        for record in batch:
                            f.write(str(record.attributes["i"]) + "\\n")

            container = fo.Container(
                fo.Settings(batch={{"max_size": 50}}, shutdown_timeout=20, diagnostics=False),
                exporters=[Slow()],
            )
            fo.set_default_container(container)
            log = fo.get_logger("exit")
            for i in range(1000):
                log.info("record", i=i)
            """,
            tmp_path,
        )
        assert 0 == proc.returncode, proc.stderr
        assert list(range(1000)) == [int(x) for x in out.read_text().split()]

    def test_logger_outliving_its_container_is_drained(self, tmp_path: Path) -> None:
        """Records of a logger whose container object was dropped are still delivered at exit."""
        out = tmp_path / "orphan.jsonl"
        proc, _ = run_script(
            f"""
            import gc
            import fapilog_otel as fo

            def make_logger():
                settings = fo.Settings(
                    exporters=["file"], file={{"path": {str(out)!r}}}, diagnostics=False
                )
                return fo.Container(settings).get_logger("orphan")

            log = make_logger()
            gc.collect()
            for i in range(500):
                log.info("record", i=i)
            """,
            tmp_path,
        )
        assert 0 == proc.returncode, proc.stderr
        assert list(range(500)) == [line["attributes"]["i"] for line in json_lines(out)]  # type: ignore[index]

    def test_raising_exporter_at_exit_does_not_hang(self, tmp_path: Path) -> None:
        """An exporter that raises during the exit drain lets the process exit 0, promptly."""
        proc, elapsed = run_script(
            """
            import fapilog_otel as fo

            class Raising:
                def export(self, batch):
                    raise RuntimeError("collector down")

                def shutdown(self):
                    raise RuntimeError("shutdown failed too")

            fo.set_default_container(
                fo.Container(fo.Settings(shutdown_timeout=10), exporters=[Raising()])
            )
            log = fo.get_logger("exit")
            for i in range(100):
                log.info("record", i=i)
            """,
            tmp_path,
        )
        assert 0 == proc.returncode, proc.stderr
        assert "Traceback" not in proc.stderr
        assert elapsed < 10

    def test_exit_honours_shutdown_timeout_with_a_hanging_exporter(self, tmp_path: Path) -> None:
        """With an exporter that never returns, exit takes about shutdown_timeout, not forever."""
        proc, _ = run_script(
            """
            import threading, time
            import fapilog_otel as fo

            class Hanging:
                def export(self, batch):
                    threading.Event().wait()

            fo.set_default_container(
                fo.Container(
                    fo.Settings(shutdown_timeout=1.0, diagnostics=False), exporters=[Hanging()]
                )
            )
            log = fo.get_logger("exit")
            for i in range(100):
                log.info("record", i=i)
            print(time.time(), flush=True)
            """,
            tmp_path,
        )
        ended = time.time()
        assert 0 == proc.returncode, proc.stderr
        script_done = float(proc.stdout.split()[0])
        assert ended - script_done < 1.0 + MARGIN

    def test_exit_after_drops_does_not_wait_out_the_timeout(self, tmp_path: Path) -> None:
        """After drops (and their report record) exit is prompt once everything is delivered."""
        proc, _ = run_script(
            """
            import time
            import fapilog_otel as fo

            class SlowStart:
                first = True

                def export(self, batch):
                    if self.first:
                        self.first = False
                        time.sleep(0.3)

            fo.set_default_container(
                fo.Container(
                    fo.Settings(
                        queue_size=8, overflow="drop_newest", shutdown_timeout=4,
                        diagnostics=False,
                    ),
                    exporters=[SlowStart()],
                )
            )
            log = fo.get_logger("exit")
            for i in range(200):
                log.info("record", i=i)
            time.sleep(0.5)
            print(time.time(), flush=True)
            """,
            tmp_path,
        )
        ended = time.time()
        assert 0 == proc.returncode, proc.stderr
        script_done = float(proc.stdout.split()[0])
        assert ended - script_done < MARGIN


FORK_SCRIPT = """
import json, os, sys, threading, time
import fapilog_otel as fo

out_dir = sys.argv[1]

class PerProcess:
    \"\"\"Appends each record to a file named after the exporting process.\"\"\"

    def export(self, batch):
        time.sleep(0.01)
        with open(os.path.join(out_dir, f"{os.getpid()}.jsonl"), "a") as f:
            for r in batch:
                f.write(json.dumps({"who": r.attributes["who"], "i": r.attributes["i"]}) + "\\n")

container = fo.Container(
    fo.Settings(batch={"max_size": 10}, diagnostics=False), exporters=[PerProcess()]
)
log = container.get_logger("fork")
for i in range(200):
    log.info("parent", who="parent", i=i)

pid = os.fork()
if pid == 0:
    for i in range(50):
        log.info("child", who="child", i=i)
    ok = container.flush(20.0)
    stats = container.stats()
    with open(os.path.join(out_dir, "child-result.json"), "w") as f:
        json.dump({"ok": ok, "submitted": stats["submitted"], "exported": stats["exported"],
                   "pid": os.getpid()}, f)
    os._exit(0 if ok else 1)

_, status = os.waitpid(pid, 0)
print(json.dumps({"child_status": status, "child_pid": pid,
                  "parent_pid": os.getpid(), "flushed": container.flush(20.0)}))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestFork:
    def test_child_gets_its_own_pipeline(self, tmp_path: Path) -> None:
        """After fork the child delivers its own records and never the parent's queued ones."""
        script = tmp_path / "fork.py"
        script.write_text(FORK_SCRIPT)
        proc = subprocess.run(
            [sys.executable, str(script), str(tmp_path)],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT,
        )
        assert 0 == proc.returncode, proc.stderr
        summary = json.loads(proc.stdout)
        assert (0, True) == (summary["child_status"], summary["flushed"])
        child = json.loads((tmp_path / "child-result.json").read_text())
        assert (True, 50, 50) == (child["ok"], child["submitted"], child["exported"])
        parent_lines = json_lines(tmp_path / f"{summary['parent_pid']}.jsonl")
        child_lines = json_lines(tmp_path / f"{summary['child_pid']}.jsonl")
        assert [("parent", i) for i in range(200)] == [(d["who"], d["i"]) for d in parent_lines]
        assert [("child", i) for i in range(50)] == [(d["who"], d["i"]) for d in child_lines]

    def test_child_with_file_exporter_from_environment(self, tmp_path: Path) -> None:
        """With the built-in file exporter, parent and child together write each record once."""
        out = tmp_path / "shared.jsonl"
        proc, _ = run_script(
            """
            import os
            import fapilog_otel as fo

            log = fo.get_logger("fork")
            for i in range(300):
                log.info("parent", who="parent", i=i)
            pid = os.fork()
            if pid == 0:
                for i in range(100):
                    log.info("child", who="child", i=i)
                os._exit(0 if fo.flush(20.0) else 1)
            _, status = os.waitpid(pid, 0)
            assert status == 0, status
            """,
            tmp_path,
            FAPILOG_FILE__PATH=str(out),
            FAPILOG_DIAGNOSTICS="false",
        )
        assert 0 == proc.returncode, proc.stderr
        lines = json_lines(out)
        parent = sorted(d["attributes"]["i"] for d in lines if d["body"] == "parent")  # type: ignore[index]
        child = sorted(d["attributes"]["i"] for d in lines if d["body"] == "child")  # type: ignore[index]
        assert (list(range(300)), list(range(100))) == (parent, child)

    def test_fork_while_the_file_exporter_is_writing(self, tmp_path: Path) -> None:
        """A fork during a file write (exporter lock held) leaves the child able to export."""
        out = tmp_path / "locked.jsonl"
        proc, _ = run_script(
            f"""
            import os, threading, time
            import fapilog_otel as fo
            from fapilog_otel.exporters.file import FileExporter

            writing = threading.Event()

            class SlowWrites(FileExporter):
                # A slow disk: the write, under the exporter's lock, takes a while.
                def _write(self, data):
                    writing.set()
                    time.sleep(0.3)
                    super()._write(data)

            container = fo.Container(
                fo.Settings(diagnostics=False), exporters=[SlowWrites({str(out)!r})]
            )
            log = container.get_logger("fork")
            log.info("parent")
            assert writing.wait(10)
            pid = os.fork()
            if pid == 0:
                log.info("child")
                os._exit(0 if container.flush(5.0) else 1)
            _, status = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(status))
            """,
            tmp_path,
        )
        assert 0 == proc.returncode, proc.stderr
        assert "0" == proc.stdout.strip()
        assert ["child", "parent"] == sorted(d["body"] for d in json_lines(out))
