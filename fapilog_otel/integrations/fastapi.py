"""Request context, trace correlation and access logs for FastAPI and Starlette applications.

:func:`instrument` puts a pure ASGI middleware, :class:`RequestLogging`, around the whole
application (outside its error middleware, so it also sees the 500 answers that middleware
sends) and wraps it in :class:`~fapilog_otel.integrations.asgi.DrainOnShutdown`, so the
container drains when the server shuts the application down. The middleware never reads or
buffers bodies, so streaming responses stream as before.

For each HTTP request it:

* binds to the context, with :func:`fapilog_otel.bound_contextvars`, the attributes every
  record logged while the request runs then carries (OTel semantic-convention names):
  ``http.request.id`` (the ``X-Request-ID`` header when it is 1 to 128 visible ASCII
  characters, else a new random id; echoed back in the response's ``X-Request-ID`` header
  unless the application set one), ``http.request.method``, ``http.route`` (the route
  template, ``/items/{item_id}``, when a route matches), ``url.path`` and
  ``client.address``;
* makes a W3C ``traceparent`` header the current (non-recording, remote) span while the
  request runs, when no span is current already, so records carry its trace id and the
  caller's span id. A span started by OTel instrumentation (``opentelemetry-instrumentation
  -asgi``, ``FastAPIInstrumentor``) or by the application takes precedence, since the call
  site reads whichever span is current;
* logs one access record when the request ends (after the last body chunk), on the logger
  ``logger_name``: the attributes above plus ``http.response.status_code`` and
  ``http.server.request.duration`` (seconds); INFO below 400, WARNING for 4xx, ERROR for
  5xx and for an exception escaping the application (with its ``exception.*`` attributes;
  the exception propagates unchanged). Paths in ``exclude_paths`` get no access record.

The route template is found before the application runs, by asking the application's routes
which one matches (as Starlette's router does, so routing runs twice; mounted routers are
followed and their prefixes kept). Records logged by the application therefore already
carry ``http.route``. A request no route matches has no ``http.route`` (unless the
application sets ``scope["route"]`` itself, which the access record then uses).

The middleware never raises into the application: a failure of its own is counted in
:attr:`RequestLogging.errors` (the last one in :attr:`RequestLogging.last_error`) and the
request goes on. FastAPI (or Starlette) is imported only by :func:`instrument`; install it
with ``pip install fapilog-otel[fastapi]``.

Example::

    from fastapi import FastAPI
    from fapilog_otel.integrations.fastapi import instrument

    app = FastAPI()
    instrument(app, exclude_paths=["/healthz"])   # the default container
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from contextvars import Token
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from fapilog_otel import _api
from fapilog_otel._bridging import FailureCount
from fapilog_otel.container import Container
from fapilog_otel.context import bound_contextvars
from fapilog_otel.integrations.asgi import ASGIApp, DrainOnShutdown, Message, Receive, Scope, Send
from fapilog_otel.logger import AsyncLogger

__all__ = ["RequestLogging", "instrument"]

_REQUEST_ID_HEADER = b"x-request-id"
_MAX_REQUEST_ID = 128
_PROPAGATOR = TraceContextTextMapPropagator()


def instrument(
    app: Any,
    *,
    container: Container | None = None,
    logger_name: str = "http.access",
    exclude_paths: Iterable[str] = (),
    drain_timeout: float = 5.0,
) -> RequestLogging:
    """Add request context, trace correlation, access logs and the shutdown drain to ``app``.

    The application is changed in place (its middleware stack is rebuilt with
    :class:`RequestLogging` outermost, inside :class:`DrainOnShutdown`), so the server keeps
    serving the same object. Call it once, before the application serves requests or after
    (the stack is rebuilt on the next call either way).

    Args:
        app: A ``fastapi.FastAPI`` or ``starlette.applications.Starlette`` application.
        container: The container to log into and drain; None: the default one (looked up
            on each request, so a replaced default is followed).
        logger_name: The logger (instrumentation scope) of the access records.
        exclude_paths: Request paths (``url.path``, exact) that get no access record, such
            as health checks; their requests still get the context.
        drain_timeout: Seconds the drain at lifespan shutdown may take.

    Returns:
        The middleware, whose ``errors`` and ``last_error`` count its own failures.

    Raises:
        TypeError: ``app`` is not a Starlette (or FastAPI) application.
        ValueError: ``app`` was already instrumented.
    """
    try:
        from starlette.applications import Starlette
    except ImportError as exc:  # pragma: no cover - the [fastapi] extra is missing
        raise ImportError(
            "fapilog_otel.integrations.fastapi needs FastAPI or Starlette: "
            "pip install fapilog-otel[fastapi]"
        ) from exc
    if not isinstance(app, Starlette):
        raise TypeError(f"instrument() needs a FastAPI or Starlette application, not {app!r}")
    if getattr(app, "_fapilog_request_logging", None) is not None:
        raise ValueError("this application is already instrumented")
    target: Any = app  # the stack builder is replaced on the instance

    build_stack = target.build_middleware_stack
    middleware = RequestLogging(
        _not_built,
        container=container,
        logger_name=logger_name,
        exclude_paths=exclude_paths,
        router=app.router,
    )

    def build_middleware_stack() -> ASGIApp:
        middleware.app = build_stack()
        return DrainOnShutdown(middleware, container=container, timeout=drain_timeout)

    target.build_middleware_stack = build_middleware_stack
    target.middleware_stack = None
    target._fapilog_request_logging = middleware
    return middleware


async def _not_built(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the application's middleware stack has not been built")


class RequestLogging:
    """A pure ASGI middleware: request context, trace correlation and one access record.

    :func:`instrument` installs it in a FastAPI or Starlette application; it also wraps any
    ASGI application directly (``DrainOnShutdown(RequestLogging(app))``). Non-HTTP scopes
    (lifespan, websocket) pass through untouched.

    Args:
        app: The ASGI application to wrap.
        container: The container to log into; None: the default one.
        logger_name: The logger (instrumentation scope) of the access records.
        exclude_paths: Request paths (exact) that get no access record.
        router: An object with Starlette ``routes`` (``app.router``) used to find the route
            template before the application runs; None: only ``scope["route"]``, when the
            application sets it, names the route, and only on the access record.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        container: Container | None = None,
        logger_name: str = "http.access",
        exclude_paths: Iterable[str] = (),
        router: Any = None,
    ) -> None:
        self.app = app
        self.container = container
        self.logger_name = logger_name
        self.exclude_paths = frozenset(exclude_paths)
        self.router = router
        self._failures = FailureCount()

    @property
    def errors(self) -> int:
        """How many times the middleware's own code failed (the requests went on)."""
        return self._failures.errors

    @property
    def last_error(self) -> BaseException | None:
        """The last of those failures, for diagnostics."""
        return self._failures.last_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        try:
            request_id, attrs = self._request_attributes(scope)
            trace_token = _attach_traceparent(scope)
        except Exception as exc:
            self._failures._count(exc)
            await self.app(scope, receive, send)
            return
        try:
            with bound_contextvars(**attrs):
                await self._serve(scope, receive, send, request_id, attrs)
        finally:
            if trace_token is not None:
                otel_context.detach(trace_token)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, attrs: dict[str, Any]
    ) -> None:
        status: int | None = None
        echo = (_REQUEST_ID_HEADER, request_id.encode("ascii"))

        async def send_through(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                try:
                    status = int(message["status"])
                    headers = list(message.get("headers", ()))
                    if not any(bytes(name).lower() == _REQUEST_ID_HEADER for name, _ in headers):
                        message["headers"] = [*headers, echo]
                except Exception as exc:
                    self._failures._count(exc)
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_through)
        except Exception:
            await self._log_access(scope, attrs, status, time.perf_counter() - start, failed=True)
            raise
        await self._log_access(scope, attrs, status, time.perf_counter() - start, failed=False)

    def _request_attributes(self, scope: Scope) -> tuple[str, dict[str, Any]]:
        """The request id and the attributes to bind for ``scope``."""
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        attrs: dict[str, Any] = {
            "http.request.id": request_id,
            "http.request.method": scope.get("method", ""),
            "url.path": scope.get("path", ""),
        }
        if self.router is not None:
            route = _route_template(self.router.routes, scope)
            if route is not None:
                attrs["http.route"] = route
        client = scope.get("client")
        if client:
            attrs["client.address"] = client[0]
        return request_id, attrs

    def _logger(self) -> AsyncLogger:
        if self.container is not None:
            return self.container.get_async_logger(self.logger_name)
        return _api.get_async_logger(self.logger_name)

    async def _log_access(
        self,
        scope: Scope,
        attrs: dict[str, Any],
        status: int | None,
        duration: float,
        *,
        failed: bool,
    ) -> None:
        """Log the access record; called inside the ``except`` block when ``failed``."""
        try:
            if attrs["url.path"] in self.exclude_paths:
                return
            fields = dict(attrs)
            if "http.route" not in fields:
                route = _route_from_scope(scope)
                if route is not None:
                    fields["http.route"] = route
            if status is not None:
                fields["http.response.status_code"] = status
            fields["http.server.request.duration"] = duration
            target = fields.get("http.route") or fields["url.path"]
            body = f"{fields['http.request.method']} {target} {status or '-'}"
            log = self._logger()
            if failed:
                await log.exception(body, **fields)
            elif status is None or status >= 500:
                await log.error(body, **fields)
            elif status >= 400:
                await log.warning(body, **fields)
            else:
                await log.info(body, **fields)
        except Exception as exc:
            self._failures._count(exc)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if bytes(key).lower() == name:
            return bytes(value)
    return None


def _incoming_request_id(scope: Scope) -> str | None:
    """The ``X-Request-ID`` header, when it is short and visible ASCII (no log injection)."""
    raw = _header(scope, _REQUEST_ID_HEADER)
    if raw is None or not 0 < len(raw) <= _MAX_REQUEST_ID:
        return None
    if any(byte < 0x21 or byte > 0x7E for byte in raw):
        return None
    return raw.decode("ascii")


def _attach_traceparent(scope: Scope) -> Token[Context] | None:
    """Make the request's ``traceparent`` the current span when none is; the detach token."""
    if trace.get_current_span().get_span_context().is_valid:
        return None
    traceparent = _header(scope, b"traceparent")
    if traceparent is None:
        return None
    carrier = {"traceparent": traceparent.decode("latin-1")}
    tracestate = _header(scope, b"tracestate")
    if tracestate is not None:
        carrier["tracestate"] = tracestate.decode("latin-1")
    ctx = _PROPAGATOR.extract(carrier)
    if not trace.get_current_span(ctx).get_span_context().is_valid:
        return None
    return otel_context.attach(ctx)


def _route_template(routes: Iterable[Any], scope: Mapping[str, Any]) -> str | None:
    """The template of the route Starlette's router would pick for ``scope``, or None.

    The first full match wins, else the first partial one (the method differs: the router
    answers 405 for that route). Mounted routers are searched with the mount's prefix.
    """
    from starlette.routing import Match, Mount

    partial: str | None = None
    seen_partial = False
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        if isinstance(route, Mount):
            inner_routes = route.routes
            if inner_routes:
                inner = _route_template(inner_routes, {**scope, **child})
                template = None if inner is None else route.path + inner
            else:
                template = route.path_format
        else:
            host_routes = getattr(route, "routes", None)
            if host_routes:  # a Host
                template = _route_template(host_routes, {**scope, **child})
            else:
                template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if match is Match.FULL:
            return None if template is None else str(template)
        if not seen_partial:
            seen_partial = True
            partial = None if template is None else str(template)
    return partial


def _route_from_scope(scope: Scope) -> str | None:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None
