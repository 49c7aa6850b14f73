"""Request-scoped context: attributes bound here are added to every record logged in the
current thread or asyncio task (and the tasks it starts), whichever container logs it.

Example::

    with fo.bound_contextvars(request_id="r-1"):
        log.info("handled")        # carries request_id="r-1"

Bound values are frozen when bound. Precedence on a record, lowest first: context-bound,
logger-bound (``log.bind``), then the call's keyword arguments.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from fapilog_otel._capture import PIPELINE_THREAD, bound_context
from fapilog_otel._freeze import freeze_attributes

__all__ = [
    "bind_contextvars",
    "bound_contextvars",
    "clear_contextvars",
    "get_contextvars",
    "unbind_contextvars",
]


def _current() -> Mapping[str, Any]:
    value = bound_context.get()
    if value is None or value is PIPELINE_THREAD:
        return {}
    return value


def get_contextvars() -> dict[str, Any]:
    """Return a copy of the attributes bound in the current context."""
    return dict(_current())


def bind_contextvars(**attrs: Any) -> None:
    """Bind attributes to the current context (thread or asyncio task)."""
    if bound_context.get() is PIPELINE_THREAD:
        return
    merged = dict(_current())
    merged.update(freeze_attributes(attrs))
    bound_context.set(merged)


def unbind_contextvars(*keys: str) -> None:
    """Remove the given keys from the current context's bound attributes."""
    current = _current()
    if any(k in current for k in keys):
        bound_context.set({k: v for k, v in current.items() if k not in keys} or None)


def clear_contextvars() -> None:
    """Remove every attribute bound in the current context."""
    if bound_context.get() is not PIPELINE_THREAD:
        bound_context.set(None)


@contextlib.contextmanager
def bound_contextvars(**attrs: Any) -> Iterator[None]:
    """Bind attributes for the duration of a ``with`` block, then restore the previous ones."""
    if bound_context.get() is PIPELINE_THREAD:
        yield
        return
    merged = dict(_current())
    merged.update(freeze_attributes(attrs))
    token = bound_context.set(merged)
    try:
        yield
    finally:
        bound_context.reset(token)
