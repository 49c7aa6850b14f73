"""Where each document goes: an index named by a date pattern, or a data stream.

An index pattern is a ``strftime`` pattern applied to the record's time in UTC
(``logs-fapilog-%Y.%m.%d`` files a record of 1 January 2026 under
``logs-fapilog-2026.01.01``); documents are written with the ``index`` action. A data stream
has one name and takes only the ``create`` action.
"""

from __future__ import annotations

import time
from typing import Final

import orjson

__all__ = ["Target"]

_NS_PER_S: Final = 1_000_000_000


class Target:
    """Makes the action line of each document.

    Args:
        index: An index name or ``strftime`` pattern (ignored with ``data_stream``).
        data_stream: A data stream name; documents then use ``op_type: create``.
    """

    def __init__(self, index: str, data_stream: str | None = None) -> None:
        self.op_type = "create" if data_stream else "index"
        self.pattern = data_stream or index
        self._dated = "%" in self.pattern and not data_stream
        self._second = -1
        self._line = self._action(self.pattern)

    def index_name(self, ns: int) -> str:
        """The index or data stream a record at ``ns`` (epoch nanoseconds) goes to."""
        if not self._dated:
            return self.pattern
        return time.strftime(self.pattern, time.gmtime(ns // _NS_PER_S))

    def action_line(self, ns: int) -> bytes:
        """The NDJSON action line (with its newline) for a record at ``ns``."""
        if not self._dated:
            return self._line
        second = ns // _NS_PER_S
        if second != self._second:
            self._second = second
            self._line = self._action(self.index_name(ns))
        return self._line

    def _action(self, name: str) -> bytes:
        return orjson.dumps({self.op_type: {"_index": name}}) + b"\n"
