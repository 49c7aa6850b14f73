"""The PCI-DSS profile: card numbers truncated, sensitive authentication data removed.

What :class:`PciRedactor` changes, in the body, every attribute value and every value
nested in them (``exception.message`` and ``exception.stacktrace`` included):

Primary account numbers (PAN)
    13 to 19 digits, first digit 2 to 6 (the ranges the card networks issue: Visa,
    Mastercard, American Express, Discover, JCB, Diners Club, UnionPay, Maestro), passing
    the Luhn check, written contiguously or in up to six groups split by one separator
    character, the same one throughout: a space, a dash or a dot (``4111 1111 1111 1111``,
    ``3782-822463-10005``, ``4111.1111.1111.1111``, ``41 11 1111 1111 1111``). A card
    number glued to letters (``pan4111111111111111``) is still found; one glued to more
    digits (a 25-digit identifier) is not a card number. Integers and whole-number floats
    are checked too. Each is replaced by its truncated form (:func:`truncate_pan`): the
    digits only, at most the first six and the last four shown, at least six masked
    (``411111******1111``; a 13-digit ``4222222222222`` becomes ``422******2222``).
Track data
    Magnetic-stripe track 1 (``%B<PAN>^<NAME>^<YYMM><service code><data>?``, with or
    without the sentinels) and track 2 (``;<PAN>=<YYMM><service code><data>?``, or ``D``
    as the separator, as EMV's track 2 equivalent writes it; without the ``;`` sentinel
    and ``?`` end it counts when its PAN passes the checks above) are replaced whole by
    ``[REDACTED:track]``; so is track data whose card number an earlier redactor already
    masked (``;[REDACTED]=2512101...``), so that the rest of it does not stay in clear.
Sensitive authentication data under its keys
    The whole value under a key naming a card verification code (``cvv``, ``cvc``,
    ``cvv2``, ``cvc2``, ``cvn``, ``cav2``, ``cvd``, ``cid`` alone or as ``card_cid``,
    ``card_verification...``, ``security_code``) becomes ``[REDACTED:cvv]``; under a key
    naming track data (``track1``, ``track2``, ``track3``, ``track_data``, ``magstripe``,
    ``mag_stripe``, ``magnetic_stripe``), ``[REDACTED:track]``; under a key naming a PIN
    (``pin`` as the key's last word, ``pin_block``, ``pin_code``, ``pin_number``),
    ``[REDACTED:pin]``: whatever the value is (a number, a dict...). Keys are compared by
    words, any case and separator (``CVV2``, ``securityCode``,
    ``card-verification-value``), at any depth.

Kept: other numbers (order ids, timestamps, which start with 1, Luhn-invalid runs), keys,
the event name, the scope and the resource.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from fapilog_otel.processors.redact import DEFAULT_MASK
from pydantic import BaseModel, ConfigDict, Field

from fapilog_compliance._config import NameList
from fapilog_compliance._keys import KeyTable, key_words
from fapilog_compliance._patterns import Span, merge
from fapilog_compliance._walk import Decision, ValueWalker, masking

__all__ = [
    "PATTERNS",
    "PciConfig",
    "PciRedactor",
    "is_pan",
    "luhn_valid",
    "truncate_pan",
]

#: The whole value under a card verification code's key becomes this.
CVV_MASK = "[REDACTED:cvv]"
#: Track data, found in text or under its key, becomes this.
TRACK_MASK = "[REDACTED:track]"
#: The whole value under a PIN's key becomes this.
PIN_MASK = "[REDACTED:pin]"
#: The whole value under a key configured in ``keys`` becomes this.
SAD_MASK = "[REDACTED:sad]"
#: What a value becomes when it cannot be read or is nested too deep.
FALLBACK_MASK = "[REDACTED:pci]"

#: A run of digits in which single separators may split groups (13 or more characters).
_RUN = re.compile(r"(?<![0-9])[0-9](?:[0-9]|[ .-](?=[0-9])){12,}")
_GROUP = re.compile(r"[0-9]+")
#: Every text holding a card number or track data holds this (12 or more characters).
_GATE = re.compile(r"[0-9](?:[0-9]|[ .-](?=[0-9])){11,}")


def _track_patterns(masks: tuple[str, ...]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Track 1 and track 2 expressions whose card number may also be one of ``masks``."""
    pan = "|".join(["[0-9]{12,19}", *(re.escape(mask) for mask in masks if mask)])
    return (
        re.compile(rf"%?B?(?<![0-9])(?:{pan})\^[^^\n]{{0,26}}\^[0-9]{{4}}[0-9A-Za-z]{{0,79}}\??"),
        re.compile(rf"(;?)(?<![0-9])({pan})[=D]([0-9]{{4,}})(\??)"),
    )


_TRACK1, _TRACK2 = _track_patterns((DEFAULT_MASK,))

#: Every expression of this module, for the backtracking check.
PATTERNS: tuple[re.Pattern[str], ...] = (_RUN, _GROUP, _GATE, _TRACK1, _TRACK2)

_CVV_WORDS = ("cvv", "cvc", "cvn", "cav", "cvd", "cvv2", "cvc2", "cav2", "cvn2")
_KEYS = KeyTable(
    words={
        **dict.fromkeys(_CVV_WORDS, CVV_MASK),
        "cardverification": CVV_MASK,
        "securitycode": CVV_MASK,
        "cardsecuritycode": CVV_MASK,
        "track1": TRACK_MASK,
        "track2": TRACK_MASK,
        "track3": TRACK_MASK,
        "trackdata": TRACK_MASK,
        "magstripe": TRACK_MASK,
        "pinblock": PIN_MASK,
    },
    phrases={
        ("card", "cid"): CVV_MASK,
        ("card", "verification"): CVV_MASK,
        ("security", "code"): CVV_MASK,
        ("track", "1"): TRACK_MASK,
        ("track", "2"): TRACK_MASK,
        ("track", "3"): TRACK_MASK,
        ("track", "data"): TRACK_MASK,
        ("mag", "stripe"): TRACK_MASK,
        ("magnetic", "stripe"): TRACK_MASK,
        ("pin", "block"): PIN_MASK,
        ("pin", "code"): PIN_MASK,
        ("pin", "number"): PIN_MASK,
    },
)

#: The most groups a card number is written in (``4111 1111 1111 1111 111`` has five).
MAX_GROUPS = 6

_PAN_MIN = 10**12
_PAN_MAX = 10**19


_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """Whether the digit string ``digits`` passes the Luhn (mod 10) check."""
    kept = sum(map(int, digits[-1::-2]))
    doubled = sum(map(int, digits[-2::-2].translate(_DOUBLED)))
    return (kept + doubled) % 10 == 0


def is_pan(digits: str) -> bool:
    """Whether the digit string ``digits`` is a card number: 13 to 19 digits, the first
    2 to 6, passing the Luhn check."""
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def truncate_pan(digits: str) -> str:
    """The truncated form of the card number ``digits``: the first six digits (fewer for
    numbers under 16 digits, so that at least six are always masked), ``*`` for each
    masked digit, the last four (``411111******1111``)."""
    count = len(digits)
    shown = max(0, min(6, count - 10))
    return digits[:shown] + "*" * (count - shown - 4) + digits[-4:]


def _pan_spans(run: str) -> list[Span]:
    """The card numbers in one run of digit groups, as offsets in the run (merged)."""
    groups: list[str] = _GROUP.findall(run)
    count = len(groups)
    if count == 1:
        return [(0, len(run))] if is_pan(run) else []
    starts: list[int] = []
    position = 0
    for group in groups:
        starts.append(position)
        position += len(group) + 1
    spans: list[Span] = []
    for index, first in enumerate(groups):
        if first[0] not in "23456" or len(first) > 19:
            continue
        start = starts[index]
        digits = first
        separator = run[start + len(first)] if index + 1 < count else ""
        last = index
        while True:
            if len(digits) >= 13 and luhn_valid(digits):
                spans.append((start, starts[last] + len(groups[last])))
            last += 1
            if last == count or last - index == MAX_GROUPS or run[starts[last] - 1] != separator:
                break
            digits += groups[last]
            if len(digits) > 19:
                break
    return merge(spans) if len(spans) > 1 else spans


def _truncated(found: str) -> str:
    return truncate_pan("".join(char for char in found if char.isdigit()))


def _mask_tracks(text: str, track1: re.Pattern[str], track2: re.Pattern[str]) -> str:
    """``text`` with track 1 and track 2 data replaced by :data:`TRACK_MASK`."""
    spans: list[Span] = []
    if "^" in text:
        spans.extend(match.span() for match in track1.finditer(text))
    for match in track2.finditer(text):
        start_sentinel, pan, rest, end_sentinel = match.groups()
        sentinels = bool(start_sentinel or end_sentinel)
        if sentinels or (is_pan(pan) if pan.isdigit() else len(rest) >= 7):
            spans.append(match.span())
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in merge(spans):
        parts.append(text[last:start])
        parts.append(TRACK_MASK)
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _mask_pans(text: str) -> str:
    """``text`` with every card number replaced by its truncated form."""
    parts: list[str] = []
    last = 0
    for match in _RUN.finditer(text):
        run = match.group()
        offset = match.start()
        for start, end in _pan_spans(run):
            parts.append(text[last : offset + start])
            parts.append(_truncated(run[start:end]))
            last = offset + end
    if not parts:
        return text
    parts.append(text[last:])
    return "".join(parts)


class PciConfig(BaseModel):
    """Settings of the ``pci`` profile (``FAPILOG_PLUGINS__PCI__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: NameList = Field(default_factory=list)
    """More keys whose whole value is sensitive authentication data, masked as
    ``[REDACTED:sad]``. Each is split into words like a key and matches every key holding
    those words in a row (``verification_value`` matches ``card.verificationValue``)."""


class PciRedactor(ValueWalker):
    """The ``pci`` profile's redactor (see the module docstring for what it masks).

    Args:
        config: The settings; the defaults use the built-in keys only.
        earlier_masks: What the redactors that run before this one put in place of a card
            number (``redact_values`` writes ``[REDACTED]``): track data around such a
            mask is found too, so its expiry date and discretionary data are removed.
    """

    name: ClassVar[str] = "pci"
    config_model: ClassVar[type[BaseModel]] = PciConfig

    def __init__(
        self, config: PciConfig | None = None, earlier_masks: tuple[str, ...] = (DEFAULT_MASK,)
    ) -> None:
        super().__init__(FALLBACK_MASK)
        self.config = config if config is not None else PciConfig()
        self._earlier_masks = tuple(mask for mask in earlier_masks if mask)
        self._track1, self._track2 = _track_patterns(self._earlier_masks)
        self._extra = KeyTable.of_names(self.config.keys, SAD_MASK)
        self._masks = {mask: masking(mask) for mask in (CVV_MASK, TRACK_MASK, PIN_MASK, SAD_MASK)}

    def __repr__(self) -> str:
        return f"PciRedactor(keys={list(self.config.keys)!r})"

    def _decide(self, key: str, context: object) -> Decision:
        words = key_words(key)
        mask = self._extra.category(words) if self._extra else None
        if mask is None:
            mask = _KEYS.category(words)
        if mask is None and words:
            if words[-1] == "pin":
                mask = PIN_MASK
            elif words == ("cid",):
                mask = CVV_MASK
        return (self._masks[mask] if mask is not None else None), None

    def _scan(self, text: str) -> str:
        if _GATE.search(text) is None:
            if not any(mask in text for mask in self._earlier_masks):
                return text
            return _mask_tracks(text, self._track1, self._track2)
        return _mask_pans(_mask_tracks(text, self._track1, self._track2))

    def _integer(self, value: int) -> Any:
        magnitude = -value if value < 0 else value
        if _PAN_MIN <= magnitude < _PAN_MAX:
            digits = str(magnitude)
            if is_pan(digits):
                return truncate_pan(digits)
        return value
