"""Attaching a container to Prometheus: in code with :func:`instrument`, or by name with
``FAPILOG_EXTENSIONS=prometheus`` / ``FAPILOG_PROMETHEUS_PORT`` (the
:class:`PrometheusExtension` the container loads through its entry point).

An HTTP endpoint serves a registry at ``http://<addr>:<port>/metrics``. One process may
have several containers on one port: the endpoint is shared and each container has its
own ``container`` label. Without a port, nothing listens; the figures are in the
registry for the application to serve (``prometheus_client.make_asgi_app(registry)``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel.errors import ConfigurationError
from prometheus_client import REGISTRY, start_http_server
from prometheus_client.registry import CollectorRegistry
from pydantic import BaseModel, ConfigDict, Field

from fapilog_prometheus.collector import collector_for

if TYPE_CHECKING:
    from fapilog_otel import Container

__all__ = ["Instrumentation", "PrometheusConfig", "PrometheusExtension", "instrument"]

#: Where each setting is read from when it is not given as a plugin setting.
ENVIRONMENT_VARIABLES = {
    "port": "FAPILOG_PROMETHEUS_PORT",
    "addr": "FAPILOG_PROMETHEUS_ADDR",
    "max_loggers": "FAPILOG_PROMETHEUS_MAX_LOGGERS",
}
DEFAULT_ADDR = "0.0.0.0"
DEFAULT_MAX_LOGGERS = 100


class PrometheusConfig(BaseModel):
    """The ``prometheus`` extension's settings (``FAPILOG_PLUGINS__PROMETHEUS__*``); unset
    ones come from :data:`ENVIRONMENT_VARIABLES`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int | None = Field(None, ge=0, le=65535)
    """Serve ``/metrics`` on this port (0: any free port). Default:
    ``$FAPILOG_PROMETHEUS_PORT``, else no endpoint."""
    addr: str | None = None
    """The address the endpoint listens on. Default: ``$FAPILOG_PROMETHEUS_ADDR``, else
    ``0.0.0.0`` (every interface, as Prometheus scrapes from elsewhere)."""
    max_loggers: int | None = Field(None, ge=1, le=100_000)
    """Logger names kept apart in ``fapilog_otel_log_records_total``; the rest count as
    ``_other``. Default: ``$FAPILOG_PROMETHEUS_MAX_LOGGERS``, else 100."""
    name: str | None = None
    """The ``container`` label value. Default: the container's ``service.name``."""


def _from_environment(config: PrometheusConfig) -> tuple[int | None, str, int]:
    """The port, address and logger limit, unset ones read from the environment."""
    port = config.port
    text = os.environ.get(ENVIRONMENT_VARIABLES["port"], "").strip()
    if port is None and text:
        port = _integer(text, ENVIRONMENT_VARIABLES["port"], 0, 65535)
    addr = config.addr or os.environ.get(ENVIRONMENT_VARIABLES["addr"], "").strip()
    limit = config.max_loggers
    text = os.environ.get(ENVIRONMENT_VARIABLES["max_loggers"], "").strip()
    if limit is None and text:
        limit = _integer(text, ENVIRONMENT_VARIABLES["max_loggers"], 1, 100_000)
    return port, addr or DEFAULT_ADDR, limit or DEFAULT_MAX_LOGGERS


def _integer(text: str, variable: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ConfigurationError(f"{variable} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{variable} must be from {low} to {high}, got {value}")
    return value


@dataclass
class _Endpoint:
    server: Any
    thread: threading.Thread
    registry: CollectorRegistry
    users: int = 0


_endpoints: dict[tuple[str, int], _Endpoint] = {}
_endpoints_lock = threading.Lock()


def _open_endpoint(addr: str, port: int, registry: CollectorRegistry) -> tuple[str, int]:
    """Start (or share) the endpoint on ``addr:port``; return the key it is known by.

    Raises:
        ConfigurationError: The port is taken (by another program, or in this process by
            an endpoint serving another registry).
    """
    with _endpoints_lock:
        endpoint = _endpoints.get((addr, port)) if port else None
        if endpoint is not None:
            if endpoint.registry is not registry:
                raise ConfigurationError(
                    f"the Prometheus endpoint on {addr}:{port} already serves another "
                    "registry; use that registry or another port"
                )
            endpoint.users += 1
            return addr, port
        try:
            server, thread = start_http_server(port, addr=addr, registry=registry)
        except OSError as exc:
            raise ConfigurationError(
                f"the Prometheus endpoint could not listen on {addr}:{port} "
                f"(FAPILOG_PROMETHEUS_PORT / FAPILOG_PROMETHEUS_ADDR): {exc}"
            ) from exc
        bound = int(server.server_address[1])
        _endpoints[(addr, bound)] = _Endpoint(server, thread, registry, users=1)
        return addr, bound


def _close_endpoint(key: tuple[str, int]) -> None:
    """Let go of the endpoint; the last user stops it."""
    with _endpoints_lock:
        endpoint = _endpoints.get(key)
        if endpoint is None:
            return
        endpoint.users -= 1
        if endpoint.users > 0:
            return
        del _endpoints[key]
    endpoint.server.shutdown()
    endpoint.server.server_close()
    endpoint.thread.join(5.0)


@dataclass
class Instrumentation:
    """A container attached to a registry (and maybe an endpoint); :meth:`close` detaches
    it. ``label`` is its ``container`` label value; ``port`` the endpoint's port, if any."""

    registry: CollectorRegistry
    label: str
    port: int | None = None
    _endpoint: tuple[str, int] | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def close(self) -> None:
        """Stop showing the container's figures; stop the endpoint if it was the last
        container on it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        collector_for(self.registry).remove(self.label)
        if self._endpoint is not None:
            _close_endpoint(self._endpoint)


def instrument(
    container: Container,
    *,
    registry: CollectorRegistry | None = None,
    port: int | None = None,
    addr: str = DEFAULT_ADDR,
    name: str | None = None,
    max_loggers: int = DEFAULT_MAX_LOGGERS,
) -> Instrumentation:
    """Show ``container``'s figures in a Prometheus registry, and serve it if ``port``.

    Also turns on the container's record tally (:meth:`~fapilog_otel.Container.count_records`),
    behind ``fapilog_otel_log_records_total``.

    Args:
        registry: Default: prometheus_client's global ``REGISTRY``.
        port: Serve the registry at ``http://addr:port/metrics`` (0: a free port, see
            :attr:`Instrumentation.port`). ``None``: no endpoint.
        addr: The address to listen on.
        name: The ``container`` label value (default: ``service.name``).
        max_loggers: Logger names kept apart; the rest count as ``_other``.

    Raises:
        ConfigurationError: The port cannot be listened on.
    """
    registry = registry if registry is not None else REGISTRY
    container.count_records(max_loggers=max_loggers)
    endpoint = _open_endpoint(addr, port, registry) if port is not None else None
    label = collector_for(registry).add(container, name)
    return Instrumentation(
        registry=registry,
        label=label,
        port=endpoint[1] if endpoint is not None else None,
        _endpoint=endpoint,
    )


class PrometheusExtension:
    """The ``prometheus`` extension: :func:`instrument` on the global registry with the
    settings of :class:`PrometheusConfig`, undone when the container shuts down."""

    name = "prometheus"
    fapilog_api_version = 1
    config_model: ClassVar[type[BaseModel]] = PrometheusConfig

    def __init__(self, config: PrometheusConfig | None = None) -> None:
        self.config = config if config is not None else PrometheusConfig()
        self.port, self.addr, self.max_loggers = _from_environment(self.config)
        self.instrumentation: Instrumentation | None = None

    def attach(self, container: Container) -> None:
        """Register the container (and start or share the endpoint).

        A port that cannot be listened on (taken by another process: a second worker of a
        pre-fork server, say) is reported on the diagnostics channel and the container
        goes on without the endpoint, its figures still in the registry: asking for
        metrics never stops the application from starting. :func:`instrument` called
        directly raises instead.
        """
        try:
            self.instrumentation = self._instrument(container, self.port)
        except ConfigurationError as exc:
            if self.port is None:
                raise
            Diagnostics(enabled=container.settings.diagnostics).warn(
                "prometheus:endpoint",
                f"{exc}; going on without a metrics endpoint (the figures stay in the "
                "registry). Give each process its own port.",
            )
            self.instrumentation = self._instrument(container, None)

    def _instrument(self, container: Container, port: int | None) -> Instrumentation:
        return instrument(
            container,
            port=port,
            addr=self.addr,
            name=self.config.name,
            max_loggers=self.max_loggers,
        )

    def shutdown(self) -> None:
        """Detach the container; the endpoint stops with its last container."""
        if self.instrumentation is not None:
            self.instrumentation.close()

    def __repr__(self) -> str:
        return f"PrometheusExtension(port={self.port!r}, addr={self.addr!r})"
