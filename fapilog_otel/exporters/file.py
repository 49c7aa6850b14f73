"""Append records to a file as JSON lines, with size and time rotation."""

from __future__ import annotations

import enum
import gzip
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar, Final

from fapilog_otel._jsonline import encode_json_line
from fapilog_otel._paths import make_directories
from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult

__all__ = ["FileExporter"]

#: Names accepted for ``rotate_interval``, in seconds. They are intervals counted from
#: when the file was opened, not wall-clock boundaries.
NAMED_INTERVALS: Final = {"hourly": 3600.0, "daily": 86400.0}

_OPEN_FLAGS: Final = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
_GZ: Final = ".gz"
_COPY_CHUNK: Final = 1 << 20


class _State(enum.Enum):
    CLOSED = "closed"  # not opened yet, or closed after a failure; the next export opens
    OPEN = "open"
    SHUT_DOWN = "shut down"


class FileExporter:
    """Appends each batch to a file with one ``write``, rotating by size and/or age.

    The file and its missing parent directories are created on the first export, with
    ``file_mode`` and ``dir_mode`` exactly (the umask does not widen or narrow them); an
    existing file keeps its permissions. Rotation renames ``app.log`` to ``app.log.1`` and
    shifts older files up to ``app.log.<backup_count>``, deleting the oldest; with
    ``compress`` the rotated files are gzipped to ``app.log.1.gz`` and so on.

    Args:
        path: The file to write.
        max_bytes: Rotate before a write that would make the file larger than this; 0
            turns size rotation off. A batch larger than ``max_bytes`` is still written
            whole, to a fresh file.
        rotate_interval: Rotate before the first write once the file has been open this
            many seconds; 0 turns time rotation off. ``"hourly"`` and ``"daily"`` mean
            3600 and 86400 seconds.
        backup_count: How many rotated files to keep; 0 keeps none (rotation truncates).
        compress: Whether to gzip rotated files.
        file_mode: Permissions of a file this exporter creates.
        dir_mode: Permissions of directories this exporter creates.
        fsync: Whether :meth:`force_flush` and :meth:`shutdown` call ``os.fsync``.
        clock: The time source for time rotation, in seconds (monotonic by default).

    Raises:
        ValueError: When a size, count or interval is negative or an interval name is
            unknown.
    """

    name: ClassVar[str] = "file"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 0,
        rotate_interval: float | str = 0,
        backup_count: int = 5,
        compress: bool = False,
        file_mode: int = 0o600,
        dir_mode: int = 0o700,
        fsync: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, not {max_bytes}")
        if backup_count < 0:
            raise ValueError(f"backup_count must be >= 0, not {backup_count}")
        self._path = Path(path)
        self._max_bytes = max_bytes
        self._interval = _interval_seconds(rotate_interval)
        self._backup_count = backup_count
        self._compress = compress
        self._file_mode = file_mode
        self._dir_mode = dir_mode
        self._fsync = fsync
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _State.CLOSED
        self._fd = -1
        self._size = 0
        self._opened_at = 0.0
        self._torn_line = False
        #: Rotations that could not rename or compress a file (writing went on regardless).
        self.rotation_errors = 0

    @property
    def path(self) -> Path:
        """The file being written."""
        return self._path

    def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        """Append the batch as JSON lines, rotating first when due.

        Args:
            batch: The records to write.

        Returns:
            ``SUCCESS``, or ``FAILURE`` when the file cannot be opened or written, or after
            :meth:`shutdown`. It never raises.
        """
        data = b"".join([encode_json_line(record) for record in batch])
        with self._lock:
            if self._state is _State.SHUT_DOWN:
                return ExportResult.FAILURE
            try:
                self._ensure_open()
                if self._rotation_due(len(data)):
                    self._rotate()
                self._write(data)
            except OSError:
                return ExportResult.FAILURE
        return ExportResult.SUCCESS

    def reinit_after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may be held by a thread that is gone)."""
        self._lock = threading.Lock()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Make written data durable when ``fsync`` is on (writes are unbuffered anyway).

        Args:
            timeout_millis: Not used: ``fsync`` cannot be interrupted.

        Returns:
            Whether the data reached the file (and, with ``fsync``, the disk).
        """
        with self._lock:
            return self._sync()

    def shutdown(self) -> None:
        """Sync (when ``fsync`` is on) and close the file; later exports fail. Idempotent."""
        with self._lock:
            if self._state is _State.OPEN:
                self._sync()
                self._close()
            self._state = _State.SHUT_DOWN

    def _sync(self) -> bool:
        if self._state is not _State.OPEN or not self._fsync:
            return True
        try:
            os.fsync(self._fd)
        except OSError:
            return False
        return True

    def _ensure_open(self) -> None:
        if self._state is _State.OPEN:
            return
        make_directories(self._path.parent, self._dir_mode)
        self._fd = _open_append(self._path, self._file_mode)
        self._size = os.fstat(self._fd).st_size
        self._opened_at = self._clock()
        if self._size == 0:
            self._torn_line = False
        self._state = _State.OPEN

    def _close(self) -> None:
        fd, self._fd = self._fd, -1
        self._state = _State.CLOSED
        os.close(fd)

    def _rotation_due(self, incoming: int) -> bool:
        if self._size == 0:
            return False
        if self._max_bytes and self._size + incoming > self._max_bytes:
            return True
        return bool(self._interval) and self._clock() - self._opened_at >= self._interval

    def _rotate(self) -> None:
        self._close()
        try:
            self._shift_backups()
        except OSError:
            self.rotation_errors += 1
        self._ensure_open()

    def _shift_backups(self) -> None:
        if self._backup_count == 0:
            self._path.unlink()
            return
        self._delete_backups_from(self._backup_count)
        for index in range(self._backup_count - 1, 0, -1):
            for suffix in ("", _GZ):
                older = self._backup(index, suffix)
                if older.exists():
                    os.replace(older, self._backup(index + 1, suffix))
        newest = self._backup(1, "")
        os.replace(self._path, newest)
        if self._compress:
            self._gzip(newest)

    def _delete_backups_from(self, first: int) -> None:
        """Delete backups numbered ``first`` and up (left over from a larger count, too)."""
        index = first
        while True:
            found = False
            for suffix in ("", _GZ):
                backup = self._backup(index, suffix)
                if backup.exists():
                    backup.unlink()
                    found = True
            if not found:
                return
            index += 1

    def _gzip(self, source: Path) -> None:
        target = source.with_name(source.name + _GZ)
        partial = source.with_name(source.name + _GZ + ".tmp")
        try:
            _unlink_if_exists(partial)
            fd = _open_new(partial, self._file_mode)
            with (
                open(fd, "wb") as raw,
                open(source, "rb") as plain,
                gzip.GzipFile(fileobj=raw, mode="wb", filename=source.name) as packed,
            ):
                shutil.copyfileobj(plain, packed, _COPY_CHUNK)
            os.replace(partial, target)
        except OSError:
            # Keep the uncompressed file: losing a rotated log is worse than its size.
            self.rotation_errors += 1
            _unlink_if_exists(partial)
            return
        source.unlink()

    def _backup(self, index: int, suffix: str) -> Path:
        return self._path.with_name(f"{self._path.name}.{index}{suffix}")

    def _write(self, data: bytes) -> None:
        if self._torn_line:
            data = b"\n" + data
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._fd, view)
            except OSError:
                if len(view) < len(data):
                    self._torn_line = True
                raise
            view = view[written:]
            self._size += written
        self._torn_line = False


def _interval_seconds(value: float | str) -> float:
    if isinstance(value, str):
        try:
            return NAMED_INTERVALS[value]
        except KeyError:
            allowed = ", ".join(repr(name) for name in NAMED_INTERVALS)
            raise ValueError(
                f"rotate_interval must be seconds or one of {allowed}, not {value!r}"
            ) from None
    if value < 0:
        raise ValueError(f"rotate_interval must be >= 0, not {value}")
    return float(value)


def _open_append(path: Path, mode: int) -> int:
    try:
        return _open_new(path, mode, _OPEN_FLAGS)
    except FileExistsError:
        return os.open(path, _OPEN_FLAGS)


def _open_new(path: Path, mode: int, flags: int = os.O_WRONLY | os.O_TRUNC) -> int:
    """Create ``path`` with exactly ``mode`` (umask only narrows; chmod restores)."""
    fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.chmod(path, mode)
    except OSError:
        os.close(fd)
        raise
    return fd


def _unlink_if_exists(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
