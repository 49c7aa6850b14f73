"""Tests for the ``rate_limit`` filter."""

from __future__ import annotations

from typing import Any

import pytest
from filter_helpers import FakeClock, make_record
from pydantic import ValidationError

from fapilog_otel.processors.rate_limit import (
    SUPPRESSED_ATTRIBUTE,
    RateLimiter,
    RateLimiterConfig,
)
from fapilog_otel.record import LogRecord, Severity
from fapilog_otel.typing import PLUGIN_API_VERSION, BatchProcessor, Filter


def limiter(clock: FakeClock, **config: Any) -> RateLimiter:
    return RateLimiter(RateLimiterConfig(**config), clock=clock)


def passes(limit: RateLimiter, record: LogRecord) -> bool:
    return limit.process(record) is not None


class TestRateLimiterConfig:
    def test_defaults(self) -> None:
        """100 a second with a burst of 100, per logger and body, errors exempt."""
        config = RateLimiterConfig()

        assert (100.0, 100, "scope_and_body", None, "error", 10_000) == (
            config.per_second,
            config.burst_size,
            config.key,
            config.key_attribute,
            config.keep_at_or_above,
            config.max_keys,
        )

    def test_burst_defaults_to_the_rate_rounded_up(self) -> None:
        """Without a burst, the bucket holds per_second rounded up (and at least one)."""
        assert (3, 1, 7) == (
            RateLimiterConfig(per_second=2.5).burst_size,
            RateLimiterConfig(per_second=0.1).burst_size,
            RateLimiterConfig(per_second=100, burst=7).burst_size,
        )

    @pytest.mark.parametrize(
        ("given", "expected"), [("WARN", "warning"), ("none", None), (None, None)]
    )
    def test_level(self, given: str | None, expected: str | None) -> None:
        """keep_at_or_above takes level names, aliases, and None (or "none") for no exemption."""
        assert expected == RateLimiterConfig(keep_at_or_above=given).keep_at_or_above

    @pytest.mark.parametrize(
        "bad",
        [
            {"per_second": 0},
            {"per_second": -1},
            {"per_second": float("inf")},
            {"burst": 0},
            {"key": "logger"},
            {"key_attribute": ""},
            {"key": "body", "key_attribute": "user"},
            {"keep_at_or_above": "loud"},
            {"max_keys": 0},
            {"rate": 10},
        ],
    )
    def test_rejects_bad_settings(self, bad: dict[str, Any]) -> None:
        """Bad values, key together with key_attribute, and unknown keys are refused."""
        with pytest.raises(ValidationError):
            RateLimiterConfig(**bad)


class TestRateLimiterPlugin:
    def test_declares_the_plugin_attributes(self) -> None:
        """It is a filter named "rate_limit" that counts drops as "rate_limited"."""
        declared = (
            RateLimiter.name,
            RateLimiter.kind,
            RateLimiter.drop_reason,
            RateLimiter.fapilog_api_version,
            RateLimiter.in_place,
            RateLimiter.config_model,
        )

        assert (
            "rate_limit",
            "filter",
            "rate_limited",
            PLUGIN_API_VERSION,
            True,
            RateLimiterConfig,
        ) == declared

    def test_satisfies_the_protocols(self) -> None:
        """It is both a Filter and a BatchProcessor."""
        assert isinstance(RateLimiter(), Filter)
        assert isinstance(RateLimiter(), BatchProcessor)

    def test_repr(self) -> None:
        """The repr shows the rate, the burst in effect and the key."""
        assert "RateLimiter(per_second=2.5, burst=3, key='user')" == repr(
            RateLimiter(RateLimiterConfig(per_second=2.5, key_attribute="user"))
        )

    def test_real_clock(self) -> None:
        """With the default clock, a burst passes and the record after it is dropped."""
        limit = RateLimiter(RateLimiterConfig(per_second=0.001, burst=2))

        assert [True, True, False] == [passes(limit, make_record()) for _ in range(3)]


class TestTokenBucket:
    def test_burst_then_drop(self) -> None:
        """A quiet key passes its burst at once, then drops."""
        limit = limiter(FakeClock(), per_second=1, burst=3)

        assert [True] * 3 + [False] * 2 == [passes(limit, make_record()) for _ in range(5)]

    def test_refills_at_the_rate(self) -> None:
        """Tokens come back at per_second, fractions accumulating."""
        clock = FakeClock()
        limit = limiter(clock, per_second=2, burst=1)
        assert passes(limit, make_record())
        assert not passes(limit, make_record())

        clock.advance(0.25)
        assert not passes(limit, make_record())
        clock.advance(0.25)
        assert passes(limit, make_record())
        assert not passes(limit, make_record())

    def test_refill_stops_at_the_burst(self) -> None:
        """However long a key is quiet, it saves up no more than the burst."""
        clock = FakeClock()
        limit = limiter(clock, per_second=10, burst=4)
        for _ in range(4):
            limit.process(make_record())

        clock.advance(3600)

        assert [True] * 4 + [False] == [passes(limit, make_record()) for _ in range(5)]

    def test_clock_going_back_adds_nothing(self) -> None:
        """A clock that steps back neither refills nor breaks the bucket."""
        clock = FakeClock()
        limit = limiter(clock, per_second=1, burst=1)
        limit.process(make_record())

        clock.advance(-10)

        assert not passes(limit, make_record())

    def test_batch_reads_the_clock_once(self) -> None:
        """process_batch decides like process at one instant and keeps the order."""
        calls: list[float] = []

        def clock() -> float:
            calls.append(5.0)
            return 5.0

        limit = RateLimiter(RateLimiterConfig(per_second=1, burst=2, key="body"), clock=clock)
        records = [make_record(body) for body in "aabbbca"]

        kept = limit.process_batch(records)

        assert ["a", "a", "b", "b", "c"] == [r.body for r in kept]
        assert 1 == len(calls)


class TestSuppressedCount:
    def test_first_kept_after_drops_carries_the_count(self) -> None:
        """The record passing after drops says how many; the next one carries nothing."""
        clock = FakeClock()
        limit = limiter(clock, per_second=1, burst=1)
        limit.process(make_record())
        for _ in range(4):
            limit.process(make_record())

        clock.advance(1)
        after = limit.process(make_record(attributes={"a": 1}))
        clock.advance(1)
        later = limit.process(make_record())

        assert after is not None and later is not None
        assert {"a": 1, SUPPRESSED_ATTRIBUTE: 4} == after.attributes
        assert {} == later.attributes

    def test_does_not_change_the_callers_dict(self) -> None:
        """The count goes into a new attribute dict; the old dict stays as it was."""
        clock = FakeClock()
        limit = limiter(clock, per_second=1, burst=1)
        limit.process(make_record())
        limit.process(make_record())
        attributes = {"a": 1}
        record = make_record(attributes=attributes)

        clock.advance(1)
        limit.process(record)

        assert {"a": 1} == attributes
        assert {"a": 1, SUPPRESSED_ATTRIBUTE: 1} == record.attributes

    def test_counts_are_per_key(self) -> None:
        """Each key reports only its own drops."""
        clock = FakeClock()
        limit = limiter(clock, per_second=1, burst=1, key="body")
        for body, times in (("a", 3), ("b", 2)):
            for _ in range(times):
                limit.process(make_record(body))

        clock.advance(1)
        kept = limit.process_batch([make_record("b"), make_record("a")])

        assert [1, 2] == [r.attributes[SUPPRESSED_ATTRIBUTE] for r in kept]


class TestKeys:
    def test_scope_and_body_by_default(self) -> None:
        """By default a bucket is per logger and body together."""
        limit = limiter(FakeClock(), per_second=1, burst=1)
        records = [make_record("a"), make_record("b"), make_record("a", scope="t")]

        assert [True, True, True] == [passes(limit, r) for r in records]
        assert [False, False, False] == [passes(limit, r.copy()) for r in records]

    def test_scope(self) -> None:
        """key="scope" shares one bucket across a logger's messages, not across loggers."""
        limit = limiter(FakeClock(), per_second=1, burst=1, key="scope")
        records = [make_record("a"), make_record("b"), make_record("a", scope="t")]

        assert [True, False, True] == [passes(limit, r) for r in records]

    def test_body(self) -> None:
        """key="body" shares one bucket across loggers for the same message."""
        limit = limiter(FakeClock(), per_second=1, burst=1, key="body")
        records = [make_record("a"), make_record("a", scope="t"), make_record("b")]

        assert [True, False, True] == [passes(limit, r) for r in records]

    def test_unhashable_bodies(self) -> None:
        """Dict and list bodies are keyed by content."""
        limit = limiter(FakeClock(), per_second=1, burst=1, key="body")
        records = [make_record({"a": [1]}), make_record({"a": [1]}), make_record([1])]

        assert [True, False, True] == [passes(limit, r) for r in records]

    def test_key_attribute(self) -> None:
        """key_attribute keys by that attribute's value; records without it share a bucket."""
        limit = limiter(FakeClock(), per_second=1, burst=1, key_attribute="user")
        records = [
            make_record("a", attributes={"user": "ann"}),
            make_record("b", attributes={"user": "ann"}),
            make_record("a", attributes={"user": "bob"}),
            make_record("a", attributes={"user": ["x"]}),
            make_record("a", attributes={"user": ["x"]}),
            make_record("a"),
            make_record("b", attributes={"other": 1}),
            make_record("c", attributes={"user": None}),
        ]

        assert [True, False, True, True, False, True, False, True] == [
            passes(limit, r) for r in records
        ]


class TestExemptLevels:
    def test_errors_pass_and_take_no_token(self) -> None:
        """Records at or above keep_at_or_above always pass and leave the bucket alone."""
        limit = limiter(FakeClock(), per_second=1, burst=1, key="scope")
        errors = [make_record(severity=s) for s in (Severity.ERROR, Severity.CRITICAL, 24) * 3]

        assert errors == [r for r in errors if passes(limit, r)]
        assert passes(limit, make_record())
        assert not passes(limit, make_record(severity=Severity.WARNING))

    def test_custom_level(self) -> None:
        """keep_at_or_above="warning" exempts warnings as well."""
        limit = limiter(FakeClock(), per_second=1, burst=1, keep_at_or_above="warning")
        limit.process(make_record())

        assert passes(limit, make_record(severity=Severity.WARNING))

    def test_none_limits_every_level(self) -> None:
        """keep_at_or_above=None limits even critical records."""
        limit = limiter(FakeClock(), per_second=1, burst=1, keep_at_or_above=None)
        records = [make_record(severity=Severity.CRITICAL) for _ in range(2)]

        assert [True, False] == [passes(limit, r) for r in records]


class TestKeyTable:
    def test_bounded_with_least_recently_used_evicted(self) -> None:
        """Past max_keys the least recently used key is forgotten and starts full again."""
        limit = limiter(FakeClock(), per_second=1, burst=1, key="body", max_keys=2)
        limit.process(make_record("a"))
        limit.process(make_record("b"))
        limit.process(make_record("a"))  # "a" is now the most recently used

        limit.process(make_record("c"))

        assert 2 == limit.key_count
        assert passes(limit, make_record("b"))
        assert not passes(limit, make_record("c"))

    def test_stays_bounded(self) -> None:
        """Many distinct keys never grow the table past max_keys."""
        limit = limiter(FakeClock(), key="body", max_keys=50)

        limit.process_batch([make_record(str(i)) for i in range(1_000)])

        assert 50 == limit.key_count
