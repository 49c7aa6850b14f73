"""verify_trail: an intact trail passes; every kind of tampering is caught at its first line."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from audit_helpers import (
    KEY,
    WRONG_KEY,
    copy_trail,
    forged,
    modified,
    read_lines,
    trail_files,
    write_lines,
    write_trail,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fapilog_compliance.audit.verify import Problem, verify_trail

#: Small files, so a dozen events make a trail of several files.
MAX_BYTES = 1500


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sealed trail of 12 events over several rotated files (never changed: copy it)."""
    return write_trail(tmp_path_factory.mktemp("pristine") / "audit.log", 12, max_bytes=MAX_BYTES)


@pytest.fixture
def trail(pristine: Path, tmp_path: Path) -> Path:
    """A copy of the pristine trail to tamper with."""
    return copy_trail(pristine, tmp_path / "copy")


def problem_of(path: Path, key: str = KEY, *, open_ok: bool = False) -> Problem:
    """The problem verify reports; fails the test when there is none."""
    report = verify_trail(path, key.encode(), open_ok=open_ok)
    assert report.problem is not None, report.summary()
    return report.problem


def where(problem: Problem) -> tuple[str, int | None]:
    """The file and line a problem names."""
    return problem.file, problem.line


class TestIntactTrail:
    def test_the_pristine_trail_verifies(self, pristine: Path) -> None:
        """A trail written and sealed by the exporter is intact, every line counted."""
        report = verify_trail(pristine, KEY.encode())
        files = trail_files(pristine)
        assert report.ok, report.summary()
        assert (True, 12) == (report.sealed, report.records)
        assert [f.name for f in files] == list(report.files)
        assert len(files) >= 4
        lines = sum(len(read_lines(f)) for f in files)
        assert (lines, 0, lines - 1) == (report.lines, report.first_seq, report.last_seq)
        assert report.summary().startswith("intact: ")

    def test_an_open_trail_needs_open_ok(self, trail: Path) -> None:
        """A live file without its seal fails, unless open_ok accepts a trail being written."""
        write_lines(trail, read_lines(trail)[:-1])
        problem = problem_of(trail)
        assert (trail.name, len(read_lines(trail)) + 1) == where(problem)
        assert "no seal" in problem.message
        report = verify_trail(trail, KEY.encode(), open_ok=True)
        assert (True, False) == (report.ok, report.sealed)

    def test_no_trail_at_all_is_an_error(self, tmp_path: Path) -> None:
        """A path with neither a live nor a rotated file raises FileNotFoundError."""
        with pytest.raises(FileNotFoundError):
            verify_trail(tmp_path / "audit.log", KEY.encode())


class TestTamperedLines:
    def test_a_changed_field(self, trail: Path) -> None:
        """A record whose actor was changed fails its MAC on that line."""
        file = trail_files(trail)[1]
        lines = read_lines(file)
        lines[1] = lines[1].replace(b'"alice"', b'"mallory"')
        write_lines(file, lines)
        problem = problem_of(trail)
        assert (file.name, 2) == where(problem)
        assert "MAC mismatch" in problem.message

    def test_a_changed_header(self, trail: Path) -> None:
        """Headers are MACed like records."""
        file = trail_files(trail)[2]
        lines = read_lines(file)
        lines[0] = modified(lines[0])
        write_lines(file, lines)
        assert (file.name, 1) == where(problem_of(trail))

    def test_a_deleted_line(self, trail: Path) -> None:
        """Deleting a record breaks the seq at the line that took its place."""
        file = trail_files(trail)[1]
        lines = read_lines(file)
        del lines[1]
        write_lines(file, lines)
        problem = problem_of(trail)
        assert (file.name, 2) == where(problem)
        assert "deleted" in problem.message

    def test_a_forged_line_with_a_wrong_key(self, trail: Path) -> None:
        """A line inserted with a MAC under another key fails its MAC."""
        file = trail_files(trail)[1]
        lines = read_lines(file)
        lines.insert(1, forged(lines[1]))
        write_lines(file, lines)
        problem = problem_of(trail)
        assert (file.name, 2) == where(problem)
        assert "MAC mismatch" in problem.message

    def test_a_replayed_line(self, trail: Path) -> None:
        """A valid line copied to another place breaks the seq there."""
        file = trail_files(trail)[1]
        lines = read_lines(file)
        lines.insert(2, lines[1])
        write_lines(file, lines)
        problem = problem_of(trail)
        assert (file.name, 3) == where(problem)
        assert "inserted" in problem.message

    def test_swapped_lines(self, trail: Path) -> None:
        """Two records swapped break the seq at the first of them."""
        file = trail_files(trail)[0]
        lines = read_lines(file)
        lines[1], lines[2] = lines[2], lines[1]
        write_lines(file, lines)
        assert (file.name, 2) == where(problem_of(trail))

    def test_a_line_after_the_seal(self, trail: Path) -> None:
        """Nothing may follow a seal, not even a valid line."""
        file = trail_files(trail)[0]
        lines = read_lines(file)
        write_lines(file, [*lines, lines[1]])
        problem = problem_of(trail)
        assert (file.name, len(lines) + 1) == where(problem)
        assert "after the seal" in problem.message


class TestTruncation:
    def test_the_end_cut_off(self, trail: Path) -> None:
        """Removing the last lines and the seal of the live file is reported as no seal."""
        lines = read_lines(trail)
        write_lines(trail, lines[:-2])
        problem = problem_of(trail)
        assert (trail.name, len(lines) - 1) == where(problem)
        assert "no seal" in problem.message

    def test_a_cut_in_the_middle_of_a_line(self, trail: Path) -> None:
        """A file cut inside a line ends with an incomplete line."""
        data = trail.read_bytes()
        trail.write_bytes(data[:-10])
        problem = problem_of(trail, open_ok=True)
        assert (trail.name, len(data.splitlines())) == where(problem)
        assert "incomplete" in problem.message

    def test_a_rotated_file_cut_short(self, trail: Path) -> None:
        """A rotated file without its seal: the lines after its end are missing."""
        file = trail_files(trail)[2]
        lines = read_lines(file)
        write_lines(file, lines[:-1])
        problem = problem_of(trail, open_ok=True)
        assert (file.name, len(lines)) == where(problem)


class TestTamperedFiles:
    @pytest.mark.parametrize("which", [0, 2, -2])
    def test_a_deleted_rotated_file(self, trail: Path, which: int) -> None:
        """The oldest, a middle or the newest rotated file deleted: it is named missing."""
        file = trail_files(trail)[which]
        file.unlink()
        problem = problem_of(trail)
        assert (file.name, None) == where(problem)
        assert "missing" in problem.message

    def test_a_deleted_live_file(self, trail: Path) -> None:
        """The live file deleted: the trail's newest file is missing."""
        trail.unlink()
        assert (trail.name, None) == where(problem_of(trail))

    def test_reordered_files(self, trail: Path) -> None:
        """Two rotated files swapping names: the first holds the wrong file number."""
        first, second = trail_files(trail)[1:3]
        first.rename(first.with_name("swap"))
        second.rename(first)
        first.with_name("swap").rename(second)
        problem = problem_of(trail)
        assert (first.name, 1) == where(problem)
        assert "reordered" in problem.message

    def test_the_newest_files_removed(self, trail: Path) -> None:
        """The live file removed and the newest rotated file renamed in its place: its
        rotation seal says a newer file should follow."""
        newest = trail_files(trail)[-2]
        trail.unlink()
        newest.rename(trail)
        problem = problem_of(trail)
        assert (trail.name, len(read_lines(trail))) == where(problem)
        assert "no newer file follows" in problem.message

    def test_a_replaced_file(self, trail: Path) -> None:
        """A rotated file replaced by a copy of another one is caught at its header."""
        files = trail_files(trail)
        shutil.copy2(files[0], files[1])
        assert (files[1].name, 1) == where(problem_of(trail))

    def test_a_wrong_key(self, trail: Path) -> None:
        """With another key the very first line fails, and the report suggests the key."""
        problem = problem_of(trail, WRONG_KEY)
        assert (trail_files(trail)[0].name, 1) == where(problem)
        assert "right key" in problem.message


def _delete(files: list[Path], index: int, line: int) -> tuple[str, int | None]:
    lines = read_lines(files[index])
    del lines[line - 1]
    write_lines(files[index], lines)
    return files[index].name, line


def _modify(files: list[Path], index: int, line: int) -> tuple[str, int | None]:
    lines = read_lines(files[index])
    lines[line - 1] = modified(lines[line - 1])
    write_lines(files[index], lines)
    return files[index].name, line


def _forge(files: list[Path], index: int, line: int) -> tuple[str, int | None]:
    lines = read_lines(files[index])
    lines.insert(line - 1, forged(lines[line - 1]))
    write_lines(files[index], lines)
    return files[index].name, line


def _swap(files: list[Path], index: int, line: int) -> tuple[str, int | None]:
    lines = read_lines(files[index])
    if line == len(lines):
        line -= 1
    lines[line - 1], lines[line] = lines[line], lines[line - 1]
    write_lines(files[index], lines)
    return files[index].name, line


def _truncate(files: list[Path], index: int, line: int) -> tuple[str, int | None]:
    lines = read_lines(files[index])
    write_lines(files[index], lines[: line - 1])
    if line == 1:
        return files[index].name, 1  # an empty file
    return files[index].name, line


def _drop_file(files: list[Path], index: int, line: int) -> tuple[str, int | None]:
    files[index].unlink()
    return files[index].name, None


Tamper = Callable[[list[Path], int, int], tuple[str, int | None]]
TAMPERINGS: dict[str, Tamper] = {
    "delete": _delete,
    "modify": _modify,
    "forge": _forge,
    "swap": _swap,
    "truncate": _truncate,
    "drop_file": _drop_file,
}


@pytest.mark.property
class TestAnyTampering:
    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        events=st.integers(1, 9),
        max_bytes=st.sampled_from([0, 1200, 2500]),
        kind=st.sampled_from(sorted(TAMPERINGS)),
        file_pick=st.integers(0, 1000),
        line_pick=st.integers(0, 1000),
    )
    def test_the_first_bad_line_is_named(
        self, events: int, max_bytes: int, kind: str, file_pick: int, line_pick: int
    ) -> None:
        """Whatever the trail and the tampering, verify names exactly the first bad line."""
        with tempfile.TemporaryDirectory() as directory:
            path = write_trail(Path(directory) / "audit.log", events, max_bytes=max_bytes)
            assert verify_trail(path, KEY.encode()).ok
            files = trail_files(path)
            assume(kind != "drop_file" or len(files) > 1)  # no trail left is a usage error
            index = file_pick % len(files)
            line = 1 + line_pick % len(read_lines(files[index]))
            expected = TAMPERINGS[kind](files, index, line)
            report = verify_trail(path, KEY.encode())
            assert report.problem is not None, f"{kind} at {expected} went unnoticed"
            assert expected == where(report.problem), str(report.problem)
