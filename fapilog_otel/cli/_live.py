"""The live check: one test record through a real container made from the settings.

The container is the one the application would get (same exporters, processors and
redactors), so the record really goes to the configured destinations. What the console
exporter writes meanwhile is captured, not mixed into the command's own output; the
library's diagnostics still go to the process's stderr.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from typing import Any

from fapilog_otel.container import Container
from fapilog_otel.errors import FapilogError
from fapilog_otel.settings import Settings

LOGGER_NAME = "fapilog_otel.doctor"

#: Drop reasons that mean a processor chose to drop the record (or no exporter is wanted),
#: not that something is wrong.
INTENDED_DROPS = frozenset({"filtered", "sampled", "rate_limited", "duplicate", "no_exporter"})


@dataclass
class LiveResult:
    """What happened to the test record."""

    ok: bool
    detail: str
    flushed: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    captured_stdout: str = ""
    captured_stderr: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The result as plain data."""
        return {
            "ok": self.ok,
            "detail": self.detail,
            "flushed": self.flushed,
            "stats": self.stats,
            "captured_stdout": self.captured_stdout,
            "captured_stderr": self.captured_stderr,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _verdict(flushed: bool, stats: dict[str, Any], timeout: float) -> tuple[bool, str]:
    dropped: dict[str, int] = stats.get("dropped", {})
    unexpected = {reason: n for reason, n in dropped.items() if reason not in INTENDED_DROPS}
    if stats.get("failed"):
        return False, f"the test record failed to export ({stats['failed']} failed)"
    if unexpected:
        return False, f"the test record was dropped: {unexpected}"
    if not flushed:
        return False, f"flush did not finish within {timeout:g} s"
    if stats.get("exported"):
        return True, "the test record was exported"
    if dropped:
        return True, f"the test record was dropped on purpose: {dropped}"
    return False, "the test record was neither exported nor dropped"


def live_check(settings: Settings, timeout: float) -> LiveResult:
    """Log one record through a container made from ``settings`` and report its stats.

    Never raises: a container that cannot be made is a failed check.
    """
    out, err = io.StringIO(), io.StringIO()
    # The record must pass the level gate whatever the configured levels are.
    test_settings = settings.model_copy(update={"levels": {**settings.levels, LOGGER_NAME: "info"}})
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            container = Container(test_settings)
            try:
                container.get_logger(LOGGER_NAME).info(
                    "fapilog-otel doctor test record", check="doctor"
                )
                flushed = container.flush(timeout)
                stats = _plain(container.stats())
            finally:
                container.shutdown(timeout=min(timeout, 1.0))
    except (FapilogError, OSError) as exc:
        return LiveResult(
            False,
            f"the container could not be made: {exc}",
            captured_stdout=out.getvalue(),
            captured_stderr=err.getvalue(),
        )
    ok, detail = _verdict(flushed, stats, timeout)
    return LiveResult(ok, detail, flushed, stats, out.getvalue(), err.getvalue())
