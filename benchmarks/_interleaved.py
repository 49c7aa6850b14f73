"""Timing in-process cases with their repeats interleaved (a1 b1 c1 ... a2 b2 c2 ...).

Shared by :mod:`benchmarks.callsite` and :mod:`benchmarks.worker`: each sets its cases up
with :func:`prepare_all`, times them with :func:`time_rounds` (a slow spell of the machine
then hits every case alike), and reports the samples; what a case is and how one repeat is
timed is the suite's own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from benchmarks import _history
from benchmarks._cases_common import CaseResult, Skipped

__all__ = ["history_series", "prepare_all", "time_rounds"]

Spec = TypeVar("Spec")
Ready = TypeVar("Ready")


def prepare_all(
    specs: Sequence[Spec],
    results: Sequence[CaseResult],
    setup: Callable[[Spec], Ready],
    *,
    skipped: str,
) -> dict[str, Ready]:
    """Set up (and warm up) every case; note on its result why one could not be.

    Args:
        specs: The cases, in the order of ``results``.
        results: One result per spec; a case that raised :class:`Skipped` gets the status
            ``skipped``, one that failed otherwise ``"error"``, and a note saying why.
        setup: Builds and warms up one case.
        skipped: The status of a case that cannot run here.

    Returns:
        The cases that are ready, by key.
    """
    prepared: dict[str, Ready] = {}
    for spec, result in zip(specs, results, strict=True):
        try:
            ready = setup(spec)
        except Skipped as exc:
            result.status, result.notes = skipped, str(exc)
            continue
        except Exception as exc:
            result.status, result.notes = "error", f"setup: {exc!r}"
            continue
        prepared[result.key] = ready
    return prepared


def time_rounds(
    results: Sequence[CaseResult],
    prepared: Mapping[str, Ready],
    measure: Callable[[Ready, CaseResult], float],
    *,
    repeats: int,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Time ``repeats`` rounds of every case still ``ok``, one repeat each per round.

    Args:
        results: Receive one sample per repeat, or status ``"error"`` and why.
        prepared: The cases that are ready, by key.
        measure: Times one repeat of a case; returns its sample.
        repeats: Rounds to run.
        progress: Receives one short line per round, if given.
    """
    for round_no in range(1, repeats + 1):
        if progress is not None:
            progress(f"repeat {round_no}/{repeats}")
        for result in results:
            case = prepared.get(result.key)
            if case is None or result.status != "ok":
                continue
            try:
                result.samples_ns_per_call.append(measure(case, result))
            except Exception as exc:
                result.status, result.notes = "error", f"run: {exc!r}"


def history_series(results: Sequence[CaseResult]) -> dict[str, _history.Series]:
    """The measured cases of a run as the history keeps them (ns, lower is better)."""
    return {
        r.key: _history.Series(r.samples_ns_per_call, unit="ns")
        for r in results
        if r.status == "ok" and r.samples_ns_per_call
    }
