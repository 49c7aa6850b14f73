"""What every call-site case is built from: the case types and the helpers cases share.

See :mod:`benchmarks.callsite` for what each case measures and how it is timed, and
:mod:`benchmarks._cases` for the table of cases.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FLUSH_TIMEOUT_S", "CaseResult", "CaseSpec", "JsonLinesFile", "Prepared", "Skipped"]

FLUSH_TIMEOUT_S = 30.0


class Skipped(Exception):
    """A case cannot run here, typically because its library is not installed."""


def _nothing() -> None:
    """Do nothing: the default settle and close step of a case."""


def _no_notes() -> str:
    """Report nothing: the default summary of a case."""
    return ""


@dataclass
class Prepared:
    """A case set up and ready to time.

    Attributes:
        run: Makes ``n`` log calls; the only thing that is timed.
        settle: Called after each timed repeat, untimed: flush what the library queued.
        summary: Called once at the end: a short note, such as how many records arrived.
        close: Releases what the case set up.
    """

    run: Callable[[int], None]
    settle: Callable[[], None] = _nothing
    summary: Callable[[], str] = _no_notes
    close: Callable[[], object] = _nothing


@dataclass(frozen=True)
class CaseSpec:
    """One row of the table: a key, a description and how to set the case up.

    Attributes:
        key: Short name used in the table, in ``--only`` and in the JSON.
        title: What the case measures.
        prepare: Builds the case; raises :class:`Skipped` if it cannot run here.
        budget_ns: The performance budget for this case from the architecture, if any.
        max_calls: Times at most this many calls per repeat (for a library so slow that
            the suite's count would take minutes); ``None`` takes the suite's count.
    """

    key: str
    title: str
    prepare: Callable[[], Prepared]
    budget_ns: float | None = None
    max_calls: int | None = None

    def calls(self, requested: int) -> int:
        """The calls per repeat this case makes when the suite asks for ``requested``."""
        return requested if self.max_calls is None else min(requested, self.max_calls)


@dataclass
class CaseResult:
    """What one case measured, or why it did not."""

    key: str
    title: str
    status: str = "ok"
    samples_ns_per_call: list[float] = field(default_factory=list)
    notes: str = ""
    budget_ns: float | None = None

    @property
    def median(self) -> float | None:
        """Median ns per call over the repeats, or ``None`` if nothing was measured."""
        return statistics.median(self.samples_ns_per_call) if self.samples_ns_per_call else None

    @property
    def minimum(self) -> float | None:
        """Fastest repeat in ns per call, or ``None`` if nothing was measured."""
        return min(self.samples_ns_per_call) if self.samples_ns_per_call else None


class JsonLinesFile:
    """A temporary file a case writes JSON lines to, counted and emptied between repeats.

    The writers open it for appending, so emptying it under them is safe: their next write
    lands at the new end of the file. Counting newlines means a record counts once it is
    fully written, however the library buffered it.
    """

    def __init__(self) -> None:
        handle, name = tempfile.mkstemp(prefix="fapilog-bench-", suffix=".jsonl")
        os.close(handle)
        self.path = Path(name)
        self.lines = 0
        self.bad_lines = 0

    def take(self) -> None:
        """Count the complete lines written since the last call, check one, empty the file."""
        data = self.path.read_bytes()
        os.truncate(self.path, 0)
        self.lines += data.count(b"\n")
        complete = data.rsplit(b"\n", 2)
        if len(complete) >= 2:
            try:
                json.loads(complete[-2])
            except ValueError:
                self.bad_lines += 1

    def note(self, calls: int) -> str:
        """The notes column: lines written against calls made (and any line not JSON)."""
        note = f"written {self.lines:,}/{calls:,} lines"
        return note + (f", {self.bad_lines} sampled lines not JSON" if self.bad_lines else "")

    def remove(self) -> None:
        """Delete the file."""
        self.path.unlink(missing_ok=True)
