"""The durable spool's store (``otlp/_spool.py``): order, persistence, bounds, checksums,
damaged files, slots per process, permissions. Real SQLite files in a temporary directory."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.otlp._spool import Spool

REPO_ROOT = Path(__file__).resolve().parents[2]


def spool(directory: Path, **options: object) -> Spool:
    options.setdefault("max_bytes", 1 << 20)
    return Spool(str(directory), "otlp", **options)  # type: ignore[arg-type]


def drain(store: Spool) -> list[tuple[bytes, int]]:
    """Every row, oldest first, removed as read."""
    rows = []
    while (row := store.oldest()) is not None:
        seq, body, records = row
        rows.append((body, records))
        store.remove(seq)
    return rows


class TestQueue:
    def test_oldest_first(self, tmp_path: Path) -> None:
        store = spool(tmp_path)
        for i in range(5):
            assert 0 == store.append(b"body %d" % i, i + 1)
        assert (15, 30) == (store.counts.pending, store.counts.pending_bytes)
        assert [(b"body %d" % i, i + 1) for i in range(5)] == drain(store)
        assert (0, 0) == (store.counts.pending, store.counts.pending_bytes)
        store.close()

    def test_a_row_stays_until_removed(self, tmp_path: Path) -> None:
        store = spool(tmp_path)
        store.append(b"a", 1)
        first = store.oldest()
        assert first == store.oldest()
        assert first is not None
        store.remove(first[0])
        store.remove(first[0])  # twice: nothing happens
        assert store.oldest() is None
        store.close()

    def test_kept_across_processes(self, tmp_path: Path) -> None:
        """What one process leaves is found, in order, by the next (a real second process)."""
        store = spool(tmp_path)
        store.append(b"one", 2)
        store.append(b"two", 3)
        store.close()
        script = textwrap.dedent(
            f"""
            from fapilog_otel.otlp._spool import Spool
            store = Spool({str(tmp_path)!r}, "otlp", max_bytes=1 << 20)
            print(store.counts.found, [store.oldest()[1]])
            seq = store.oldest()[0]
            store.remove(seq)
            print(store.oldest()[1])
            store.close()
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert "5 [b'one']\nb'two'\n" == done.stdout
        again = spool(tmp_path)
        assert (3, [(b"two", 3)]) == (again.counts.found, drain(again))
        again.close()


class TestBounds:
    def test_oldest_evicted_past_the_size_bound(self, tmp_path: Path) -> None:
        store = spool(tmp_path, max_bytes=10)
        assert 0 == store.append(b"aaaa", 1)
        assert 0 == store.append(b"bbbb", 2)
        assert 1 == store.append(b"cccc", 4)  # 12 bytes would pass 10: "aaaa" goes
        assert 6 == store.append(b"dddddddd", 8)  # 16, then 12: "bbbb" and "cccc" go
        assert (7, [(b"dddddddd", 8)]) == (store.counts.evicted, drain(store))
        store.close()

    def test_a_body_larger_than_the_bound_is_kept_alone(self, tmp_path: Path) -> None:
        store = spool(tmp_path, max_bytes=4)
        store.append(b"ab", 1)
        assert 1 == store.append(b"too large", 5)
        assert [(b"too large", 5)] == drain(store)
        store.close()

    @pytest.mark.parametrize(
        ("options", "message"),
        [({"fsync": "sometimes"}, "fsync"), ({"max_bytes": 0}, "size limit")],
    )
    def test_bad_options(self, tmp_path: Path, options: dict[str, object], message: str) -> None:
        with pytest.raises(ConfigurationError, match=message):
            spool(tmp_path, **options)

    @pytest.mark.parametrize("fsync", ["always", "normal", "off"])
    def test_fsync_policies(self, tmp_path: Path, fsync: str) -> None:
        store = spool(tmp_path, fsync=fsync)
        store.append(b"x", 1)
        level = store._db.execute("PRAGMA synchronous").fetchone()[0]
        assert {"always": 2, "normal": 1, "off": 0}[fsync] == level
        store.close()


class TestDamage:
    def test_a_row_whose_checksum_fails_is_skipped_and_counted(self, tmp_path: Path) -> None:
        store = spool(tmp_path)
        store.append(b"good one", 1)
        store.append(b"bad", 7)
        store.append(b"good two", 2)
        store._db.execute("UPDATE requests SET body = ? WHERE records = 7", (b"BAD",))
        assert [(b"good one", 1), (b"good two", 2)] == drain(store)
        assert 7 == store.counts.corrupt
        store.close()

    def test_an_unreadable_file_is_moved_aside(self, tmp_path: Path) -> None:
        store = spool(tmp_path)
        store.append(b"x", 1)
        path = store.path
        store.close()
        for suffix in ("-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.remove(path + suffix)
        Path(path).write_bytes(b"this is not a database" * 100)
        again = spool(tmp_path)
        assert (1, 0, None) == (again.counts.corrupt, again.counts.found, again.oldest())
        assert [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
        again.append(b"fresh", 1)
        assert [(b"fresh", 1)] == drain(again)
        again.close()


class TestSlots:
    def test_two_spools_in_one_directory_never_share(self, tmp_path: Path) -> None:
        first = spool(tmp_path)
        second = spool(tmp_path)
        assert first.path != second.path
        first.append(b"first", 1)
        assert second.oldest() is None
        first.close()
        third = spool(tmp_path)  # the slot the first gave up, with what it left
        assert third.path == first.path
        assert [(b"first", 1)] == drain(third)
        second.close()
        third.close()

    def test_a_slot_held_by_another_process_is_skipped(self, tmp_path: Path) -> None:
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys\nfrom fapilog_otel.otlp._spool import Spool\n"
                f"s = Spool({str(tmp_path)!r}, 'otlp', max_bytes=1024)\n"
                "print(s.path, flush=True)\nsys.stdin.read()\n",
            ],
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None
            held = holder.stdout.readline().strip()
            mine = spool(tmp_path)
            assert held.endswith("otlp-0.sqlite") and mine.path.endswith("otlp-1.sqlite")
            mine.close()
        finally:
            holder.communicate("", timeout=30)

    def test_names_are_made_safe_for_files(self, tmp_path: Path) -> None:
        store = Spool(str(tmp_path), "../otlp collector#2", max_bytes=1024)
        assert tmp_path == Path(store.path).parent
        assert Path(store.path).name == ".._otlp_collector_2-0.sqlite"
        store.close()


class TestPermissions:
    def test_directory_and_files_are_private(self, tmp_path: Path) -> None:
        directory = tmp_path / "spool"
        store = spool(directory)
        store.append(b"secret", 1)
        assert 0o700 == stat.S_IMODE(directory.stat().st_mode) & ~_umask_bits()
        for path in directory.iterdir():
            assert 0 == stat.S_IMODE(path.stat().st_mode) & 0o077, path
        store.close()

    def test_a_database_that_cannot_be_opened_is_a_clear_error(self, tmp_path: Path) -> None:
        """The database's path is a directory: SQLite cannot open it."""
        (tmp_path / "otlp-0.sqlite").mkdir()
        with pytest.raises(ConfigurationError, match="cannot open the spool"):
            spool(tmp_path)
        (tmp_path / "otlp-0.sqlite").rmdir()
        again = spool(tmp_path)  # the failed spool let its slot go
        assert again.path.endswith("otlp-0.sqlite")
        again.close()

    def test_a_directory_that_cannot_be_made(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        with pytest.raises(ConfigurationError, match="spool directory"):
            spool(blocker / "spool")


def _umask_bits() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
