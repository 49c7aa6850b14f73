"""The default container behind the module-level functions, made on first use.

This is the library's one process-wide object, like the root logger of ``logging``: it is
created lazily (importing the library starts no thread) and only when the module-level API
is used. Code that wants isolation makes its own :class:`~fapilog_otel.Container`.
"""

from __future__ import annotations

import threading

from fapilog_otel.container import Container

_lock = threading.Lock()
_container: Container | None = None


def get_default_container() -> Container:
    """Return the default container, making it (from the environment) on first use."""
    container = _container
    if container is not None:
        return container
    return _make_default()


def _make_default() -> Container:
    global _container
    with _lock:
        if _container is None:
            _container = Container()
        return _container


def set_default_container(container: Container | None) -> Container | None:
    """Replace the default container (``None``: make a new one on next use); return the old.

    Meant for tests and for applications that configure the default explicitly. Loggers
    already handed out keep logging to the container that made them.
    """
    global _container
    with _lock:
        old, _container = _container, container
    return old
