"""The files of a trail: their names, permissions, lock, and reading a file's ends.

A trail at ``audit.log`` is the live file ``audit.log`` and the files rotated out of it,
``audit.log.1`` (the oldest), ``audit.log.2``... Rotated files are never renamed again, so
a name says where the file stands in the trail. ``audit.log.lock`` is the writer's lock.
"""

from __future__ import annotations

import errno
import os
import re
import sys
from pathlib import Path
from typing import Final

from fapilog_otel._paths import make_directories as core_make_directories

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "TrailBusy",
    "child_path",
    "fsync_directory",
    "lock",
    "make_directories",
    "move_aside",
    "open_append",
    "read_ends",
    "rotated_indexes",
    "rotated_path",
]

#: Permissions of the trail's files.
FILE_MODE: Final = 0o600
#: Permissions of the directories created for the trail.
DIR_MODE: Final = 0o700

_APPEND: Final = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_CHUNK: Final = 1 << 20


class TrailBusy(Exception):
    """Another writer (another process, or another exporter) holds the trail's lock."""


def rotated_path(path: Path, index: int) -> Path:
    """The name of the trail's ``index``-th file once rotated: ``audit.log.<index>``."""
    return path.with_name(f"{path.name}.{index}")


def rotated_indexes(path: Path) -> list[int]:
    """The indexes of the trail's rotated files that exist, in increasing order."""
    pattern = re.compile(re.escape(path.name) + r"\.([0-9]+)")
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    found = (pattern.fullmatch(name) for name in names)
    return sorted(int(match.group(1)) for match in found if match is not None)


def child_path(path: Path, pid: int) -> Path:
    """The trail of a forked child: ``audit.pid<pid>.log`` for ``audit.log``."""
    return path.with_name(f"{path.stem}.pid{pid}{path.suffix}")


def make_directories(directory: Path) -> None:
    """Create ``directory`` and its missing parents with :data:`DIR_MODE` exactly."""
    core_make_directories(directory, DIR_MODE)


def open_append(path: Path) -> int:
    """Open ``path`` for appending; a file it creates gets :data:`FILE_MODE` exactly."""
    try:
        fd = os.open(path, _APPEND | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return os.open(path, _APPEND)
    try:
        os.chmod(path, FILE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def fsync_directory(directory: Path) -> None:
    """Make the directory's entries (a new or renamed file) durable, where supported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        return
    finally:
        os.close(fd)


def move_aside(path: Path, target: Path) -> None:
    """Rename ``path`` to ``target``, never replacing an existing ``target``.

    Raises:
        FileExistsError: ``target`` exists.
        OSError: The rename failed.
    """
    try:
        os.link(path, target)
    except FileExistsError:
        raise
    except OSError as exc:
        # No hard links on this file system: check, then rename (the lock keeps it safe).
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.rename(path, target)
        return
    os.unlink(path)


def read_ends(path: Path) -> tuple[bytes, bytes, int, bool]:
    """Read a file's first and last lines (without newlines) and count its lines.

    Returns:
        The first line, the last line, how many lines there are (a last line without a
        newline counts) and whether the file ends with a newline. An empty file gives
        ``(b"", b"", 0, True)``.
    """
    lines = 0
    last = pending = b""
    with open(path, "rb") as file:
        first = file.readline().rstrip(b"\n")
        file.seek(0)
        while chunk := file.read(_CHUNK):
            lines += chunk.count(b"\n")
            # ``pending`` always starts a line, so ``data`` does too.
            data = pending + chunk
            cut = data.rfind(b"\n")
            if cut < 0:
                pending = data
                continue
            last = data[data.rfind(b"\n", 0, cut) + 1 : cut]
            pending = data[cut + 1 :]
    if pending:
        return first, pending, lines + 1, False
    return first, last, lines, True


if sys.platform == "win32":

    def lock(path: Path) -> int:
        """Open the lock file (no exclusive lock on Windows)."""
        return open_append(path)

else:
    import fcntl

    def lock(path: Path) -> int:
        """Open the lock file and take its exclusive lock; return its descriptor.

        The lock is released when every descriptor of it is closed: a forked child closing
        its copy leaves the parent's lock in place.

        Raises:
            TrailBusy: Another open file description holds the lock.
        """
        fd = open_append(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise TrailBusy(f"{path} is locked by another writer") from None
        except OSError:
            os.close(fd)
            raise
        return fd
