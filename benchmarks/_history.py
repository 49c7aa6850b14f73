"""Continuous performance monitoring: every full run of a suite, one line of history.

A full run (not ``--quick``, not ``--no-json``, and at least the suite's default size)
appends one JSON line to ``benchmarks/history/<suite>.jsonl``, which is versioned::

    {"suite": "callsite", "time": "2026-11-27T15:30:00Z",
     "machine": {"id": "3f0c...", "cpu": "AMD EPYC 7B13", "cpus": 2, "python": "3.11.7",
                 "host": "a1b2c3d4e5f6"},
     "commit": "4a5c067...", "dirty": false, "size": 100000,
     "cases": {"a": {"median": 1167.2, "noise": 0.061, "repeats": 7, "unit": "ns",
                     "better": "lower"}, ...}}

``noise`` is the spread of the case's repeats, ``(max - min) / median``. It then compares
each case with the last earlier run of the same suite on the same machine (the same
``machine.id``: CPU model, CPU count, Python version and a hash of the host name) made with
the same ``size``, and prints one line per case, e.g.::

    a      1,167 ns    was 948 ns    +23%  REGRESSION +23% (noise 6%)

A change is a regression (or an improvement) only when it is larger than the noise band:
the larger of the two runs' spreads, and never less than :data:`MIN_NOISE`.

:func:`record_run` is the one call a suite makes.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "HISTORY_DIR",
    "MIN_NOISE",
    "Change",
    "Series",
    "compare",
    "format_changes",
    "git_state",
    "is_full_run",
    "machine_fingerprint",
    "make_entry",
    "previous_cases",
    "read_history",
    "record_run",
]

HISTORY_DIR = Path(__file__).resolve().parent / "history"
#: The narrowest noise band: runs on a shared machine drift a few percent between runs even
#: when the repeats of each agree, so a change under this is never called a regression.
MIN_NOISE = 0.05
_ROOT = Path(__file__).resolve().parents[1]

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Series:
    """One case's values over the repeats of a run.

    Attributes:
        samples: One value per repeat (ns per call, records per second...).
        unit: What the values are in, for the printed lines (``"ns"``, ``"rec/s"``).
        better: ``"lower"`` for costs and times, ``"higher"`` for rates.
    """

    samples: Sequence[float]
    unit: str = "ns"
    better: Better = "lower"

    def summary(self) -> dict[str, Any]:
        """The case as a history line stores it: median, spread, repeats, unit, direction."""
        median = statistics.median(self.samples)
        noise = (max(self.samples) - min(self.samples)) / median if median else 0.0
        return {
            "median": median,
            "noise": noise,
            "repeats": len(self.samples),
            "unit": self.unit,
            "better": self.better,
        }


@dataclass(frozen=True)
class Change:
    """One case of this run against the same case in the previous comparable run.

    Attributes:
        key: The case.
        median: This run's median.
        unit: Unit of the medians.
        previous: The previous run's median, or ``None`` when there is none.
        change: ``median / previous - 1`` (``+0.23`` is 23% more), or ``None``.
        noise: The noise band the change was judged against, as a fraction.
        verdict: ``"regression"``, ``"improvement"``, ``"within noise"`` or ``"new"``.
    """

    key: str
    median: float
    unit: str
    previous: float | None
    change: float | None
    noise: float
    verdict: str


def is_full_run(*, quick: bool, no_json: bool, size: int, default_size: int) -> bool:
    """Whether a run goes into the history: not quick, JSON written, not smaller than usual.

    A smaller ``-n`` (as the smoke tests use) measures a shorter burst, whose numbers are
    not comparable with a full run's, so it is not recorded.
    """
    return not quick and not no_json and size >= default_size


def _cpu_model() -> str:
    """The CPU's model name, as Linux reports it, else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_fingerprint() -> dict[str, Any]:
    """What makes two runs comparable: CPU model and count, Python version, host (hashed).

    ``id`` is a short hash of the other fields; runs are compared only within one ``id``.
    """
    fields: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "host": hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12],
    }
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return {"id": digest[:16], **fields}


def git_state(root: Path = _ROOT) -> tuple[str | None, bool | None]:
    """The commit checked out in ``root`` and whether tracked files differ from it.

    Returns ``(None, None)`` when ``root`` is not a git work tree or git is missing.
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def make_entry(
    suite: str,
    cases: Mapping[str, Series],
    *,
    size: int,
    machine: Mapping[str, Any],
    commit: str | None,
    dirty: bool | None,
    when: float,
) -> dict[str, Any]:
    """The history line of one run (cases without samples are left out)."""
    return {
        "suite": suite,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
        "machine": dict(machine),
        "commit": commit,
        "dirty": dirty,
        "size": size,
        "cases": {key: series.summary() for key, series in cases.items() if series.samples},
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    """The entries of a history file, oldest first; a missing file or a bad line is skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def previous_cases(
    entries: Sequence[Mapping[str, Any]], *, machine_id: str, size: int
) -> dict[str, dict[str, Any]]:
    """Each case's summary from the latest entry that has it, among comparable entries.

    Comparable: same machine id and same size. A run with ``--only`` holds some cases
    only, so each case is looked up on its own.
    """
    latest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry.get("machine", {}).get("id") != machine_id or entry.get("size") != size:
            continue
        for key, summary in entry.get("cases", {}).items():
            latest[key] = summary
    return latest


def compare(
    current: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Mapping[str, Any]]
) -> list[Change]:
    """Judge each case of ``current`` against the same case in ``previous``."""
    changes = []
    for key, now in current.items():
        median, unit = float(now["median"]), str(now.get("unit", ""))
        before = previous.get(key)
        if before is None or not before.get("median"):
            changes.append(Change(key, median, unit, None, None, float(now["noise"]), "new"))
            continue
        old = float(before["median"])
        change = median / old - 1
        noise = max(float(now["noise"]), float(before.get("noise", 0.0)), MIN_NOISE)
        worse = change > 0 if now.get("better", "lower") == "lower" else change < 0
        if abs(change) <= noise:
            verdict = "within noise"
        else:
            verdict = "regression" if worse else "improvement"
        changes.append(Change(key, median, unit, old, change, noise, verdict))
    return changes


def _number(value: float, unit: str) -> str:
    """A median for the printed lines."""
    return f"{value:,.0f} {unit}" if abs(value) >= 100 else f"{value:,.3g} {unit}"


def format_changes(changes: Sequence[Change], *, against: str) -> str:
    """The printed comparison: a heading naming the earlier run, then one line per case."""
    if not changes:
        return "history: nothing measured, nothing recorded"
    if all(c.verdict == "new" for c in changes):
        heading = "history: first recorded run of these cases on this machine"
    else:
        heading = f"history: change against {against} (noise = (max-min)/median of the repeats)"
    rows = []
    for c in changes:
        if c.previous is None or c.change is None:
            rows.append((c.key, _number(c.median, c.unit), "", "new"))
            continue
        pct = f"{c.change:+.0%} (noise {c.noise:.0%})"
        verdict = {"regression": "REGRESSION", "improvement": "improved"}.get(c.verdict, "~")
        rows.append(
            (
                c.key,
                _number(c.median, c.unit),
                f"was {_number(c.previous, c.unit)}",
                f"{verdict} {pct}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        f"  {key.ljust(widths[0])}  {now.rjust(widths[1])}  {was.ljust(widths[2])}  {verdict}"
        for key, now, was, verdict in rows
    ]
    return "\n".join([heading, *lines])


def _describe(entry: Mapping[str, Any] | None) -> str:
    """How the earlier run is named in the heading."""
    if entry is None:
        return "the previous run"
    commit = (entry.get("commit") or "unknown commit")[:10]
    dirty = " (dirty)" if entry.get("dirty") else ""
    return f"the previous run ({entry.get('time', '?')}, {commit}{dirty})"


def record_run(
    suite: str,
    cases: Mapping[str, Series],
    *,
    size: int,
    directory: Path = HISTORY_DIR,
    machine: Mapping[str, Any] | None = None,
    commit: str | None = None,
    dirty: bool | None = None,
    when: float | None = None,
) -> str:
    """Append this run to ``directory/<suite>.jsonl`` and compare it with the previous one.

    The comparison is with the last earlier entry of the same machine fingerprint and
    ``size`` that holds the case. Call it only for a full run (see :func:`is_full_run`).

    Args:
        suite: The suite's name (``"callsite"``, ``"delivery"``, ``"worker"``, ``"latency"``).
        cases: Each measured case's values over the repeats, by case key.
        size: What one repeat is made of (calls, records); only equal sizes are compared.
        directory: Where the history files are.
        machine: The fingerprint to store; :func:`machine_fingerprint` when ``None``.
        commit: The commit measured; with ``dirty``, :func:`git_state` when ``None``.
        dirty: Whether tracked files differed from ``commit``.
        when: The run's time (seconds since the epoch); now when ``None``.

    Returns:
        The lines to print: one per case, with its change and verdict.
    """
    machine = machine_fingerprint() if machine is None else machine
    if commit is None and dirty is None:
        commit, dirty = git_state()
    entry = make_entry(
        suite,
        cases,
        size=size,
        machine=machine,
        commit=commit,
        dirty=dirty,
        when=time.time() if when is None else when,
    )
    path = directory / f"{suite}.jsonl"
    entries = read_history(path)
    previous = previous_cases(entries, machine_id=str(machine["id"]), size=size)
    last = next(
        (
            e
            for e in reversed(entries)
            if e.get("machine", {}).get("id") == machine["id"] and e.get("size") == size
        ),
        None,
    )
    directory.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as history:
        history.write(json.dumps(entry, sort_keys=True) + "\n")
    report = format_changes(compare(entry["cases"], previous), against=_describe(last))
    return f"{report}\nhistory: appended to {path}"
