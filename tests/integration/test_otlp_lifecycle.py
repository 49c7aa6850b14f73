"""The OTLP exporter across process lifecycle events, in real subprocesses.

Records logged just before exit reach the receiver without an explicit shutdown; after
``os.fork()`` the child sends its own records on its own connection (the exporter's
``reinit_after_fork``); a receiver answering with more than 4 MiB is cut off.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from otlp_receivers import GrpcReceiver, HttpReceiver, Reply

from fapilog_otel.otlp import OTLPExporter
from fapilog_otel.record import LogRecord, Scope

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(source: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter with a clean OTEL_/FAPILOG_ environment."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    clean["PYTHONPATH"] = str(REPO_ROOT)
    clean.update(env)
    return subprocess.run(
        [sys.executable, str(script)],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def target(
    protocol: str, http_receiver: HttpReceiver, grpc_receiver: GrpcReceiver
) -> tuple[str, HttpReceiver | GrpcReceiver]:
    """The endpoint to configure for ``protocol`` and the receiver behind it."""
    if protocol == "grpc":
        return f"http://{grpc_receiver.endpoint}", grpc_receiver
    return http_receiver.endpoint, http_receiver


class TestExit:
    @pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
    def test_records_logged_before_exit_arrive(
        self,
        protocol: str,
        http_receiver: HttpReceiver,
        grpc_receiver: GrpcReceiver,
        tmp_path: Path,
    ) -> None:
        """500 records logged right before the interpreter exits all reach the receiver."""
        endpoint, receiver = target(protocol, http_receiver, grpc_receiver)
        done = run(
            """
            import fapilog_otel as fo
            log = fo.get_logger("exit")
            for i in range(500):
                log.info("bye", i=i)
            """,
            tmp_path,
            OTEL_LOGS_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=endpoint,
        )
        assert (0, "") == (done.returncode, done.stderr)
        received = receiver.wait_for_records(500)
        assert list(range(500)) == sorted(rec.attributes[0].value.int_value for *_, rec in received)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
class TestFork:
    @pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
    def test_child_sends_its_own_records(
        self,
        protocol: str,
        http_receiver: HttpReceiver,
        grpc_receiver: GrpcReceiver,
        tmp_path: Path,
    ) -> None:
        """Parent and forked child each deliver their own records; HTTP uses two connections."""
        endpoint, receiver = target(protocol, http_receiver, grpc_receiver)
        done = run(
            f"""
            import os
            import fapilog_otel as fo
            settings = fo.Settings(
                exporters=["otlp"],
                otlp={{"protocol": {protocol!r}, "endpoint": {endpoint!r}}},
            )
            container = fo.Container(settings)
            log = container.get_logger("fork")
            log.info("before fork", who="parent")
            assert container.flush(10)
            pid = os.fork()
            if pid == 0:
                log.info("after fork", who="child", pid=os.getpid())
                ok = container.flush(10)
                container.shutdown()
                os._exit(0 if ok else 3)
            log.info("after fork", who="parent", pid=os.getpid())
            assert container.flush(10)
            _, status = os.waitpid(pid, 0)
            container.shutdown()
            raise SystemExit(os.waitstatus_to_exitcode(status))
            """,
            tmp_path,
        )
        assert (0, "") == (done.returncode, done.stderr)
        received = receiver.wait_for_records(3)
        bodies = sorted(
            (rec.body.string_value, {kv.key: kv.value for kv in rec.attributes}["who"].string_value)
            for *_, rec in received
        )
        expected = [("after fork", "child"), ("after fork", "parent"), ("before fork", "parent")]
        assert expected == bodies
        if protocol != "grpc":
            assert 2 == len({r.client_port for r in http_receiver.requests})


class TestResponses:
    def test_answer_over_4_mib_is_cut_and_the_connection_renewed(
        self, http_receiver: HttpReceiver
    ) -> None:
        """A 5 MiB answer is read up to 4 MiB, counted unparsable, and the next request
        goes on a fresh connection."""
        from opentelemetry.sdk.resources import Resource

        http_receiver.script(Reply(body=b"\xff" * (5 * 1024 * 1024)))
        exporter = OTLPExporter(http_receiver.endpoint, diagnostics=False)
        record = LogRecord(timestamp=1, body="x", scope=Scope("s"), resource=Resource.get_empty())
        try:
            exporter.export([record])
            exporter.export([record])
        finally:
            exporter.shutdown()
        assert 1 == exporter.outcomes()["unparsable_response"]
        first, second = http_receiver.requests
        assert first.client_port != second.client_port
