"""The built-in redactors, on in every container by default: ``redact_keys`` and ``redact_values``.

:class:`KeyRedactor` masks the whole value under a key that names a secret (``password``,
``X-Api-Key``, ``userPassword``, a configured ``payment.card.number``), at any depth of the
attributes and of a structured body. :class:`ValueRedactor` finds secrets inside text (card
numbers, bearer credentials, JWTs, cloud and SaaS tokens, PEM private keys, passwords in
URLs, secret query parameters, and patterns of the application's own) and masks only them,
keeping the words around them. Both change the record in place; a nested dict or list that
needs a change is replaced by a changed copy, never changed itself, as it may be shared
with a logger's bound context.

Both fail closed on data nested deeper than the record freezer allows (which only records
that did not come through a logger can have): the deeper value is masked, not scanned.
Dict keys, the event name, the severity and the scope are not scanned for secret *values*.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from fapilog_otel._cache import remember
from fapilog_otel._freeze import MAX_DEPTH
from fapilog_otel.errors import ConfigurationError
from fapilog_otel.processors._regex_safety import compile_pattern
from fapilog_otel.processors._secrets import (
    DETECTOR_NAMES,
    build_prefilter,
    card_int,
    detectors,
)
from fapilog_otel.processors._sensitive_keys import KeyWords
from fapilog_otel.record import LogRecord

__all__ = [
    "DEFAULT_MASK",
    "DETECTOR_NAMES",
    "KeyRedactor",
    "KeyRedactorConfig",
    "ValueRedactor",
    "ValueRedactorConfig",
]

#: What a masked value or secret is replaced with, unless configured otherwise.
DEFAULT_MASK = "[REDACTED]"

#: Distinct keys whose decision is cached before the cache is emptied.
KEY_CACHE_LIMIT = 4096

#: Distinct strings whose redacted form is cached before the cache is emptied.
TEXT_CACHE_LIMIT = 4096

#: Strings longer than this are scanned every time, not cached.
MAX_CACHED_LENGTH = 16384

#: Characters the text cache may hold (its keys) before it is emptied: bounds its memory.
TEXT_CACHE_CHARS = 4_000_000

#: Strings longer than this skip the combined pre-filter, which would nearly always pass
#: them, and go straight to the detectors, each behind its own cheap substring test.
PREFILTER_MAX_LENGTH = 256

#: Nesting at which a value is masked instead of scanned; beyond what the freezer keeps.
DEPTH_CUT = MAX_DEPTH + 2

#: Containers scanned for nested keys and values (tuples come from SDK-bridged records).
_CONTAINERS: frozenset[type] = frozenset({dict, list, tuple})

#: Types the value redactor looks into besides ``str`` and ``int``.
_SCANNED: frozenset[type] = frozenset({dict, list, tuple, bytes})

#: The smallest integer that can be a card number (13 digits).
_CARD_MIN = 10**12


def cache_text(cache: dict[str, str], chars: int, text: str, clean: str) -> int:
    """Keep ``clean`` under ``text`` in ``cache``, which holds ``chars`` characters of keys,
    within :data:`TEXT_CACHE_LIMIT` entries and :data:`TEXT_CACHE_CHARS` characters (a
    full cache is emptied first; a text over :data:`MAX_CACHED_LENGTH` is not kept).

    Returns:
        The characters of keys the cache holds now.
    """
    length = len(text)
    if length > MAX_CACHED_LENGTH:
        return chars
    if len(cache) >= TEXT_CACHE_LIMIT or chars + length > TEXT_CACHE_CHARS:
        cache.clear()
        chars = 0
    cache[text] = clean
    return chars + length


class _Redactor:
    """What both redactors share: one record is cleaned as a batch of one."""

    def process(self, record: LogRecord) -> LogRecord:
        """Clean ``record`` in place (see ``process_batch``) and return it."""
        self.process_batch([record])
        return record

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Clean every record of a batch in place; return the same list."""
        raise NotImplementedError


class KeyRedactorConfig(BaseModel):
    """Settings of the ``redact_keys`` redactor (``FAPILOG_PLUGINS__REDACT_KEYS__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[str] = Field(default_factory=list)
    """More sensitive names. A name without dots is split into words like a key and masks
    every key holding those words in a row (``ssn`` masks ``ssn``, ``user_ssn``, ``SSN``).
    A dotted name is a path matched exactly, case-insensitively, from the top: ``user.ssn``
    masks key ``ssn`` in the dict under attribute ``user`` (lists along the way are looked
    through), and an attribute literally named ``user.ssn`` too."""

    allow_keys: list[str] = Field(default_factory=list)
    """Keys never masked (exact names, case-insensitive); their nested values are still
    scanned."""

    mask: str = DEFAULT_MASK
    """What a sensitive key's value is replaced with."""


class _PathNode:
    """One step of the configured dotted paths: the keys that continue them from here."""

    __slots__ = ("children", "end")

    def __init__(self) -> None:
        self.children: dict[str, _PathNode] = {}
        self.end = False

    def add(self, parts: list[str]) -> None:
        """Add the path ``parts`` (lower-case) below this node."""
        node = self
        for part in parts:
            node = node.children.setdefault(part, _PathNode())
        node.end = True

    def step(self, key: str) -> bool | _PathNode:
        """Follow ``key`` (split on dots): ``True`` when a path ends on it, the node it
        reaches when paths go on below it, ``False`` when no path goes through it."""
        node = self
        for part in key.lower().split("."):
            found = node.children.get(part)
            if found is None:
                return False
            if found.end:
                return True
            node = found
        return node


#: A key's fate: ``True`` masks its value, a path node scans its value along the path,
#: ``False`` scans its value as usual.
_Decision = bool | _PathNode


class KeyRedactor(_Redactor):
    """Masks the values of keys that name secrets, in the attributes and a structured body.

    Which keys are sensitive is explained in ``fapilog_otel.processors._sensitive_keys``:
    keys are split into words (``X-Api-Key``: ``x api key``; ``userPassword``: ``user
    password``) and a key is sensitive when a word is one of ``password``, ``passwd``,
    ``pwd``, ``passphrase``, ``passcode``, ``secret(s)``, ``token``, ``authorization``,
    ``auth``, ``cookie(s)``, ``credential(s)``, ``creds``, ``apikey``, ``jwt``,
    ``bearer``, ``sessionid``, ``sessid``, ``jsessionid``, ``phpsessid``, ``csrf``,
    ``xsrf``, ``cvv``, ``cvc`` and the run-together ``accesstoken``, ``refreshtoken``,
    ``idtoken``, ``authtoken``, ``apitoken``, ``clientsecret``, ``privatekey``,
    ``secretkey``, ``accesskey``, ``signingkey``; when its last word is ``session``,
    ``otp`` or ``pin``; or when adjacent words are ``api key``, ``access key``, ``private
    key``, ``signing key``, ``encryption key``, ``master key``, ``session id``, ``session
    key``, ``pin code``, ``pin number``, ``card number``, ``credit card`` or ``security
    code``. Kept: ``author``, ``oauth_provider``, ``tokens``/``max_tokens``,
    ``session_count``, ``cache_key``, ``public_key``, ``pass``.

    The value under a sensitive key is replaced whole (a dict or list too). Other dict and
    list values are scanned recursively. Decisions are cached per key string.

    Args:
        config: The settings; the defaults use the built-in words only.

    Attributes:
        config: The settings the redactor was made with.
    """

    name: ClassVar[str] = "redact_keys"
    kind: ClassVar[str] = "redactor"
    fapilog_api_version: ClassVar[int] = 1
    in_place: ClassVar[bool] = True
    config_model: ClassVar[type[BaseModel]] = KeyRedactorConfig

    def __init__(self, config: KeyRedactorConfig | None = None) -> None:
        self.config = config = config if config is not None else KeyRedactorConfig()
        self._mask = config.mask
        self._allow = frozenset(key.lower() for key in config.allow_keys)
        root = _PathNode()
        names: list[str] = []
        for key in config.keys:
            if "." in key:
                parts = key.lower().split(".")
                if not all(parts):
                    raise ConfigurationError(f"redact_keys: key path {key!r} has an empty part")
                root.add(parts)
            elif not key.strip():
                raise ConfigurationError("redact_keys: an empty name in keys")
            else:
                names.append(key)
        self._words = KeyWords(names)
        self._root: _PathNode | None = root if root.children else None
        self._plain: dict[str, _Decision] = {}
        self._top: dict[str, _Decision] = {} if self._root is not None else self._plain

    def _decide(self, key: str, node: _PathNode | None) -> _Decision:
        """The uncached decision for ``key`` reached at path ``node``."""
        if key.lower() in self._allow:
            step = node.step(key) if node is not None else False
            return step if step.__class__ is _PathNode else False
        if self._words.is_sensitive(key):
            return True
        return node.step(key) if node is not None else False

    def _decision(self, key: str, node: _PathNode | None) -> _Decision:
        """The decision for ``key`` at path ``node``, cached at the top and off any path."""
        if node is None:
            cache = self._plain
        elif node is self._root:
            cache = self._top
        else:
            return self._decide(key, node)
        decision = cache.get(key)
        if decision is None:
            decision = remember(cache, key, self._decide(key, node), KEY_CACHE_LIMIT)
        return decision

    def _scrub(self, value: Any, node: _PathNode | None, depth: int) -> Any:
        """``value`` with sensitive keys masked; a changed container comes back as a copy."""
        if depth >= DEPTH_CUT:
            return self._mask
        mask = self._mask
        cls = value.__class__
        if cls is dict:
            out = value
            for key, item in value.items():
                decision = self._decision(key if key.__class__ is str else str(key), node)
                if decision is True:
                    if item is mask:
                        continue
                    new = mask
                elif item.__class__ in _CONTAINERS:
                    child = decision if decision.__class__ is _PathNode else None
                    new = self._scrub(item, child, depth + 1)
                    if new is item:
                        continue
                else:
                    continue
                if out is value:
                    out = dict(value)
                out[key] = new
            return out
        if cls is list or cls is tuple:
            changed: list[Any] | None = None
            for index, item in enumerate(value):
                if item.__class__ in _CONTAINERS:
                    new = self._scrub(item, node, depth + 1)
                    if new is not item:
                        if changed is None:
                            changed = list(value)
                        changed[index] = new
            if changed is None:
                return value
            return changed if cls is list else tuple(changed)
        return value

    @property
    def mask(self) -> str:
        """What a sensitive key's value is replaced with."""
        return self._mask

    def masks(self, key: str) -> bool:
        """Whether the value of the top-level attribute ``key`` is masked whole.

        For a value that is no dict, list or tuple this is all :meth:`process_batch` does
        to it (the worker's direct path asks this instead of running the batch).
        """
        decision = self._top.get(key)
        if decision is None:
            decision = self._decision(key, self._root)
        return decision is True

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Clean every record of a batch (in place); return the same list.

        The worker calls this: one loop over the batch with everything it needs in local
        variables, the hot path of every container.
        """
        top = self._top
        mask = self._mask
        root = self._root
        decide = self._decision
        scrub = self._scrub
        containers = _CONTAINERS
        path_node = _PathNode
        for record in records:
            attrs = record.attributes
            if attrs:
                for key, value in attrs.items():
                    decision = top.get(key)
                    if decision is None:
                        decision = decide(key, root)
                    if decision is True:
                        if value is not mask:
                            attrs[key] = mask
                    elif value.__class__ in containers:
                        child = decision if decision.__class__ is path_node else None
                        new = scrub(value, child, 1)
                        if new is not value:
                            attrs[key] = new
            body = record.body
            if body.__class__ in containers:
                record.body = scrub(body, root, 0)
        return records


class ValueRedactorConfig(BaseModel):
    """Settings of the ``redact_values`` redactor (``FAPILOG_PLUGINS__REDACT_VALUES__...``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mask: str = DEFAULT_MASK
    """What each secret found in a text is replaced with."""

    disable: list[str] = Field(default_factory=list)
    """Built-in detectors to turn off, by name: ``card``, ``bearer``, ``jwt``,
    ``aws_access_key``, ``github``, ``slack``, ``stripe``, ``google_api_key``,
    ``private_key``, ``url_credentials``, ``secret_query``."""

    patterns: list[str] = Field(default_factory=list)
    """Regular expressions of the application's own; every match is masked. Each is
    compiled when the redactor is made and refused if it is prone to catastrophic
    backtracking (see ``fapilog_otel.processors._regex_safety``)."""


class ValueRedactor(_Redactor):
    """Masks secrets found inside strings, keeping the text around them.

    Every string is scanned: the body (a string, or each string of a structured body),
    every attribute value, strings nested in dicts and lists, so ``exception.message`` and
    ``exception.stacktrace`` too. ``bytes`` are scanned as UTF-8 (undecodable bytes kept
    as they are) and integers are checked for card numbers. The built-in detectors are
    listed in ``fapilog_otel.processors._secrets``.

    Speed: strings shorter than the shortest secret are skipped; the rest pass one
    combined pre-filter ``search`` before any detector runs (strings up to
    :data:`PREFILTER_MAX_LENGTH`; a longer one goes to the detectors, each of which first
    looks for a literal its secrets contain); and the redacted form of each string up to
    :data:`MAX_CACHED_LENGTH` characters is cached, within :data:`TEXT_CACHE_LIMIT` entries
    and :data:`TEXT_CACHE_CHARS` characters (log messages repeat).

    Args:
        config: The settings; the defaults run every built-in detector.

    Raises:
        ConfigurationError: ``disable`` names an unknown detector, or a pattern is not a
            valid regular expression or is refused by the backtracking check.

    Attributes:
        config: The settings the redactor was made with.
    """

    name: ClassVar[str] = "redact_values"
    kind: ClassVar[str] = "redactor"
    fapilog_api_version: ClassVar[int] = 1
    in_place: ClassVar[bool] = True
    config_model: ClassVar[type[BaseModel]] = ValueRedactorConfig

    def __init__(self, config: ValueRedactorConfig | None = None) -> None:
        self.config = config = config if config is not None else ValueRedactorConfig()
        unknown = sorted(set(config.disable) - set(DETECTOR_NAMES))
        if unknown:
            raise ConfigurationError(
                f"redact_values: unknown detector(s) {', '.join(map(repr, unknown))} in"
                f" disable; known: {', '.join(DETECTOR_NAMES)}"
            )
        self._mask = mask = config.mask
        enabled = detectors(config.disable)
        self._scrubs = tuple(detector.build(mask) for detector in enabled)
        self._prefilter = build_prefilter(enabled)
        self._builtin_min = min((d.min_length for d in enabled), default=1 << 62)
        template = mask.replace("\\", "\\\\")
        self._patterns = tuple((compile_pattern(pattern), template) for pattern in config.patterns)
        self._min_length = 1 if self._patterns else self._builtin_min
        self._cards = "card" not in config.disable
        self._cache: dict[str, str] = {}
        self._cached_chars = 0

    def _clean(self, text: str) -> str:
        """``text`` with every secret masked (uncached)."""
        prefilter = self._prefilter
        length = len(text)
        if (
            prefilter is not None
            and length >= self._builtin_min
            and (length > PREFILTER_MAX_LENGTH or prefilter(text))
        ):
            for scrub in self._scrubs:
                text = scrub(text)
        for pattern, template in self._patterns:
            text = pattern.sub(template, text)
        return text

    def _text(self, text: str) -> str:
        """``text`` with every secret masked, from the cache when it was seen before."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        clean = self._clean(text)
        self._cached_chars = cache_text(self._cache, self._cached_chars, text, clean)
        return clean

    def _scrub(self, value: Any, depth: int) -> Any:
        """``value`` with secrets masked; a changed container comes back as a copy."""
        cls = value.__class__
        if cls is str:
            return self._text(value) if len(value) >= self._min_length else value
        if cls is int:
            return self._mask if value >= _CARD_MIN and self._cards and card_int(value) else value
        if cls is dict or cls is list or cls is tuple:
            if depth >= DEPTH_CUT:
                return self._mask
            return self._scrub_container(value, depth)
        if cls is bytes:
            text = value.decode("utf-8", "surrogateescape")
            clean = self._text(text) if len(text) >= self._min_length else text
            return value if clean is text else clean.encode("utf-8", "surrogateescape")
        return value

    @property
    def mask(self) -> str:
        """What each secret found is replaced with."""
        return self._mask

    @property
    def min_length(self) -> int:
        """Strings shorter than this are never changed (no secret is that short)."""
        return self._min_length

    @property
    def scans_integers_from(self) -> int | None:
        """The smallest integer that may be masked (as a card number); None: none is."""
        return _CARD_MIN if self._cards else None

    def clean_value(self, value: Any) -> Any:
        """``value`` as :meth:`process_batch` leaves it, as an attribute value or the body
        (the worker's direct path asks this for ``str``, ``int``, ``bool``, ``float`` and
        ``None`` values instead of running the batch)."""
        return self._scrub(value, 0)

    def _scrub_container(self, value: Any, depth: int) -> Any:
        """A dict or list with secrets masked in its values; a copy when anything changed."""
        scrub = self._scrub
        if value.__class__ is dict:
            out = value
            for key, item in value.items():
                new = scrub(item, depth + 1)
                if new is not item:
                    if out is value:
                        out = dict(value)
                    out[key] = new
            return out
        changed: list[Any] | None = None
        for index, item in enumerate(value):
            new = scrub(item, depth + 1)
            if new is not item:
                if changed is None:
                    changed = list(value)
                changed[index] = new
        if changed is None:
            return value
        return changed if value.__class__ is list else tuple(changed)

    def process_batch(self, records: list[LogRecord]) -> list[LogRecord]:
        """Clean every record of a batch (in place); return the same list.

        The worker calls this: one loop over the batch with everything it needs in local
        variables; a string seen before costs one dictionary lookup.
        """
        min_length = self._min_length
        cache = self._cache
        text_of = self._text
        scrub = self._scrub
        mask = self._mask
        cards = self._cards
        scanned = _SCANNED
        card_min = _CARD_MIN
        for record in records:
            body = record.body
            if body.__class__ is str:
                if len(body) >= min_length:
                    new = cache.get(body)
                    if new is None:
                        new = text_of(body)
                    if new is not body:
                        record.body = new
            elif body is not None:
                record.body = scrub(body, 0)
            attrs = record.attributes
            for key, value in attrs.items():
                cls = value.__class__
                if cls is str:
                    if len(value) >= min_length:
                        new = cache.get(value)
                        if new is None:
                            new = text_of(value)
                        if new is not value:
                            attrs[key] = new
                elif cls is int:
                    if value >= card_min and cards and card_int(value):
                        attrs[key] = mask
                elif cls in scanned:
                    new = scrub(value, 1)
                    if new is not value:
                        attrs[key] = new
        return records
