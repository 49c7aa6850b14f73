"""The ``fapilog-otel`` command: ``doctor``, ``plugins list`` and ``bench``.

Run it as ``fapilog-otel`` or ``python -m fapilog_otel``; :func:`main` is the entry point.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from fapilog_otel.cli import bench, doctor, plugins

__all__ = ["build_parser", "main"]

EPILOG = """\
examples:
  fapilog-otel doctor                  configuration, destinations and a live test record
  fapilog-otel doctor --json --no-live  machine-readable, without sending a record
  fapilog-otel plugins list            built-in and installed processors and exporters
  fapilog-otel bench --suite worker    the checkout's worker suite, quick
  python -m fapilog_otel --version

Settings come from FAPILOG_* and OTEL_* variables (docs/configuration.md)."""


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser."""
    from fapilog_otel import __version__

    parser = argparse.ArgumentParser(
        prog="fapilog-otel",
        description="Inspect and check a fapilog-otel installation and its configuration.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"fapilog-otel {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    doctor.add_parser(commands)
    plugins.add_parser(commands)
    bench.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command with ``argv`` (``sys.argv[1:]`` when ``None``); return the exit
    status. Usage errors exit through argparse with status 2."""
    args = build_parser().parse_args(argv)
    status: int = args.run(args, out if out is not None else sys.stdout)
    return status
