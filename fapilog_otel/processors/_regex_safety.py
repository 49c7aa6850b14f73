"""A static check that refuses regular expressions prone to catastrophic backtracking.

Python's ``re`` backtracks: a pattern in which one piece of text can be matched in very many
ways takes exponential time on a string that almost matches, and a redaction pattern runs
on every logged string. :func:`compile_pattern` therefore parses each user pattern (with
``re``'s own parser, ``sre_parse``; ``re._parser`` from Python 3.11) and walks the parse
tree. It refuses a pattern when

* it uses a **back-reference** (``\\1``, ``(?P=name)``) or a conditional group
  (``(?(1)a|b)``): matching them is not a regular-language problem and can be exponential;
* a **repetition inside a repetition** can vary in length: a variable quantifier (``+``,
  ``*``, ``?``, ``{m,n}`` with ``m != n``) anywhere inside a quantifier that repeats
  (maximum above one), as in ``(a+)+``, ``(a*)*``, ``(.*)*``, ``(\\w+\\s?)+`` or
  ``(.*,){11}``. Both bounded and small is allowed: ``(?:\\d{1,3}\\.){3}`` (the number of ways,
  ``(n - m + 1) ** outer_max``, must stay within :data:`MAX_BOUNDED_WAYS`); fixed counts
  inside (``(?:\\d{3}-)+``) are always fine;
* an **alternation inside a repetition** has two alternatives that can start with the same
  character, or one that can match the empty string: ``(a|aa)+``, ``(ab|a)*``, ``(x|)+``.
  Alternatives that ``re`` merges into one character class (``(a|b)+``, ``(\\w|\\d)+``) are
  a single choice per character and pass;
* it can match the **empty string** (``a*``, ``x?``): it would put a mask between every two
  characters.

It is a conservative check: it looks at the shape of the pattern only, so it refuses some
patterns that are in fact fast (``(ab|ac)+`` with a common first letter, ``(?:a+b)+``), and
no pattern it accepts should take more than polynomial time. Lookarounds are checked like
any other group. Rewrite a refused pattern without the nesting (``(?:a+b)+`` as
``a[ab]*b``, say), or use a possessive quantifier or atomic group on Python 3.11+.
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any

from fapilog_otel.errors import ConfigurationError

__all__ = ["MAX_BOUNDED_WAYS", "compile_pattern", "unsafe_reason"]

#: ``re``'s parser: a private module on 3.11+, the deprecated ``sre_parse`` before.
_parser: Any = importlib.import_module("re._parser" if sys.version_info >= (3, 11) else "sre_parse")

#: How many ways a bounded repetition inside a bounded repetition may split a text.
MAX_BOUNDED_WAYS = 1024

#: Quantifier bounds at or above this count as unbounded (``re``'s ``MAXREPEAT`` differs by
#: version and platform; no finite bound a person writes comes near it).
_UNBOUNDED = 1 << 31

_BACKREFERENCES = frozenset(
    {
        "GROUPREF",
        "GROUPREF_EXISTS",
        "GROUPREF_IGNORE",
        "GROUPREF_LOC_IGNORE",
        "GROUPREF_UNI_IGNORE",
    }
)
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_ZERO_WIDTH = frozenset({"AT", "ASSERT", "ASSERT_NOT"})
_CHARACTER = frozenset({"LITERAL", "NOT_LITERAL", "IN", "ANY", "CATEGORY"})

_CATEGORIES: dict[str, re.Pattern[str]] = {
    "CATEGORY_DIGIT": re.compile(r"\d"),
    "CATEGORY_NOT_DIGIT": re.compile(r"\D"),
    "CATEGORY_SPACE": re.compile(r"\s"),
    "CATEGORY_NOT_SPACE": re.compile(r"\S"),
    "CATEGORY_WORD": re.compile(r"\w"),
    "CATEGORY_NOT_WORD": re.compile(r"\W"),
    "CATEGORY_LINEBREAK": re.compile(r"\n"),
    "CATEGORY_NOT_LINEBREAK": re.compile(r"[^\n]"),
}

#: Characters tried when asking whether two alternatives can start alike: all of Latin-1
#: and a few from other scripts and classes; the literals and range ends of the two
#: alternatives themselves are added, so overlapping ranges are always found.
_PROBES: tuple[int, ...] = (
    *range(256),
    0x100,
    0x17F,
    0x212A,
    0x660,
    0x2003,
    0x3000,
    0x4E2D,
    0x1F600,
)


class _Unsafe(Exception):
    """Raised inside the walk with the reason a pattern is refused."""


def _op_name(op: Any) -> str:
    return str(op.name)


def _in_class(members: list[tuple[Any, Any]], code: int) -> bool:
    """Whether the character ``code`` is in a parsed ``[...]`` class."""
    negate = False
    found = False
    char = chr(code)
    for op, av in members:
        name = _op_name(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            found = found or av == code
        elif name == "RANGE" or name.startswith("RANGE_"):
            found = found or av[0] <= code <= av[1]
        elif name == "CATEGORY":
            pattern = _CATEGORIES.get(_op_name(av))
            found = found or pattern is None or pattern.match(char) is not None
        else:
            found = True
    return found != negate


def _matches(item: tuple[str, Any], code: int) -> bool:
    """Whether a first-character item of a parse tree can match the character ``code``."""
    name, av = item
    if name == "LITERAL":
        return bool(av == code)
    if name == "NOT_LITERAL":
        return bool(av != code)
    if name == "IN":
        return _in_class(av, code)
    if name == "CATEGORY":
        pattern = _CATEGORIES.get(_op_name(av))
        return pattern is None or pattern.match(chr(code)) is not None
    return True


def _first(items: Any) -> tuple[list[tuple[str, Any]], bool]:
    """The items that can match a sequence's first character, and whether it can be empty."""
    firsts: list[tuple[str, Any]] = []
    for op, av in items:
        name = _op_name(op)
        if name in _CHARACTER:
            firsts.append((name, av))
            return firsts, False
        if name in _ZERO_WIDTH:
            continue
        if name == "SUBPATTERN":
            inner, nullable = _first(av[3])
        elif name == "ATOMIC_GROUP":
            inner, nullable = _first(av)
        elif name == "BRANCH":
            inner, nullable = [], False
            for alternative in av[1]:
                alt_first, alt_nullable = _first(alternative)
                inner.extend(alt_first)
                nullable = nullable or alt_nullable
        elif name in _REPEATS:
            inner, nullable = _first(av[2])
            nullable = nullable or av[0] == 0
        else:
            firsts.append(("ANY", None))
            return firsts, False
        firsts.extend(inner)
        if not nullable:
            return firsts, False
    return firsts, True


def _probes(items: list[tuple[str, Any]]) -> set[int]:
    codes: set[int] = set()
    for name, av in items:
        if name in ("LITERAL", "NOT_LITERAL"):
            codes.update((av, av + 1, max(av - 1, 0)))
        elif name == "IN":
            for op, member in av:
                member_name = _op_name(op)
                if member_name == "LITERAL":
                    codes.add(member)
                elif member_name == "RANGE" or member_name.startswith("RANGE_"):
                    codes.update(member)
    return codes


def _overlap(
    left: list[tuple[str, Any]], right: list[tuple[str, Any]], ignore_case: bool
) -> str | None:
    """A character both item lists can start with, or ``None``."""
    for code in sorted(set(_PROBES) | _probes(left) | _probes(right)):
        char = chr(code)
        variants = {code, ord(char.lower()[0]), ord(char.upper()[0])} if ignore_case else {code}
        if any(_matches(item, v) for item in left for v in variants) and any(
            _matches(item, v) for item in right for v in variants
        ):
            return char
    return None


class _Walker:
    """Walks a parse tree and raises :class:`_Unsafe` at the first risky construct."""

    def __init__(self, ignore_case: bool) -> None:
        self.ignore_case = ignore_case

    def walk(self, items: Any, outer_max: int) -> None:
        """Check ``items``; ``outer_max`` is how often the enclosing repetitions can loop."""
        for op, av in items:
            name = _op_name(op)
            if name in _BACKREFERENCES:
                raise _Unsafe("it uses a back-reference or a conditional group")
            if name == "SUBPATTERN":
                self.walk(av[3], outer_max)
            elif name == "ATOMIC_GROUP":
                self.walk(av, outer_max)
            elif name in ("ASSERT", "ASSERT_NOT"):
                self.walk(av[1], outer_max)
            elif name in _REPEATS:
                self._repeat(av[0], av[1], av[2], outer_max)
            elif name == "BRANCH":
                if outer_max > 1:
                    self._alternatives(av[1])
                for alternative in av[1]:
                    self.walk(alternative, outer_max)

    def _repeat(self, low: int, high: int, body: Any, outer_max: int) -> None:
        if outer_max > 1 and low != high:
            unbounded = outer_max >= _UNBOUNDED or high >= _UNBOUNDED
            if unbounded or (high - low + 1) ** min(outer_max, 64) > MAX_BOUNDED_WAYS:
                raise _Unsafe(
                    "it nests a variable-length quantifier inside a repeated group"
                    " (like (a+)+ or (\\w+\\s?)*), which can backtrack exponentially"
                )
        inner_max = outer_max
        if high > 1:
            inner_max = _UNBOUNDED if high >= _UNBOUNDED else min(outer_max * high, _UNBOUNDED)
        self.walk(body, inner_max)

    def _alternatives(self, alternatives: list[Any]) -> None:
        firsts = []
        for alternative in alternatives:
            first, nullable = _first(alternative)
            if nullable:
                raise _Unsafe(
                    "an alternative of a repeated group can match the empty string"
                    " (like (a|aa)+), so the group can split a text in many ways"
                )
            firsts.append(first)
        for index, left in enumerate(firsts):
            for right in firsts[index + 1 :]:
                shared = _overlap(left, right, self.ignore_case)
                if shared is not None:
                    raise _Unsafe(
                        "two alternatives of a repeated group can match the same text"
                        f" (both can start with {shared!r}), like (a|ab)+"
                    )


def _uses_ignore_case(parsed: Any) -> bool:
    """Whether case is ignored anywhere in the pattern (then everywhere, to be safe)."""
    if parsed.state.flags & re.IGNORECASE:
        return True
    return any(
        _op_name(op) == "SUBPATTERN" and av[1] & re.IGNORECASE for op, av in _flatten(parsed)
    )


def _flatten(items: Any) -> list[tuple[Any, Any]]:
    """Every ``(op, av)`` node of a parse tree, depth first."""
    nodes: list[tuple[Any, Any]] = []
    for op, av in items:
        nodes.append((op, av))
        name = _op_name(op)
        if name == "SUBPATTERN":
            nodes.extend(_flatten(av[3]))
        elif name == "ATOMIC_GROUP":
            nodes.extend(_flatten(av))
        elif name in ("ASSERT", "ASSERT_NOT"):
            nodes.extend(_flatten(av[1]))
        elif name in _REPEATS:
            nodes.extend(_flatten(av[2]))
        elif name == "BRANCH":
            for alternative in av[1]:
                nodes.extend(_flatten(alternative))
        elif name == "GROUPREF_EXISTS":
            nodes.extend(_flatten(av[1]))
            if av[2] is not None:
                nodes.extend(_flatten(av[2]))
    return nodes


def unsafe_reason(pattern: str) -> str | None:
    """Return why ``pattern`` is refused (see the module docstring), or ``None`` if it is not.

    Raises:
        re.error: ``pattern`` is not a valid regular expression.
    """
    parsed = _parser.parse(pattern)
    try:
        _Walker(_uses_ignore_case(parsed)).walk(parsed, 1)
    except _Unsafe as unsafe:
        return str(unsafe)
    if parsed.getwidth()[0] == 0:
        return "it can match the empty string, which would put a mask between all characters"
    return None


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a user redaction pattern, refusing one prone to catastrophic backtracking.

    Raises:
        ConfigurationError: ``pattern`` is not a valid regular expression, or the static
            check of the module docstring refuses it; the message names the pattern and
            the reason.
    """
    try:
        compiled = re.compile(pattern)
        reason = unsafe_reason(pattern)
    except (re.error, RecursionError) as exc:
        raise ConfigurationError(
            f"redaction pattern {pattern!r} is not a usable regular expression: {exc}"
        ) from exc
    if reason is not None:
        raise ConfigurationError(f"redaction pattern {pattern!r} is refused: {reason}")
    return compiled
