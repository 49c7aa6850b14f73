"""Drain the logging pipeline when an ASGI server shuts the application down.

Servers such as uvicorn and hypercorn turn SIGTERM into the ASGI lifespan's
``lifespan.shutdown`` event and wait for the application to answer
``lifespan.shutdown.complete`` before they exit. :class:`DrainOnShutdown` wraps an ASGI
application and, at that moment, shuts the container down (every queued record exported
within the timeout) before the answer goes out. Everything else passes through untouched.
It needs no framework: it speaks the ASGI protocol (https://asgi.readthedocs.io, "Lifespan
Protocol") directly.

An application that does not implement the lifespan protocol (it raises on a ``lifespan``
scope) still gets the drain: the wrapper then answers the lifespan events itself.

Example::

    from fapilog_otel.integrations.asgi import DrainOnShutdown

    app = DrainOnShutdown(app)                 # the default container
    app = DrainOnShutdown(app, container=c, timeout=10.0)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fapilog_otel import _api
from fapilog_otel.container import Container

__all__ = ["DrainOnShutdown"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DrainOnShutdown:
    """An ASGI application that drains the logging pipeline at lifespan shutdown.

    Args:
        app: The application to wrap.
        container: The container to shut down; None: the default one (the module-level
            ``get_logger`` and friends).
        timeout: Seconds the drain may take; the server's own shutdown timeout should
            allow for it.
    """

    def __init__(
        self, app: ASGIApp, *, container: Container | None = None, timeout: float = 5.0
    ) -> None:
        self.app = app
        self.container = container
        self.timeout = timeout
        #: The outcome of the last drain: True when everything was delivered in time.
        self.drained: bool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "lifespan":
            await self.app(scope, receive, send)
            return
        started = False
        asked = False

        async def receive_through() -> Message:
            nonlocal asked
            message = await receive()
            asked = asked or message.get("type") == "lifespan.startup"
            return message

        async def send_through(message: Message) -> None:
            nonlocal started
            kind = message.get("type")
            if kind == "lifespan.startup.complete":
                started = True
            elif kind == "lifespan.shutdown.complete":
                await self._drain()
            await send(message)

        try:
            await self.app(scope, receive_through, send_through)
        except Exception:
            if started:
                raise
            await self._serve_lifespan(receive, send, answer_startup=asked)

    async def _serve_lifespan(self, receive: Receive, send: Send, *, answer_startup: bool) -> None:
        """Answer the lifespan events for an application that does not (``answer_startup``:
        it took the startup event before it failed)."""
        if answer_startup:
            await send({"type": "lifespan.startup.complete"})
        while True:
            message = await receive()
            kind = message.get("type")
            if kind == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif kind == "lifespan.shutdown":
                await self._drain()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _drain(self) -> None:
        if self.container is not None:
            self.drained = await self.container.ashutdown(self.timeout)
        else:
            self.drained = await _api.ashutdown(self.timeout)
