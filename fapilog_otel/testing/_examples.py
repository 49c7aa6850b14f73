"""Running the Python examples of a Markdown file: the docs' test and each plugin
distribution's README test use these, so an example that stops working fails a test."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: A block preceded by this comment is a fragment that cannot run alone.
NO_RUN = "<!-- no-run -->"

_FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block of a Markdown file: its number among the file's blocks of its
    language (from 0), its first code line (from 1), its code, whether it may run (not
    marked :data:`NO_RUN` on the line before) and its language (``python``, ``yaml``...)."""

    path: Path
    index: int
    line: int
    code: str
    runnable: bool
    language: str = "python"


def code_blocks(path: Path, language: str | None = None) -> list[CodeBlock]:
    """The fenced blocks of the Markdown file ``path`` in order, only those of
    ``language`` when given."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[CodeBlock] = []
    counts: dict[str, int] = {}
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start = i
        end = start + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        kind = match.group(1)
        if language is None or kind == language:
            previous = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
            code = "\n".join(lines[start + 1 : end]) + "\n"
            index = counts.get(kind, 0)
            counts[kind] = index + 1
            blocks.append(CodeBlock(path, index, start + 2, code, previous != NO_RUN, kind))
        i = end + 1
    return blocks


def python_blocks(path: Path) -> list[CodeBlock]:
    """The ```python blocks of the Markdown file ``path``, in order."""
    return code_blocks(path, "python")


def run_python(
    code: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (this one's executable); return what it did."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
