"""Tests for the static backtracking check applied to user redaction patterns."""

from __future__ import annotations

import re
import time

import pytest

from fapilog_otel.errors import ConfigurationError
from fapilog_otel.processors._regex_safety import compile_pattern, unsafe_reason


class TestRefused:
    """Patterns prone to catastrophic backtracking are refused, with the reason."""

    @pytest.mark.parametrize(
        "pattern",
        [
            r"(a+)+",
            r"(a*)*",
            r"(.*)*",
            r"(\w+\s?)+",
            r"(?:\d+)*x",
            r"(.*,){11}P",
            r"(?:a{1,30}){1,30}",
            r"(?=(a+)+)b",
            r"((ab)*c)+",
        ],
    )
    def test_nested_quantifiers(self, pattern: str) -> None:
        """A variable quantifier inside a repeated group is refused."""
        assert "nests a variable-length quantifier" in (unsafe_reason(pattern) or "")

    @pytest.mark.parametrize(
        "pattern",
        [r"(a|b|ab)*c", r"(?:[a-c]x|[b-d]y)+", r"(?:\w|\d\d)+", r"(?i)(ab|AC)+"],
    )
    def test_overlapping_alternatives(self, pattern: str) -> None:
        """Alternatives of a repeated group that can start alike are refused."""
        assert "can match the same text" in (unsafe_reason(pattern) or "")

    @pytest.mark.parametrize("pattern", [r"(a|aa)+", r"(a|ab)+", r"(x|)+", r"(?:a|b?)+c"])
    def test_empty_alternative(self, pattern: str) -> None:
        """An alternative that can match nothing, inside a repeated group, is refused."""
        reason = unsafe_reason(pattern) or ""
        assert "empty string" in reason or "nests" in reason

    @pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<q>['\"]).*(?P=q)", r"(a)?(?(1)b|c)"])
    def test_back_references(self, pattern: str) -> None:
        """Back-references and conditional groups are refused."""
        assert "back-reference" in (unsafe_reason(pattern) or "")

    @pytest.mark.parametrize("pattern", [r"a*", r"x?", r"(?:)", r"\b"])
    def test_empty_match(self, pattern: str) -> None:
        """A pattern that can match the empty string is refused."""
        assert "empty string" in (unsafe_reason(pattern) or "")

    def test_error_names_pattern_and_reason(self) -> None:
        """The configuration error quotes the pattern and says why."""
        with pytest.raises(ConfigurationError) as caught:
            compile_pattern(r"(a+)+$")
        assert "'(a+)+$'" in str(caught.value)
        assert "nests a variable-length quantifier" in str(caught.value)

    @pytest.mark.parametrize("pattern", ["(", "[a-", "a{2,1}", "(?P<1>x)"])
    def test_invalid_regex(self, pattern: str) -> None:
        """A pattern that does not compile is a configuration error naming it."""
        with pytest.raises(ConfigurationError, match="not a usable regular expression"):
            compile_pattern(pattern)


class TestAccepted:
    """Ordinary patterns pass and come back compiled."""

    @pytest.mark.parametrize(
        "pattern",
        [
            r"\bSSN-\d{3}-\d{2}-\d{4}\b",
            r"acct_[A-Za-z0-9]{8,}",
            r"(?:\d{1,3}\.){3}\d{1,3}",
            r"(?:\d{3}-)+\d{4}",
            r"(ab|cd)+",
            r"(?:GET|POST)+ /",
            r"(\w|\d)+",
            r"[a-z]+@[a-z]+\.com",
            r"\w+\s\w+",
            r"(?i)customer-[0-9a-f]{8}",
            r"(?:-\d+)?x",
            r"(?=\d{4})\d+",
        ],
    )
    def test_safe_pattern(self, pattern: str) -> None:
        """The check has no objection and the compiled pattern is returned."""
        assert (None, re.compile(pattern)) == (unsafe_reason(pattern), compile_pattern(pattern))

    def test_refused_pattern_would_really_be_slow(self) -> None:
        """A pattern the check refuses does backtrack; the check is not just pedantry."""
        slow = re.compile(r"(a|aa)+$")
        start = time.perf_counter()
        slow.match("a" * 28 + "b")
        assert time.perf_counter() - start > 0.001
        assert unsafe_reason(slow.pattern) is not None
