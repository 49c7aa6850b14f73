"""The value detectors of the ``redact_values`` redactor: what a secret inside text looks like.

Each :class:`Detector` has a name (what ``disable`` refers to), *triggers* (cheap regular
expressions, one of which every string containing such a secret matches; the triggers of all
enabled detectors are joined into one pre-filter, so a clean string costs one ``search``), the
shortest text it can find, and a function that masks what it finds. Only the secret is
replaced; the words around it are kept.

The built-in detectors, in the order they run:

``private_key``
    A PEM block ``-----BEGIN ... PRIVATE KEY-----`` up to its ``-----END ... PRIVATE
    KEY-----`` line, or to the end of the text when the block is cut off.
``bearer``
    The credential after ``Bearer`` (any case) when it looks generated: 20 characters or
    more, or 6 or more with a digit, a symbol or an upper-case letter after its first
    character (so ``Bearer tokens`` and ``bearer authentication`` stay); the credential
    after ``Basic`` when it decodes from base64 to a printable ``user:password``.
``url_credentials``
    The password of ``scheme://user:password@host`` (the user name is kept).
``secret_query``
    The value of a ``name=value`` pair (a query parameter after ``?``, ``&`` or ``;``; a
    form body or ``logfmt`` pair at the start of the text or after white space) whose name
    is sensitive by the ``redact_keys`` word rules (``token``, ``access_token``,
    ``api_key``, ``password``, ``client_secret``, ``X-Amz-Credential``,
    ``X-Amz-Security-Token`` ...) or has the word ``sig`` or ``signature``
    (``X-Amz-Signature``, ``X-Goog-Signature``). A bare ``key`` counts only inside a query
    (``?key=...``), not in prose (``cache key=user:42``). ``code`` (an OAuth code, but also
    ``?code=US``) is not masked. The value ends at ``&``, ``#``, ``;``, a quote or white
    space.
``jwt``
    Three or more base64url segments separated by dots, the first starting with ``eyJ``.
``aws_access_key``
    ``AKIA`` or ``ASIA`` and 16 upper-case letters or digits. (An AWS *secret* key has no
    recognisable shape; ``redact_keys`` catches it under its ``aws_secret_access_key`` name.)
``github``
    ``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_`` and 36 or more letters or digits;
    ``github_pat_`` and 22 or more.
``slack``
    ``xoxb-``, ``xoxa-``, ``xoxp-``, ``xoxr-``, ``xoxs-`` and ``xapp-`` tokens; the secret path
    of a ``https://hooks.slack.com/services/...`` (or ``workflows``, ``triggers``) URL.
``stripe``
    ``sk_live_``, ``rk_live_``, ``sk_test_``, ``rk_test_`` and 16 or more letters or digits,
    and ``whsec_`` webhook secrets. Publishable ``pk_`` keys are meant to be public: kept.
``google_api_key``
    ``AIza`` and 35 of ``[0-9A-Za-z_-]``.
``card``
    A payment card number: 13 to 19 digits, first digit 2 to 6 (the ranges the card
    networks issue; epoch timestamps, which start with 1, are never cards), passing the
    Luhn check, either contiguous or in groups split by single spaces or dashes whose first
    group has four digits (``4111 1111 1111 1111``, ``3782-822463-10005``). A number joined
    to a letter on either side (inside a hex digest, say) is not a card. Integers are
    checked too (a card number logged as an ``int``).

Deliberately not secrets: UUIDs, hex digests (a 40-hex git SHA or a SHA-256 is an
identifier of public content, not a credential), ISO timestamps, phone numbers, file paths.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence

from fapilog_otel._cache import remember
from fapilog_otel.processors._sensitive_keys import BUILTIN, key_words

__all__ = [
    "DETECTOR_NAMES",
    "Detector",
    "build_prefilter",
    "card_int",
    "detectors",
    "luhn_valid",
]

#: Masks a string given the mask text; returns the string itself when nothing matched.
Scrub = Callable[[str], str]


class Detector:
    """One kind of secret: its name, its pre-filter trigger, and how it is masked.

    Args:
        name: What config ``disable`` calls it.
        triggers: Regular expressions, each starting with a literal character; every
            string holding such a secret matches one of them.
        min_length: The length of the shortest string that can hold one.
        build: Given the mask text, returns the function that masks a string.
    """

    __slots__ = ("build", "min_length", "name", "triggers")

    def __init__(
        self,
        name: str,
        triggers: tuple[str, ...],
        min_length: int,
        build: Callable[[str], Scrub],
    ) -> None:
        self.name = name
        self.triggers = triggers
        self.min_length = min_length
        self.build = build


def _template(mask: str) -> str:
    """``mask`` escaped for use in a ``re.sub`` replacement template."""
    return mask.replace("\\", "\\\\")


def _whole(pattern: re.Pattern[str]) -> Callable[[str], Scrub]:
    """A builder that masks every whole match of ``pattern``."""

    def build(mask: str) -> Scrub:
        template = _template(mask)

        def scrub(text: str) -> str:
            return pattern.sub(template, text)

        return scrub

    return build


def _gated(needles: tuple[str, ...], builder: Callable[[str], Scrub]) -> Callable[[str], Scrub]:
    """A builder whose scrub runs only on texts holding one of ``needles`` (``in`` is far
    cheaper per character than a regular expression without a literal prefix)."""

    def build(mask: str) -> Scrub:
        inner = builder(mask)

        def scrub(text: str) -> str:
            for needle in needles:
                if needle in text:
                    return inner(text)
            return text

        return scrub

    return build


def _group(pattern: re.Pattern[str], template: str) -> Callable[[str], Scrub]:
    """A builder that replaces matches by ``template``, where ``{mask}`` is the mask."""

    def build(mask: str) -> Scrub:
        replacement = template.replace("{mask}", _template(mask))

        def scrub(text: str) -> str:
            return pattern.sub(replacement, text)

        return scrub

    return build


_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?"
    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)",
    re.DOTALL,
)

_URL_CREDENTIALS = re.compile(r"(://[^:/?#@\s]*):[^/?#\s]+@")

_PAIR_START = re.compile(r"(?:^|(?<=\s))[A-Za-z0-9_.\-\[\]]+=")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-[]")
_QUERY_VALUE = re.compile(r"[^&#;\s\"'<>]+")

#: Words that make a parameter name secret although ``redact_keys`` keeps such keys.
_QUERY_WORDS = frozenset({"sig", "signature"})

_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]*")

_SCHEME = re.compile(r"B(?i:earer|asic)\s+|b(?i:earer|asic)\s+")
_SCHEME_WORDS = frozenset({"bearer", "basic"})
#: A credential runs to white space, a quote or a list delimiter (not just over the
#: token68 alphabet: ``Bearer a=b&c`` must not leave ``b&c`` behind).
_CREDENTIAL = re.compile(r"[^\s\"',;<>()\[\]{}]+")

_AWS_ACCESS_KEY = re.compile(r"(?<![A-Z0-9])A[KS]IA[A-Z0-9]{16}(?![A-Z0-9])")

_GITHUB = re.compile(r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}")

_SLACK_TOKEN = re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}")
_SLACK_WEBHOOK = re.compile(
    r"(://hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9_/-]+", re.IGNORECASE
)

_STRIPE = re.compile(r"[sr]k_(?:live|test)_[0-9A-Za-z]{16,}|whsec_[0-9A-Za-z]{16,}")

_GOOGLE_API_KEY = re.compile(r"AIza[0-9A-Za-z_-]{35}")

_CARD_RUN = re.compile(r"(?<![0-9A-Za-z])[0-9]+(?:[ -][0-9]+)*(?![0-9A-Za-z])")
_DIGITS = re.compile(r"[0-9]+")
#: Every card holds this: a digit 2-6, a digit, then 11 digits or separators.
_CARD_TRIGGER = r"[2-6][0-9][0-9 -]{11}"
_CARD_GATE = re.compile(_CARD_TRIGGER).search

_NAME_CACHE_LIMIT = 512


def luhn_valid(digits: str) -> bool:
    """Whether the digit string ``digits`` passes the Luhn (mod 10) check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if index & 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _is_card(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def card_int(value: int) -> bool:
    """Whether the integer ``value`` is a payment card number (see ``card``)."""
    return 10**12 <= value < 10**19 and _is_card(str(value))


def _card_spans(run: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` offsets of the card numbers in one run of digit groups."""
    groups = [(m.start(), m.end()) for m in _DIGITS.finditer(run)]
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(groups):
        start, end = groups[index]
        size = end - start
        found = -1
        if 13 <= size <= 19:
            found = index if _is_card(run[start:end]) else -1
        elif size == 4:
            digits = run[start:end]
            for later in range(index + 1, len(groups)):
                group_start, group_end = groups[later]
                if group_end - group_start > 6 or len(digits) + group_end - group_start > 19:
                    break
                digits += run[group_start:group_end]
                if _is_card(digits):
                    found = later
        if found < 0:
            index += 1
        else:
            spans.append((start, groups[found][1]))
            index = found + 1
    return spans


def _build_card(mask: str) -> Scrub:
    def scrub(text: str) -> str:
        if _CARD_GATE(text) is None:
            return text
        parts: list[str] = []
        last = 0
        for match in _CARD_RUN.finditer(text):
            run = match.group()
            if len(run) < 13:
                continue
            offset = match.start()
            for start, end in _card_spans(run):
                parts.append(text[last : offset + start])
                parts.append(mask)
                last = offset + end
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)

    return scrub


def _looks_generated(token: str) -> bool:
    """Whether a ``Bearer`` credential looks like a token rather than an English word."""
    if len(token) >= 20:
        return True
    if len(token) < 6:
        return False
    return any(c.isdigit() or not c.isalnum() for c in token) or any(c.isupper() for c in token[1:])


def _is_basic_credential(token: str) -> bool:
    """Whether a ``Basic`` credential is base64 of a printable ``user:password``."""
    try:
        decoded = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in text and text.isprintable()


def _build_credential(mask: str) -> Scrub:
    def scrub(text: str) -> str:
        lowered = text.lower()
        if "bearer" not in lowered and "basic" not in lowered:
            return text
        parts: list[str] = []
        last = 0
        for scheme in _SCHEME.finditer(text):
            start = scheme.start()
            if start < last or (start and (text[start - 1].isalnum() or text[start - 1] == "_")):
                continue
            token = _CREDENTIAL.match(text, scheme.end())
            if token is None:
                continue
            value = token.group()
            if value.lower() in _SCHEME_WORDS:
                continue
            is_secret = (
                _is_basic_credential(value)
                if text[start + 1] in "aA"
                else _looks_generated(value.rstrip("="))
            )
            if is_secret:
                parts.append(text[last : token.start()])
                parts.append(mask)
                last = token.end()
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)

    return scrub


def _secret_name(name: str, in_query: bool) -> bool:
    """Whether a parameter called ``name`` carries a secret (see ``secret_query``)."""
    if name.lower() == "key":
        return in_query
    return not _QUERY_WORDS.isdisjoint(key_words(name)) or BUILTIN.is_sensitive(name)


def _build_query(mask: str) -> Scrub:
    names: dict[tuple[str, bool], bool] = {}

    def is_secret(name: str, in_query: bool) -> bool:
        seen = (name, in_query)
        secret = names.get(seen)
        if secret is None:
            secret = remember(names, seen, _secret_name(name, in_query), _NAME_CACHE_LIMIT)
        return secret

    def scrub(text: str) -> str:
        """Walk the ``=`` signs: a regular expression would try every position."""
        parts: list[str] = []
        last = 0
        equals = text.find("=")
        while equals >= 0:
            start = equals
            while start > last and text[start - 1] in _NAME_CHARS:
                start -= 1
            before = text[start - 1] if start else " "
            value = _QUERY_VALUE.match(text, equals + 1)
            if (
                start < equals
                and value is not None
                and (before in "?&;" or before.isspace())
                and is_secret(text[start:equals], before in "?&;")
            ):
                parts.append(text[last : equals + 1])
                parts.append(mask)
                last = value.end()
                equals = text.find("=", last)
            else:
                equals = text.find("=", equals + 1)
        if not parts:
            return text
        parts.append(text[last:])
        return "".join(parts)

    return scrub


def _build_slack(mask: str) -> Scrub:
    token = _gated(("xox", "xapp-"), _whole(_SLACK_TOKEN))(mask)
    webhook = _gated(("://",), _group(_SLACK_WEBHOOK, r"\g<1>{mask}"))(mask)

    def scrub(text: str) -> str:
        return webhook(token(text))

    return scrub


_NAME = r"[A-Za-z0-9_.\-\[\]]+="

_DETECTORS: tuple[Detector, ...] = (
    Detector("private_key", ("-----BEGIN",), 30, _whole(_PRIVATE_KEY)),
    Detector("bearer", (r"B(?i:earer|asic)\s", r"b(?i:earer|asic)\s"), 10, _build_credential),
    Detector(
        "url_credentials",
        (r"://[^/?#\s]*@",),
        6,
        _group(_URL_CREDENTIALS, r"\g<1>:{mask}@"),
    ),
    Detector("secret_query", (r"\?" + _NAME, "&" + _NAME, ";" + _NAME), 5, _build_query),
    Detector("jwt", (r"J[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.",), 10, _gated(("eyJ",), _whole(_JWT))),
    Detector("aws_access_key", ("A[KS]IA",), 20, _gated(("AKIA", "ASIA"), _whole(_AWS_ACCESS_KEY))),
    Detector("github", ("_[A-Za-z0-9]{16}", "_pat_"), 33, _whole(_GITHUB)),
    Detector("slack", ("xox[abprs]-", "xapp-", r"://(?i:hooks\.slack\.com/)"), 15, _build_slack),
    Detector(
        "stripe",
        ("_[A-Za-z0-9]{16}",),
        22,
        _gated(("k_live_", "k_test_", "whsec_"), _whole(_STRIPE)),
    ),
    Detector("google_api_key", ("AIza",), 39, _whole(_GOOGLE_API_KEY)),
    Detector("card", tuple(d + _CARD_TRIGGER[5:] for d in "23456"), 13, _build_card),
)

#: The names of the built-in detectors, in the order they run.
DETECTOR_NAMES: tuple[str, ...] = tuple(detector.name for detector in _DETECTORS)


def detectors(disabled: Sequence[str] = ()) -> tuple[Detector, ...]:
    """The built-in detectors, in order, without those named in ``disabled``."""
    return tuple(detector for detector in _DETECTORS if detector.name not in disabled)


def build_prefilter(enabled: Sequence[Detector]) -> Callable[[str], object] | None:
    """One test that every string holding a secret of the ``enabled`` detectors passes.

    The triggers are joined into one alternation. Each starts with a literal character
    (``re`` then skips, in C, every position whose character starts no trigger), and
    the characters chosen are rare in prose: ``-``, ``:``, ``?``, ``&``, ``;``, ``_``,
    ``J``, ``A``, ``x``, ``B``/``b``, and the digits 2 to 6. A ``name=value`` pair at
    the start of the text or after a space is tested apart, when the text holds a ``=``.
    Returns ``None`` when no detector is enabled.
    """
    triggers = dict.fromkeys(trigger for detector in enabled for trigger in detector.triggers)
    if not triggers:
        return None
    search = re.compile("|".join(triggers)).search
    if not any(detector.name == "secret_query" for detector in enabled):
        return search
    pair_start = _PAIR_START.search

    def prefilter(text: str) -> object:
        return search(text) or ("=" in text and pair_start(text))

    return prefilter
