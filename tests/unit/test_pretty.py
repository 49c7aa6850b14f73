"""Tests for the human-friendly terminal rendering."""

from __future__ import annotations

import re
from typing import Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel._pretty import render_pretty
from fapilog_otel.record import LogRecord, Scope, Severity

# 2026-11-27T12:00:00.123456789Z
TS = 1_795_780_800_123_456_789
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def make_record(**overrides: Any) -> LogRecord:
    fields: dict[str, Any] = {
        "timestamp": TS,
        "severity_text": "INFO",
        "severity_number": Severity.INFO,
        "body": "order placed",
        "scope": Scope("checkout"),
        "resource": Resource({"service.name": "svc"}),
    }
    fields.update(overrides)
    return LogRecord(**fields)


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no")

    __repr__ = __str__


class TestRenderPretty:
    def test_plain_line(self) -> None:
        """Time, padded level, scope, message, attributes and ids appear in that order."""
        record = make_record(
            attributes={"order_id": 123, "amount": 9.99},
            trace_id=0xAB,
            span_id=0xCD,
        )

        expected = (
            "2026-11-27 12:00:00.123 INFO     checkout  order placed  order_id=123 amount=9.99"
            "  trace_id=000000000000000000000000000000ab span_id=00000000000000cd"
        )
        assert expected == render_pretty(record, color=False)

    def test_minimal_line(self) -> None:
        """Without attributes or ids no trailing separators are left."""
        assert "2026-11-27 12:00:00.123 INFO     checkout  order placed" == render_pretty(
            make_record(), color=False
        )

    def test_strings_with_spaces_are_quoted(self) -> None:
        """Empty strings and strings with spaces or quotes are quoted; others are not."""
        record = make_record(attributes={"a": "two words", "b": "word", "c": "x=y", "d": ""})
        assert "a='two words' b=word c=x=y d=''" in render_pretty(record, color=False)

    def test_containers_as_json(self) -> None:
        """Lists and dicts render as compact JSON."""
        record = make_record(attributes={"items": [1, "a"], "m": {"k": None}})
        assert 'items=[1,"a"] m={"k":null}' in render_pretty(record, color=False)

    def test_other_scalars(self) -> None:
        """Booleans, None, bytes and NaN use their sanitized Python forms."""
        record = make_record(attributes={"t": True, "n": None, "b": b"\x00", "f": float("nan")})
        assert "t=True n=None b=AA== f=NaN" in render_pretty(record, color=False)

    def test_hostile_values(self) -> None:
        """Unprintable objects and cycles render instead of raising."""
        loop: list[Any] = []
        loop.append(loop)
        record = make_record(attributes={"u": Unprintable(), "c": loop, 1: "k"})
        line = render_pretty(record, color=False)
        assert "u='<unrepresentable Unprintable>' c=[\"<cycle>\"] 1=k" in line

    def test_stacktrace_follows(self) -> None:
        """The stack trace goes on the next lines and is not repeated as key=value."""
        trace = "Traceback (most recent call last):\n  File 'x'\nValueError: bad\n"
        record = make_record(
            severity_text="ERROR",
            severity_number=Severity.ERROR,
            attributes={"exception.type": "ValueError", "exception.stacktrace": trace},
        )

        lines = render_pretty(record, color=False).split("\n")

        assert [
            "2026-11-27 12:00:00.123 ERROR    checkout  order placed  exception.type=ValueError",
            "Traceback (most recent call last):",
            "  File 'x'",
            "ValueError: bad",
        ] == lines

    def test_event_without_body(self) -> None:
        """An event shows its name first among the attributes."""
        record = make_record(body=None, event_name="user.login", attributes={"user_id": 7})
        assert "checkout  event_name=user.login user_id=7" in render_pretty(record, color=False)

    def test_level_name_from_number(self) -> None:
        """Without severity_text the level name comes from the severity number."""
        record = make_record(severity_text=None, severity_number=Severity.WARNING)
        assert " WARNING  checkout" in render_pretty(record, color=False)

    def test_control_characters_escaped(self) -> None:
        """Escape sequences in a message cannot drive the terminal."""
        record = make_record(body="evil\x1b[2Jmessage", attributes={"v": "a\x1bb"})
        line = render_pretty(record, color=False)
        assert "\x1b" not in line
        assert "evil\\x1b[2Jmessage" in line

    def test_no_color_has_no_escapes(self) -> None:
        """color=False adds no ANSI codes."""
        assert ANSI.search(render_pretty(make_record(attributes={"a": 1}), color=False)) is None

    def test_color_only_adds_escapes(self) -> None:
        """color=True renders the same text, wrapped in ANSI codes."""
        record = make_record(attributes={"a": 1}, trace_id=1, span_id=2)
        colored = render_pretty(record, color=True)
        assert render_pretty(record, color=False) == ANSI.sub("", colored)
        assert "\x1b[32mINFO    \x1b[0m" in colored
        assert "\x1b[1morder placed\x1b[0m" in colored
        assert "\x1b[36ma\x1b[0m=1" in colored
        assert colored.startswith("\x1b[2m2026-11-27 12:00:00.123\x1b[0m")

    def test_level_colors_differ(self) -> None:
        """Each level gets its own colour."""
        codes = set()
        for number in (1, 5, 9, 13, 17, 21):
            colored = render_pretty(make_record(severity_number=number), color=True)
            codes.add(ANSI.findall(colored)[2])
        assert 6 == len(codes)
