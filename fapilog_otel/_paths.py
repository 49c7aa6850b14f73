"""Directories the library's writers create (the file exporter, the audit trail)."""

from __future__ import annotations

import os
from pathlib import Path


def make_directories(directory: Path, mode: int) -> None:
    """Create ``directory`` and its missing parents, each with exactly ``mode`` (the
    umask does not apply); existing directories are left as they are."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            continue
        os.chmod(path, mode)
