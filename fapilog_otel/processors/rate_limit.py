"""The ``rate_limit`` filter: a token bucket per key (logger, message, or an attribute).

Each key's bucket holds up to ``burst`` tokens and refills at ``per_second``; a record
takes a token or is dropped. The first record a bucket lets through after dropping some
carries ``fapilog.rate_limited.suppressed``: how many of its key were dropped since the
last one kept. Records at or above ``keep_at_or_above`` (``error`` by default) are never
limited and take no token.

The key table is bounded by ``max_keys``: when it is full, the least recently used key's
bucket is forgotten (with its count of suppressed records, which is then never reported),
and that key starts again with a full bucket.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fapilog_otel.processors._common import OptionalLevelName, hashable, severity_of
from fapilog_otel.record import LogRecord

__all__ = ["SUPPRESSED_ATTRIBUTE", "RateLimiter", "RateLimiterConfig"]

#: The attribute that says how many records of the key were dropped before this one.
SUPPRESSED_ATTRIBUTE = "fapilog.rate_limited.suppressed"

#: The key of records that lack ``key_attribute``: they share one bucket.
_MISSING = object()


class RateLimiterConfig(BaseModel):
    """Settings of the ``rate_limit`` filter (``FAPILOG_PLUGINS__RATE_LIMIT__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_second: float = Field(100.0, gt=0, allow_inf_nan=False)
    """Records per second each key may pass, on average."""

    burst: int | None = Field(None, ge=1)
    """Records a key may pass at once after being quiet; ``None`` is ``per_second``
    rounded up."""

    key: Literal["scope", "body", "scope_and_body"] = "scope_and_body"
    """What records share a bucket: the same logger, the same body, or both."""

    key_attribute: str | None = Field(None, min_length=1)
    """An attribute whose value is the key instead of ``key`` (records without it share
    one bucket). Setting both ``key`` and this is an error."""

    keep_at_or_above: OptionalLevelName = "error"
    """Records at or above this level are never limited; ``None`` (or ``"none"``) limits
    every level."""

    max_keys: int = Field(10_000, ge=1)
    """Most keys tracked; past it the least recently used key is forgotten."""

    @model_validator(mode="after")
    def _one_key(self) -> RateLimiterConfig:
        if self.key_attribute is not None and "key" in self.model_fields_set:
            raise ValueError("set either 'key' or 'key_attribute', not both")
        return self

    @property
    def burst_size(self) -> int:
        """The bucket size in effect: ``burst``, or ``per_second`` rounded up."""
        return self.burst if self.burst is not None else math.ceil(self.per_second)


def _key_function(config: RateLimiterConfig) -> Callable[[LogRecord], Hashable]:
    """Return the function that gives a record's bucket key under ``config``."""
    attribute = config.key_attribute
    if attribute is not None:
        return lambda record: hashable(record.attributes.get(attribute, _MISSING))
    if config.key == "scope":
        return lambda record: record.scope.name
    if config.key == "body":
        return lambda record: hashable(record.body)
    return lambda record: (record.scope.name, hashable(record.body))


class _Bucket:
    """One key's tokens, when they were last refilled, and the records dropped since a pass."""

    __slots__ = ("suppressed", "tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated
        self.suppressed = 0


class RateLimiter:
    """Drops records of a key that arrive faster than its token bucket allows.

    Args:
        config: The settings; by default 100 records a second per logger and message.
        clock: Seconds from a monotonic clock (``time.monotonic``); tests pass a fake.

    Attributes:
        config: The settings the filter was made with.
    """

    name: ClassVar[str] = "rate_limit"
    kind: ClassVar[str] = "filter"
    drop_reason: ClassVar[str] = "rate_limited"
    fapilog_api_version: ClassVar[int] = 1
    in_place: ClassVar[bool] = True
    config_model: ClassVar[type[BaseModel]] = RateLimiterConfig

    def __init__(
        self,
        config: RateLimiterConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config = config if config is not None else RateLimiterConfig()
        self._clock = clock
        self._rate = config.per_second
        self._burst = float(config.burst_size)
        self._max_keys = config.max_keys
        self._key_of = _key_function(config)
        level = config.keep_at_or_above
        # Above every severity number (1-24), so no record is exempt.
        self._keep_level = severity_of(level) if level is not None else 1 << 30
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()

    def _admit(self, record: LogRecord, now: float) -> LogRecord | None:
        """Take a token for ``record`` at time ``now``; return it, or ``None`` when none is left."""
        if record.severity_number >= self._keep_level:
            return record
        key = self._key_of(record)
        buckets = self._buckets
        bucket = buckets.get(key)
        if bucket is None:
            if len(buckets) >= self._max_keys:
                buckets.popitem(last=False)
            bucket = buckets[key] = _Bucket(self._burst, now)
        else:
            buckets.move_to_end(key)
            elapsed = now - bucket.updated
            if elapsed > 0:
                bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._rate)
                bucket.updated = now
        if bucket.tokens < 1.0:
            bucket.suppressed += 1
            return None
        bucket.tokens -= 1.0
        if bucket.suppressed:
            # A new dict rather than a changed one: the old may be shared with the caller.
            record.attributes = {**record.attributes, SUPPRESSED_ATTRIBUTE: bucket.suppressed}
            bucket.suppressed = 0
        return record

    def process(self, record: LogRecord) -> LogRecord | None:
        """Return ``record`` when its key has a token left, else ``None``.

        Args:
            record: The record to decide on. When records of its key were dropped before
                it, its attribute dict is replaced by one with ``SUPPRESSED_ATTRIBUTE``
                added; nothing else changes.

        Returns:
            The record, or ``None`` to drop it (counted as ``rate_limited``).
        """
        return self._admit(record, self._clock())

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Return the records of a batch that pass, in order, reading the clock once.

        Args:
            records: The batch.

        Returns:
            The records that had a token (see :meth:`process`).
        """
        now = self._clock()
        admit = self._admit
        kept: list[LogRecord] = []
        for record in records:
            if admit(record, now) is not None:
                kept.append(record)
        return kept

    @property
    def key_count(self) -> int:
        """How many keys have a bucket now (at most ``max_keys``)."""
        return len(self._buckets)

    def __repr__(self) -> str:
        config = self.config
        return (
            f"RateLimiter(per_second={config.per_second!r}, burst={config.burst_size!r}, "
            f"key={config.key_attribute or config.key!r})"
        )
