"""The ``dedupe`` filter: pass a repeated record once per window, then say how many repeated.

Records are the same when their logger, severity and body are equal (and their attributes,
with ``include_attributes``). The first record of a kind passes and opens a window of
``window_s`` seconds; the same record again within the window is dropped and counted. The
window does not slide: once it has ended, the next occurrence passes, carrying
``fapilog.duplicates.suppressed`` (how many the ended window dropped), and opens a new one.

When a window with drops ends and no occurrence follows, :meth:`Deduplicator.process_batch`
reports the count itself: it appends a summary record, a copy of the window's first record
stamped with the current time and carrying ``fapilog.duplicates.suppressed`` and
``fapilog.duplicates.window_s``. (:meth:`~Deduplicator.process` alone cannot add records,
so only the next occurrence reports then.)

At most ``max_keys`` windows are tracked. When the table is full, the window that opened
earliest (the one closest to ending) is closed early; if it dropped records, its summary
goes out with the next batch.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable, Mapping
from operator import itemgetter
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from fapilog_otel.processors._common import hashable
from fapilog_otel.record import LogRecord

__all__ = [
    "SUPPRESSED_ATTRIBUTE",
    "WINDOW_ATTRIBUTE",
    "Deduplicator",
    "DeduplicatorConfig",
]

#: How many duplicates were dropped (on the next occurrence, or on a summary record).
SUPPRESSED_ATTRIBUTE = "fapilog.duplicates.suppressed"

#: The window's length in seconds (on summary records).
WINDOW_ATTRIBUTE = "fapilog.duplicates.window_s"

_by_name = itemgetter(0)


def _attributes_key(attributes: Mapping[str, Any]) -> Hashable:
    """Return a hashable key equal for equal attributes, whatever their order."""
    items = tuple(sorted(attributes.items(), key=_by_name))
    try:
        hash(items)
    except Exception:
        return tuple((name, hashable(value)) for name, value in items)
    return items


def _key_without_attributes(record: LogRecord) -> Hashable:
    return (record.scope.name, record.severity_number, hashable(record.body))


def _key_with_attributes(record: LogRecord) -> Hashable:
    return (
        record.scope.name,
        record.severity_number,
        hashable(record.body),
        _attributes_key(record.attributes),
    )


class DeduplicatorConfig(BaseModel):
    """Settings of the ``dedupe`` filter (``FAPILOG_PLUGINS__DEDUPE__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(5.0, gt=0, allow_inf_nan=False)
    """Seconds after a record passes during which the same record is dropped."""

    include_attributes: bool = False
    """Whether records must also have equal attributes to count as the same."""

    max_keys: int = Field(10_000, ge=1)
    """Most windows tracked; past it the earliest opened is closed early."""


class _Window:
    """One kind of record's window: its first record, when it opened, and the drops in it."""

    __slots__ = ("first", "opened", "suppressed")

    def __init__(self, first: LogRecord, opened: float) -> None:
        self.first = first
        self.opened = opened
        self.suppressed = 0


class Deduplicator:
    """Drops records repeated within a window and reports how many it dropped.

    Args:
        config: The settings; by default a 5 second window keyed on logger, severity and body.
        clock: Seconds from a monotonic clock (``time.monotonic``); tests pass a fake.
            Summary records are stamped with the wall clock (``time.time_ns``).

    Attributes:
        config: The settings the filter was made with.
    """

    name: ClassVar[str] = "dedupe"
    kind: ClassVar[str] = "filter"
    drop_reason: ClassVar[str] = "duplicate"
    fapilog_api_version: ClassVar[int] = 1
    in_place: ClassVar[bool] = True
    config_model: ClassVar[type[BaseModel]] = DeduplicatorConfig

    def __init__(
        self,
        config: DeduplicatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config = config if config is not None else DeduplicatorConfig()
        self._clock = clock
        self._window_s = config.window_s
        self._max_keys = config.max_keys
        self._key_of = (
            _key_with_attributes if config.include_attributes else _key_without_attributes
        )
        # In the order the windows opened, so the ended ones are always at the front.
        self._windows: OrderedDict[Hashable, _Window] = OrderedDict()
        self._closed_early: deque[_Window] = deque(maxlen=config.max_keys)

    def _check(self, record: LogRecord, now: float) -> LogRecord | None:
        """Pass or drop ``record`` at time ``now``, opening and counting windows."""
        key = self._key_of(record)
        windows = self._windows
        window = windows.get(key)
        if window is None:
            if len(windows) >= self._max_keys:
                _, oldest = windows.popitem(last=False)
                if oldest.suppressed:
                    self._closed_early.append(oldest)
            windows[key] = _Window(record, now)
            return record
        if now - window.opened < self._window_s:
            window.suppressed += 1
            return None
        suppressed = window.suppressed
        if suppressed:
            # A new dict rather than a changed one: the old may be shared with the caller.
            record.attributes = {**record.attributes, SUPPRESSED_ATTRIBUTE: suppressed}
        window.first = record
        window.opened = now
        window.suppressed = 0
        windows.move_to_end(key)
        return record

    def _summary(self, window: _Window, now_ns: int) -> LogRecord:
        """Return the record reporting the drops of an ended ``window``."""
        summary = window.first.copy()
        summary.timestamp = summary.observed_timestamp = now_ns
        summary.attributes[SUPPRESSED_ATTRIBUTE] = window.suppressed
        summary.attributes[WINDOW_ATTRIBUTE] = self._window_s
        return summary

    def _close_ended(self, now: float) -> list[LogRecord]:
        """Forget the windows that have ended by ``now``; return summaries of those with drops."""
        ended: list[_Window] = list(self._closed_early)
        self._closed_early.clear()
        windows = self._windows
        window_s = self._window_s
        while windows:
            key = next(iter(windows))
            window = windows[key]
            if now - window.opened < window_s:
                break
            del windows[key]
            if window.suppressed:
                ended.append(window)
        if not ended:
            return []
        now_ns = time.time_ns()
        return [self._summary(window, now_ns) for window in ended]

    def process(self, record: LogRecord) -> LogRecord | None:
        """Return ``record`` unless it repeats one that passed within the window.

        Args:
            record: The record to decide on. When it is the first occurrence after a window
                with drops, its attribute dict is replaced by one with
                ``SUPPRESSED_ATTRIBUTE`` added; nothing else changes.

        Returns:
            The record, or ``None`` to drop it (counted as ``duplicate``).
        """
        return self._check(record, self._clock())

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Return the batch's records that pass, then summaries of windows that have ended.

        The clock is read once for the batch. After the batch's records, every window that
        has ended is forgotten; those that dropped records (and had no occurrence since to
        report it) add a summary record at the end of the returned list.

        Args:
            records: The batch.

        Returns:
            The records that pass, in order, followed by any summary records.
        """
        now = self._clock()
        check = self._check
        kept: list[LogRecord] = []
        for record in records:
            if check(record, now) is not None:
                kept.append(record)
        kept.extend(self._close_ended(now))
        return kept

    @property
    def key_count(self) -> int:
        """How many windows are tracked now (at most ``max_keys``)."""
        return len(self._windows)

    def __repr__(self) -> str:
        config = self.config
        return (
            f"Deduplicator(window_s={config.window_s!r}, "
            f"include_attributes={config.include_attributes!r})"
        )
