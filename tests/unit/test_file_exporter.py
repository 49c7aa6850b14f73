"""Tests for the file exporter: writing, permissions and rotation."""

from __future__ import annotations

import gzip
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import orjson
import pytest
from opentelemetry.sdk.resources import Resource

from fapilog_otel._jsonline import encode_json_line
from fapilog_otel.exporters.file import FileExporter
from fapilog_otel.record import LogRecord, Scope, Severity
from fapilog_otel.typing import Exporter, ExportResult

# 2026-11-27T12:00:00.123456789Z
TS = 1_795_780_800_123_456_789


def make_record(body: str = "order placed", **attributes: Any) -> LogRecord:
    return LogRecord(
        timestamp=TS,
        severity_text="INFO",
        severity_number=Severity.INFO,
        body=body,
        attributes=attributes,
        scope=Scope("checkout"),
        resource=Resource({"service.name": "svc"}),
    )


LINE_SIZE = len(encode_json_line(make_record("r0")))


def bodies(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return [orjson.loads(line)["body"] for line in data.splitlines()]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestFileExporterBasics:
    def test_is_an_exporter(self, tmp_path: Path) -> None:
        """It satisfies the Exporter protocol and is named "file"."""
        assert isinstance(FileExporter(tmp_path / "app.log"), Exporter)
        assert "file" == FileExporter.name

    def test_opens_lazily(self, tmp_path: Path) -> None:
        """Nothing is created before the first export."""
        path = tmp_path / "logs" / "app.log"

        FileExporter(path)

        assert not path.parent.exists()

    def test_appends_json_lines(self, tmp_path: Path) -> None:
        """Batches are appended as JSON lines, across exporter instances."""
        path = tmp_path / "app.log"
        first = FileExporter(path)
        assert ExportResult.SUCCESS == first.export([make_record("a"), make_record("b")])
        first.shutdown()

        second = FileExporter(path)
        second.export([make_record("c")])
        second.shutdown()

        assert ["a", "b", "c"] == bodies(path)

    def test_permissions_despite_umask(self, tmp_path: Path) -> None:
        """New files and directories get exactly file_mode and dir_mode."""
        path = tmp_path / "a" / "b" / "app.log"
        old_umask = os.umask(0o077)
        try:
            FileExporter(path, file_mode=0o640, dir_mode=0o750).export([make_record()])
        finally:
            os.umask(old_umask)

        assert 0o640 == mode_of(path)
        assert (0o750, 0o750) == (mode_of(path.parent), mode_of(path.parent.parent))

    def test_default_permissions(self, tmp_path: Path) -> None:
        """By default the file is 0o600 and new directories 0o700."""
        path = tmp_path / "logs" / "app.log"
        old_umask = os.umask(0)
        try:
            FileExporter(path).export([make_record()])
        finally:
            os.umask(old_umask)

        assert (0o600, 0o700) == (mode_of(path), mode_of(path.parent))

    def test_existing_file_keeps_its_mode(self, tmp_path: Path) -> None:
        """An existing file is appended to without changing its permissions."""
        path = tmp_path / "app.log"
        path.write_bytes(b"")
        path.chmod(0o644)

        FileExporter(path).export([make_record()])

        assert 0o644 == mode_of(path)

    def test_hostile_values(self, tmp_path: Path) -> None:
        """Hostile attribute values still produce one valid JSON line per record."""
        path = tmp_path / "app.log"
        loop: dict[str, Any] = {}
        loop["loop"] = loop

        FileExporter(path).export([make_record(b=b"\x00", n=float("inf"), c=loop), make_record()])

        assert 2 == len(bodies(path))

    def test_one_write_per_batch(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A batch is written with a single write call."""
        calls: list[int] = []
        real_write = os.write

        def counting_write(fd: int, data: Any) -> int:
            calls.append(len(data))
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", counting_write)

        FileExporter(tmp_path / "app.log").export([make_record(str(i)) for i in range(100)])

        assert 1 == len(calls)

    def test_partial_write_is_completed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A short write is continued until the whole batch is on disk."""
        real_write = os.write

        def short_write(fd: int, data: Any) -> int:
            return real_write(fd, bytes(data[:7]))

        monkeypatch.setattr(os, "write", short_write)
        path = tmp_path / "app.log"

        FileExporter(path).export([make_record("a"), make_record("b")])

        assert ["a", "b"] == bodies(path)

    def test_failed_write_returns_failure(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A write error is reported as FAILURE, and a torn line is ended before the next."""
        real_write = os.write
        calls: list[int] = []

        def failing_write(fd: int, data: Any) -> int:
            calls.append(len(data))
            if len(calls) == 1:
                return real_write(fd, bytes(data[:5]))
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", failing_write)
        path = tmp_path / "app.log"
        exporter = FileExporter(path)

        assert ExportResult.FAILURE == exporter.export([make_record("lost")])
        assert ExportResult.SUCCESS == exporter.export([make_record("kept")])

        lines = path.read_bytes().splitlines()
        assert 2 == len(lines)
        assert "kept" == orjson.loads(lines[1])["body"]

    def test_unopenable_path_returns_failure(self, tmp_path: Path) -> None:
        """A path that cannot be created makes the export fail without raising."""
        blocker = tmp_path / "file"
        blocker.write_text("")

        assert ExportResult.FAILURE == FileExporter(blocker / "app.log").export([make_record()])

    def test_shutdown(self, tmp_path: Path) -> None:
        """shutdown is idempotent, closes the file and refuses later exports."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, fsync=True)
        exporter.export([make_record("a")])

        exporter.shutdown()
        exporter.shutdown()

        assert ExportResult.FAILURE == exporter.export([make_record("b")])
        assert ["a"] == bodies(path)

    def test_force_flush(self, tmp_path: Path) -> None:
        """force_flush succeeds before opening, while open and with fsync."""
        exporter = FileExporter(tmp_path / "app.log", fsync=True)
        assert exporter.force_flush() is True

        exporter.export([make_record()])

        assert exporter.force_flush(timeout_millis=10) is True

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"max_bytes": -1}, "max_bytes"),
            ({"backup_count": -1}, "backup_count"),
            ({"rotate_interval": -1}, "rotate_interval"),
            ({"rotate_interval": "weekly"}, "'hourly', 'daily'"),
        ],
    )
    def test_bad_arguments(self, tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
        """Invalid sizes, counts and intervals fail at construction with a clear message."""
        with pytest.raises(ValueError, match=message):
            FileExporter(tmp_path / "app.log", **kwargs)


class TestSizeRotation:
    def test_rotates_before_exceeding(self, tmp_path: Path) -> None:
        """A write that would pass max_bytes goes to a fresh file; the old one becomes .1."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE * 2)

        for i in range(3):
            exporter.export([make_record(f"r{i}")])

        assert ["r0", "r1"] == bodies(tmp_path / "app.log.1")
        assert ["r2"] == bodies(path)

    def test_large_batch_goes_to_a_fresh_file(self, tmp_path: Path) -> None:
        """A batch bigger than max_bytes is written whole, to a new file."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE)
        exporter.export([make_record("r0")])

        exporter.export([make_record("r1"), make_record("r2"), make_record("r3")])

        assert ["r1", "r2", "r3"] == bodies(path)
        assert ["r0"] == bodies(tmp_path / "app.log.1")

    def test_large_first_batch_not_rotated(self, tmp_path: Path) -> None:
        """An oversize batch into an empty file does not rotate an empty file away."""
        path = tmp_path / "app.log"

        FileExporter(path, max_bytes=10).export([make_record("r0"), make_record("r1")])

        assert ["app.log"] == sorted(p.name for p in tmp_path.iterdir())

    def test_retention(self, tmp_path: Path) -> None:
        """At most backup_count rotated files are kept, newest as .1."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE, backup_count=2)

        for i in range(6):
            exporter.export([make_record(f"r{i}")])

        assert ["app.log", "app.log.1", "app.log.2"] == sorted(p.name for p in tmp_path.iterdir())
        assert (["r5"], ["r4"], ["r3"]) == (
            bodies(path),
            bodies(tmp_path / "app.log.1"),
            bodies(tmp_path / "app.log.2"),
        )

    def test_leftovers_beyond_count_removed(self, tmp_path: Path) -> None:
        """Backups left by a larger backup_count are deleted at the next rotation."""
        for index in (1, 2, 3, 4):
            (tmp_path / f"app.log.{index}").write_bytes(b"")
        exporter = FileExporter(tmp_path / "app.log", max_bytes=LINE_SIZE, backup_count=2)

        exporter.export([make_record("r0")])
        exporter.export([make_record("r1")])

        assert ["app.log", "app.log.1", "app.log.2"] == sorted(p.name for p in tmp_path.iterdir())

    def test_zero_backups_truncates(self, tmp_path: Path) -> None:
        """With backup_count=0 rotation starts a fresh file and keeps nothing."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE, backup_count=0)

        exporter.export([make_record("r0")])
        exporter.export([make_record("r1")])

        assert ["app.log"] == sorted(p.name for p in tmp_path.iterdir())
        assert ["r1"] == bodies(path)

    def test_rotated_file_permissions(self, tmp_path: Path) -> None:
        """The new file after a rotation gets file_mode too."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE)

        exporter.export([make_record("r0")])
        exporter.export([make_record("r1")])

        assert (0o600, 0o600) == (mode_of(path), mode_of(tmp_path / "app.log.1"))

    def test_compress(self, tmp_path: Path) -> None:
        """With compress, rotated files are gzipped, readable and kept to the count."""
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE, backup_count=2, compress=True)

        for i in range(4):
            exporter.export([make_record(f"r{i}")])

        names = sorted(p.name for p in tmp_path.iterdir())
        assert ["app.log", "app.log.1.gz", "app.log.2.gz"] == names
        assert (["r2"], ["r1"]) == (
            bodies(tmp_path / "app.log.1.gz"),
            bodies(tmp_path / "app.log.2.gz"),
        )
        assert 0o600 == mode_of(tmp_path / "app.log.1.gz")

    def test_compress_failure_keeps_plain_file(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When gzip fails the rotated file stays uncompressed and the error is counted."""

        def broken_copy(*args: Any) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(shutil, "copyfileobj", broken_copy)
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE, compress=True)

        exporter.export([make_record("r0")])

        assert ExportResult.SUCCESS == exporter.export([make_record("r1")])
        assert ["app.log", "app.log.1"] == sorted(p.name for p in tmp_path.iterdir())
        assert 1 == exporter.rotation_errors

    def test_rename_failure_keeps_writing(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When the rename fails, records go on being appended to the same file."""

        def broken_replace(*args: Any) -> None:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "replace", broken_replace)
        path = tmp_path / "app.log"
        exporter = FileExporter(path, max_bytes=LINE_SIZE)

        exporter.export([make_record("r0")])

        assert ExportResult.SUCCESS == exporter.export([make_record("r1")])
        assert ["r0", "r1"] == bodies(path)
        assert 1 == exporter.rotation_errors


class TestTimeRotation:
    def test_rotates_after_interval(self, tmp_path: Path) -> None:
        """Once the file has been open for rotate_interval seconds, the next write rotates."""
        clock = FakeClock()
        path = tmp_path / "app.log"
        exporter = FileExporter(path, rotate_interval=60, clock=clock)

        exporter.export([make_record("r0")])
        clock.now += 59
        exporter.export([make_record("r1")])
        clock.now += 1
        exporter.export([make_record("r2")])

        assert ["r0", "r1"] == bodies(tmp_path / "app.log.1")
        assert ["r2"] == bodies(path)

    def test_interval_restarts_after_rotation(self, tmp_path: Path) -> None:
        """The interval counts from the new file's opening."""
        clock = FakeClock()
        path = tmp_path / "app.log"
        exporter = FileExporter(path, rotate_interval="hourly", clock=clock)

        exporter.export([make_record("r0")])
        clock.now += 3600
        exporter.export([make_record("r1")])
        clock.now += 1800
        exporter.export([make_record("r2")])

        assert ["r1", "r2"] == bodies(path)
        assert ["r0"] == bodies(tmp_path / "app.log.1")

    def test_daily_name(self, tmp_path: Path) -> None:
        """ "daily" means 86,400 seconds."""
        clock = FakeClock()
        path = tmp_path / "app.log"
        exporter = FileExporter(path, rotate_interval="daily", clock=clock)

        exporter.export([make_record("r0")])
        clock.now += 86399
        exporter.export([make_record("r1")])

        assert not (tmp_path / "app.log.1").exists()
        clock.now += 1
        exporter.export([make_record("r2")])
        assert ["r0", "r1"] == bodies(tmp_path / "app.log.1")
