"""Every ```python block of the Prometheus distribution's README runs on its own (unless marked
``<!-- no-run -->`` on the line before it)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = [
    match.group(2)
    for match in re.finditer(r"(<!-- no-run -->\n)?```python\n(.*?)```", README.read_text(), re.S)
    if not match.group(1)
]


@pytest.mark.parametrize("code", BLOCKS)
def test_the_readme_example_runs(code: str) -> None:
    """The example exits 0 in a fresh interpreter."""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert 0 == result.returncode, result.stderr


def test_there_are_examples_to_run() -> None:
    """The README has at least one runnable example."""
    assert BLOCKS
