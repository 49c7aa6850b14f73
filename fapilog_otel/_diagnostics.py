"""The library's own diagnostics: a rate-limited channel straight to the process's stderr.

It never goes through the ``logging`` module (so the stdlib bridge can never capture it and
loop) and never through a container (so a broken pipeline can still report). Each message
key is printed at most once per interval; what was suppressed is counted and reported with
the next message of that key. Secrets given to a channel (an exporter's header values, its
token) are masked in every message it writes: a server's error answer may quote them back.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable
from typing import TextIO

#: What a secret is replaced with in a message.
MASK = "[REDACTED]"


class Diagnostics:
    """Rate-limited writer of internal warnings, one per container.

    Args:
        enabled: When False nothing is written (counts are still kept).
        interval: Seconds between two messages with the same key.
        stream: Where to write; defaults to the process's original stderr.
        secrets: Texts never written: each is replaced by ``[REDACTED]`` (empty ones are
            ignored).
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        interval: float = 10.0,
        stream: TextIO | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.enabled = enabled
        # Longest first, so a secret that contains another is masked whole.
        self._secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
        self.interval = interval
        self._stream = stream
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}
        self._lock = threading.Lock()
        self.written = 0

    def mask(self, text: str) -> str:
        """``text`` with every secret of this channel replaced by ``[REDACTED]``."""
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text

    def warn(self, key: str, message: str) -> None:
        """Report ``message`` unless a message with ``key`` was reported too recently."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return
            self._last[key] = now
            suppressed = self._suppressed.pop(key, 0)
        if not self.enabled:
            return
        message = self.mask(message)
        if suppressed:
            message = f"{message} ({suppressed} similar messages suppressed)"
        stream = self._stream or sys.__stderr__
        if stream is None:
            return
        try:
            stream.write(f"fapilog_otel: {message}\n")
            stream.flush()
            self.written += 1
        except (OSError, ValueError):
            # stderr is closed or gone: there is nowhere left to report to.
            return

    def reset_after_fork(self) -> None:
        """Give the child process a fresh lock (the parent's may be held by a dead thread)."""
        self._lock = threading.Lock()
