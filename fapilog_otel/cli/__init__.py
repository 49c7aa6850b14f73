"""The ``fapilog-otel`` command: ``doctor``, ``plugins list``, ``bench``, and the commands
of installed plugins.

Run it as ``fapilog-otel`` or ``python -m fapilog_otel``; :func:`main` is the entry point.

A distribution adds a command with an entry point in the group ``fapilog_otel.commands``
whose target is ``add_parser(commands)``: it registers its subcommand on ``commands`` (the
command's subparsers) and sets ``run(args, out) -> int`` as the subcommand's default. A
plugin command whose entry point fails to load, or whose ``add_parser`` raises, is
replaced by a stub of the same name that prints the error and exits 2; the others, and
the built-in commands, are not affected. Built-in commands win over plugin commands of the
same name.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import TextIO

from fapilog_otel._plugins import COMMAND_GROUP
from fapilog_otel.cli import bench, doctor, plugins

__all__ = ["COMMAND_GROUP", "build_parser", "main"]


#: Exit status of a plugin command that could not be loaded.
_BROKEN_STATUS = 2

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
    notes = _add_plugin_commands(commands)
    if notes:
        parser.epilog = f"{EPILOG}\n\nplugin commands not available:\n" + "\n".join(
            f"  {note}" for note in notes
        )
    return parser


def _add_plugin_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> list[str]:
    """Register the commands of the ``fapilog_otel.commands`` entry points; return a note
    for each one that could not be registered as it is."""
    notes = []
    for ep in sorted(metadata.entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        dist = getattr(ep.dist, "name", None) or "?"
        if ep.name in commands.choices:
            notes.append(f"{ep.name} ({dist}): the name is taken by another command")
            continue
        before = set(commands.choices)
        try:
            ep.load()(commands)
        except Exception as exc:
            _forget(commands, set(commands.choices) - before)
            problem = " ".join(f"{type(exc).__name__}: {exc}".split())
            _add_broken(commands, ep.name, ep.value, dist, problem)
            notes.append(f"{ep.name} ({dist}): failed to load: {_shorten(problem)}")
    return notes


def _forget(commands: argparse._SubParsersAction[argparse.ArgumentParser], names: set[str]) -> None:
    """Remove subcommands a failing ``add_parser`` registered before it raised."""
    if not names:
        return
    for name in names:
        del commands.choices[name]
    # argparse has no public way to remove a subcommand from the help listing.
    commands._choices_actions[:] = [
        action for action in commands._choices_actions if action.dest not in names
    ]


def _add_broken(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    target: str,
    dist: str,
    problem: str,
) -> None:
    """A stand-in for a plugin command that could not be loaded: it says why."""
    message = (
        f"the command {name!r} (entry point {target!r} of distribution {dist!r}) could not "
        f"be loaded: {problem}"
    )
    stub = commands.add_parser(
        name, help=f"[not available: failed to load from {dist}]", description=message
    )
    stub.add_argument("arguments", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace, out: TextIO) -> int:
        print(f"fapilog-otel: {message}", file=sys.stderr)
        return _BROKEN_STATUS

    stub.set_defaults(run=run)


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command with ``argv`` (``sys.argv[1:]`` when ``None``); return the exit
    status. Usage errors exit through argparse with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.error(f"the command {args.command!r} sets no run() to call")
    status: int = run(args, out if out is not None else sys.stdout)
    return status
