"""Checking a whole audit trail: every line's MAC, the chain, the files, the seals.

A trail named by its live file (``audit.log``) is its rotated files ``audit.log.1``,
``audit.log.2``... oldest first, then the live file. The check stops at the first problem
and names it (file and line number): a changed line fails its MAC; a deleted, inserted,
repeated or moved line breaks the ``seq`` and ``prev`` chain; a missing, renamed or
replaced file breaks the file numbers of the headers and the chain between a seal and the
next header; a file that does not end with a seal was cut short (for the live file, unless
a trail still being written is accepted).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fapilog_compliance.audit import _files
from fapilog_compliance.audit.chain import GENESIS, LineError, decode_line

__all__ = ["Problem", "VerifyReport", "verify_trail"]


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a trail.

    Attributes:
        file: The file's name.
        line: The line number in that file, from 1; ``None`` for a whole file (missing).
        message: What is wrong.
    """

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} line {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify_trail` found.

    Attributes:
        files: The names of the files checked, oldest first.
        lines: Lines that verified.
        records: Of them, audit events.
        resumes: Of them, ``resume`` lines: writers that stopped without sealing (crashes).
        first_seq: The ``seq`` of the first line, or ``None`` when none verified.
        last_seq: The ``seq`` of the last line that verified.
        last_mac: Its MAC: record it elsewhere to anchor the trail's end.
        sealed: Whether the trail ends with a seal.
        problem: The first problem, or ``None`` when the trail is intact.
    """

    files: tuple[str, ...]
    lines: int
    records: int
    resumes: int
    first_seq: int | None
    last_seq: int | None
    last_mac: str | None
    sealed: bool
    problem: Problem | None

    @property
    def ok(self) -> bool:
        """Whether the trail is intact."""
        return self.problem is None

    def summary(self) -> str:
        """One line: the verdict, the counts and the span of ``seq``."""
        if self.problem is not None:
            return f"TAMPERED: {self.problem}"
        state = "sealed" if self.sealed else "open (not sealed)"
        resumed = f", {self.resumes} resumed after a crash" if self.resumes else ""
        return (
            f"intact: {len(self.files)} file(s), {self.lines} lines ({self.records} audit "
            f"events{resumed}), seq {self.first_seq}-{self.last_seq}, {state}, "
            f"last mac {self.last_mac}"
        )

    def as_dict(self) -> dict[str, Any]:
        """The report as plain data."""
        problem = None
        if self.problem is not None:
            problem = {
                "file": self.problem.file,
                "line": self.problem.line,
                "message": self.problem.message,
            }
        return {
            "ok": self.ok,
            "files": list(self.files),
            "lines": self.lines,
            "records": self.records,
            "resumes": self.resumes,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "last_mac": self.last_mac,
            "sealed": self.sealed,
            "problem": problem,
        }


class _Found(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass
class _Walk:
    """Where the check stands: what the next line must be, and what was counted."""

    key: bytes
    seq: int = 0
    prev: str = GENESIS
    file_index: int = 1
    lines: int = 0
    records: int = 0
    resumes: int = 0
    first_seq: int | None = None
    sealed: bool = False
    files: list[str] = field(default_factory=list)

    def decode(self, name: str, number: int, raw: bytes) -> dict[str, Any]:
        """Check one line's MAC; return its fields."""
        try:
            return decode_line(self.key, raw)
        except LineError as exc:
            message = str(exc)
            if self.lines == 0 and "MAC" in message:
                message += " (no line of the trail verified so far: is it the right key?)"
            raise _Found(Problem(name, number, message)) from None

    def chain(self, name: str, number: int, fields: dict[str, Any]) -> None:
        """Check that the line comes next in the chain; count it."""
        seq = fields["seq"]
        if seq != self.seq:
            cause = (
                "a line before it was deleted, or lines were reordered"
                if seq > self.seq
                else "it was inserted, repeated or moved"
            )
            raise _Found(Problem(name, number, f"seq {seq} where {self.seq} was due: {cause}"))
        if fields.get("prev") != self.prev:
            raise _Found(
                Problem(name, number, "does not chain from the line before it (prev differs)")
            )
        if self.first_seq is None:
            self.first_seq = seq
        self.seq = seq + 1
        self.prev = fields["mac"]
        self.lines += 1


def _header(walk: _Walk, path: Path, fields: dict[str, Any], live: Path) -> None:
    name = path.name
    if fields["type"] != "header":
        raise _Found(Problem(name, 1, "the file does not start with a header line"))
    if fields.get("reason") == "break":
        broken = fields.get("broken") or {}
        raise _Found(
            Problem(name, 1, f"the writer recorded a broken chain: {broken.get('problem')}")
        )
    index = fields.get("file")
    if index == walk.file_index:
        return
    due = _files.rotated_path(live, walk.file_index)
    if path == live and isinstance(index, int) and index > walk.file_index and not due.exists():
        raise _Found(Problem(due.name, None, f"missing: {name} is file {index} of the trail"))
    raise _Found(
        Problem(
            name,
            1,
            f"this is file {index} of the trail where file {walk.file_index} was due: files "
            "were renamed, replaced or reordered",
        )
    )


def _check_file(walk: _Walk, path: Path, live: Path, *, open_ok: bool) -> None:
    name = path.name
    walk.files.append(name)
    walk.sealed = False
    data = path.read_bytes()
    if not data:
        raise _Found(Problem(name, 1, "the file is empty: it should start with a header line"))
    lines = data.split(b"\n")
    torn = lines.pop()
    number = 0
    for number, raw in enumerate(lines, 1):
        if walk.sealed:
            raise _Found(Problem(name, number, "a line after the seal"))
        fields = walk.decode(name, number, raw)
        kind = fields["type"]
        if number == 1:
            _header(walk, path, fields, live)
        elif kind == "header":
            raise _Found(Problem(name, number, "a header line inside a file"))
        walk.chain(name, number, fields)
        if kind == "record":
            walk.records += 1
        elif kind == "resume":
            walk.resumes += 1
        elif kind == "seal":
            if fields.get("lines") != number - 1 or fields.get("file") != walk.file_index:
                raise _Found(Problem(name, number, "the seal does not match the file"))
            if path == live and fields.get("reason") == "rotation":
                raise _Found(
                    Problem(
                        name,
                        number,
                        "sealed for rotation, yet no newer file follows: newer files were "
                        "removed (or the writer stopped between sealing and renaming it)",
                    )
                )
            walk.sealed = True
    if torn:
        raise _Found(
            Problem(name, number + 1, "an incomplete last line (a torn write, or a cut file)")
        )
    if not walk.sealed:
        if path != live:
            raise _Found(
                Problem(name, number + 1, "no seal: the lines after this point are missing")
            )
        if not open_ok:
            raise _Found(
                Problem(
                    name,
                    number + 1,
                    "no seal: the end of the trail was cut off, or it is still being "
                    "written (--open-ok accepts a live trail whose lines all verify)",
                )
            )
    walk.file_index += 1


def verify_trail(
    path: str | os.PathLike[str], key: bytes, *, open_ok: bool = False
) -> VerifyReport:
    """Check the trail whose live file is ``path``, oldest file first.

    Args:
        path: The live file (``audit.log``); its rotated files are ``audit.log.<n>``.
        key: The trail's HMAC key.
        open_ok: Accept a live file without a seal (a trail still being written), as long
            as every line verifies. A trail cut short then looks intact.

    Returns:
        The report; ``report.problem`` is the first problem, if any.

    Raises:
        FileNotFoundError: Neither ``path`` nor any rotated file of it exists.
        OSError: A file of the trail cannot be read.
    """
    live = Path(path)
    indexes = _files.rotated_indexes(live)
    if not indexes and not live.exists():
        raise FileNotFoundError(f"no audit trail at {live}: neither it nor {live.name}.1 exists")
    walk = _Walk(key)
    problem = None
    try:
        for index in indexes:
            if index != walk.file_index:
                missing = _files.rotated_path(live, walk.file_index).name
                raise _Found(Problem(missing, None, "missing: the trail's files skip it"))
            _check_file(walk, _files.rotated_path(live, index), live, open_ok=open_ok)
        if not live.exists():
            raise _Found(Problem(live.name, None, "missing: the trail's live (newest) file"))
        _check_file(walk, live, live, open_ok=open_ok)
    except _Found as found:
        problem = found.problem
    return VerifyReport(
        files=tuple(walk.files),
        lines=walk.lines,
        records=walk.records,
        resumes=walk.resumes,
        first_seq=walk.first_seq,
        last_seq=walk.seq - 1 if walk.lines else None,
        last_mac=walk.prev if walk.lines else None,
        sealed=walk.sealed,
        problem=problem,
    )
