"""The bounded caches the worker and the bridges keep (scopes by name, SDK scopes).

A cache that is full is emptied rather than evicted entry by entry: programs have a few
distinct scopes, and one with more than the limit just rebuilds them now and then.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Entries a scope cache holds before it is emptied.
SCOPE_CACHE_LIMIT = 4096


def remember(cache: MutableMapping[K, V], key: K, value: V, limit: int = SCOPE_CACHE_LIMIT) -> V:
    """Store ``value`` under ``key`` (emptying ``cache`` first when it is full); return it."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value
