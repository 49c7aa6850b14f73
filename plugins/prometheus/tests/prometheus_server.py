"""``PrometheusServer``: Debian's real Prometheus server as a test subprocess, scraping
targets on loopback, and ``promtool``, its exposition-format linter.

``make test`` installs the ``prometheus`` package (``tests/servers/ensure-prometheus``);
these helpers fail with that hint when the binaries are missing rather than skip, so a
run without them cannot pass by accident.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

INSTALL_HINT = (
    "Debian's prometheus package is not installed: run tests/servers/ensure-prometheus "
    "(make test does)"
)


def binary(name: str) -> str:
    """The path of ``prometheus`` or ``promtool``; AssertionError with the hint if absent."""
    path = shutil.which(name)
    assert path is not None, INSTALL_HINT
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` of an exposition ``text`` (read from stdin)."""
    return subprocess.run(
        [binary("promtool"), "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
    )


class PrometheusServer:
    """A Prometheus server scraping ``targets`` (``host:port``) every ``interval`` seconds,
    its web API on a free loopback port, its data in a temporary directory."""

    def __init__(self, targets: list[str], interval: float = 1.0) -> None:
        self.targets = targets
        self.interval = interval
        self.port = free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="fapilog-prometheus-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PrometheusServer:
        """Start the server and wait until its API answers."""
        config = self._dir / "prometheus.yml"
        targets = json.dumps(self.targets)
        config.write_text(
            "global:\n"
            f"  scrape_interval: {int(self.interval * 1000)}ms\n"
            f"  scrape_timeout: {int(self.interval * 1000)}ms\n"
            "scrape_configs:\n"
            "  - job_name: fapilog\n"
            "    static_configs:\n"
            f"      - targets: {targets}\n",
            encoding="utf-8",
        )
        self._stderr = open(self._dir / "stderr.log", "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            [
                binary("prometheus"),
                f"--config.file={config}",
                f"--storage.tsdb.path={self._dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"prometheus exited: {self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"prometheus did not become ready: {self.log_text()}")

    def log_text(self) -> str:
        path = self._dir / "stderr.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def query(self, expression: str) -> list[dict[str, Any]]:
        """The result vector of an instant query."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = json.load(answer)
        assert "success" == body["status"], body
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def targets_health(self) -> list[dict[str, Any]]:
        """The active targets as the server sees them (health, last error)."""
        with urllib.request.urlopen(f"{self.url}/api/v1/targets", timeout=5) as answer:
            active: list[dict[str, Any]] = json.load(answer)["data"]["activeTargets"]
        return active

    def wait_for(self, expression: str, predicate: Any, timeout: float = 30.0) -> Any:
        """Query ``expression`` until ``predicate(result)`` is true; return the result."""
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expression)
            if predicate(result):
                return result
            time.sleep(0.3)
        raise AssertionError(
            f"{expression!r} never satisfied the test within {timeout}s; last result "
            f"{result!r}; targets {self.targets_health()!r}"
        )

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._stderr is not None:
            self._stderr.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
