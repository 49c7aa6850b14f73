"""Write records to standard output (or any stream): pretty on a TTY, JSON lines otherwise."""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO, Any, ClassVar, Final, Literal

from fapilog_otel._jsonline import encode_json_line
from fapilog_otel._pretty import render_pretty
from fapilog_otel.record import LogRecord
from fapilog_otel.typing import ExportResult

__all__ = ["ConsoleExporter"]

FORMATS: Final = ("auto", "json", "pretty")


class ConsoleExporter:
    """Writes each batch to a stream with one write and one flush.

    Args:
        stream: Where to write. ``None`` means ``sys.stdout`` as it is at each export, so
            redirection (and pytest's ``capsys``) is honoured. Text streams with a binary
            ``buffer`` get bytes written to the buffer; binary streams get bytes; other text
            streams get ``str``. ``"stdout"``/``"stderr"`` name the standard stream as it is
            at each export. The stream is never closed by this exporter.
        format: ``"json"`` for JSON lines, ``"pretty"`` for human-friendly lines, or
            ``"auto"``: pretty when the stream is a TTY, JSON lines otherwise.
        color: Whether pretty lines get ANSI colours. ``None`` decides per stream: off when
            ``NO_COLOR`` is set (non-empty), on when ``FORCE_COLOR`` is set (non-empty),
            off when ``TERM=dumb``, else on exactly when the stream is a TTY.

    Raises:
        ValueError: When ``format`` is not one of ``"auto"``, ``"json"``, ``"pretty"``.
    """

    name: ClassVar[str] = "console"

    def __init__(
        self,
        stream: IO[Any] | Literal["stdout", "stderr"] | None = None,
        *,
        format: str = "auto",
        color: bool | None = None,
    ) -> None:
        if format not in FORMATS:
            allowed = ", ".join(repr(name) for name in FORMATS)
            raise ValueError(f"format must be one of {allowed}, not {format!r}")
        self._stream_name = stream if isinstance(stream, str) else "stdout"
        if isinstance(stream, str) and stream not in ("stdout", "stderr"):
            raise ValueError(f"stream must be a stream, 'stdout' or 'stderr', not {stream!r}")
        self._stream = None if isinstance(stream, str) else stream
        self._format = format
        self._color = color
        self._lock = threading.Lock()
        self._is_shutdown = False
        # The stream last seen and how to write to it: (stream, pretty, color).
        self._decision: tuple[object, bool, bool] = (None, False, False)

    def export(self, batch: Sequence[LogRecord]) -> ExportResult:
        """Write the batch.

        Args:
            batch: The records to write.

        Returns:
            ``SUCCESS``; ``FAILURE`` when the stream is missing, closed or fails (for
            example a broken pipe), or after :meth:`shutdown`.
        """
        with self._lock:
            if self._is_shutdown:
                return ExportResult.FAILURE
            stream = self._current_stream()
            if stream is None:
                return ExportResult.FAILURE
            try:
                _, pretty, color = self._decide(stream)
                if pretty:
                    _write_text(stream, "".join([render_pretty(r, color) + "\n" for r in batch]))
                else:
                    _write_bytes(stream, b"".join([encode_json_line(r) for r in batch]))
            except (OSError, ValueError):
                return ExportResult.FAILURE
        return ExportResult.SUCCESS

    def reinit_after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may be held by a thread that is gone)."""
        self._lock = threading.Lock()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the stream.

        Args:
            timeout_millis: Not used: each export already flushes.

        Returns:
            Whether the flush succeeded.
        """
        with self._lock:
            stream = self._current_stream()
            if stream is None or self._is_shutdown:
                return True
            try:
                stream.flush()
            except (OSError, ValueError):
                return False
        return True

    def shutdown(self) -> None:
        """Flush once and refuse later exports; the stream stays open. Idempotent."""
        if not self._is_shutdown:
            self.force_flush()
        with self._lock:
            self._is_shutdown = True

    def _current_stream(self) -> IO[Any] | None:
        if self._stream is not None:
            return self._stream
        return sys.stderr if self._stream_name == "stderr" else sys.stdout

    def _decide(self, stream: IO[Any]) -> tuple[object, bool, bool]:
        if self._decision[0] is not stream:
            is_tty = _isatty(stream)
            pretty = self._format == "pretty" or (self._format == "auto" and is_tty)
            color = pretty and (self._color if self._color is not None else _auto_color(is_tty))
            self._decision = (stream, pretty, color)
        return self._decision


def _isatty(stream: IO[Any]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _auto_color(is_tty: bool, environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    return is_tty


def _is_binary(stream: IO[Any]) -> bool:
    return isinstance(stream, (io.RawIOBase, io.BufferedIOBase))


def _write_bytes(stream: IO[Any], data: bytes) -> None:
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()  # whatever the text layer holds must come out first
        buffer.write(data)
        buffer.flush()
    elif _is_binary(stream):
        stream.write(data)
        stream.flush()
    else:
        stream.write(data.decode("utf-8"))
        stream.flush()


def _write_text(stream: IO[Any], text: str) -> None:
    if _is_binary(stream):
        stream.write(text.encode("utf-8", "backslashreplace"))
    else:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            stream.write(text)
        except UnicodeEncodeError:
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()
