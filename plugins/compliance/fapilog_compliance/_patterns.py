"""Personal identifiers inside text, shared by the HIPAA and GDPR profiles.

Each finder returns the ``(start, end)`` offsets of what it recognises; a shape is matched
by a regular expression and then checked in Python, so every expression stays simple
enough for ``re`` never to backtrack badly (the test suite runs each through the
catastrophic-backtracking check of ``fapilog_otel.processors._regex_safety``).

``email``
    ``local@domain.tld``: a local part of letters, digits and ``. % + - _``, a domain of at
    least two labels whose last (the top-level domain) is two or more letters. Trailing
    dots and dashes are not part of it. ``user@localhost`` is not an address.
``phone``
    A North American number written with separators, ``555-123-4567``, ``555.123.4567``,
    ``555 123 4567``, ``(555) 123-4567``, optionally after ``1`` or ``+1``; or an
    international number starting with ``+`` and holding at least 8 digits, grouped or
    not, by single spaces, dots, dashes or parentheses (``+44 20 7946 0958``,
    ``+4915112345678``, ``+33 (0)1 23 45 67 89``). A run of digits with no ``+`` and no
    separators (``5551234567``) is not recognised: order numbers look the same.
``ssn``
    A US Social Security number ``123-45-6789`` or ``123 45 6789`` that is valid: area not
    ``000``, ``666`` or ``9xx``, group not ``00``, serial not ``0000``.
``ipv4``
    Four dotted numbers 0-255 not inside a longer dotted run (``1.3.6.1.4.1`` is not one).
``ipv6``
    A run of hex digits, colons and dots holding at least two colons that Python's
    ``ipaddress`` accepts (``2001:db8::1``, ``fe80::1``, ``::ffff:192.0.2.1``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable

__all__ = [
    "PATTERNS",
    "Span",
    "canonical_ipv4",
    "canonical_ipv6",
    "canonical_phone",
    "email_spans",
    "ipv4_spans",
    "ipv6_spans",
    "merge",
    "phone_spans",
    "replace_spans",
    "ssn_spans",
    "valid_ssn",
]

#: Where something was found: ``(start, end)`` offsets.
Span = tuple[int, int]

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-][\w.-]*")
_NANP = re.compile(
    r"(?<![\w+.-])(?:\+?1[ .-]?)?(?:\([0-9]{3}\)[ .-]?|[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}"
    r"(?![0-9]|[.-][0-9])"
)
_INTERNATIONAL = re.compile(
    r"(?<![\w+])\+[1-9](?:[0-9]|[ .-](?=[0-9(])|\((?=[0-9])|\)(?=[- .0-9]))*"
)
_SSN_DASHED = re.compile(r"(?<![\w-])([0-9]{3})-([0-9]{2})-([0-9]{4})(?![\w-])")
_SSN_SPACED = re.compile(r"(?<![\w-])(?<![0-9] )([0-9]{3}) ([0-9]{2}) ([0-9]{4})(?![\w-]| [0-9])")
#: Every text holding an SSN holds this; every text holding a phone number, one of these.
_SSN_GATE = re.compile(r"[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}")
_PHONE_GATE = re.compile(r"[0-9]{3}[ .-][0-9]{4}|\+[1-9]")
_IPV4 = re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w]|\.[0-9])")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_HEX = frozenset("0123456789abcdefABCDEF")

#: Every expression of this module, for the backtracking check.
PATTERNS: tuple[re.Pattern[str], ...] = (
    _SSN_GATE,
    _PHONE_GATE,
    _EMAIL,
    _NANP,
    _INTERNATIONAL,
    _SSN_DASHED,
    _SSN_SPACED,
    _IPV4,
    _IPV6,
)

#: International numbers have at least this many digits (country code included).
MIN_INTERNATIONAL_DIGITS = 8


def merge(spans: Iterable[Span]) -> list[Span]:
    """``spans`` sorted, overlapping ones joined."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def replace_spans(text: str, spans: list[Span], render: Callable[[str], str]) -> str:
    """``text`` with each of ``spans`` (sorted, disjoint) replaced by ``render(found)``;
    ``text`` itself when there are none."""
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(render(text[start:end]))
        last = end
    parts.append(text[last:])
    return "".join(parts)


def email_spans(text: str) -> list[Span]:
    """Where ``text`` holds e-mail addresses."""
    if "@" not in text:
        return []
    spans: list[Span] = []
    for match in _EMAIL.finditer(text):
        found = match.group()
        at = found.index("@")
        domain = found[at + 1 :].rstrip(".-")
        labels = domain.split(".")
        top = labels[-1]
        if len(labels) < 2 or not all(labels) or len(top) < 2 or not top.isalpha():
            continue
        if not found[:at].strip("."):
            continue
        spans.append((match.start(), match.start() + at + 1 + len(domain)))
    return spans


def phone_spans(text: str) -> list[Span]:
    """Where ``text`` holds phone numbers in a recognisable format."""
    if _PHONE_GATE.search(text) is None:
        return []
    spans = [match.span() for match in _NANP.finditer(text)]
    if "+" in text:
        for match in _INTERNATIONAL.finditer(text):
            digits = sum(1 for char in match.group() if char.isdigit())
            if digits >= MIN_INTERNATIONAL_DIGITS:
                spans.append(match.span())
    return merge(spans) if len(spans) > 1 else spans


def valid_ssn(area: str, group: str, serial: str) -> bool:
    """Whether the parts of an SSN could have been issued."""
    return area != "000" and area != "666" and area[0] != "9" and group != "00" and serial != "0000"


def ssn_spans(text: str) -> list[Span]:
    """Where ``text`` holds valid US Social Security numbers, dashed or spaced."""
    if _SSN_GATE.search(text) is None:
        return []
    spans = [
        match.span()
        for pattern in (_SSN_DASHED, _SSN_SPACED)
        for match in pattern.finditer(text)
        if valid_ssn(*match.groups())
    ]
    return merge(spans) if len(spans) > 1 else spans


def ipv4_spans(text: str) -> list[Span]:
    """Where ``text`` holds IPv4 addresses."""
    if "." not in text:
        return []
    return [
        match.span()
        for match in _IPV4.finditer(text)
        if all(int(part) <= 255 for part in match.group().split("."))
    ]


def ipv6_spans(text: str) -> list[Span]:
    """Where ``text`` holds IPv6 addresses."""
    if text.count(":") < 2:
        return []
    spans: list[Span] = []
    for match in _IPV6.finditer(text):
        found = match.group()
        end = match.end()
        if end < len(text) and (text[end].isalnum() or text[end] == "_"):
            continue
        candidate = found.rstrip(".")
        if candidate.endswith(":") and not candidate.endswith("::"):
            candidate = candidate[:-1]
        if candidate.count(":") < 2 or _HEX.isdisjoint(candidate):
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        start = match.start()
        spans.append((start, start + len(candidate)))
    return spans


def canonical_ipv4(text: str) -> str:
    """``text`` (a dotted IPv4 address) without leading zeros."""
    return ".".join(str(int(part)) for part in text.split("."))


def canonical_ipv6(text: str) -> str:
    """``text`` (an IPv6 address) in its compressed lower-case form."""
    return ipaddress.IPv6Address(text).compressed


def canonical_phone(text: str) -> str:
    """A phone number as ``+`` and its digits; a North American one as ``+1`` and ten."""
    digits = "".join(char for char in text if char.isdigit())
    if text.lstrip().startswith("+"):
        return "+" + digits
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    return "+1" + digits
