"""Running a case in a fresh subprocess: both ends of the lifeline and of the result line.

The parent (:mod:`benchmarks.delivery`, :mod:`benchmarks.latency`) starts one child
process per case and repeat with :func:`run_child`, holding the write end of a pipe whose
read end the child watches (:func:`watch_lifeline`): when the parent goes, the child exits
at once. The child prints exactly one result line, ``RESULT <json>``
(:func:`print_result`), which the parent finds among whatever else the child printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["format_result", "parse_result", "print_result", "run_child", "watch_lifeline"]

_RESULT_PREFIX = "RESULT "
_ROOT = Path(__file__).resolve().parents[1]


def format_result(result: dict[str, Any]) -> str:
    """The result line a child prints for ``result``."""
    return _RESULT_PREFIX + json.dumps(result)


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The last result line in a child's ``stdout``, decoded, or ``None`` if there is none."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(_RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(_RESULT_PREFIX) :])
            return result
    return None


def print_result(result: dict[str, Any]) -> None:
    """Print the result line of this child process."""
    print(format_result(result), flush=True)


def run_child(module: str, argv: Sequence[str], timeout: float) -> dict[str, Any]:
    """Run ``python -m <module> <argv> --lifeline FD`` from the repository root.

    Returns:
        The child's result line, or an error result with the last line it wrote to stderr.

    Raises:
        subprocess.TimeoutExpired: The child ran longer than ``timeout`` seconds.
    """
    # Configuration from the environment would make the cases differ from run to run.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "FAPILOG_"))}
    # The child watches the read end of this pipe: end of file means we are gone.
    lifeline, keep = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-m", module, *argv, "--lifeline", str(lifeline)],
            cwd=_ROOT,
            env=env,
            pass_fds=(lifeline,),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.close(lifeline)
        os.close(keep)
    result = parse_result(done.stdout)
    if result is not None:
        return result
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"status": "error", "notes": f"exit {done.returncode}: {tail}"}


def watch_lifeline(fd: int | None) -> None:
    """Exit at once when the parent closes its end of the pipe ``fd`` (or dies).

    The parent never writes to the pipe; ``None`` (started by hand) watches nothing.
    """
    if fd is None:
        return

    def watch() -> None:
        while os.read(fd, 1):
            pass
        os._exit(3)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
