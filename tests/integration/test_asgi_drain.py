"""The ASGI lifespan drain with a real server: uvicorn serves an application wrapped in
``DrainOnShutdown``, a request logs records, SIGTERM stops the server, and the records
reach a real OTLP receiver before the process exits; with and without an application
that implements the lifespan protocol itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest
from otlp_receivers import HttpReceiver, free_port

pytestmark = pytest.mark.integration

pytest.importorskip("uvicorn", reason="the ASGI drain test needs uvicorn (pip install -e '.[dev]')")

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVER = """
    import sys
    import uvicorn
    import fapilog_otel as fo
    from fapilog_otel.integrations.asgi import DrainOnShutdown

    log = fo.get_logger("web")

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            if {own_lifespan}:
                while True:
                    message = await receive()
                    if message["type"] == "lifespan.startup":
                        await send({{"type": "lifespan.startup.complete"}})
                    elif message["type"] == "lifespan.shutdown":
                        await send({{"type": "lifespan.shutdown.complete"}})
                        return
            raise RuntimeError("no lifespan here")
        for i in range(2_000):
            log.info("handled", i=i)
        await send({{"type": "http.response.start", "status": 200, "headers": []}})
        await send({{"type": "http.response.body", "body": b"ok"}})

    # atexit drains too: a huge shutdown timeout there proves the lifespan did the work.
    uvicorn.run(DrainOnShutdown(app, timeout=10), host="127.0.0.1", port={port},
                log_level="warning", lifespan="on")
"""


def wait_until_up(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("uvicorn did not start")


@pytest.mark.parametrize("own_lifespan", [True, False], ids=["app-lifespan", "no-lifespan"])
def test_sigterm_to_uvicorn_drains_before_exit(
    own_lifespan: bool, http_receiver: HttpReceiver
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAPILOG_", "OTEL_"))}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=http_receiver.endpoint,
        FAPILOG_SHUTDOWN_TIMEOUT="0",
        FAPILOG_BATCH__MAX_DELAY_MS="60000",
    )
    source = textwrap.dedent(SERVER.format(own_lifespan=own_lifespan, port=port))
    process = subprocess.Popen(
        [sys.executable, "-c", source],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_up(port, process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    # uvicorn shuts down gracefully, then re-raises the signal it caught (as recent
    # versions do), so the exit status is the signal's.
    assert process.returncode in (0, -signal.SIGTERM), err
    assert "Traceback" not in err, err
    received = http_receiver.wait_for_records(2_000, timeout=5)
    indexes = sorted(
        {kv.key: kv.value for kv in record.attributes}["i"].int_value for *_, record in received
    )
    assert list(range(2_000)) == indexes
