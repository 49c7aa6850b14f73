"""Keeping secrets out of everything the command prints.

Two layers: values are masked where their meaning is known (header values, signing keys,
settings whose name says token/password/key, the credentials of a URL), and every string
of a report is scrubbed of the secret values found in the environment, so an error
message quoting a malformed header cannot leak it either.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from fapilog_otel._secret_names import MASK, is_secret_name

#: Mappings whose every value is a secret: headers carry API keys and bearer tokens.
_ALL_VALUES_SECRET = frozenset({"headers"})
#: Variables whose values are headers (``k=v,k2=v2`` or a JSON object) or keys.
_SECRET_VARIABLE = re.compile(r"HEADERS|SECRET|TOKEN|PASSW|API_?KEY|AUTH", re.IGNORECASE)
#: Fragments shorter than this are not scrubbed on their own (they would hit ordinary text).
_SHORTEST_FRAGMENT = 6


def mask_url(url: str) -> str:
    """``url`` with its user information and secret-looking query values masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{key}={MASK if is_secret_name(key) else value}" for key, value in pairs)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_value(name: str, value: Any) -> Any:
    """``value`` of the setting (or key) ``name``, with whatever is secret in it masked."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        if name in _ALL_VALUES_SECRET:
            return {str(key): MASK for key in value}
        return {str(key): mask_value(str(key), item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(name, item) for item in value]
    if is_secret_name(name):
        return MASK
    if hasattr(value, "get_secret_value"):
        return MASK
    if isinstance(value, str) and "://" in value:
        return mask_url(value)
    return value


def _fragments(raw: str) -> Iterable[str]:
    """The secret parts of a header list or key variable: values, and their words."""
    yield raw
    for item in re.split(r"[,\n]", raw):
        _, sep, value = item.partition("=")
        for text in (value if sep else item, urllib.parse.unquote(value if sep else item)):
            text = text.strip().strip("\"'{}")
            yield text
            yield from text.split()


class Scrubber:
    """Removes known secret values from text, whatever the text is."""

    def __init__(self, secrets: Iterable[str]) -> None:
        found = {s for s in secrets if len(s) >= _SHORTEST_FRAGMENT}
        # Longest first, so a whole value goes before a word inside it.
        self._secrets = sorted(found, key=len, reverse=True)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Scrubber:
        """A scrubber of every value of a header, key or token variable."""
        env = os.environ if environ is None else environ
        secrets: list[str] = []
        for name, raw in env.items():
            if raw and (_SECRET_VARIABLE.search(name) or is_secret_name(name)):
                secrets.extend(_fragments(raw))
        return cls(secrets)

    def add(self, values: Iterable[str]) -> None:
        """Scrub these values too (the secret settings, once known)."""
        merged = set(self._secrets)
        for value in values:
            merged.update(v for v in _fragments(value) if len(v) >= _SHORTEST_FRAGMENT)
        self._secrets = sorted(merged, key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` with every known secret replaced by the mask."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def deep(self, value: Any) -> Any:
        """``value`` (nested dicts, lists, strings) with every string scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(item) for item in value]
        return value
