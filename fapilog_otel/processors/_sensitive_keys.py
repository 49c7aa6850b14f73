"""Which keys name secrets: a key is split into words, and the words are looked up.

A key is split on every character that is not a letter or a digit and on camelCase
boundaries, then lower-cased: ``X-Api-Key`` gives ``x api key``, ``userPassword`` gives
``user password``, ``APIKey`` gives ``api key``, ``http.request.header.authorization``
gives ``http request header authorization``. Words are compared whole, so ``author``,
``oauth``, ``authority``, ``tokens`` and ``passenger`` are not ``auth``, ``token`` or
``pass``.

A key is sensitive when

* any of its words is one of :data:`SENSITIVE_WORDS` (``password``, ``token``, ``auth`` ...),
* its *last* word is one of :data:`HEAD_WORDS` (``session``, ``otp``, ``pin``): these name a
  secret only as the head noun, so ``session``, ``user_session`` and ``sms_otp`` are
  sensitive while ``session_count``, ``session_duration`` and ``otp_sent`` are not, or
* adjacent words form one of :data:`SENSITIVE_PHRASES` (``api key``, ``session id`` ...),
  or one of the names the application added.

Deliberate choices: plural ``tokens`` (``max_tokens``, ``prompt_tokens``) is not ``token``,
but ``token_count`` is masked (its word ``token`` is); ``key`` alone (``cache_key``,
``partition_key``) is not sensitive, ``public_key`` is not; ``pass`` alone (test results)
is not; ``auth`` is sensitive wherever it appears, so ``auth_method`` is masked too
(masking a harmless value costs less than leaking a credential).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "BUILTIN",
    "HEAD_WORDS",
    "SENSITIVE_PHRASES",
    "SENSITIVE_WORDS",
    "KeyWords",
    "key_words",
]

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

#: Words that make a key sensitive wherever they appear in it.
SENSITIVE_WORDS: frozenset[str] = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "passcode",
        "secret",
        "secrets",
        "token",
        "authorization",
        "auth",
        "cookie",
        "cookies",
        "credential",
        "credentials",
        "creds",
        "apikey",
        "jwt",
        "bearer",
        "sessionid",
        "sessid",
        "jsessionid",
        "phpsessid",
        "csrf",
        "xsrf",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "apitoken",
        "clientsecret",
        "privatekey",
        "secretkey",
        "accesskey",
        "signingkey",
        "cvv",
        "cvc",
    }
)

#: Words that make a key sensitive only as its last word (the head noun).
HEAD_WORDS: frozenset[str] = frozenset({"session", "otp", "pin"})

#: Runs of adjacent words that make a key sensitive. Phrases that contain a sensitive word
#: (``access token``, ``client secret``, ``set cookie``, ``auth token``) need no entry.
SENSITIVE_PHRASES: frozenset[tuple[str, ...]] = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("signing", "key"),
        ("encryption", "key"),
        ("master", "key"),
        ("session", "id"),
        ("session", "key"),
        ("pin", "code"),
        ("pin", "number"),
        ("card", "number"),
        ("credit", "card"),
        ("security", "code"),
    }
)


def key_words(key: str) -> tuple[str, ...]:
    """Split ``key`` into its lower-case words (see the module docstring)."""
    return tuple(map(str.lower, _WORD.findall(key)))


class KeyWords:
    """Decides from its words whether a key names a secret.

    Args:
        extra_names: Names to treat as sensitive too; each is split into words like a key
            and matches any key holding those words in a row (``ssn`` matches ``user_ssn``,
            ``card_holder`` matches ``cardHolder``).
    """

    __slots__ = ("_lengths", "_phrases", "_words")

    def __init__(self, extra_names: Iterable[str] = ()) -> None:
        words = set(SENSITIVE_WORDS)
        phrases = set(SENSITIVE_PHRASES)
        for name in extra_names:
            name_words = key_words(name)
            if len(name_words) == 1:
                words.add(name_words[0])
            elif name_words:
                phrases.add(name_words)
        self._words = frozenset(words)
        self._phrases = frozenset(phrases)
        self._lengths = tuple(sorted({len(phrase) for phrase in phrases}))

    def is_sensitive(self, key: str) -> bool:
        """Return whether ``key`` names a secret (not cached: callers cache)."""
        words = key_words(key)
        if not words:
            return False
        if words[-1] in HEAD_WORDS or not self._words.isdisjoint(words):
            return True
        phrases = self._phrases
        count = len(words)
        for length in self._lengths:
            if length > count:
                break
            for start in range(count - length + 1):
                if words[start : start + length] in phrases:
                    return True
        return False


#: The built-in rules alone, for detectors that judge names found inside text.
BUILTIN = KeyWords()
