"""The durable spool of one OTLP exporter: encoded requests kept on disk until acknowledged.

A spool is a SQLite database (the standard library's ``sqlite3``) holding one row per
request body, oldest first: its sequence number, its record count, a CRC-32 of the body
and the body. The exporter appends a batch's requests before it tries to send them and
removes each one once the collector has acknowledged it, so what a crash, an outage or a
shutdown leaves behind is still there when the next process opens the spool, and is sent
then, in order.

Where: ``<directory>/<exporter name>-<slot>.sqlite``. Each process holds an exclusive
``flock`` on ``<...>-<slot>.lock`` for as long as it uses the slot, and takes the first slot
no other process holds: processes sharing a directory never share a spool, and a process
started after one that died takes over (and replays) the dead one's slot.

Durability (``fsync``): ``always`` syncs every append to disk (SQLite ``synchronous=FULL``,
survives power loss); ``normal`` (default) uses the write-ahead log with
``synchronous=NORMAL`` (survives a crash of the process, not necessarily of the machine);
``off`` leaves it to the operating system.

Bounds: at most ``max_bytes`` of bodies; appending past it evicts the oldest rows first
(counted). A row whose checksum does not match is dropped when read (counted); a database
file SQLite cannot read is moved aside (``.corrupt-<time>``) and a new one started.
Directories are created ``0700`` and files ``0600``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import zlib
from typing import Final

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

from fapilog_otel.errors import ConfigurationError

__all__ = ["FSYNC_POLICIES", "MAX_SLOTS", "Spool", "SpoolCounts"]

#: The ``fsync`` settings and the SQLite ``synchronous`` level each means.
FSYNC_POLICIES: Final = {"always": "FULL", "normal": "NORMAL", "off": "OFF"}

#: Slots tried in a directory before giving up (processes of one service sharing it).
MAX_SLOTS: Final = 64

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    records INTEGER NOT NULL,
    checksum INTEGER NOT NULL,
    body BLOB NOT NULL
)
"""


class SpoolCounts:
    """What happened in a spool since it was opened, in records (and rows kept now)."""

    __slots__ = ("corrupt", "evicted", "found", "pending", "pending_bytes")

    def __init__(self) -> None:
        #: Records left by an earlier process when the spool was opened.
        self.found = 0
        #: Records dropped to stay under the size bound, oldest first.
        self.evicted = 0
        #: Records in rows whose checksum did not match (or a database moved aside).
        self.corrupt = 0
        #: Records and body bytes in the spool now.
        self.pending = 0
        self.pending_bytes = 0


class Spool:
    """A size-bounded FIFO of request bodies in SQLite, safe to use from several threads.

    Args:
        directory: Where the spool lives (made ``0700`` if missing).
        name: The exporter's name (the file name's stem).
        max_bytes: The most body bytes kept; older rows are evicted past it.
        fsync: ``always``, ``normal`` or ``off`` (see the module's docstring).

    Raises:
        ConfigurationError: An unknown ``fsync``, a ``max_bytes`` below 1, a directory that
            cannot be made, no free slot in it, or a database that cannot be opened (a
            read-only directory, say).
    """

    def __init__(self, directory: str, name: str, *, max_bytes: int, fsync: str = "normal") -> None:
        if fsync not in FSYNC_POLICIES:
            raise ConfigurationError(
                f"spool fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}"
            )
        if max_bytes < 1:
            raise ConfigurationError(f"spool size limit must be positive, not {max_bytes!r}")
        self.max_bytes = max_bytes
        self.fsync = fsync
        self.counts = SpoolCounts()
        self._lock = threading.Lock()
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "exporter"
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot make the spool directory {directory!r}: {exc}"
            ) from exc
        self._lock_fd, self.path = _claim_slot(directory, stem)
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            _release(self._lock_fd)
            raise ConfigurationError(f"cannot open the spool {self.path!r}: {exc}") from exc

    # -- opening ----------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            db = self._connect()
        except sqlite3.DatabaseError:
            self._move_aside()
            db = self._connect()
        rows = db.execute("SELECT COUNT(*), TOTAL(records), TOTAL(LENGTH(body)) FROM requests")
        _, records, size = rows.fetchone()
        self.counts.found = self.counts.pending = int(records)
        self.counts.pending_bytes = int(size)
        return db

    def _connect(self) -> sqlite3.Connection:
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            check = db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check!r}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={FSYNC_POLICIES[self.fsync]}")
            db.execute(_SCHEMA)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self) -> None:
        """Move an unreadable database (and its journal files) aside; count it as lost."""
        self.counts.corrupt += 1
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.path + suffix):
                os.replace(self.path + suffix, f"{self.path}.corrupt-{stamp}{suffix}")

    # -- the queue --------------------------------------------------------------------

    def append(self, body: bytes, records: int) -> int:
        """Keep ``body`` (holding ``records`` records) after every row already kept.

        Returns:
            The records evicted (oldest first) to stay under the size bound; a body larger
            than the bound alone evicts everything before it and is kept.

        Raises:
            sqlite3.Error: The row could not be written (a full disk, say).
        """
        checksum = zlib.crc32(body)
        evicted = 0
        with self._lock:
            db = self._db
            while (
                self.counts.pending_bytes and self.counts.pending_bytes + len(body) > self.max_bytes
            ):
                evicted += self._evict_oldest(db)
            db.execute(
                "INSERT INTO requests (records, checksum, body) VALUES (?, ?, ?)",
                (records, checksum, body),
            )
            self.counts.pending += records
            self.counts.pending_bytes += len(body)
        return evicted

    def _evict_oldest(self, db: sqlite3.Connection) -> int:
        row = db.execute(
            "SELECT seq, records, LENGTH(body) FROM requests ORDER BY seq LIMIT 1"
        ).fetchone()
        if row is None:
            self.counts.pending = self.counts.pending_bytes = 0
            return 0
        seq, records, size = row
        db.execute("DELETE FROM requests WHERE seq = ?", (seq,))
        self.counts.pending -= records
        self.counts.pending_bytes -= size
        self.counts.evicted += records
        return int(records)

    def oldest(self) -> tuple[int, bytes, int] | None:
        """The oldest row kept, as ``(seq, body, records)``; None when the spool is empty.

        A row whose checksum does not match its body is deleted and counted as corrupt,
        and the next one is read.
        """
        with self._lock:
            while True:
                row = self._db.execute(
                    "SELECT seq, records, checksum, body FROM requests ORDER BY seq LIMIT 1"
                ).fetchone()
                if row is None:
                    return None
                seq, records, checksum, body = row
                body = bytes(body)
                if zlib.crc32(body) == checksum:
                    return int(seq), body, int(records)
                self._delete(seq, records, len(body))
                self.counts.corrupt += records

    def remove(self, seq: int) -> None:
        """Delete row ``seq`` (acknowledged, or refused for good)."""
        with self._lock:
            row = self._db.execute(
                "SELECT records, LENGTH(body) FROM requests WHERE seq = ?", (seq,)
            ).fetchone()
            if row is not None:
                self._delete(seq, *row)

    def _delete(self, seq: int, records: int, size: int) -> None:
        self._db.execute("DELETE FROM requests WHERE seq = ?", (seq,))
        self.counts.pending -= records
        self.counts.pending_bytes -= size

    # -- lifecycle --------------------------------------------------------------------

    def close(self) -> None:
        """Close the database and give the slot up; what is kept stays on disk."""
        with self._lock:
            try:
                self._db.close()
            finally:
                _release(self._lock_fd)
                self._lock_fd = -1

    def abandon_after_fork(self) -> None:
        """In a forked child: forget the parent's connection and lock (both stay the
        parent's: a SQLite connection must not cross a fork), without closing them."""
        self._lock = threading.Lock()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # the parent's copy keeps its lock
            self._lock_fd = -1


def _claim_slot(directory: str, stem: str) -> tuple[int, str]:
    """Lock the first free slot of ``stem`` in ``directory``; return the lock's fd and the
    database's path."""
    if fcntl is None:  # pragma: no cover - not on POSIX
        return -1, os.path.join(directory, f"{stem}-{os.getpid()}.sqlite")
    for slot in range(MAX_SLOTS):
        base = os.path.join(directory, f"{stem}-{slot}")
        fd = os.open(base + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return fd, base + ".sqlite"
    raise ConfigurationError(
        f"no free spool slot for {stem!r} in {directory!r}: {MAX_SLOTS} processes hold one"
    )


def _release(fd: int) -> None:
    if fd >= 0:
        os.close(fd)
