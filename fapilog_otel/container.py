"""The container: one isolated logging pipeline.

Each container has its own settings, resource, SDK ``LoggerProvider``, exporters,
processors, queue, worker thread and stats; containers share nothing mutable, so many can
live in one process. The default container behind :func:`fapilog_otel.get_logger` is just
one of them, made on first use.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.resources import Resource

from fapilog_otel import _stats
from fapilog_otel._capture import PIPELINE_THREAD, bound_context
from fapilog_otel._diagnostics import Diagnostics
from fapilog_otel._plugins import load_exporter, load_extension, load_processor, load_profile
from fapilog_otel._raw import RawRecord
from fapilog_otel._stats import StatsSnapshot
from fapilog_otel._worker import State, Worker, in_pipeline_thread, register_exit_drain
from fapilog_otel.errors import ConfigurationError, PluginError
from fapilog_otel.logger import AsyncLogger, Logger
from fapilog_otel.record import Scope
from fapilog_otel.settings import Settings

if TYPE_CHECKING:
    from fapilog_otel._sdk import LoggerProvider

__all__ = ["Container"]


def build_resource(settings: Settings, detected: Mapping[str, Any] | None = None) -> Resource:
    """The container's resource: ``detected`` attributes (from resource enrichers) under
    the OTel SDK defaults and ``OTEL_*`` variables, overridden by
    ``Settings.resource_attributes`` and ``Settings.service_name``."""
    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name:
        attributes["service.name"] = settings.service_name
    resource = Resource.create(attributes)
    if detected:
        resource = Resource(dict(detected)).merge(resource)
    return resource


class Container:
    """An isolated logging pipeline.

    Args:
        settings: Configuration; read from the environment when omitted.
        exporters: Exporters to use instead of the ones named in the settings. Our own
            exporters and any OTel SDK ``LogRecordExporter`` are accepted.
        processors: Processors run on the worker before the exporters, in order, ahead of
            any named in ``settings.processors``.
        resource: A resource to use instead of the one built from the settings.

    Raises:
        ConfigurationError: A setting is invalid.
        PluginError: A named exporter or processor cannot be loaded.

    Example::

        with fo.Container(fo.Settings(service_name="billing")) as c:
            c.get_logger("invoices").info("sent", invoice_id=7)
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        exporters: Sequence[Any] | None = None,
        processors: Sequence[Any] | None = None,
        resource: Resource | None = None,
    ) -> None:
        self.settings = settings if settings is not None else Settings()
        named = [load_processor(n, self.settings) for n in self.settings.processors]
        redactors = [load_processor(n, self.settings) for n in self.settings.redactors]
        profiles = [load_profile(n, self.settings) for n in self.settings.compliance]
        redactors += [p for profile in profiles for p in profile.processors]
        plugins = [_adapt_processor(p) for p in [*(processors or ()), *named, *redactors]]
        chain = [p for p in plugins if _runs_per_record(p)]
        self._capture = frozenset(
            item for p in plugins for item in (getattr(p, "capture", None) or ())
        )
        self._diagnostics = Diagnostics(enabled=self.settings.diagnostics)
        if resource is None:
            detected = _detected_resource(plugins, self._diagnostics)
            resource = build_resource(self.settings, detected)
        self.resource = resource
        if exporters is None:
            exporters = [load_exporter(n, self.settings) for n in self.settings.exporter_names]
        exporters = [*exporters, *(e for profile in profiles for e in profile.exporters)]
        extensions = [load_extension(n, self.settings) for n in self.settings.extension_names]
        self._worker = Worker(
            settings=self.settings,
            resource=self.resource,
            exporters=[_adapt_exporter(e) for e in exporters],
            processors=chain,
            diagnostics=self._diagnostics,
        )
        self._loggers: dict[str, Logger] = {}
        self._async_loggers: dict[str, AsyncLogger] = {}
        self._provider: LoggerProvider | None = None
        self._atexit: Callable[[], None] | None = register_exit_drain(
            self._worker, self.settings.shutdown_timeout
        )
        self._extensions: list[Any] = []
        for extension in extensions:
            self._attach(extension)

    # -- loggers -----------------------------------------------------------------------

    def get_logger(self, name: str | None = None) -> Logger:
        """Return the container's logger called ``name`` (its instrumentation scope)."""
        key = name or "root"
        logger = self._loggers.get(key)
        if logger is None:
            level = self.settings.level_for(key)
            logger = self._loggers.setdefault(
                key, Logger(self._worker, Scope(key), level, capture=self._capture)
            )
        return logger

    def get_async_logger(self, name: str | None = None) -> AsyncLogger:
        """Return the container's async logger called ``name``."""
        key = name or "root"
        logger = self._async_loggers.get(key)
        if logger is None:
            logger = self._async_loggers.setdefault(
                key,
                AsyncLogger(
                    self._worker, Scope(key), self.settings.level_for(key), capture=self._capture
                ),
            )
        return logger

    @property
    def exporters(self) -> tuple[Any, ...]:
        """The container's exporters, in order (an SDK exporter appears in its adapter)."""
        return tuple(lane.exporter for lane in self._worker.lanes)

    @property
    def logger_provider(self) -> LoggerProvider:
        """This container's own OTel SDK ``LoggerProvider``.

        Records emitted through it (by OTel's ``LoggingHandler`` or an instrumented
        library) go through this container's pipeline. It is never set as the global
        provider; pass it explicitly.
        """
        if self._provider is None:
            from fapilog_otel._sdk import ProviderBridgeProcessor, make_logger_provider

            processor = ProviderBridgeProcessor(self._submit_raw, flush=self.flush)
            self._provider = make_logger_provider(self.resource, processor)
        return self._provider

    # -- lifecycle ---------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything logged before the call is exported.

        Returns:
            True when every record queued before the call was exported within ``timeout``
            seconds (and the exporters flushed); False otherwise.
        """
        return self._worker.flush(timeout)

    async def aflush(self, timeout: float = 5.0) -> bool:
        """:meth:`flush` for async code: waits in a thread, not on the event loop."""
        import asyncio

        return await asyncio.to_thread(self._worker.flush, timeout)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Deliver what is queued, shut the exporters down and stop the worker.

        Idempotent. Records logged afterwards are counted as dropped (``shutdown``).

        Returns:
            True when everything was delivered and the worker stopped within ``timeout``.
        """
        result = self._worker.shutdown(timeout)
        if self._atexit is not None:
            atexit.unregister(self._atexit)
            self._atexit = None
        extensions, self._extensions = self._extensions, []
        for extension in extensions:
            self._detach(extension)
        return result

    async def ashutdown(self, timeout: float = 5.0) -> bool:
        """:meth:`shutdown` for async code: waits in a thread, not on the event loop."""
        import asyncio

        return await asyncio.to_thread(self.shutdown, timeout)

    close = shutdown

    async def aclose(self, timeout: float = 5.0) -> bool:
        """Alias of :meth:`ashutdown`."""
        return await self.ashutdown(timeout)

    @property
    def is_shutdown(self) -> bool:
        """Whether :meth:`shutdown` has run (or is running)."""
        return self._worker.state is not State.RUNNING

    def count_records(self, max_loggers: int = 100) -> None:
        """Count records by severity range and logger from now on, under ``records`` in
        :meth:`stats` (severity -> logger -> count): the figures log-derived metrics need.

        Counted by the worker, off the call site, when it takes records from the queue. At
        most ``max_loggers`` logger names are kept apart; the rest count under ``_other``,
        so a metric's label values stay bounded. Calling it again keeps the counts.
        """
        if max_loggers < 1:
            raise ConfigurationError(f"max_loggers must be at least 1, got {max_loggers!r}")
        counters = self._worker.queue.counters
        if counters.tally is None:
            counters.tally = _stats.RecordTally(max_loggers)

    def add_export_listener(self, listener: Callable[[str, int, float, int], None]) -> None:
        """Call ``listener(exporter, records, seconds, failed)`` after every export call.

        ``exporter`` is the name the exporter has in :meth:`stats`, ``records`` the batch's
        size, ``seconds`` how long the call took (retries included) and ``failed`` how many
        of its records failed. It runs on the worker's thread, so it must be quick; what it
        raises is reported on the diagnostics channel, never to the application. The
        metrics plugins record their export histograms with it.
        """
        self._worker.queue.counters.export_listeners.append(listener)

    @property
    def extensions(self) -> tuple[Any, ...]:
        """The extensions attached to the container (``FAPILOG_EXTENSIONS``)."""
        return tuple(self._extensions)

    def _attach(self, extension: Any) -> None:
        """Attach ``extension``; one that fails is shut down, the container with it, and
        its error raised (a container never runs with half its configuration)."""
        try:
            extension.attach(self)
        except Exception as exc:
            self.shutdown(0.5)
            name = getattr(extension, "name", type(extension).__name__)
            if isinstance(exc, (ConfigurationError, PluginError)):
                raise
            raise PluginError(f"extension {name!r} failed to attach: {exc!r}") from exc
        self._extensions.append(extension)

    def _detach(self, extension: Any) -> None:
        """Shut ``extension`` down; a failure is reported, never raised."""
        method = getattr(extension, "shutdown", None)
        if method is None:
            return
        try:
            method()
        except Exception as exc:
            name = getattr(extension, "name", type(extension).__name__)
            self._diagnostics.warn(
                f"extension:{name}", f"extension {name!r} failed to shut down: {exc!r}"
            )

    def stats(self) -> StatsSnapshot:
        """A consistent snapshot of the container's counters.

        ``submitted == exported + failed + sum(dropped.values()) + queued`` always holds.
        """
        return self._worker.queue.snapshot()

    def __enter__(self) -> Container:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    async def __aenter__(self) -> Container:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.ashutdown()

    def __repr__(self) -> str:
        name = self.resource.attributes.get("service.name")
        return f"<Container service.name={name!r} state={self._worker.state.value}>"

    # -- for the bridges ---------------------------------------------------------------

    def _submit_raw(self, raw: RawRecord) -> None:
        """Queue a record made by a bridge (stdlib, SDK provider); never raises."""
        try:
            if bound_context.get() is PIPELINE_THREAD:
                self._worker.queue.drop(_stats.REENTRANT)
                return
            self._worker.queue.put(raw)
        except Exception as exc:
            self._worker.queue.drop(_stats.INTERNAL_ERROR)
            self._diagnostics.warn("bridge", f"a bridged record could not be queued: {exc!r}")

    @staticmethod
    def _is_pipeline_thread() -> bool:
        """Whether the caller runs on a worker or exporter thread of the library."""
        return in_pipeline_thread()


def _adapt_processor(processor: Any) -> Any:
    """Wrap OTel SDK processors (``on_emit``) so they run in the chain; pass ours through.

    Raises:
        ConfigurationError: ``processor`` has none of the methods or attributes that make
            a processor, so it would silently do nothing.
    """
    from fapilog_otel._sdk import SdkProcessorAdapter, is_sdk_processor, unlimited_limits

    if is_sdk_processor(processor):
        return SdkProcessorAdapter(processor, limits=unlimited_limits())
    if not (
        _runs_per_record(processor)
        or callable(getattr(processor, "resource_attributes", None))
        or getattr(processor, "capture", None)
    ):
        raise ConfigurationError(
            f"{processor!r} is not a processor: it needs process(record), "
            "process_batch(records), resource_attributes() or an SDK on_emit(log_record)"
        )
    return processor


def _runs_per_record(processor: Any) -> bool:
    """Whether ``processor`` works on records (not only on the resource or the call site)."""
    return callable(getattr(processor, "process", None)) or callable(
        getattr(processor, "process_batch", None)
    )


def _detected_resource(plugins: Sequence[Any], diagnostics: Diagnostics) -> dict[str, Any]:
    """The attributes resource enrichers contribute, in order (later ones win).

    An enricher that raises contributes nothing; the failure is reported, not raised.
    """
    attributes: dict[str, Any] = {}
    for plugin in plugins:
        method = getattr(plugin, "resource_attributes", None)
        if not callable(method):
            continue
        try:
            attributes.update(method())
        except Exception as exc:
            name = getattr(plugin, "name", type(plugin).__name__)
            diagnostics.warn(
                f"resource:{name}", f"resource enricher {name!r} failed and was skipped: {exc!r}"
            )
    return attributes


def _adapt_exporter(exporter: Any) -> Any:
    """Wrap OTel SDK exporters so they receive SDK records; pass ours through."""
    from fapilog_otel._sdk import SdkExporterAdapter, is_sdk_exporter, unlimited_limits

    if is_sdk_exporter(exporter):
        # The worker has applied the container's attribute limits already.
        return SdkExporterAdapter(exporter, limits=unlimited_limits())
    if not callable(getattr(exporter, "export", None)):
        from fapilog_otel.errors import ConfigurationError

        raise ConfigurationError(
            f"{exporter!r} is not an exporter: it needs export(batch), force_flush() and shutdown()"
        )
    return exporter
