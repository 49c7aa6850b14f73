"""The GDPR profile: personal identifiers replaced by keyed pseudonyms.

:class:`Pseudonymiser` replaces, in the body, every attribute value and every value nested
in them (exception messages and stack traces included):

* e-mail addresses, phone numbers in a recognisable format, IPv4 and IPv6 addresses found
  inside any text (see ``fapilog_compliance._patterns`` for the shapes);
* every value under a key named in ``keys`` (``user_id``, say): a string or number as a
  whole, a dict or list value by value; ``None`` and booleans are kept.

A pseudonym reads ``pseudo:<kind>:<16 hex digits>``: the kind (``email``, ``phone``,
``ip``, or ``id`` for a value under a configured key that has none of those shapes) and
the first 16 hex digits (64 bits) of HMAC-SHA256, keyed with the pseudonymisation key,
of ``<kind>:<the identifier in a canonical form>``. The canonical forms: an e-mail address
in lower case, a phone number as ``+`` and its digits (a North American number as ``+1``
and ten digits, however it was written), an IP address as Python's ``ipaddress`` writes it
(IPv6 compressed, in lower case; IPv4 without leading zeros); any other value as its text.

The same identifier under the same key gives the same pseudonym in every record, process
and host, so records of one person can still be joined; without the key, a pseudonym cannot
be turned back into the identifier, nor can a guessed identifier be checked against it.

The key comes from ``Settings.plugins["gdpr"]["key"]``, else from the
``FAPILOG_PSEUDONYM_KEY`` environment variable; it must be at least 16 bytes (UTF-8). There
is no default key. The key is never kept as text by the processor (only inside the keyed
HMAC state) and appears in no ``repr``, statistics or diagnostics.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import Any, ClassVar

from fapilog_otel.errors import ConfigurationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fapilog_compliance._config import NameList
from fapilog_compliance._keys import KeyTable, key_words
from fapilog_compliance._patterns import (
    canonical_ipv4,
    canonical_ipv6,
    canonical_phone,
    email_spans,
    ipv4_spans,
    ipv6_spans,
    phone_spans,
    replace_spans,
)
from fapilog_compliance._walk import DEPTH_CUT, Decision, ValueWalker

__all__ = [
    "MIN_KEY_BYTES",
    "PSEUDONYM_KEY_VARIABLE",
    "GdprConfig",
    "Pseudonymiser",
]

#: The environment variable holding the pseudonymisation key.
PSEUDONYM_KEY_VARIABLE = "FAPILOG_PSEUDONYM_KEY"

#: The shortest key accepted, in bytes (of its UTF-8 encoding).
MIN_KEY_BYTES = 16

#: Hex digits of the HMAC a pseudonym keeps (64 bits).
DIGEST_HEX = 16

#: What a value becomes when it cannot be read or is nested too deep.
FALLBACK_MASK = "[REDACTED:gdpr]"

#: Distinct identifiers whose pseudonym is cached before the cache is emptied.
PSEUDONYM_CACHE_LIMIT = 4096

_PSEUDONYM = re.compile(r"pseudo:[a-z]+:[0-9a-f]{16}")
_DIGIT = re.compile(r"[0-9]")


class GdprConfig(BaseModel):
    """Settings of the ``gdpr`` profile (``FAPILOG_PLUGINS__GDPR__<SETTING>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: SecretStr | None = None
    """The pseudonymisation key (at least 16 bytes); without it, ``FAPILOG_PSEUDONYM_KEY``
    is read. Shown as ``**********`` in any ``repr``."""

    keys: NameList = Field(default_factory=list)
    """Keys whose values are pseudonymised whole (``user_id``, ``customer``). Each is split
    into words like a key and matches every key holding those words in a row, at any
    depth (``user_id`` matches ``user_id``, ``userId``, ``USER-ID`` and ``actor.user_id``)."""


def _key_bytes(config: GdprConfig) -> bytes:
    """The key the settings name, as bytes.

    Raises:
        ConfigurationError: No key, or a key shorter than :data:`MIN_KEY_BYTES`.
    """
    if config.key is not None:
        secret = config.key.get_secret_value()
        source = "Settings.plugins['gdpr']['key'] (FAPILOG_PLUGINS__GDPR__KEY)"
    else:
        secret = os.environ.get(PSEUDONYM_KEY_VARIABLE, "")
        source = PSEUDONYM_KEY_VARIABLE
    if not secret:
        raise ConfigurationError(
            f"the gdpr compliance profile needs a pseudonymisation key: set "
            f"{PSEUDONYM_KEY_VARIABLE} to a secret of at least {MIN_KEY_BYTES} bytes (such as "
            f'the output of `python -c "import secrets; print(secrets.token_urlsafe(32))"`), '
            f"or Settings(plugins={{'gdpr': {{'key': ...}}}})"
        )
    data = secret.encode("utf-8", "surrogatepass")
    if len(data) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"the gdpr compliance profile's pseudonymisation key from {source} is "
            f"{len(data)} bytes long; it must be at least {MIN_KEY_BYTES}"
        )
    return data


class Pseudonymiser(ValueWalker):
    """The ``gdpr`` profile's processor (see the module docstring for what it replaces).

    Args:
        config: The settings; without a key in them, ``FAPILOG_PSEUDONYM_KEY`` is read.

    Raises:
        ConfigurationError: No key, or one shorter than 16 bytes.
    """

    name: ClassVar[str] = "gdpr"
    config_model: ClassVar[type[BaseModel]] = GdprConfig

    def __init__(self, config: GdprConfig | None = None) -> None:
        super().__init__(FALLBACK_MASK)
        self.config = config if config is not None else GdprConfig()
        self._mac = hmac.new(_key_bytes(self.config), digestmod=hashlib.sha256)
        self._keyed = KeyTable.of_names(self.config.keys, "id")
        self._pseudonyms: dict[tuple[str, str], str] = {}
        #: Whole values already pseudonymised (a configured key's values repeat).
        self._wholes: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Pseudonymiser(keys={list(self.config.keys)!r})"

    def pseudonym(self, kind: str, canonical: str) -> str:
        """The pseudonym of an identifier of ``kind`` already in its ``canonical`` form."""
        cached = self._pseudonyms.get((kind, canonical))
        if cached is not None:
            return cached
        mac = self._mac.copy()
        mac.update(f"{kind}:{canonical}".encode("utf-8", "surrogatepass"))
        found = f"pseudo:{kind}:{mac.hexdigest()[:DIGEST_HEX]}"
        if len(self._pseudonyms) >= PSEUDONYM_CACHE_LIMIT:
            self._pseudonyms.clear()
        self._pseudonyms[(kind, canonical)] = found
        return found

    def pseudonymise(self, value: str) -> str:
        """The pseudonym of one whole identifier, as a value under a configured key gets it:
        an e-mail address, phone number or IP address by its kind, anything else as ``id``.

        Use it to find the records of a known person: ``pseudonymise("alice@example.com")``
        is what the profile wrote wherever that address was logged.
        """
        cached = self._wholes.get(value)
        if cached is not None:
            return cached
        found = self._pseudonymise(value)
        if len(self._wholes) >= PSEUDONYM_CACHE_LIMIT:
            self._wholes.clear()
        self._wholes[value] = found
        return found

    def _pseudonymise(self, value: str) -> str:
        if _PSEUDONYM.fullmatch(value):
            return value
        whole = [(0, len(value))]
        if email_spans(value) == whole:
            return self.pseudonym("email", value.lower())
        if ipv6_spans(value) == whole:
            return self.pseudonym("ip", canonical_ipv6(value))
        if ipv4_spans(value) == whole:
            return self.pseudonym("ip", canonical_ipv4(value))
        if phone_spans(value) == whole:
            return self.pseudonym("phone", canonical_phone(value))
        return self.pseudonym("id", value)

    def _email(self, found: str) -> str:
        return self.pseudonym("email", found.lower())

    def _ipv6(self, found: str) -> str:
        return self.pseudonym("ip", canonical_ipv6(found))

    def _ipv4(self, found: str) -> str:
        return self.pseudonym("ip", canonical_ipv4(found))

    def _phone(self, found: str) -> str:
        return self.pseudonym("phone", canonical_phone(found))

    def _scan(self, text: str) -> str:
        if "@" in text:
            text = replace_spans(text, email_spans(text), self._email)
        if _DIGIT.search(text) is None and ":" not in text:
            return text
        text = replace_spans(text, ipv6_spans(text), self._ipv6)
        text = replace_spans(text, ipv4_spans(text), self._ipv4)
        return replace_spans(text, phone_spans(text), self._phone)

    def _decide(self, key: str, context: object) -> Decision:
        if self._keyed and self._keyed.category(key_words(key)) is not None:
            return self._keyed_value, None
        return None, None

    def _keyed_value(self, value: Any, depth: int) -> Any:
        """A value under a configured key: pseudonymised whole, or value by value."""
        cls = value.__class__
        if value is None or cls is bool:
            return value
        if cls is str:
            return self.pseudonymise(value) if value else value
        if depth >= DEPTH_CUT:
            return FALLBACK_MASK
        if cls is dict:
            return {key: self._keyed_value(item, depth + 1) for key, item in value.items()}
        if cls is list or cls is tuple:
            items = [self._keyed_value(item, depth + 1) for item in value]
            return items if cls is list else tuple(items)
        if cls is bytes:
            return self.pseudonymise(value.decode("utf-8", "surrogateescape"))
        try:
            text = str(value)
        except Exception:
            return FALLBACK_MASK
        return self.pseudonymise(text) if text.__class__ is str else FALLBACK_MASK
