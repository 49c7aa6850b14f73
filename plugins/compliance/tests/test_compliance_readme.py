"""Every ```python block of the compliance distribution's README runs on its own (unless
marked ``<!-- no-run -->`` on the line before it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fapilog_otel.testing import CodeBlock, python_blocks, run_python

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = [block for block in python_blocks(README) if block.runnable]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md#{b.index}" for b in BLOCKS])
def test_the_readme_example_runs(block: CodeBlock) -> None:
    """The example exits 0 in a fresh interpreter, without FAPILOG_* or OTEL_* variables."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(("FAPILOG_", "OTEL_"))
    }
    result = run_python(block.code, env=environment)
    assert 0 == result.returncode, result.stderr


def test_there_are_examples_to_run() -> None:
    """The README has at least one runnable example."""
    assert BLOCKS
