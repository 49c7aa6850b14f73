"""The audit trail exporter: audit events appended to a tamper-evident file.

See :mod:`fapilog_compliance.audit.chain` for the line format and
:mod:`fapilog_compliance.audit._files` for the files' names.
"""

from __future__ import annotations

import enum
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult, PartialSuccess
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fapilog_compliance.audit import _files
from fapilog_compliance.audit.chain import (
    MIN_KEY_BYTES,
    Chain,
    LineError,
    decode_line,
    record_fields,
    stamp,
)
from fapilog_compliance.audit.events import INVALID, is_audit_event

__all__ = [
    "DEFAULT_MAX_BYTES",
    "KEY_VARIABLE",
    "PATH_VARIABLE",
    "AuditFileConfig",
    "AuditFileExporter",
    "FsyncPolicy",
]

#: The variable naming the trail's live file, when the settings give no path.
PATH_VARIABLE: Final = "FAPILOG_AUDIT_PATH"
#: The variable holding the trail's HMAC key, when the settings give none.
KEY_VARIABLE: Final = "FAPILOG_AUDIT_KEY"
#: The size past which the live file is sealed and rotated.
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024

#: When the trail is synced to disk: ``always`` after every batch, ``normal`` on flush,
#: rotation and shutdown, ``off`` never (the operating system decides).
FsyncPolicy = Literal["always", "normal", "off"]

#: What :meth:`AuditFileExporter.outcomes` counts.
_OUTCOMES: Final = (
    "written",
    "invalid",
    "skipped",
    "failed",
    "rotations",
    "resumes",
    "breaks",
    "write_errors",
)


def _path_from_environment() -> Path | None:
    value = os.environ.get(PATH_VARIABLE)
    return Path(value) if value else None


def _key_from_environment() -> SecretStr | None:
    value = os.environ.get(KEY_VARIABLE)
    return SecretStr(value) if value else None


class AuditFileConfig(BaseModel):
    """Settings of the ``audit_file`` exporter (``FAPILOG_PLUGINS__AUDIT_FILE__<SETTING>``).

    The key is a secret: it never appears in this model's ``repr``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path | None = Field(default_factory=_path_from_environment)
    """The trail's live file (``FAPILOG_AUDIT_PATH``); rotated files go beside it."""

    key: SecretStr | None = Field(default_factory=_key_from_environment)
    """The HMAC key (``FAPILOG_AUDIT_KEY``), at least 16 bytes of UTF-8."""

    max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=0)
    """Seal and rotate the live file before it grows past this; 0: never."""

    fsync: FsyncPolicy = "normal"
    """When the trail is synced to disk (see :data:`FsyncPolicy`)."""


class _State(enum.Enum):
    CLOSED = "closed"  # nothing open: the next audit event opens (or reopens) the trail
    OPEN = "open"
    SHUT_DOWN = "shut down"


class AuditFileExporter:
    """Appends audit events to a tamper-evident trail of HMAC-chained JSON lines.

    Only audit events (:func:`~fapilog_compliance.audit.events.is_audit_event`) are
    written; other records are skipped and count as exported. Each event becomes one line
    whose MAC covers its content, its ``seq`` and the MAC of the line before it.

    Files: the trail is opened on the first audit event, under an exclusive lock
    (``<path>.lock``), with files ``0600`` in directories created ``0700``. When another
    writer holds the lock (another worker process), this one writes a trail of its own,
    ``audit.pid<pid>.log`` (``reason: concurrent``).

    * A new trail starts with a ``header`` line (``reason: genesis``).
    * Past ``max_bytes`` the live file is sealed (a ``seal`` line) and renamed
      ``<path>.<n>``, ``n`` counting from 1; the new live file's header continues the
      chain from the seal (``reason: rotation``).
    * :meth:`shutdown` seals the live file; the next process renames it and goes on in a
      new file (``reason: restart``).
    * A live file its writer did not seal (a crash) is continued after a ``resume`` line,
      once its last line verifies.
    * A live file whose last line does not verify (a torn write, an edit, another key), or
      that is empty, is never appended to: it is renamed ``<path>.<n>`` and a new chain
      starts with a header recording the break (``reason: break``), reported on the
      diagnostics channel. A live file missing while rotated files exist is a break too.
    * A forked child never appends to its parent's trail: it writes its own,
      ``<stem>.pid<pid><suffix>``, whose header names the parent's position.

    Args:
        config: The settings; by default :class:`AuditFileConfig` from the environment.
        diagnostics: Whether warnings are written to stderr (the key is masked in them).

    Raises:
        ConfigurationError: No path or no key, or a key shorter than 16 bytes.
    """

    name: ClassVar[str] = "audit_file"
    fapilog_api_version: ClassVar[int] = 1
    config_model: ClassVar[type[BaseModel]] = AuditFileConfig

    def __init__(self, config: AuditFileConfig | None = None, *, diagnostics: bool = True) -> None:
        config = config if config is not None else AuditFileConfig()
        if config.path is None:
            raise ConfigurationError(
                f"the audit trail needs a file: set {PATH_VARIABLE} or "
                "Settings(plugins={'audit_file': {'path': ...}})"
            )
        secret = config.key.get_secret_value() if config.key is not None else ""
        if not secret:
            raise ConfigurationError(
                f"the audit trail needs an HMAC key: set {KEY_VARIABLE} (at least "
                f"{MIN_KEY_BYTES} bytes) or Settings(plugins={{'audit_file': {{'key': ...}}}})"
            )
        key = secret.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"the audit trail's key ({KEY_VARIABLE}) has {len(key)} bytes; it needs at "
                f"least {MIN_KEY_BYTES}"
            )
        self._key = key
        self._base = config.path.absolute()
        self._path = self._base
        self._max_bytes = config.max_bytes
        self._fsync = config.fsync
        self._diagnostics = Diagnostics(enabled=diagnostics, secrets=(secret,))
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._state = _State.CLOSED
        self._fd = -1
        self._lock_fd = -1
        self._chain = Chain(key)
        self._file_index = 0
        self._lines = 0
        self._size = 0
        #: Where a forked child's trail branched off its parent's.
        self._origin: dict[str, Any] | None = None
        #: Why this process writes a trail of its own: ``fork`` or ``concurrent``.
        self._origin_reason = "fork"
        self._counts = dict.fromkeys(_OUTCOMES, 0)

    def __repr__(self) -> str:
        return (
            f"AuditFileExporter(path={str(self._path)!r}, max_bytes={self._max_bytes!r}, "
            f"fsync={self._fsync!r})"
        )

    @property
    def path(self) -> Path:
        """The live file of the trail this process writes."""
        return self._path

    def outcomes(self) -> Mapping[str, int]:
        """Counts shown in ``stats()["exporters"]["audit_file"]["outcomes"]``.

        ``written`` audit events (``invalid``: of them, those the SOX validator marked),
        ``skipped`` records that are not audit events, ``failed`` audit events not
        written, ``rotations``, ``resumes`` of an unsealed trail, ``breaks`` recorded
        and ``write_errors``.
        """
        return dict(self._counts)

    # -- the exporter contract -----------------------------------------------------------

    def export(self, batch: Sequence[LogRecord]) -> ExportResult | PartialSuccess:
        """Append the batch's audit events to the trail.

        Returns:
            ``SUCCESS`` when every audit event was written (or there was none);
            ``FAILURE`` after :meth:`shutdown`; otherwise a :class:`PartialSuccess`
            rejecting the audit events (the other records are not this exporter's
            business). It never raises.
        """
        events = [record_fields(record) for record in batch if is_audit_event(record)]
        self._check_fork()
        with self._lock:
            if self._state is _State.SHUT_DOWN:
                return ExportResult.FAILURE
            self._counts["skipped"] += len(batch) - len(events)
            if not events:
                return ExportResult.SUCCESS
            try:
                self._ensure_open()
                self._append(events)
            except _files.TrailBusy as exc:
                return self._refuse(events, "audit.busy", f"{exc}; audit events not written")
            except Exception as exc:
                # Whatever failed, the chain in memory may be ahead of the file: drop it,
                # and the next export rereads where the file stands.
                self._lost_file()
                return self._refuse(events, "audit.write", f"cannot write {self._path}: {exc!r}")
            self._counts["written"] += len(events)
            self._counts["invalid"] += sum(1 for event in events if INVALID in event["attributes"])
        return ExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Sync the live file to disk (unless ``fsync`` is ``off``).

        Args:
            timeout_millis: Not used: ``fsync`` cannot be interrupted.

        Returns:
            Whether the data reached the file (and, when synced, the disk).
        """
        self._check_fork()
        with self._lock:
            if self._state is not _State.OPEN:
                return True
            try:
                self._sync()
            except OSError:
                return False
            return True

    def shutdown(self) -> None:
        """Seal the live file, sync it (unless ``fsync`` is ``off``) and close it; later
        exports fail. Idempotent."""
        self._check_fork()
        with self._lock:
            if self._state is _State.SHUT_DOWN:
                return
            if self._state is _State.OPEN:
                try:
                    self._seal("shutdown")
                except OSError as exc:
                    self._diagnostics.warn("audit.write", f"cannot seal {self._path}: {exc!r}")
                self._close_file()
            self._release_lock()
            self._state = _State.SHUT_DOWN

    def reinit_after_fork(self) -> None:
        """In a forked child: a fresh lock, and the child's own trail from now on."""
        self._lock = threading.Lock()
        self._diagnostics.reset_after_fork()
        self._forked()

    def _check_fork(self) -> None:
        """Notice a fork nobody told us about (the exporter used outside a container)."""
        if os.getpid() != self._pid:
            self.reinit_after_fork()

    # -- writing -------------------------------------------------------------------------

    def _refuse(self, events: list[dict[str, Any]], key: str, message: str) -> PartialSuccess:
        self._counts["failed"] += len(events)
        self._diagnostics.warn(key, message)
        return PartialSuccess(rejected=len(events), message=message)

    def _append(self, events: list[dict[str, Any]]) -> None:
        pending: list[bytes] = []
        for fields in events:
            seq, prev = self._chain.seq, self._chain.prev
            line = self._chain.append("record", fields)
            if self._rotation_due(len(line)):
                # The event opens the next file instead: undo its place in this one.
                self._chain.seq, self._chain.prev = seq, prev
                self._write(b"".join(pending))
                pending.clear()
                self._rotate()
                line = self._chain.append("record", fields)
            pending.append(line)
            self._lines += 1
            self._size += len(line)
        self._write(b"".join(pending))
        if self._fsync == "always":
            os.fsync(self._fd)

    def _rotation_due(self, incoming: int) -> bool:
        return bool(self._max_bytes) and self._lines > 1 and self._size + incoming > self._max_bytes

    def _rotate(self) -> None:
        self._seal("rotation")
        self._close_file()
        target = _files.rotated_path(self._path, self._file_index)
        _files.move_aside(self._path, target)
        self._counts["rotations"] += 1
        self._start_file("rotation", self._file_index + 1, {"previous": target.name})

    def _seal(self, reason: str) -> None:
        fields = {"file": self._file_index, "lines": self._lines, "reason": reason, **stamp()}
        self._write(self._chain.append("seal", fields))
        self._sync()

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def _sync(self) -> None:
        if self._fsync != "off":
            os.fsync(self._fd)

    def _close_file(self) -> None:
        fd, self._fd = self._fd, -1
        self._state = _State.CLOSED
        if fd >= 0:
            os.close(fd)

    def _lost_file(self) -> None:
        """After a failed write: close, so the next export rereads the trail's end."""
        self._counts["write_errors"] += 1
        try:
            self._close_file()
        except OSError:
            return

    def _release_lock(self) -> None:
        fd, self._lock_fd = self._lock_fd, -1
        if fd >= 0:
            os.close(fd)

    # -- opening ---------------------------------------------------------------------------

    def _ensure_open(self) -> None:
        if self._state is _State.OPEN:
            return
        _files.make_directories(self._path.parent)
        if self._lock_fd < 0:
            try:
                self._lock_fd = _files.lock(self._lock_path())
            except _files.TrailBusy as exc:
                if self._path != self._base:
                    raise
                self._use_own_trail(str(exc))
                self._lock_fd = _files.lock(self._lock_path())
        self._open_trail()

    def _lock_path(self) -> Path:
        return self._path.with_name(self._path.name + ".lock")

    def _use_own_trail(self, problem: str) -> None:
        """Another writer holds the trail (another worker process of the application):
        write this process's audit events to a trail of its own, ``audit.pid<pid>.log``,
        whose genesis header (reason ``concurrent``) names the trail it could not take."""
        self._path = _files.child_path(self._base, self._pid)
        self._origin = {"pid": self._pid, "busy": self._base.name, "problem": problem}
        self._origin_reason = "concurrent"

    def _open_trail(self) -> None:
        """Find where the trail stands on disk and open the live file to go on from there."""
        path = self._path
        indexes = _files.rotated_indexes(path)
        newest = indexes[-1] if indexes else 0
        if path.exists():
            self._reopen(newest)
        elif newest:
            # Only a crash between a rotation's rename and its new header leaves this
            # legitimately; the live file's events may as well have been deleted.
            problem = f"{path.name} is missing, yet {path.name}.{newest} exists"
            self._break(problem, newest + 1, aside=False)
        elif self._origin is not None and self._origin_reason == "concurrent":
            self._chain = Chain(self._key)
            self._start_file("concurrent", 1, {"concurrent": self._origin})
            self._diagnostics.warn(
                "audit.concurrent",
                f"{self._base} is held by another writer; this process (pid {self._pid}) "
                f"writes its own audit trail {path}",
            )
        elif self._origin is not None:
            self._chain = Chain(self._key)
            self._start_file("fork", 1, {"parent": self._origin})
            self._diagnostics.warn(
                "audit.fork",
                f"a forked child (pid {self._pid}) writes its own audit trail {path}; "
                f"its parent's is {self._base}",
            )
        else:
            self._chain = Chain(self._key)
            self._start_file("genesis", 1, {})

    def _reopen(self, newest: int) -> None:
        """Go on from a live file left by an earlier writer."""
        first, last, lines, complete = _files.read_ends(self._path)
        where = lines
        try:
            if not lines:
                where = 1
                raise LineError("the file is empty")
            if not complete:
                raise LineError("the last line is incomplete (a torn write)")
            tail = decode_line(self._key, last)
            where = 1
            head = decode_line(self._key, first)
            if head["type"] != "header" or not isinstance(head.get("file"), int):
                raise LineError("the file does not start with a header line")
        except LineError as exc:
            self._break(f"{self._path.name} line {where}: {exc}", newest + 1, aside=True)
            return
        index = head["file"]
        if index <= newest:
            problem = f"{self._path.name} is file {index}, but {self._path.name}.{newest} exists"
            self._break(problem, newest + 1, aside=True)
            return
        self._chain = Chain(self._key, tail["seq"] + 1, tail["mac"])
        if tail["type"] == "seal":
            target = _files.rotated_path(self._path, index)
            _files.move_aside(self._path, target)
            reason = "restart" if tail.get("reason") == "shutdown" else "rotation"
            self._start_file(reason, index + 1, {"previous": target.name})
            return
        self._fd = _files.open_append(self._path)
        self._state = _State.OPEN
        self._file_index = index
        self._lines = lines
        self._size = os.fstat(self._fd).st_size
        line = self._chain.append("resume", stamp())
        self._lines += 1
        self._size += len(line)
        self._write(line)
        self._sync()
        self._counts["resumes"] += 1
        self._diagnostics.warn(
            "audit.resume",
            f"audit trail {self._path} was not sealed by its last writer (a crash?); "
            "going on after a resume line",
        )

    def _break(self, problem: str, index: int, *, aside: bool) -> None:
        """Start a new chain, recording why the old one could not be continued."""
        broken: dict[str, Any] = {"problem": problem}
        if aside:
            target = _files.rotated_path(self._path, index)
            _files.move_aside(self._path, target)
            broken["file"] = target.name
            index += 1
        self._counts["breaks"] += 1
        self._diagnostics.warn(
            "audit.break",
            f"audit trail {self._path}: {problem}. The chain cannot go on from there: a new "
            f"chain starts, its header records the break, and verify reports the trail broken",
        )
        self._chain = Chain(self._key)
        self._start_file("break", index, {"broken": broken})

    def _start_file(self, reason: str, index: int, extra: Mapping[str, Any]) -> None:
        """Open the live file (new, or empty) and write its header."""
        self._fd = _files.open_append(self._path)
        self._state = _State.OPEN
        self._file_index = index
        self._size = os.fstat(self._fd).st_size
        header = self._chain.append("header", {"file": index, "reason": reason, **stamp(), **extra})
        self._lines = 1
        self._size += len(header)
        self._write(header)
        self._sync()
        if self._fsync != "off":
            _files.fsync_directory(self._path.parent)

    # -- fork --------------------------------------------------------------------------------

    def _forked(self) -> None:
        """In a forked child: drop the parent's files (keeping its lock) and use our own trail."""
        if os.getpid() == self._pid:
            return
        origin: dict[str, Any] = {"pid": self._pid, "file": self._path.name}
        if self._state is _State.OPEN:
            origin.update(seq=self._chain.seq - 1, mac=self._chain.prev)
            self._state = _State.CLOSED
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                # Our copies only: the parent's descriptors, and its lock, stay.
                os.close(fd)
        self._fd = self._lock_fd = -1
        self._pid = os.getpid()
        self._path = _files.child_path(self._base, self._pid)
        self._origin = origin
        self._origin_reason = "fork"
        self._counts = dict.fromkeys(_OUTCOMES, 0)
