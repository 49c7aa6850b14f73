"""Tests for the ``dedupe`` filter."""

from __future__ import annotations

import time
from typing import Any

import pytest
from filter_helpers import FakeClock, make_record
from pydantic import ValidationError

from fapilog_otel.processors._common import hashable
from fapilog_otel.processors.dedupe import (
    SUPPRESSED_ATTRIBUTE,
    WINDOW_ATTRIBUTE,
    Deduplicator,
    DeduplicatorConfig,
)
from fapilog_otel.record import LogRecord, Severity
from fapilog_otel.typing import PLUGIN_API_VERSION, BatchProcessor, Filter


def deduper(clock: FakeClock, **config: Any) -> Deduplicator:
    return Deduplicator(DeduplicatorConfig(**config), clock=clock)


def passes(dedupe: Deduplicator, record: LogRecord) -> bool:
    return dedupe.process(record) is not None


class TestDeduplicatorConfig:
    def test_defaults(self) -> None:
        """A 5 second window, attributes ignored, 10,000 keys."""
        config = DeduplicatorConfig()

        assert (5.0, False, 10_000) == (
            config.window_s,
            config.include_attributes,
            config.max_keys,
        )

    @pytest.mark.parametrize(
        "bad",
        [
            {"window_s": 0},
            {"window_s": -1},
            {"window_s": float("nan")},
            {"include_attributes": "sometimes"},
            {"max_keys": 0},
            {"window": 5},
        ],
    )
    def test_rejects_bad_settings(self, bad: dict[str, Any]) -> None:
        """Bad values and unknown keys are refused."""
        with pytest.raises(ValidationError):
            DeduplicatorConfig(**bad)


class TestDeduplicatorPlugin:
    def test_declares_the_plugin_attributes(self) -> None:
        """It is a filter named "dedupe" that counts drops as "duplicate"."""
        declared = (
            Deduplicator.name,
            Deduplicator.kind,
            Deduplicator.drop_reason,
            Deduplicator.fapilog_api_version,
            Deduplicator.in_place,
            Deduplicator.config_model,
        )

        assert (
            "dedupe",
            "filter",
            "duplicate",
            PLUGIN_API_VERSION,
            True,
            DeduplicatorConfig,
        ) == declared

    def test_repr(self) -> None:
        """The repr shows the window and whether attributes count."""
        assert "Deduplicator(window_s=2.0, include_attributes=True)" == repr(
            Deduplicator(DeduplicatorConfig(window_s=2, include_attributes=True))
        )

    def test_satisfies_the_protocols(self) -> None:
        """It is both a Filter and a BatchProcessor."""
        assert isinstance(Deduplicator(), Filter)
        assert isinstance(Deduplicator(), BatchProcessor)


class TestHashable:
    def test_hashable_values_are_kept(self) -> None:
        """Hashable values come back as they are."""
        values = ["a", 1, None, (1, "b"), 2.5]

        assert values == [hashable(v) for v in values]

    def test_unhashable_values_are_keyed_by_content(self) -> None:
        """Equal lists and dicts get equal, hashable stand-ins; different ones do not."""
        one, same, other = hashable([1, {"a": 2}]), hashable([1, {"a": 2}]), hashable([1])

        assert one == same
        assert hash(one) == hash(same)
        assert one != other

    def test_stand_in_never_equals_a_plain_value(self) -> None:
        """A string that reads like a list's repr is not the list."""
        assert hashable("['a']") != hashable(["a"])
        assert hashable(("['a']",)) != hashable(["a"])

    def test_unrepresentable_values(self) -> None:
        """A value whose repr raises gets a stand-in equal only to itself."""

        class Broken(list[int]):
            def __repr__(self) -> str:
                raise RuntimeError("no")

        value = Broken()

        assert hashable(value) == hashable(value)
        assert hashable(value) != hashable(Broken())


class TestWindow:
    def test_duplicates_within_the_window_are_dropped(self) -> None:
        """The first record passes; the same again within the window does not."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        results = [passes(dedupe, make_record())]
        clock.advance(4.9)
        results.append(passes(dedupe, make_record()))

        assert [True, False] == results

    def test_key_is_scope_severity_and_body(self) -> None:
        """A different logger, severity or body is not a duplicate."""
        dedupe = deduper(FakeClock())
        records = [
            make_record("a"),
            make_record("b"),
            make_record("a", scope="t"),
            make_record("a", severity=Severity.WARNING),
            make_record("a", attributes={"x": 1}),
        ]

        assert [True, True, True, True, False] == [passes(dedupe, r) for r in records]

    def test_unhashable_bodies(self) -> None:
        """Dict and list bodies are compared by content."""
        dedupe = deduper(FakeClock())
        records = [make_record({"a": [1]}), make_record({"a": [1]}), make_record({"a": [2]})]

        assert [True, False, True] == [passes(dedupe, r) for r in records]

    def test_next_occurrence_after_the_window_carries_the_count(self) -> None:
        """After the window, the next occurrence passes with the count of drops."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        for _ in range(4):
            dedupe.process(make_record())

        clock.advance(5)
        record = make_record(attributes={"x": 1})
        kept = dedupe.process(record)

        assert record is kept
        assert {"x": 1, SUPPRESSED_ATTRIBUTE: 3} == record.attributes

    def test_next_occurrence_opens_a_new_window(self) -> None:
        """The occurrence after a window opens the next one, which counts afresh."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        dedupe.process(make_record())
        dedupe.process(make_record())
        clock.advance(6)
        dedupe.process(make_record())

        clock.advance(4)
        dropped = passes(dedupe, make_record())
        clock.advance(2)
        after = dedupe.process(make_record())

        assert not dropped
        assert after is not None
        assert 1 == after.attributes[SUPPRESSED_ATTRIBUTE]

    def test_no_count_without_drops(self) -> None:
        """An occurrence after a window without drops carries no count."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=1)
        dedupe.process(make_record())

        clock.advance(2)
        record = make_record()
        dedupe.process(record)

        assert {} == record.attributes

    def test_window_does_not_slide(self) -> None:
        """Duplicates do not extend the window: it ends window_s after the first record."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        results = []
        for _ in range(6):
            results.append(passes(dedupe, make_record()))
            clock.advance(1)

        assert [True, False, False, False, False, True] == results

    def test_does_not_change_the_callers_dict(self) -> None:
        """The count goes into a new attribute dict; the old dict stays as it was."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=1)
        dedupe.process(make_record())
        dedupe.process(make_record())
        attributes = {"x": 1}

        clock.advance(1)
        dedupe.process(make_record(attributes=attributes))

        assert {"x": 1} == attributes


class TestIncludeAttributes:
    def test_attributes_must_match(self) -> None:
        """With include_attributes, different attributes are not duplicates; order is moot."""
        dedupe = deduper(FakeClock(), include_attributes=True)
        records = [
            make_record(attributes={"a": 1, "b": 2}),
            make_record(attributes={"b": 2, "a": 1}),
            make_record(attributes={"a": 1, "b": 3}),
            make_record(attributes={"a": 1}),
            make_record(),
        ]

        assert [True, False, True, True, True] == [passes(dedupe, r) for r in records]

    def test_unhashable_attribute_values(self) -> None:
        """Lists and dicts among the attributes are compared by content."""
        dedupe = deduper(FakeClock(), include_attributes=True)
        records = [
            make_record(attributes={"ids": [1, 2], "ctx": {"u": "ann", "tags": ["x"]}}),
            make_record(attributes={"ctx": {"u": "ann", "tags": ["x"]}, "ids": [1, 2]}),
            make_record(attributes={"ids": [1, 3], "ctx": {"u": "ann", "tags": ["x"]}}),
            make_record(attributes={"ids": "[1, 2]", "ctx": {"u": "ann", "tags": ["x"]}}),
        ]

        assert [True, False, True, True] == [passes(dedupe, r) for r in records]


class TestSummaries:
    def test_window_ended_without_occurrence_adds_a_summary(self) -> None:
        """An ended window with drops and no new occurrence adds a summary at the batch's end."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        first = make_record("boom", attributes={"x": 1}, timestamp=7)
        assert [first] == dedupe.process_batch([first, make_record("boom"), make_record("boom")])

        clock.advance(5)
        before = time.time_ns()
        out = dedupe.process_batch([make_record("other")])
        after = time.time_ns()

        assert ["other", "boom"] == [r.body for r in out]
        summary = out[1]
        assert summary is not first
        assert {"x": 1, SUPPRESSED_ATTRIBUTE: 2, WINDOW_ATTRIBUTE: 5.0} == summary.attributes
        assert before <= summary.timestamp <= after
        assert summary.timestamp == summary.observed_timestamp
        assert (first.scope, first.severity_number) == (summary.scope, summary.severity_number)
        assert ({"x": 1}, 7) == (first.attributes, first.timestamp)

    def test_summary_is_sent_once(self) -> None:
        """A window's summary goes out once; the next occurrence then carries no count."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        dedupe.process_batch([make_record(), make_record()])
        clock.advance(5)
        assert 1 == len(dedupe.process_batch([]))

        clock.advance(5)
        out = dedupe.process_batch([make_record()])

        assert 1 == len(out)
        assert {} == out[0].attributes

    def test_no_summary_without_drops(self) -> None:
        """A window that dropped nothing ends without a summary and is forgotten."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        dedupe.process_batch([make_record("a"), make_record("b")])

        clock.advance(5)

        assert [] == dedupe.process_batch([])
        assert 0 == dedupe.key_count

    def test_occurrence_in_the_batch_reports_instead(self) -> None:
        """When the batch holds a new occurrence, it carries the count and no summary is added."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        dedupe.process_batch([make_record(), make_record(), make_record()])

        clock.advance(5)
        out = dedupe.process_batch([make_record()])

        assert [{SUPPRESSED_ATTRIBUTE: 2}] == [r.attributes for r in out]

    def test_open_windows_are_kept(self) -> None:
        """Only ended windows are summarised; open ones keep counting."""
        clock = FakeClock()
        dedupe = deduper(clock, window_s=5)
        dedupe.process_batch([make_record("a"), make_record("a")])
        clock.advance(3)
        dedupe.process_batch([make_record("b"), make_record("b"), make_record("b")])

        clock.advance(2)
        first = dedupe.process_batch([])
        clock.advance(3)
        second = dedupe.process_batch([])

        assert [("a", 1)] == [(r.body, r.attributes[SUPPRESSED_ATTRIBUTE]) for r in first]
        assert [("b", 2)] == [(r.body, r.attributes[SUPPRESSED_ATTRIBUTE]) for r in second]

    def test_batch_decides_like_process(self) -> None:
        """process_batch keeps the same records as process, in order."""
        records = [make_record(body) for body in "abacbda"]

        kept = deduper(FakeClock()).process_batch(records)

        assert ["a", "b", "c", "d"] == [r.body for r in kept]


class TestKeyTable:
    def test_bounded_with_the_earliest_window_closed(self) -> None:
        """Past max_keys the earliest opened window is closed, so its record passes again."""
        dedupe = deduper(FakeClock(), max_keys=2)
        for body in "abc":
            dedupe.process(make_record(body))

        assert 2 == dedupe.key_count
        assert passes(dedupe, make_record("a"))
        assert not passes(dedupe, make_record("a"))

    def test_closed_window_with_drops_is_summarised(self) -> None:
        """A window closed early because the table is full reports its drops in the next batch."""
        dedupe = deduper(FakeClock(), max_keys=2)
        dedupe.process_batch([make_record("a"), make_record("a"), make_record("b")])

        out = dedupe.process_batch([make_record("c")])

        assert [("c", None), ("a", 1)] == [
            (r.body, r.attributes.get(SUPPRESSED_ATTRIBUTE)) for r in out
        ]

    def test_stays_bounded(self) -> None:
        """Many distinct records never grow the table past max_keys."""
        dedupe = deduper(FakeClock(), max_keys=50)

        dedupe.process_batch([make_record(str(i)) for i in range(1_000)])

        assert 50 == dedupe.key_count
