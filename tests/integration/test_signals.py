"""Shutdown and signals: the library installs no signal handler of its own, and a SIGTERM
the application's own handler turns into an exit drains the queue (a real subprocess, a
real receiver)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from otlp_receivers import HttpReceiver

import fapilog_otel as fo

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def handlers() -> dict[int, object]:
    """The handler of every signal that can have one."""
    found = {}
    for number in signal.valid_signals():
        try:
            found[number] = signal.getsignal(number)
        except (OSError, ValueError):
            continue
    return found


def test_no_signal_handler_is_installed(http_receiver: HttpReceiver) -> None:
    before = handlers()
    container = fo.Container(
        fo.Settings(exporters=["otlp"], otlp={"endpoint": http_receiver.endpoint})
    )
    container.get_logger("app").info("hello")
    assert container.flush(5)
    assert before == handlers()
    container.shutdown(5)
    assert before == handlers()


def test_sigterm_handled_by_the_application_drains(http_receiver: HttpReceiver) -> None:
    """The application turns SIGTERM into ``sys.exit`` (as web servers do); the exit-time
    drain sends every record queued before it."""
    script = textwrap.dedent(
        """
        import os, signal, sys, time
        import fapilog_otel as fo

        signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
        log = fo.get_logger("app")
        for i in range(5_000):
            log.info("before the signal", i=i)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)  # the handler's SystemExit ends this
        sys.exit(3)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http_receiver.endpoint,
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (0, "") == (done.returncode, done.stderr)
    received = http_receiver.wait_for_records(5_000)
    indexes = {
        {kv.key: kv.value for kv in record.attributes}["i"].int_value for *_, record in received
    }
    assert set(range(5_000)) == indexes
