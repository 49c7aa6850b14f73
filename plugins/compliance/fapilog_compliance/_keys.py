"""How the profiles read a key: split into lower-case words, then looked up.

A key is split on every character that is not a letter or a digit and on camelCase
boundaries, and letters are split from digits: ``Card-Verification`` gives ``card
verification``, ``securityCode`` gives ``security code``, ``CVV2`` gives ``cvv 2``,
``patient.firstName`` gives ``patient first name``. Words are compared whole, so ``city``
is not in ``ethnicity`` and ``ip`` is not in ``zip``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = ["KeyTable", "key_words"]

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def key_words(key: str) -> tuple[str, ...]:
    """Split ``key`` into its lower-case words (see the module docstring)."""
    return tuple(word.lower() for word in _WORD.findall(key))


class KeyTable:
    """Finds the category of a key from its words: runs of adjacent words first, then
    single words.

    Args:
        words: Single words and the category each gives a key holding it.
        phrases: Runs of adjacent words and the category each gives.
    """

    __slots__ = ("_lengths", "_phrases", "_words")

    def __init__(
        self,
        words: Mapping[str, str],
        phrases: Mapping[tuple[str, ...], str] = {},
    ) -> None:
        self._words = dict(words)
        self._phrases = dict(phrases)
        self._lengths = tuple(sorted({len(phrase) for phrase in phrases}, reverse=True))

    @classmethod
    def of_names(cls, names: Iterable[str], category: str) -> KeyTable:
        """A table where each of ``names`` (split like a key) gives ``category``."""
        words: dict[str, str] = {}
        phrases: dict[tuple[str, ...], str] = {}
        for name in names:
            parts = key_words(name)
            if len(parts) == 1:
                words[parts[0]] = category
            elif parts:
                phrases[parts] = category
        return cls(words, phrases)

    def __bool__(self) -> bool:
        return bool(self._words or self._phrases)

    def category(self, words: tuple[str, ...]) -> str | None:
        """The category of a key made of ``words``, or ``None``."""
        count = len(words)
        for length in self._lengths:
            for start in range(count - length + 1):
                found = self._phrases.get(words[start : start + length])
                if found is not None:
                    return found
        for word in words:
            found = self._words.get(word)
            if found is not None:
                return found
        return None
