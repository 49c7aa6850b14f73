"""What every suite reports with: the text table, the machine, the JSON file, the options.

Each suite (:mod:`benchmarks.callsite`, :mod:`benchmarks.delivery`,
:mod:`benchmarks.worker`, :mod:`benchmarks.latency`) decides its own columns and its own
JSON ``method`` and ``results``; this module only lays them out the same way for all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Collection, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "RESULTS_DIR",
    "add_output_options",
    "fmt_ns",
    "machine_info",
    "progress",
    "ratio",
    "ratio_cell",
    "reject_unknown",
    "table",
    "wanted_keys",
    "write_json",
]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_VERSIONS = ("fapilog-otel", "opentelemetry-sdk", "structlog", "loguru", "fapilog", "orjson")


def _version(distribution: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine_info(extra_versions: Iterable[str] = ()) -> dict[str, Any]:
    """What the numbers depend on: interpreter, platform, CPUs, library versions.

    Args:
        extra_versions: Distributions whose versions a suite reports beyond the common ones.
    """
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "gil_switch_interval_s": sys.getswitchinterval(),
        "versions": {name: _version(name) for name in (*_VERSIONS, *extra_versions)},
    }


def fmt_ns(value: float | None) -> str:
    """Nanoseconds for a table cell."""
    return "-" if value is None else f"{value:,.0f}"


def ratio(value: float | None, base: float | None) -> float | None:
    """``value / base``, or ``None`` when either is missing (or ``base`` is zero)."""
    return value / base if value is not None and base else None


def ratio_cell(value: float | None, base: float | None, missing: str = "-") -> str:
    """``value / base`` for a table cell (``missing`` when there is none)."""
    quotient = ratio(value, base)
    return missing if quotient is None else f"{quotient:.2f}x"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = ()) -> str:
    """A fixed-width text table; the columns numbered in ``right`` are right-aligned."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def write_json(
    suite: str, directory: Path, body: dict[str, Any], *, machine: dict[str, Any] | None = None
) -> Path:
    """Write a run to ``directory/<suite>-<UTC timestamp>.json`` and return the path.

    Args:
        suite: The suite's name, first in the document and in the file name.
        directory: Where the file goes (made if missing).
        body: What follows ``suite``, ``timestamp`` and ``machine``: ``method``,
            ``results``...
        machine: The machine description, if not :func:`machine_info`'s.
    """
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{suite}-{stamp}.json"
    document = {
        "suite": suite,
        "timestamp": stamp,
        "machine": machine_info() if machine is None else machine,
        **body,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--results-dir`` and ``--no-json``, the last options of every suite."""
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON goes")
    parser.add_argument("--no-json", action="store_true", help="print the table only")


def wanted_keys(only: str) -> set[str]:
    """The keys of an ``--only`` comma list."""
    return {key.strip() for key in only.split(",") if key.strip()}


def reject_unknown(unknown: Collection[str]) -> int:
    """Say which case keys are unknown; return the exit code for it."""
    print(f"unknown case keys: {', '.join(sorted(unknown))}", file=sys.stderr)
    return 2


def progress(line: str) -> None:
    """Show one progress line of a running suite (on stderr, so the table stays clean)."""
    print(f"  {line}", file=sys.stderr, flush=True)
