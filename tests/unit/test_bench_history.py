"""The benchmark history: what a full run appends and how it is judged against the last."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _history
from benchmarks._history import Series

MACHINE = {"id": "m1", "cpu": "Test CPU", "cpus": 2, "python": "3.11.7", "host": "abc"}
OTHER_MACHINE = {**MACHINE, "id": "m2", "cpus": 4}


def record(
    directory: Path,
    cases: dict[str, Series],
    *,
    size: int = 1000,
    machine: dict[str, Any] = MACHINE,
    commit: str = "c0ffee",
    when: float = 1_800_000_000.0,
) -> str:
    """Record a run in ``directory`` with a fixed machine, commit and time."""
    return _history.record_run(
        "callsite",
        cases,
        size=size,
        directory=directory,
        machine=machine,
        commit=commit,
        dirty=False,
        when=when,
    )


def line_of(report: str, key: str) -> str:
    """The report line of case ``key``."""
    return next(ln for ln in report.splitlines() if ln.split()[:1] == [key])


class TestSeries:
    def test_summary_holds_median_and_spread_over_median(self) -> None:
        """Noise is (max - min) / median of the repeats."""
        summary = Series([90.0, 100.0, 110.0]).summary()
        assert {"median": 100.0, "noise": 0.2, "repeats": 3, "unit": "ns", "better": "lower"} == (
            summary
        )

    def test_identical_repeats_have_no_noise(self) -> None:
        """A case whose repeats agree has a spread of zero."""
        assert 0.0 == Series([5.0, 5.0]).summary()["noise"]


class TestIsFullRun:
    @pytest.mark.parametrize(
        ("quick", "no_json", "size", "expected"),
        [
            (False, False, 100, True),
            (False, False, 200, True),
            (True, False, 100, False),
            (False, True, 100, False),
            (False, False, 99, False),
        ],
    )
    def test_only_full_runs_are_recorded(
        self, quick: bool, no_json: bool, size: int, expected: bool
    ) -> None:
        """Quick, table-only and smaller-than-default runs stay out of the history."""
        assert expected == _history.is_full_run(
            quick=quick, no_json=no_json, size=size, default_size=100
        )


class TestAppend:
    def test_first_run_writes_one_line_and_reports_new_cases(self, tmp_path: Path) -> None:
        """The first run creates the file with one complete entry; every case is new."""
        report = record(tmp_path, {"a": Series([100.0, 110.0]), "ref": Series([10.0])})
        (entry,) = _history.read_history(tmp_path / "callsite.jsonl")
        assert "callsite" == entry["suite"]
        assert MACHINE == entry["machine"]
        assert ("c0ffee", False, 1000) == (entry["commit"], entry["dirty"], entry["size"])
        assert "2027-01-15T08:00:00Z" == entry["time"]
        assert 105.0 == entry["cases"]["a"]["median"]
        assert "first recorded run" in report
        assert line_of(report, "a").endswith("new")

    def test_each_run_appends_a_line(self, tmp_path: Path) -> None:
        """Runs accumulate, oldest first; the file is JSON lines."""
        record(tmp_path, {"a": Series([100.0])}, commit="one")
        record(tmp_path, {"a": Series([100.0])}, commit="two")
        lines = (tmp_path / "callsite.jsonl").read_text().splitlines()
        assert ["one", "two"] == [json.loads(line)["commit"] for line in lines]

    def test_cases_without_samples_are_left_out(self, tmp_path: Path) -> None:
        """A case that measured nothing (skipped, unavailable) is not recorded."""
        record(tmp_path, {"a": Series([100.0]), "h": Series([])})
        (entry,) = _history.read_history(tmp_path / "callsite.jsonl")
        assert ["a"] == list(entry["cases"])

    def test_unreadable_lines_are_skipped(self, tmp_path: Path) -> None:
        """A damaged line (a merge conflict, a cut write) does not stop the comparison."""
        path = tmp_path / "callsite.jsonl"
        path.write_text('not json\n{"cut": \n')
        record(tmp_path, {"a": Series([100.0])})
        assert 1 == len(_history.read_history(path))

    def test_missing_file_is_an_empty_history(self, tmp_path: Path) -> None:
        """No file yet means no earlier run."""
        assert [] == _history.read_history(tmp_path / "nothing.jsonl")


class TestCompare:
    def test_slower_beyond_the_noise_is_a_regression(self, tmp_path: Path) -> None:
        """+23% against a 6% noise band is flagged, with both numbers on the line."""
        record(tmp_path, {"a": Series([97.0, 100.0, 103.0])})
        report = record(tmp_path, {"a": Series([120.0, 123.0, 126.0])})
        assert "REGRESSION +23% (noise 6%)" in line_of(report, "a")
        assert "was 100 ns" in line_of(report, "a")

    def test_change_inside_the_noise_is_not_flagged(self, tmp_path: Path) -> None:
        """A 5% change with a 20% spread in the new run is within noise."""
        record(tmp_path, {"a": Series([100.0, 100.0])})
        report = record(tmp_path, {"a": Series([95.0, 105.0, 115.0])})
        assert "~ +5% (noise 19%)" in line_of(report, "a")

    def test_the_wider_spread_of_the_two_runs_is_the_band(self, tmp_path: Path) -> None:
        """A noisy earlier run widens the band for a quiet new one."""
        record(tmp_path, {"a": Series([80.0, 100.0, 120.0])})
        report = record(tmp_path, {"a": Series([110.0, 110.0])})
        assert "~ +10% (noise 40%)" in line_of(report, "a")

    def test_tiny_changes_of_quiet_runs_are_not_flagged(self, tmp_path: Path) -> None:
        """The band is never narrower than MIN_NOISE."""
        record(tmp_path, {"a": Series([100.0, 100.0])})
        report = record(tmp_path, {"a": Series([104.0, 104.0])})
        assert f"~ +4% (noise {_history.MIN_NOISE:.0%})" in line_of(report, "a")

    def test_faster_beyond_the_noise_is_an_improvement(self, tmp_path: Path) -> None:
        """Lower ns per call is better."""
        record(tmp_path, {"a": Series([100.0])})
        report = record(tmp_path, {"a": Series([80.0])})
        assert "improved -20%" in line_of(report, "a")

    def test_for_rates_a_drop_is_the_regression(self, tmp_path: Path) -> None:
        """Records per second: higher is better, so fewer is a regression."""
        record(tmp_path, {"fapilog-http": Series([250_000.0], unit="rec/s", better="higher")})
        report = record(tmp_path, {"fapilog-http": Series([200_000.0], "rec/s", "higher")})
        assert "REGRESSION -20%" in line_of(report, "fapilog-http")

    def test_other_machines_are_not_compared(self, tmp_path: Path) -> None:
        """A run on another fingerprint is kept but not used as the baseline."""
        record(tmp_path, {"a": Series([100.0])}, machine=OTHER_MACHINE)
        report = record(tmp_path, {"a": Series([200.0])})
        assert line_of(report, "a").endswith("new")

    def test_other_sizes_are_not_compared(self, tmp_path: Path) -> None:
        """A burst of another length measures something else."""
        record(tmp_path, {"a": Series([100.0])}, size=500)
        report = record(tmp_path, {"a": Series([200.0])}, size=1000)
        assert line_of(report, "a").endswith("new")

    def test_each_case_is_compared_with_its_latest_run(self, tmp_path: Path) -> None:
        """After an --only run, the other cases still find their last full measurement."""
        record(tmp_path, {"a": Series([100.0]), "b": Series([50.0])})
        record(tmp_path, {"a": Series([200.0])})
        report = record(tmp_path, {"a": Series([200.0]), "b": Series([75.0])})
        assert "~ +0%" in line_of(report, "a")
        assert "REGRESSION +50%" in line_of(report, "b")

    def test_heading_names_the_previous_run(self, tmp_path: Path) -> None:
        """The comparison says which run it is against."""
        record(tmp_path, {"a": Series([100.0])}, commit="1234567890abcdef")
        report = record(tmp_path, {"a": Series([100.0])})
        assert "(2027-01-15T08:00:00Z, 1234567890)" in report.splitlines()[0]


class TestMachine:
    def test_fingerprint_names_cpu_python_and_a_hashed_host(self) -> None:
        """The fingerprint has its fields and an id derived from them, the same each time."""
        first, second = _history.machine_fingerprint(), _history.machine_fingerprint()
        assert first == second
        assert {"id", "cpu", "cpus", "python", "host"} == set(first)
        assert 12 == len(first["host"])

    def test_git_state_outside_a_repository_is_unknown(self, tmp_path: Path) -> None:
        """Without a git work tree there is no commit and no dirty flag."""
        assert (None, None) == _history.git_state(tmp_path)
