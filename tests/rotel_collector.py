"""``RotelCollector``: the rotel OpenTelemetry collector as a test subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from _otlp_receiver_base import free_port


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a SIGTERM handler (``SigCgt`` in ``/proc``); True where
    there is no ``/proc`` to ask."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return True


def rotel_binary() -> Path:
    """The ``rotel-agent`` executable of the installed ``rotel`` package."""
    import rotel

    return Path(rotel.__file__).parent / "rotel-agent"


class RotelCollector:
    """The rotel OpenTelemetry collector as a subprocess that forwards OTLP to a sink.

    rotel listens for OTLP/gRPC on ``grpc_endpoint`` and OTLP/HTTP (protobuf and JSON, gzip)
    on ``http_url`` (logs at ``/v1/logs``), batches for ``batch_timeout`` and exports over
    OTLP/gRPC (gzip-compressed) to ``sink_endpoint``, e.g. a ``GrpcReceiver.endpoint``.

    Known quirks of rotel 0.0.1a15:

    - It rejects an OTLP/JSON request that holds an empty AnyValue (``"value": {}`` or
      ``"body": {}``), which the OTLP specification allows (a bug of the Rust library it
      uses, fixed upstream). Send such requests as protobuf, or drop the empty values and
      say so in the test.
    - It answers a successful OTLP/JSON request with ``{"partialSuccess":null}``.
    - It binds its ports a moment before it handles SIGTERM, and a SIGTERM in between
      kills it uncleanly, so ``start()`` also waits for the handler (``SigCgt`` in
      ``/proc/PID/status``).
    - It writes its log to stdout unless daemonized; ``--log-file`` is only used with
      ``--daemon``. ``log_text()`` returns the captured stdout and stderr.
    """

    def __init__(
        self,
        sink_endpoint: str,
        *,
        batch_timeout: str = "50ms",
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.sink_endpoint = sink_endpoint
        self.batch_timeout = batch_timeout
        self.extra_args = extra_args
        self.grpc_port = 0
        self.http_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: Path | None = None
        self._log_text = ""

    @property
    def grpc_endpoint(self) -> str:
        """The OTLP/gRPC listen address, ``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        """The OTLP/HTTP base URL, ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.http_port}"

    def log_text(self) -> str:
        """What rotel wrote so far (or until it was stopped)."""
        if self._directory is None:
            return self._log_text
        return "\n".join(
            path.read_text(errors="replace")
            for path in (self._directory / "output.log", self._directory / "rotel.log")
            if path.exists()
        )

    def start(self, timeout: float = 15.0) -> None:
        """Start rotel and wait until both its ports accept connections.

        Picking free ports races with other processes; when rotel exits early (e.g. a port
        was taken meanwhile) it is started again on new ports, up to three times.

        Raises:
            RuntimeError: rotel exited or did not come up within ``timeout``; the message
                holds the tail of its log.
        """
        if self._process is not None:
            return
        deadline = time.monotonic() + timeout
        self._directory = Path(tempfile.mkdtemp(prefix="rotel-"))
        for _attempt in range(3):
            process = self._spawn()
            if self._wait_until_listening(deadline):
                return
            if process.poll() is None:
                break  # still running, so out of time rather than out of luck with ports
        exit_code = process.poll()
        tail = "\n".join(self.log_text().splitlines()[-20:])
        self.stop()
        why = f"exited with code {exit_code}" if exit_code is not None else "timed out"
        raise RuntimeError(f"rotel did not start ({why} after {timeout}s); log tail:\n{tail}")

    def take_down(self, *, kill: bool = False) -> None:
        """Stop rotel but keep its ports and files, for :meth:`bring_up`: SIGTERM (it
        forwards what it holds first), or SIGKILL with ``kill`` (a crash: what it had
        accepted and not forwarded is lost)."""
        if self._process is not None:
            if kill:
                self._process.kill()
                self._process.wait()
            else:
                self._terminate(self._process)
            self._process = None

    def bring_up(self, timeout: float = 15.0) -> None:
        """Start rotel again on the ports it had before :meth:`take_down`.

        Raises:
            RuntimeError: rotel did not come up within ``timeout`` (its ports taken).
        """
        assert self._directory is not None and self._process is None
        self._spawn(new_ports=False)
        if not self._wait_until_listening(time.monotonic() + timeout):
            tail = "\n".join(self.log_text().splitlines()[-20:])
            raise RuntimeError(f"rotel did not come back on its ports; log tail:\n{tail}")

    def stop(self) -> None:
        """SIGTERM rotel, SIGKILL it after a few seconds, remove its files; idempotent."""
        if self._process is not None:
            self._terminate(self._process)
            self._process = None
        if self._directory is not None:
            self._log_text = self.log_text()
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None

    def __enter__(self) -> RotelCollector:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self, *, new_ports: bool = True) -> subprocess.Popen[bytes]:
        assert self._directory is not None
        if self._process is not None:
            self._terminate(self._process)
        if new_ports:
            self.grpc_port, self.http_port = free_port(), free_port()
        sink = self.sink_endpoint
        if "://" not in sink:
            sink = "http://" + sink
        command = [
            str(rotel_binary()),
            "start",
            "--otlp-grpc-endpoint", self.grpc_endpoint,
            "--otlp-http-endpoint", f"127.0.0.1:{self.http_port}",
            "--exporter", "otlp",
            "--otlp-exporter-endpoint", sink,
            "--otlp-exporter-protocol", "grpc",
            "--batch-timeout", self.batch_timeout,
            "--pid-file", str(self._directory / "rotel.pid"),
            "--log-file", str(self._directory / "rotel.log"),
            *self.extra_args,
        ]  # fmt: skip
        with open(self._directory / "output.log", "ab") as output:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "NO_COLOR": "1"},
            )
        return self._process

    def _wait_until_listening(self, deadline: float) -> bool:
        assert self._process is not None
        pending = [self.grpc_port, self.http_port]
        while pending:
            if self._process.poll() is not None or time.monotonic() >= deadline:
                return False
            try:
                socket.create_connection(("127.0.0.1", pending[0]), timeout=0.2).close()
            except OSError:
                time.sleep(0.01)
            else:
                pending.pop(0)
        # rotel binds its ports before it handles SIGTERM; a SIGTERM that early kills it
        # without a clean shutdown (and loses its buffered log), so wait for the handler.
        while not _catches_sigterm(self._process.pid):
            if self._process.poll() is not None or time.monotonic() >= deadline:
                return False
            time.sleep(0.002)
        return True

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(3.0)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()
