"""Entry point of ``python -m benchmarks``: the call-site, delivery, worker and latency suites.

Usage::

    python -m benchmarks [all|callsite|delivery|worker|latency] [options]

With no suite name (or ``all``) every suite runs, one after the other, with the options all
understand (``--quick``, ``-n``, ``-r``, ``--results-dir``, ``--no-json``); ``--only`` keys
go to the suite they belong to, and a suite none of whose keys were asked for is skipped.
``python -m benchmarks callsite --help`` (``... delivery --help``, ``... worker --help``,
``... latency --help``) lists each suite's options; the latency suite's timed runs ignore
``-n``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks import _report, callsite, delivery, latency, worker

SUITES = ("callsite", "delivery", "worker", "latency")
_DELIVERY_ONLY_OPTIONS = ("--encode-loops",)


def _split_options(argv: Sequence[str]) -> tuple[list[str], list[str], set[str] | None]:
    """Options for the call-site (and worker) suite, for the delivery suite, and the
    ``--only`` keys."""
    shared: list[str] = []
    delivery_extra: list[str] = []
    only: set[str] | None = None
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=")
        if name == "--only":
            raw = value if has_value else (args.pop(0) if args else "")
            only = (only or set()) | _report.wanted_keys(raw)
        elif name in _DELIVERY_ONLY_OPTIONS:
            delivery_extra.append(arg)
            if not has_value and args:
                delivery_extra.append(args.pop(0))
        else:
            shared.append(arg)
    return shared, shared + delivery_extra, only


def _run_all(argv: Sequence[str]) -> int:
    """Run every suite with the options meant for each; return the worst exit code."""
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__)
        return 0
    callsite_argv, delivery_argv, only = _split_options(argv)
    callsite_keys = {case.key for case in callsite.CASES}
    delivery_keys = set(delivery.CASE_KEYS)
    worker_keys = set(worker.CASE_KEYS)
    latency_keys = set(latency.CASE_KEYS)
    if only is not None:
        unknown = only - callsite_keys - delivery_keys - worker_keys - latency_keys
        if unknown:
            return _report.reject_unknown(unknown)
    worst = 0
    ran = False
    for run, keys, suite_argv in (
        (callsite.main, callsite_keys, callsite_argv),
        (delivery.main, delivery_keys, delivery_argv),
        (worker.main, worker_keys, callsite_argv),
        (latency.main, latency_keys, callsite_argv),
    ):
        if only is not None:
            wanted = only & keys
            if not wanted:
                continue
            suite_argv = [*suite_argv, "--only", ",".join(sorted(wanted))]
        if ran:
            print("\n", flush=True)
        ran = True
        worst = max(worst, run(suite_argv))
    return worst


def main(argv: Sequence[str] = ()) -> int:
    """Run the suite named first in ``argv`` (every suite when none is); return an exit code."""
    args = list(argv)
    suite = args.pop(0) if args and args[0] in (*SUITES, "all") else "all"
    try:
        if suite == "callsite":
            return callsite.main(args)
        if suite == "delivery":
            return delivery.main(args)
        if suite == "worker":
            return worker.main(args)
        if suite == "latency":
            return latency.main(args)
        return _run_all(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
